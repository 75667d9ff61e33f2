"""Recording the filtered frames: a sink that encodes H.264 (yuv420p) through the same PyAV
writer as ``camfx process``, each frame at the time it was captured.

The file appears at its path only when complete: it is written beside it under a hidden
temporary name and renamed when the recording stops (the ``r`` key, the end of ``camfx live``,
SIGTERM/SIGINT/SIGHUP). A write that fails (a full disk) stops the recording; nothing half
written is left behind.
"""
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2

from ..errors import CamfxError
from ..frame import Frame
from ..files import parts
from ..files.process import check_target, sync_to_disk
from ..files.video import FORMATS, OutputVideo, VideoFormat, output_format
from .sink import Sink

# The unit of the recording's timestamps: fine enough that capture times keep their spacing
# (1/90000 s, MPEG's system clock).
TIME_BASE = Fraction(1, 90000)
# libx264's speed for live recording: "veryfast" (OBS's default). On this project's 2-core machine
# it took half the CPU time of "medium" (what camfx process uses) on 720p frames: 0.9 s against
# 2.0 s for 60 frames of the demo scene; a live recording shares the cores with the filters.
LIVE_PRESET = "veryfast"
LIVE_CRF = 23


def check_record_path(path, overwrite=False, inputs=()):
    """``path`` as a Path if a recording can go there, else CamfxError saying why in one line: an
    extension the writer has no container for, a missing folder, an existing file (unless
    ``overwrite``), or one of ``inputs`` (a video file being played)."""
    if str(path).endswith(("/", os.sep)):  # Path() would drop the slash and make it a file
        raise CamfxError(f"{path}: names a folder; a recording is a file, such as out.mp4")
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise CamfxError(f"{path}: recordings must end in {', '.join(FORMATS)}")
    check_target(None, path, inputs, overwrite)
    return path


class Recorder(Sink):
    """Writes the frames it is given to ``path`` (.mp4, .m4v, .mov or .mkv): H.264 in yuv420p.

    Each frame's timestamp is its capture time (``Frame.time``, seconds) less the first frame's,
    so the recording lasts as long as the wall time it covers, whatever frames were dropped on
    the way. The size is the first frame's; later frames of another size (a camera that came
    back at another resolution) are scaled to it. ``fps`` is the nominal rate given to the
    encoder's rate control; ``sar`` the source's sample aspect ratio (a DVD file's 32:27), kept
    in the recording. Raises CamfxError at once when ``path`` cannot be a recording (see
    :func:`check_record_path`) or its folder is not writable. The file (under a temporary
    name) is made with the first frame.
    """

    keepalive = False  # a recording shows the outage as it was: no repeated frames

    def __init__(self, path, fps, *, overwrite=False, inputs=(), crf=LIVE_CRF, preset=LIVE_PRESET, sar=1):
        self.path = check_record_path(path, overwrite, inputs)
        self.sar = Fraction(sar)
        self.name = f"record:{path}"
        self.fps = fps
        self.overwrite, self.inputs = overwrite, inputs
        self.crf, self.preset = crf, preset
        self.written = 0
        self._video = None
        self._start = None
        self._last_pts = -1
        self._size = None
        self._failed = False
        self._temp = None  # made with the first frame: a recording that never starts leaves nothing
        if not os.access(self.path.parent, os.W_OK | os.X_OK):
            raise CamfxError(f"{self.path}: cannot write in {self.path.parent} (permission denied)")

    def write(self, frame):
        self._failed = True  # until it returned: any error here stops the recording (the Output names it)
        try:
            self._write(frame)
        except (OSError, av.FFmpegError) as error:  # a full disk, a file too large, a vanished folder
            reason = getattr(error, "strerror", None) or str(error)
            raise CamfxError(f"{self.path}: cannot write ({reason}), recording stopped, nothing kept") from None
        self._failed = False

    def _write(self, frame):
        image = frame.image
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if self._video is None:
            self._open(image)
            self._start = frame.time
        elif image.shape[1::-1] != self._size:
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        pts = round((frame.time - self._start) / TIME_BASE)
        if pts <= self._last_pts:  # the same capture time twice: an encoder needs increasing times
            return
        self._video.write_frame(Frame(image, frame.index, frame.time, pts))
        self._last_pts = pts
        self.written += 1

    def _open(self, image):
        height, width = image.shape[:2]
        self._size = (width, height)
        rate = Fraction(self.fps).limit_denominator(1001)
        video = VideoFormat(width, height, rate, TIME_BASE, name=str(self.path), sar=self.sar)
        parts.sweep(self.path.parent, [self.path.name])  # left by a recording that was killed outright
        self._temp = parts.create(self.path)
        self._video = OutputVideo(self._temp, video, format=output_format(self.path), crf=self.crf,
                                  preset=self.preset)

    def close(self):
        """Finish the file and move it into place; without a frame, or after a failed write,
        remove it. Raises CamfxError if the file cannot be finished."""
        video, self._video = self._video, None
        try:
            if video is None or self._failed or self.written == 0:
                if video is not None:
                    video.close()
                return
            try:
                video.finish()
                sync_to_disk(self._temp)  # on disk before it takes the target's name
                self.path = self._place()
            except OSError as error:
                raise CamfxError(f"{self.path}: cannot finish the recording ({error.strerror or error})") from None
            except av.FFmpegError as error:  # writing the trailer
                raise CamfxError(f"{self.path}: cannot finish the recording ({error})") from None
        finally:
            if self._temp is not None:
                parts.remove(self._temp)  # gone already if renamed; its lock is released either way

    def _place(self):
        """Give the finished file its name; return the name. Without ``overwrite``, a file that
        appeared at the path meanwhile is kept and the recording takes the next free name
        (``out-1.mp4``); a hard link makes that check and the naming one step."""
        if self.overwrite:
            check_target(None, self.path, self.inputs, True)
            os.replace(self._temp, self.path)
            return self.path
        for n in range(1000):
            path = self.path if n == 0 else self.path.with_name(f"{self.path.stem}-{n}{self.path.suffix}")
            try:
                os.link(self._temp, path)
                return path
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links: check, then rename
                if not path.exists():
                    os.replace(self._temp, path)
                    return path
        raise CamfxError(f"{self.path}: no free name to save the recording under")
