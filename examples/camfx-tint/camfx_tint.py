"""A colour tint filter: the whole of a camfx plugin."""
import numpy as np

from camfx.engine.filter import Filter, number, rgb_color

# ITU-R BT.601 luma weights for B, G, R (what OpenCV's BGR2GRAY uses): a gray frame is tinted by
# the colour's brightness.
LUMA_BGR = np.array([0.114, 0.587, 0.299])


class Tint(Filter):
    """A colour gel: each channel multiplied by the colour's (``color`` as [r, g, b], 0-255),
    blended with no tint by ``strength`` (0 to 1); a gray frame by the colour's brightness."""

    name = "tint"
    stateless = True  # each frame on its own: camfx process may run two halves of a video at once

    def __init__(self, *, color: list = [255, 190, 120], strength: float = 1.0):  # noqa: B006 (never mutated)
        self.color = rgb_color(color, "color")
        self.strength = number(strength, "strength", 0.0, 1.0)
        rgb = np.array(self.color) / 255
        self._gains = 1 - self.strength + self.strength * rgb[::-1]  # B, G, R

    def reference(self):
        """The same picture with OpenCV (within 1 level: its own rounding)."""
        import cv2
        gray_gain = float(LUMA_BGR @ self._gains)

        def tinted(frame, dst=None):
            if frame.ndim == 2:
                return cv2.multiply(frame, gray_gain, dst=dst)
            return cv2.multiply(frame, (*self._gains, 0), dst=dst)
        return tinted

    def apply(self, frame):
        gains = float(LUMA_BGR @ self._gains) if frame.ndim == 2 else self._gains
        return np.clip(np.rint(frame * gains), 0, 255).astype(np.uint8)

