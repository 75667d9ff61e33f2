import numpy as np

from camfx.engine.filter import Filter, integer, number, odd_ksize
from camfx_filters.posterize import Posterize


class Cartoon(Filter):
    """A drawn look: colours smoothed (bilateral filter, edges kept), reduced to ``levels`` tones
    per channel (``posterize``), and dark lines where the gray image is darker than the mean of
    its ``edge_block x edge_block`` neighbourhood by more than ``edge_offset`` levels (adaptive
    threshold of the median-smoothed gray)."""

    name = "cartoon"
    group = "stylise"
    stateless = True

    def __init__(self, *, levels: int = 6, edge_block: int = 9, edge_offset: float = 4.0):
        self.levels = integer(levels, "levels", 2, 256)
        self.edge_block = odd_ksize(edge_block, "edge_block")
        if self.edge_block < 3:
            raise ValueError(f"edge_block must be at least 3, got {edge_block!r}")
        self.edge_offset = number(edge_offset, "edge_offset", -255, 255)
        self._posterize = Posterize(levels=self.levels)

    def apply(self, frame, out=None):
        import cv2
        frame = np.ascontiguousarray(frame)
        smooth = cv2.bilateralFilter(frame, 7, 40, 7)
        flat = self._posterize(smooth, out=out)
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        lines = cv2.adaptiveThreshold(cv2.medianBlur(gray, 5), 255, cv2.ADAPTIVE_THRESH_MEAN_C,
                                      cv2.THRESH_BINARY, self.edge_block, self.edge_offset)
        flat[lines == 0] = 0
        return flat
