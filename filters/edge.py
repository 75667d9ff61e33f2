from camfx import kernels
from camfx.engine.filter import Filter
from camfx.kernels import sobel_magnitude, to_gray
from camfx.kernels.specialised import FusedEdge


class Edge(Filter):
    """Sobel gradient magnitude of the gray image, ``round(sqrt(gx**2 + gy**2))`` saturated to
    uint8, returned as three equal channels for a BGR frame."""

    name = "edge"
    stateless = True  # per-thread scratch buffers only
    variants = ("fused", "twopass")  # gray + Sobel in one pass / gray frame, then Sobel
    variant = "fused"

    def __init__(self):
        self._fused = FusedEdge()

    def apply(self, frame, out=None):
        if self.variant == "twopass":
            gray = frame if frame.ndim == 2 else to_gray(frame)
            return sobel_magnitude(gray, 1 if frame.ndim == 2 else 3, out=out)
        return self._fused(frame, out)

    def compiled(self):
        if self.variant == "twopass":
            return [kernels.sobel.bgr_to_gray, kernels.sobel.sobel_magnitude]
        return self._fused.dispatchers()
