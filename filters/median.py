import numpy as np

from camfx.engine.filter import Filter, odd_ksize


class Median(Filter):
    """Median of each ``ksize x ksize`` window, per channel (``cv2.medianBlur``: edge pixels
    repeated beyond the border).

    Wraps OpenCV: a median is a sort, not a convolution, and OpenCV's (sorting networks in SIMD
    registers for 3 and 5, a histogram per column beyond) is the fast way to it; see the README
    for the figures.
    """

    name = "median"
    group = "blur and sharpen"
    stateless = True
    reference_tolerance = 0

    def __init__(self, *, ksize: int = 5):
        self.ksize = odd_ksize(ksize)

    def reference(self):
        import cv2
        return lambda frame, dst=None: cv2.medianBlur(frame, self.ksize, dst=dst)

    def apply(self, frame, out=None):
        import cv2
        return cv2.medianBlur(np.ascontiguousarray(frame), self.ksize, dst=out)
