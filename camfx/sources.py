"""Frame sources: video files and the demo scene, as context managers yielding BGR frames."""
from pathlib import Path

import cv2

from .demo import DemoScene
from .errors import CamfxError


class Source:
    """A context manager yielding BGR uint8 frames until ``read()`` returns None."""

    fps = 30.0
    size = (0, 0)
    frame_count = None

    def read(self):
        raise NotImplementedError

    def close(self):
        pass

    def __iter__(self):
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class VideoFile(Source):
    """Frames of a video file read with OpenCV, as BGR uint8 arrays; iteration ends at the end.

    >>> with VideoFile("clip.mkv") as video:          # doctest: +SKIP
    ...     for frame in video: ...
    """

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.is_file():
            raise CamfxError(f"{self.path}: no such video file")
        self._capture = cv2.VideoCapture(str(self.path))
        ok, first = self._capture.read() if self._capture.isOpened() else (False, None)
        if not ok:
            self._capture.release()
            raise CamfxError(f"{self.path}: not a readable video file")
        self._first = first
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.size = (first.shape[1], first.shape[0])
        self.frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))

    def read(self):
        """The next frame, or None at the end of the file."""
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        ok, frame = self._capture.read()
        return frame if ok else None

    def close(self):
        self._capture.release()



class Demo(Source):
    """The built-in demo scene as an endless source (or ``frames`` long)."""

    def __init__(self, width=1280, height=720, fps=30.0, frames=None):
        self.scene = DemoScene(width, height)
        self.fps, self.size, self.frame_count = fps, (width, height), frames
        self._index = 0

    def read(self):
        if self.frame_count is not None and self._index >= self.frame_count:
            return None
        frame = self.scene.frame(self._index)
        self._index += 1
        return frame



def open_source(spec, **options):
    """Open ``"demo"`` or a video file path as a source."""
    if str(spec) == "demo":
        return Demo(**options)
    return VideoFile(spec)
