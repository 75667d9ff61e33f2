import numpy as np

from camfx.engine.filter import Filter, KernelPass, integer
from camfx.kernels.specialised import GrayGradient

KSIZES = (1, 3, 5, 7)


def derivative_kernel(order, ksize):
    """OpenCV's 1-D Sobel-family kernel of derivative ``order`` and size ``ksize`` (as
    ``cv2.getDerivKernels``): ``[1]`` convolved ``ksize - 1 - order`` times with ``[1, 1]`` and
    ``order`` times with ``[-1, 1]``."""
    kernel = np.array([1])
    for _ in range(ksize - 1 - order):
        kernel = np.convolve(kernel, [1, 1])
    for _ in range(order):
        kernel = np.convolve(kernel, [-1, 1])
    return kernel


def laplacian_kernel(ksize):
    """The 2-D kernel ``cv2.Laplacian`` uses: ``d2/dx2 + d2/dy2`` as Sobel-family kernels, and
    ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]`` for ksize 1."""
    if ksize == 1:
        return np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    smooth, second = derivative_kernel(0, ksize), derivative_kernel(2, ksize)
    return np.outer(smooth, second) + np.outer(second, smooth)


class Laplacian(Filter):
    """Edges as the Laplacian of the gray image (``cv2.Laplacian``, 16-bit), its absolute value
    saturated to uint8, as three equal channels for a BGR frame; ``ksize`` 1, 3, 5 or 7."""

    name = "laplacian"
    group = "edges"
    stateless = True

    def __init__(self, *, ksize: int = 3):
        if integer(ksize, "ksize") not in KSIZES:
            raise ValueError(f"ksize must be one of {', '.join(map(str, KSIZES))}, got {ksize!r}")
        self.ksize = ksize
        self._kernel = GrayGradient(laplacian_kernel(ksize))

    kernel_note = "the absolute value, saturated to 0-255"

    def kernel_passes(self):
        return [KernelPass("Laplacian", laplacian_kernel(self.ksize))]

    def reference(self):
        import cv2

        def laplacian(frame, dst=None):
            gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            edges = cv2.convertScaleAbs(cv2.Laplacian(gray, cv2.CV_16S, ksize=self.ksize))
            return edges if frame.ndim == 2 else cv2.merge([edges] * 3, dst=dst)
        return laplacian

    def apply(self, frame, out=None):
        return self._kernel(frame, out)

    def compiled(self):
        return self._kernel.dispatchers()
