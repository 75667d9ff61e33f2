import numpy as np

from camfx.engine.filter import Filter
from camfx.kernels import pointwise


class Gray(Filter):
    """Black and white: the gray of each pixel (``cv2.cvtColor`` BGR2GRAY's weights, bit-exact),
    as three equal channels for a BGR frame; a gray frame is returned as it is."""

    name = "gray"
    group = "colour"
    stateless = True
    reference_tolerance = 0

    def reference(self):
        import cv2

        def gray(frame, dst=None):
            if frame.ndim == 3:
                return cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR, dst=dst)
            dst = np.empty_like(frame) if dst is None else dst
            np.copyto(dst, frame)
            return dst
        return gray

    def apply(self, frame, out=None):
        frame, out, src, dst, channels, nblocks = pointwise.rows(frame, out)
        if channels == 1:
            np.copyto(out, frame)
        else:
            pointwise.gray3(src, nblocks, dst)
        return out

    def compiled(self):
        return [pointwise.gray3]
