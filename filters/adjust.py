from camfx.engine.filter import Filter, number
from camfx.kernels import pointwise


class Adjust(Filter):
    """Brightness, contrast and saturation: ``x = (f - 128) * contrast + 128 + brightness``, then
    ``gray3 + (x - gray3) * saturation`` with ``gray3`` the gray of ``f`` (BGR2GRAY) in every
    channel, rounded and saturated once at the end. ``brightness`` is in levels (-255 to 255),
    ``contrast`` and ``saturation`` are factors (0 to 10; 1 leaves the frame as it is, saturation
    0 is black and white)."""

    name = "adjust"
    group = "colour"
    stateless = True

    def __init__(self, *, brightness: float = 0.0, contrast: float = 1.0, saturation: float = 1.0):
        self.brightness = number(brightness, "brightness", -255, 255)
        self.contrast = number(contrast, "contrast", 0, 10)
        self.saturation = number(saturation, "saturation", 0, 10)
        # The two steps as one: out = a * f + g * gray(f) + c.
        s = self.saturation
        self._a = s * self.contrast
        self._g = 1 - s
        self._c = s * (128 * (1 - self.contrast) + self.brightness)

    def reference(self):
        import cv2

        def adjust(frame, dst=None):
            gray3 = frame if frame.ndim == 2 else cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY),
                                                               cv2.COLOR_GRAY2BGR)
            return cv2.addWeighted(frame, self._a, gray3, self._g, self._c, dst=dst)
        return adjust

    def apply(self, frame, out=None):
        frame, out, src, dst, channels, nblocks = pointwise.rows(frame, out)
        planes = pointwise.colour_planes(frame, nblocks)
        pointwise.gray_blend(src, channels, self._a, self._g, self._c, planes, nblocks, dst)
        return out

    def compiled(self):
        return [pointwise.gray_blend]
