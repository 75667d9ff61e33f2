import numpy as np

from camfx_filters.gradient import GradientMagnitude

# Prewitt's 3x3 derivative: a plain difference across, a plain mean along.
PREWITT_X = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])


class Prewitt(GradientMagnitude):
    """Gradient magnitude of the gray image with Prewitt's kernels, ``round(sqrt(gx**2 +
    gy**2))`` saturated to uint8, three equal channels for a BGR frame."""

    name = "prewitt"
    kernel_x = PREWITT_X

    def gradients(self, gray):
        import cv2
        kx = PREWITT_X.astype(np.float32)
        return cv2.filter2D(gray, cv2.CV_32F, kx), cv2.filter2D(gray, cv2.CV_32F, kx.T)
