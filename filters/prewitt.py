import numpy as np

from camfx.engine.filter import Filter, KernelPass
from camfx.kernels.specialised import GrayGradient

# Prewitt's 3x3 derivative: a plain difference across, a plain mean along.
PREWITT_X = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])


class Prewitt(Filter):
    """Gradient magnitude of the gray image with Prewitt's kernels, ``round(sqrt(gx**2 +
    gy**2))`` saturated to uint8, three equal channels for a BGR frame."""

    name = "prewitt"
    group = "edges"
    stateless = True

    def __init__(self):
        self._kernel = GrayGradient(PREWITT_X, PREWITT_X.T)

    kernel_note = "the gradient magnitude sqrt(x**2 + y**2), rounded and saturated"

    def kernel_passes(self):
        return [KernelPass("x gradient", PREWITT_X, source="input"), KernelPass("y gradient", PREWITT_X.T, source="input")]

    def reference(self):
        import cv2
        kx = PREWITT_X.astype(np.float32)

        def prewitt(frame, dst=None):
            gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            edges = cv2.convertScaleAbs(cv2.magnitude(cv2.filter2D(gray, cv2.CV_32F, kx),
                                                      cv2.filter2D(gray, cv2.CV_32F, kx.T)))
            return edges if frame.ndim == 2 else cv2.merge([edges] * 3, dst=dst)
        return prewitt

    def apply(self, frame, out=None):
        return self._kernel(frame, out)

    def compiled(self):
        return self._kernel.dispatchers()
