import numpy as np

from camfx import kernels
from camfx.engine.filter import Filter, KernelPass, number, odd_ksize
from camfx.kernels import separable_filter
from camfx.kernels.specialised import Separable

# OpenCV's fixed tables for small Gaussians with sigma <= 0 (imgproc/src/smooth.dispatch.cpp).
SMALL_GAUSSIANS = {
    1: [1.0],
    3: [0.25, 0.5, 0.25],
    5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
    7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
}
FRACTION_BITS = 8


def gaussian_weights(ksize, sigma):
    """The Gaussian as OpenCV's bit-exact uint8 GaussianBlur uses it: 8-bit fixed-point weights
    summing to exactly 256, quantised with error diffusion from the centre outwards."""
    if sigma <= 0 and ksize in SMALL_GAUSSIANS:
        weights = np.array(SMALL_GAUSSIANS[ksize])
    else:
        sigma = sigma if sigma > 0 else 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8
        x = np.arange(1 - ksize, ksize, 2.0) / 2
        # (x / sigma)**2 rather than x**2 / sigma**2: a tiny sigma (1e-200) then gives the
        # identity, as in OpenCV, instead of 0 / 0; a huge one a flat window, as in OpenCV.
        with np.errstate(over="ignore", under="ignore"):
            weights = np.exp(-0.5 * np.square(x / sigma))
        weights /= weights.sum()
    fixed = np.empty(ksize, np.int32)
    error = 0.0
    for i in range(ksize // 2):
        scaled = weights[i] * (1 << FRACTION_BITS) + error
        fixed[i] = fixed[-1 - i] = np.rint(np.float32(scaled))
        error = scaled - fixed[i]
    fixed[ksize // 2] = (1 << FRACTION_BITS) - 2 * fixed[:ksize // 2].sum()
    return fixed


class Blur(Filter):
    """Gaussian blur, equal to ``cv2.GaussianBlur(frame, (ksize, ksize), sigma)``.

    ``sigma <= 0`` derives sigma from ``ksize`` as OpenCV does.
    """

    name = "blur"
    group = "blur and sharpen"
    stateless = True  # per-thread scratch buffers only
    variants = ("separable", "generic")  # weights as constants, uint16 sums / weights from arrays
    variant = "separable"

    def __init__(self, *, ksize: int = 5, sigma: float = 0.0):
        self.ksize = odd_ksize(ksize)
        self.sigma = number(sigma, "sigma")
        self._weights = gaussian_weights(self.ksize, self.sigma)
        # Common powers of two out of the weights ([16, 64, 96, 64, 16] -> [1, 4, 6, 4, 1]), so
        # the sums fit 16-bit lanes; the result is still OpenCV's bit-exact rounding.
        reduced, bits = reduce_weights(self._weights, FRACTION_BITS)
        shift = 2 * bits
        self._separable = Separable(reduced, reduced, offset=(1 << shift) >> 1, multiplier=1, shift=shift)

    reference_tolerance = 0  # OpenCV's uint8 GaussianBlur is bit-exact, and so is this

    kernel_note = "rounded once, at the end, in OpenCV's bit-exact fixed point"

    def kernel_passes(self):
        weights = np.asarray(self._weights)
        return [KernelPass("vertical pass", weights[:, None], 1 / (1 << FRACTION_BITS)),
                KernelPass("horizontal pass", weights[None, :], 1 / (1 << FRACTION_BITS))]

    def reference(self):
        import cv2
        return lambda frame, dst=None: cv2.GaussianBlur(frame, (self.ksize, self.ksize), self.sigma, dst=dst)

    def apply(self, frame, out=None):
        if self.variant == "generic":
            return separable_filter(frame, self._weights, self._weights, fraction_bits=FRACTION_BITS, out=out)
        return self._separable(frame, out)

    def compiled(self):
        return [kernels.separable.separable_fixed_to_u8] if self.variant == "generic" else self._separable.dispatchers()


def reduce_weights(weights, bits):
    """Divide integer ``weights`` of ``bits`` fractional bits by their largest common power of two."""
    weights = [int(w) for w in weights]
    while bits > 0 and all(w % 2 == 0 for w in weights):
        weights = [w // 2 for w in weights]
        bits -= 1
    return weights, bits
