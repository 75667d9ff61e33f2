import numpy as np

from camfx.engine.filter import Filter, number
from camfx.kernels import pointwise


def gamma_table(gamma):
    """``round(255 * (v / 255) ** (1 / gamma))`` for v = 0..255, as uint8."""
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        return np.rint(255 * (np.arange(256) / 255.0) ** (1 / gamma)).astype(np.uint8)


class Gamma(Filter):
    """Gamma correction, ``255 * (v / 255) ** (1 / gamma)`` rounded: above 1 brightens the mid
    tones, below 1 darkens them (0.01 to 100)."""

    name = "gamma"
    group = "colour"
    stateless = True
    reference_tolerance = 0

    def __init__(self, *, gamma: float = 1.0):
        self.gamma = number(gamma, "gamma", 0.01, 100)
        self._lut = pointwise.Lut(gamma_table(self.gamma))

    def reference(self):
        import cv2
        table = np.array([round(255 * (v / 255) ** (1 / self.gamma)) for v in range(256)], np.uint8)
        return lambda frame, dst=None: cv2.LUT(frame, table, dst=dst)

    def apply(self, frame, out=None):
        return self._lut(frame, out)

    def compiled(self):
        return [pointwise.lut]
