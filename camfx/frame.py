"""The one frame type of the whole program, from source to sink."""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """A picture on its way through camfx.

    Attributes
    ----------
    image : ndarray
        The pixels: uint8, BGR ``(H, W, 3)`` or gray ``(H, W)``.
    index : int
        Its position in its source, from 0.
    time : float
        When it was captured, in seconds: on the capture's clock (``time.monotonic``) for a live
        source, on the recording's own clock (from the stream's first frame) for a video file.
    pts : int or None
        A video file's exact timestamp, in its stream's time base; None for live frames.
    """

    image: np.ndarray
    index: int
    time: float
    pts: int | None = None

    def with_image(self, image):
        """The same frame with other pixels (a filtered copy)."""
        return Frame(image, self.index, self.time, self.pts)
