import numba
import numpy as np

from camfx.engine.filter import Filter, integer
from camfx.kernels import pointwise, tiles
from camfx.kernels.scratch import scratch


class Pixelate(Filter):
    """Big pixels: every ``block x block`` tile (the partial ones at the right and bottom
    included) filled with its mean colour, rounded (halves up)."""

    name = "pixelate"
    group = "stylise"
    stateless = True
    reference_tolerance = 0

    def __init__(self, *, block: int = 16):
        self.block = integer(block, "block", 1)

    def reference(self):
        import cv2

        def pixelate(frame, dst=None):
            height, width = frame.shape[:2]
            ys, xs = np.r_[0:height:self.block, height], np.r_[0:width:self.block, width]
            corners = cv2.integral(frame).astype(np.int64)[ys][:, xs]  # sums above and left of each corner
            sums = corners[1:, 1:] - corners[:-1, 1:] - corners[1:, :-1] + corners[:-1, :-1]
            counts = np.outer(np.diff(ys), np.diff(xs)).reshape(sums.shape[:2] + (1,) * (frame.ndim - 2))
            means = np.floor(sums / counts + 0.5).astype(np.uint8)
            result = np.repeat(np.repeat(means, np.diff(ys), axis=0), np.diff(xs), axis=1)
            if dst is None:
                return result
            np.copyto(dst, result)
            return dst
        return pixelate

    def apply(self, frame, out=None):
        frame, out, src, dst, channels, _ = pointwise.rows(frame, out)
        tiles_y = -(-frame.shape[0] // self.block)
        nblocks = max(1, min(tiles_y, 4 * numba.get_num_threads()))
        sums = scratch("pixelate-sums", (nblocks, src.shape[1]), np.dtype(np.int32))
        line = scratch("pixelate-line", (nblocks, src.shape[1]), np.dtype(np.uint8))
        tiles.block_means(src, channels, self.block, sums, line, dst)
        return out

    def compiled(self):
        return [tiles.block_means]
