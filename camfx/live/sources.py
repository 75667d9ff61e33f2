"""Frame sources: cameras, streams, video files and the demo scene, as context managers yielding
BGR frames.

A source is *live* (a camera or a stream: it paces itself, and running dry means it was lost) or
not (a file or the demo: the reader must pace it, and running dry is the end).
"""
import os
import platform
import sys

import cv2

from .cameras import list_cameras
from .demo import DemoScene
from ..errors import CamfxError
from ..text import plural


class Source:
    """A context manager yielding BGR uint8 frames until ``read()`` returns None.

    A source that is not ``live`` is paced by the reader: at :attr:`time` when the source sets
    it (a video file's own timestamps), else at ``fps``.
    """

    name = "source"
    fps = 30.0
    size = (0, 0)
    frame_count = None
    sar = 1  # the sample (pixel) aspect ratio of its frames: DVD, DV and HDV pixels are not square
    live = False
    time = None  # a file's or a clip's own time of the frame just read, in seconds, when it has one

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
    """A video file played as a source, through the reader ``camfx process`` uses
    (:class:`camfx.files.video.InputVideo`), so both show a file the same way: colours, rotation,
    timing. Each frame read sets :attr:`time`, its time in the file (seconds from its first
    frame), by which the capture paces it; iteration ends at the end of the file.

    A file of one frame (a still image: PNG, JPEG, ...) stays on screen as a camera would: the
    picture again and again at ``still_fps``, never ending. An image sequence ``img_%04d.png``
    plays at 25 fps. The reader's notes (a turned or tone-mapped picture) go to ``note`` and its
    warnings (damage, a size change) to ``warn``, each once per process, however often ``--loop``
    reopens the file. Raises CamfxError naming the file when it is missing or holds no readable video.

    >>> with VideoFile("clip.mkv") as video:          # doctest: +SKIP
    ...     for frame in video: ...
    """

    def __init__(self, path, *, warn=None, note=None, still_fps=30.0):
        from ..files.video import InputVideo  # PyAV loads only when a file is played

        self.name = str(path)
        self._video = InputVideo(path)
        warn, note = warn or _warn, note or _note
        for line in self._video.notes:
            _once(note, line)
        self.fps = float(self._video.rate)
        self.size = (self._video.width, self._video.height)
        self.sar = self._video.picture.sar
        self.frame_count = self._video.frame_count
        self._frames = self._video.items(lambda message: _once(warn, message), others=False)
        # Two frames read ahead tell a still image (one frame) from a video.
        self._ahead = [frame for frame in (next(self._frames, None), next(self._frames, None)) if frame is not None]
        self._still = self._ahead[0].image if len(self._ahead) == 1 else None
        if self._still is not None:
            self.fps, self.frame_count = float(still_fps), None
        self._index = 0

    def read(self):
        """The next frame (BGR uint8), or None at the end of the file."""
        if self._still is not None:
            self.time, self._index = self._index / self.fps, self._index + 1
            return self._still
        frame = self._ahead.pop(0) if self._ahead else next(self._frames, None)
        if frame is None:
            return None
        self.time = frame.time
        return frame.image

    def close(self):
        self._frames.close()
        self._video.close()


_said = set()


def _once(warn, message):
    """Pass ``message`` on the first time only."""
    if message not in _said:
        _said.add(message)
        warn(message)


def _warn(message):
    print(f"camfx: warning: {message}", file=sys.stderr, flush=True)


def _note(message):
    print(f"camfx: {message}", file=sys.stderr, flush=True)


class Demo(Source):
    """The built-in demo scene as an endless source (or ``frames`` long)."""

    name = "demo"

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


