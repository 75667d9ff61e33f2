from camfx.filter import Filter
from camfx.kernels import sobel_magnitude, to_gray


class Edge(Filter):
    """Sobel gradient magnitude of the gray image, ``round(sqrt(gx**2 + gy**2))`` saturated to
    uint8, returned as three equal channels for a BGR frame."""

    name = "edge"

    def apply(self, frame):
        gray = frame if frame.ndim == 2 else to_gray(frame)
        return sobel_magnitude(gray, 1 if frame.ndim == 2 else 3)
