import numpy as np

from camfx.engine.filter import Filter, number
from camfx.kernels import pointwise

# The classic sepia matrix (as in Microsoft's and most editors' "sepia tone"): rows give the
# output's R, G, B from the input's R, G, B.
SEPIA_RGB = np.array([[0.393, 0.769, 0.189],
                      [0.349, 0.686, 0.168],
                      [0.272, 0.534, 0.131]])
SEPIA_BGR = SEPIA_RGB[::-1, ::-1]  # the same matrix for B, G, R frames


class Sepia(Filter):
    """Sepia tone (the classic matrix, as ``cv2.transform``), blended with the frame by
    ``strength`` (0 to 1). A gray frame shows the gray of its sepia picture.

    Two variants, bit-exact with each other and with ``cv2.transform``: camfx's numba kernel
    (OpenCV's own fixed point), and OpenCV's transform itself, whose 16-bit multiply-adds did
    the work in 0.8 ms a 1080p frame on one core where the numba kernel took 1.4 ms (LLVM did
    not find those instructions). The autotuner picks; see the README.
    """

    name = "sepia"
    group = "colour"
    stateless = True
    reference_tolerance = 0
    variants = ("numba", "opencv")
    variant = "numba"

    def __init__(self, *, strength: float = 1.0):
        self.strength = number(strength, "strength", 0, 1)
        self._matrix = (self.strength * SEPIA_BGR + (1 - self.strength) * np.eye(3)).astype(np.float32)
        self._weights = pointwise.matrix_weights(self._matrix)

    def reference(self):
        return self._opencv

    def apply(self, frame, out=None):
        if self.variant == "opencv":
            return self._opencv(np.ascontiguousarray(frame), out)
        frame, out, src, dst, channels, nblocks = pointwise.rows(frame, out)
        planes = pointwise.colour_planes(frame, nblocks)
        pointwise.color_matrix(src, channels, self._weights, planes, nblocks, dst)
        return out

    def _opencv(self, frame, dst=None):
        import cv2
        if frame.ndim == 3:
            return cv2.transform(frame, self._matrix, dst=dst)
        toned = cv2.transform(cv2.merge([frame] * 3), self._matrix)
        return cv2.cvtColor(toned, cv2.COLOR_BGR2GRAY, dst=dst)

    def compiled(self):
        return [pointwise.color_matrix] if self.variant == "numba" else []