class Camera(Source):
    """A camera (index or /dev/video path) or a stream URL, opened with the requested settings.

    ``report`` says what the device actually gave and ``warnings`` lists each request it did not
    honour. ``capture_factory`` stands in for ``cv2.VideoCapture`` in tests.
    """

    live = True

    def __init__(self, device, *, width=None, height=None, fps=None, fourcc="auto",
                 capture_factory=None, open_timeout_ms=5000):
        self.device = device
        is_stream = isinstance(device, str) and "://" in device
        self.name = device if is_stream else f"camera {device}"
        factory = capture_factory or cv2.VideoCapture
        if not is_stream and capture_factory is None and not camera_exists(device):
            raise CamfxError(f"{self.name}: not found (no such video device)")
        # What OpenCV and its FFmpeg log about a failed open is kept down by their own log levels
        # (OPENCV_LOG_LEVEL, OPENCV_FFMPEG_LOGLEVEL: set by the camfx command); camfx says it in one line.
        if is_stream:
            # Without timeouts an unreachable stream blocks for 30 s in FFmpeg.
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, open_timeout_ms,
                      cv2.CAP_PROP_READ_TIMEOUT_MSEC, open_timeout_ms]
            self._capture = factory(device, cv2.CAP_FFMPEG, params)
        else:
            self._capture = factory(device)
        if not self._capture.isOpened():
            self._capture.release()
            raise CamfxError(f"{self.name}: cannot open" + ("" if is_stream else " (busy or not a camera?)"))
        self.warnings = [] if is_stream else self._configure(width, height, fps, fourcc)
        got_w, got_h = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.size = (got_w, got_h)
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or fps or 30.0
        # A URL that names a video file (http://host/talk.mp4) has a length, a live stream has
        # none: the file is played like one, paced by its timestamps, and its end is the end.
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)) if is_stream else 0
        if count > 0:
            self.live, self.frame_count = False, count
        kind = f", a file of {plural(count, 'frame')}" if count > 0 else ""
        self.report = (f"{self.name}: {got_w}x{got_h} at {self.fps:g} fps, "
                       f"{self._fourcc_name() or 'default format'}{kind}")

    def _configure(self, width, height, fps, fourcc):
        """Ask for the settings, then read back what the camera did; return one warning per refusal."""
        capture = self._capture
        if fourcc == "auto":
            # Raw YUYV cannot carry 720p and up at full rate over USB 2: ask for MJPG there.
            fourcc = "MJPG" if (height or 0) >= 720 else None
        if fourcc:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*fourcc))
        if width and height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            capture.set(cv2.CAP_PROP_FPS, fps)
        # One buffered frame at most: older frames are what makes webcam loops lag.
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        warnings = []
        got_w, got_h = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width and height and (got_w, got_h) != (width, height):
            warnings.append(f"{self.name}: asked for {width}x{height}, got {got_w}x{got_h}")
        got_fps = capture.get(cv2.CAP_PROP_FPS)
        if fps and got_fps and abs(got_fps - fps) > 0.5:
            warnings.append(f"{self.name}: asked for {fps:g} fps, got {got_fps:g}")
        if fourcc and self._fourcc_name() != fourcc:
            warnings.append(f"{self.name}: asked for {fourcc}, got {self._fourcc_name() or 'unknown format'}")
        return warnings

    def _fourcc_name(self):
        code = int(self._capture.get(cv2.CAP_PROP_FOURCC))
        name = "".join(chr((code >> 8 * i) & 0xFF) for i in range(4))
        return name if code and name.isprintable() else ""

    def read(self):
        """The next frame, or None when the device failed to deliver one (or a file's end).

        Sets :attr:`time` to the frame's own timestamp in seconds (the driver's, or the stream's),
        or None when the device gives none: a repeated timestamp is a repeated buffer, not news.
        """
        ok, frame = self._capture.read()
        if not ok or frame is None:
            return None
        milliseconds = self._capture.get(cv2.CAP_PROP_POS_MSEC)
        self.time = milliseconds / 1000 if milliseconds > 0 else None
        return frame

    def close(self):
        self._capture.release()


def camera_exists(device):
    """Whether a camera index or device path names a camera on this machine: an index is looked
    up the way OpenCV's backend for the platform numbers cameras (:mod:`camfx.live.cameras`)."""
    if isinstance(device, int):
        if platform.system() == "Linux":  # V4L2's index N is /dev/videoN
            return os.path.exists(f"/dev/video{device}")
        return any(camera.index == device for camera in list_cameras(modes=False))
    return os.path.exists(device)


def any_camera():
    """Whether this machine has any camera at all."""
    return bool(list_cameras(modes=False))


def parse_source(spec):
    """A source spec as given by a user: camera indexes become ints, everything else stays a string."""
    text = str(spec).strip()
    return int(text) if text.isdigit() else text


def open_source(spec, *, width=1280, height=720, fps=30.0, fourcc="auto", capture_factory=None):
    """Open a camera index (``0``), a device path (``/dev/video2``), a stream URL (``rtsp://...``),
    a video file, an image (shown as a camera would, at ``fps``), an image sequence
    (``img_%04d.png``) or ``"demo"``. Raises CamfxError naming the source if it cannot be opened."""
    spec = parse_source(spec)
    if spec == "demo":
        return Demo(width, height, fps)
    if isinstance(spec, int) or spec.startswith("/dev/video") or "://" in spec:
        return Camera(spec, width=width, height=height, fps=fps, fourcc=fourcc, capture_factory=capture_factory)
    return VideoFile(spec, still_fps=fps)
