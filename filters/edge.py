import numpy as np

from camfx import kernels
from camfx.engine.filter import Filter, KernelPass
from camfx.kernels import sobel_magnitude, to_gray
from camfx.kernels.specialised import FusedEdge

# Sobel's 3x3 derivative (cv2.Sobel, dx=1): a difference across, a [1, 2, 1] smoothing along.
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def opencv_edge(frame, dst=None):
    """The same picture with OpenCV: gray, float Sobel x and y, magnitude, rounded to uint8."""
    import cv2
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    magnitude = cv2.convertScaleAbs(cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3),
                                                  cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)))
    return magnitude if frame.ndim == 2 else cv2.merge([magnitude] * 3, dst=dst)


class Edge(Filter):
    """Sobel gradient magnitude of the gray image, ``round(sqrt(gx**2 + gy**2))`` saturated to
    uint8, returned as three equal channels for a BGR frame."""

    name = "edge"
    group = "edges"
    stateless = True  # per-thread scratch buffers only
    variants = ("fused", "twopass")  # gray + Sobel in one pass / gray frame, then Sobel
    variant = "fused"

    def __init__(self):
        self._fused = FusedEdge()

    kernel_note = "the gradient magnitude sqrt(x**2 + y**2), rounded and saturated"

    def kernel_passes(self):
        return [KernelPass("x gradient", SOBEL_X, source="input"), KernelPass("y gradient", SOBEL_X.T, source="input")]

    def reference(self):
        return opencv_edge

    def apply(self, frame, out=None):
        if self.variant == "twopass":
            gray = frame if frame.ndim == 2 else to_gray(frame)
            return sobel_magnitude(gray, 1 if frame.ndim == 2 else 3, out=out)
        return self._fused(frame, out)

    def compiled(self):
        if self.variant == "twopass":
            return [kernels.sobel.bgr_to_gray, kernels.sobel.sobel_magnitude]
        return self._fused.dispatchers()
