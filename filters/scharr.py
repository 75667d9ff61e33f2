import numpy as np

from camfx_filters.gradient import GradientMagnitude

# Scharr's 3x3 derivative (OpenCV's cv2.Scharr, dx=1): more rotation-invariant than Sobel's.
SCHARR_X = np.array([[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]])


class Scharr(GradientMagnitude):
    """Gradient magnitude of the gray image with Scharr's kernels, ``round(sqrt(gx**2 + gy**2))``
    saturated to uint8 (as ``edge`` does with Sobel's), three equal channels for a BGR frame."""

    name = "scharr"
    kernel_x = SCHARR_X

    def gradients(self, gray):
        import cv2
        return cv2.Scharr(gray, cv2.CV_32F, 1, 0), cv2.Scharr(gray, cv2.CV_32F, 0, 1)
