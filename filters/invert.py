from camfx.engine.filter import Filter
from camfx.kernels import pointwise


class Invert(Filter):
    """Photographic negative: ``255 - frame``."""

    name = "invert"
    group = "colour"
    stateless = True
    reference_tolerance = 0

    def reference(self):
        import cv2
        return lambda frame, dst=None: cv2.bitwise_not(frame, dst=dst)

    def apply(self, frame, out=None):
        frame, out, src, dst, _, nblocks = pointwise.rows(frame, out)
        pointwise.invert(src, nblocks, dst)
        return out

    def compiled(self):
        return [pointwise.invert]
