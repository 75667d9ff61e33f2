import numpy as np

from camfx.engine.filter import Filter, number
from camfx.kernels import pointwise


def vignette_gain(height, width, strength):
    """The gain ``1 - strength * (r / R) ** 2`` of every pixel, (H, W) float64: ``r`` the
    distance of the pixel's centre from the frame's centre, ``R`` half the frame's diagonal
    (``hypot(W, H) / 2``), both in pixels."""
    dy = np.arange(height) - (height - 1) / 2
    dx = np.arange(width) - (width - 1) / 2
    radius2 = (width * width + height * height) / 4
    return 1 - strength * (dy[:, None] ** 2 + dx[None, :] ** 2) / radius2


class Vignette(Filter):
    """Darkened corners: each pixel times ``1 - strength * (r / R) ** 2``, ``r`` its distance
    from the centre and ``R`` half the diagonal (``strength`` 0 to 1; the corners keep ``1 -
    strength`` of their light)."""

    name = "vignette"
    group = "stylise"
    stateless = True

    def __init__(self, *, strength: float = 0.5):
        self.strength = number(strength, "strength", 0, 1)
        self._columns = {}  # frame shape -> the gain's column part

    def reference(self):
        import cv2
        maps = {}

        def vignette(frame, dst=None):
            gain = maps.get(frame.shape)
            if gain is None:
                gain = vignette_gain(*frame.shape[:2], self.strength).astype(np.float32)
                gain = maps[frame.shape] = cv2.merge([gain] * 3) if frame.ndim == 3 else gain
            return cv2.multiply(frame, gain, dst=dst, dtype=cv2.CV_8U)
        return vignette

    def apply(self, frame, out=None):
        frame, out, src, dst, channels, nblocks = pointwise.rows(frame, out)
        height, width = frame.shape[:2]
        radius2 = (width * width + height * height) / 4
        columns = self._columns.get(frame.shape)
        if columns is None:  # (two threads may both build it: the same values)
            dx = np.arange(width) - (width - 1) / 2
            columns = np.repeat(1 - self.strength * dx * dx / radius2, channels).astype(np.float32)
            self._columns[frame.shape] = columns
        pointwise.radial_gain(src, columns, (height - 1) / 2, self.strength / radius2, nblocks, dst)
        return out

    def compiled(self):
        return [pointwise.radial_gain]
