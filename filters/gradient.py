from camfx.engine.filter import Filter, KernelPass
from camfx.kernels.specialised import GrayGradient


class GradientMagnitude(Filter):
    """Gradient magnitude of the gray image, ``round(sqrt(gx**2 + gy**2))`` saturated to uint8,
    three equal channels for a BGR frame: ``gx`` with the 3x3 derivative ``kernel_x`` a subclass
    names, ``gy`` with its transpose. A subclass also names OpenCV's way to both gradients
    (:meth:`gradients`), its reference."""

    group = "edges"
    stateless = True
    kernel_x = None  # (3, 3) int array
    kernel_note = "the gradient magnitude sqrt(x**2 + y**2), rounded and saturated"

    def __init__(self):
        self._kernel = GrayGradient(self.kernel_x, self.kernel_x.T)

    def kernel_passes(self):
        return [KernelPass("x gradient", self.kernel_x, source="input"),
                KernelPass("y gradient", self.kernel_x.T, source="input")]

    def gradients(self, gray):
        """OpenCV's float32 x and y gradients of a uint8 gray frame."""
        raise NotImplementedError

    def reference(self):
        import cv2

        def magnitude(frame, dst=None):
            gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            edges = cv2.convertScaleAbs(cv2.magnitude(*self.gradients(gray)))
            return edges if frame.ndim == 2 else cv2.merge([edges] * 3, dst=dst)
        return magnitude

    def apply(self, frame, out=None):
        return self._kernel(frame, out)

    def compiled(self):
        return self._kernel.dispatchers()


