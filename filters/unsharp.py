import numpy as np

from camfx.engine.filter import Filter, KernelPass, number, odd_ksize
from camfx.kernels.specialised import Separable
from camfx_filters.blur import FRACTION_BITS, gaussian_weights, reduce_weights


class Unsharp(Filter):
    """Unsharp masking, ``f + amount * (f - GaussianBlur(f))``: ``cv2.addWeighted(f, 1 + amount,
    blur, -amount, 0)`` with ``blur`` as the ``blur`` filter makes it (bit-exact with
    ``cv2.GaussianBlur(f, (ksize, ksize), sigma)``). ``amount`` from 0 to 20."""

    name = "unsharp"
    group = "blur and sharpen"
    stateless = True

    def __init__(self, *, ksize: int = 5, sigma: float = 0.0, amount: float = 1.0):
        self.ksize = odd_ksize(ksize)
        self.sigma = number(sigma, "sigma")
        self.amount = number(amount, "amount", 0, 20)
        weights, bits = reduce_weights(gaussian_weights(self.ksize, self.sigma), FRACTION_BITS)
        shift = 2 * bits
        # The blur's exact fixed-point sums, rounded, then weighted with the pixel in one pass.
        self._kernel = Separable(weights, weights, offset=(1 << shift) >> 1, multiplier=1, shift=shift,
                                 unsharp=(1 + self.amount, -self.amount))

    kernel_note = "the blur rounded, then (1 + amount) * frame - amount * blur, rounded"

    def kernel_passes(self):
        weights = np.asarray(gaussian_weights(self.ksize, self.sigma))
        return [KernelPass("vertical blur pass", weights[:, None], 1 / (1 << FRACTION_BITS)),
                KernelPass("horizontal blur pass", weights[None, :], 1 / (1 << FRACTION_BITS))]

    def reference(self):
        import cv2

        def unsharp(frame, dst=None):
            blur = cv2.GaussianBlur(frame, (self.ksize, self.ksize), self.sigma)
            return cv2.addWeighted(frame, 1 + self.amount, blur, -self.amount, 0, dst=dst)
        return unsharp

    def apply(self, frame, out=None):
        return self._kernel(frame, out)

    def compiled(self):
        return self._kernel.dispatchers()
