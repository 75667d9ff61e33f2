import numpy as np

from camfx.engine.filter import Filter, number, rgb_color
from camfx.kernels import chroma, pointwise


class ChromaKey(Filter):
    """Green screen: pixels whose chroma is within ``tolerance`` of the ``key`` colour's (``[r,
    g, b]``) are replaced by the ``replace`` colour, or by the picture at ``image`` (a path,
    stretched to the frame), with a soft edge ``softness`` wide.

    Distances are in the Cb-Cr plane of YCbCr (BT.601, full range), in levels (pure green is
    136 from gray): brightness does not count, so a shadow on the screen keys as well as its lit
    part, and gray, black and white are far from any saturated key. A pixel at distance ``d``
    keeps ``clip((d - tolerance) / softness, 0, 1)`` of itself (OBS's chroma key works the same
    way). A gray frame has no chroma: it is keyed as a whole against the key's distance from
    gray.
    """

    name = "chroma_key"
    group = "composite"
    stateless = True
    counterpart = False  # OpenCV has no chroma key: the reference is the definition, in NumPy

    def __init__(self, *, key: list = [0, 255, 0], tolerance: float = 100.0,  # noqa: B006 (never mutated)
                 softness: float = 20.0, replace: list = [0, 0, 0], image: str = ""):  # noqa: B006
        self.key = rgb_color(key, "key")
        self.tolerance = number(tolerance, "tolerance", 0, 500)
        self.softness = number(softness, "softness", 0, 500)
        self.replace = rgb_color(replace, "replace")
        if not isinstance(image, str):
            raise ValueError(f"image must be a path (a string), got {image!r}")
        self.image = image
        self._picture = _read_picture(image) if image else None
        self._key_cb, self._key_cr = chroma.chroma(self.key[::-1])
        self._backgrounds = {}  # frame shape -> background rows (H or 1, W * C)

    def background(self, shape):
        """The background for frames of ``shape``, BGR (or gray) uint8 of that shape."""
        import cv2
        height, width = shape[:2]
        if self._picture is None:
            picture = np.empty((height, width, 3), np.uint8)
            picture[:] = np.rint(self.replace[::-1]).astype(np.uint8)
        else:
            picture = cv2.resize(self._picture, (width, height), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(picture, cv2.COLOR_BGR2GRAY) if len(shape) == 2 else picture

    def reference(self):
        def chroma_key(frame, dst=None):
            background = self.background(frame.shape).astype(np.float64)
            bgr = frame if frame.ndim == 3 else np.repeat(frame[..., None], 3, axis=2)
            cb, cr = chroma.chroma(bgr)
            distance = np.hypot(cb - self._key_cb, cr - self._key_cr)
            if self.softness > 0:
                alpha = np.clip((distance - self.tolerance) / self.softness, 0, 1)
            else:
                alpha = (distance > self.tolerance).astype(np.float64)
            if frame.ndim == 3:
                alpha = alpha[..., None]
            result = np.clip(np.rint(background + alpha * (frame - background)), 0, 255).astype(np.uint8)
            if dst is None:
                return result
            np.copyto(dst, result)
            return dst
        return chroma_key

    def apply(self, frame, out=None):
        frame, out, src, dst, channels, nblocks = pointwise.rows(frame, out)
        rows = self._backgrounds.get(frame.shape)
        if rows is None:  # (two threads may both make it: the same pixels)
            background = self.background(frame.shape)
            if self._picture is None:
                background = background[:1]  # one row serves them all
            rows = self._backgrounds[frame.shape] = np.ascontiguousarray(background).reshape(len(background), -1)
        chroma.key(src, channels, self._key_cb, self._key_cr, self.tolerance, self.softness, rows, nblocks, dst)
        return out

    def compiled(self):
        return [chroma.key]


def _read_picture(path):
    import os

    import cv2
    picture = cv2.imread(path, cv2.IMREAD_COLOR) if os.path.isfile(path) else None
    if picture is None:
        raise ValueError(f"image {path!r}: no such picture, or not one OpenCV can read")
    return picture
