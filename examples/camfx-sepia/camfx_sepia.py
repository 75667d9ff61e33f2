"""A sepia tone filter: the whole of a camfx plugin."""
import numpy as np

from camfx.engine.filter import Filter

# The common sepia matrix (Microsoft's "sepia tone" coefficients), rows B, G, R of the output
# from columns B, G, R of the input.
SEPIA_BGR = np.array([[0.131, 0.534, 0.272],
                      [0.168, 0.686, 0.349],
                      [0.189, 0.769, 0.393]], np.float32)


class Sepia(Filter):
    """Sepia tone, blended with the original by ``strength`` (0 to 1)."""

    name = "sepia"
    stateless = True  # each frame on its own: camfx process may run two halves of a video at once

    def __init__(self, *, strength: float = 1.0):
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be between 0 and 1, got {strength!r}")
        self.strength = float(strength)
        self._matrix = (self.strength * SEPIA_BGR + (1 - self.strength) * np.eye(3)).astype(np.float32)

    def apply(self, frame):
        if frame.ndim == 2:
            return frame
        toned = frame.reshape(-1, 3).astype(np.float32) @ self._matrix.T
        return np.clip(np.rint(toned), 0, 255).astype(np.uint8).reshape(frame.shape)
