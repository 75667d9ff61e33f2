import numpy as np

from camfx.engine.filter import Filter, KernelPass
from camfx.kernels.specialised import GrayGradient

# Scharr's 3x3 derivative (OpenCV's cv2.Scharr, dx=1): more rotation-invariant than Sobel's.
SCHARR_X = np.array([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]])


class Scharr(Filter):
    """Gradient magnitude of the gray image with Scharr's kernels, ``round(sqrt(gx**2 + gy**2))``
    saturated to uint8 (as ``edge`` does with Sobel's), three equal channels for a BGR frame."""

    name = "scharr"
    group = "edges"
    stateless = True

    def __init__(self):
        self._kernel = GrayGradient(SCHARR_X, SCHARR_X.T)

    kernel_note = "the gradient magnitude sqrt(x**2 + y**2), rounded and saturated"

    def kernel_passes(self):
        return [KernelPass("x gradient", SCHARR_X, source="input"), KernelPass("y gradient", SCHARR_X.T, source="input")]

    def reference(self):
        import cv2

        def scharr(frame, dst=None):
            gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            edges = cv2.convertScaleAbs(cv2.magnitude(cv2.Scharr(gray, cv2.CV_32F, 1, 0),
                                                      cv2.Scharr(gray, cv2.CV_32F, 0, 1)))
            return edges if frame.ndim == 2 else cv2.merge([edges] * 3, dst=dst)
        return scharr

    def apply(self, frame, out=None):
        return self._kernel(frame, out)

    def compiled(self):
        return self._kernel.dispatchers()
