import numpy as np

from camfx.engine.filter import Filter, integer
from camfx.kernels import pointwise


class Posterize(Filter):
    """``levels`` tones per channel (2 to 256): ``q = floor(v * levels / 256)``, shown as
    ``round(q * 255 / (levels - 1))``."""

    name = "posterize"
    group = "stylise"
    stateless = True
    reference_tolerance = 0

    def __init__(self, *, levels: int = 4):
        self.levels = integer(levels, "levels", 2, 256)
        q = np.arange(256) * self.levels // 256
        self._lut = pointwise.Lut(np.rint(q * 255 / (self.levels - 1)).astype(np.uint8))

    def reference(self):
        import cv2
        table = np.array([round((v * self.levels // 256) * 255 / (self.levels - 1)) for v in range(256)], np.uint8)
        return lambda frame, dst=None: cv2.LUT(frame, table, dst=dst)

    def apply(self, frame, out=None):
        return self._lut(frame, out)

    def compiled(self):
        return [pointwise.lut]
