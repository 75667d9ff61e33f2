"""YUV4MPEG2 output: the uncompressed stream that Chromium's fake camera
(``--use-file-for-fake-video-capture``), ffmpeg (``-f yuv4mpegpipe -i PATH``), GStreamer
(``y4mdec``) and mpv read, to a file or to a named pipe (``mkfifo``).

Frames are 4:2:0 in BT.601 limited range with centred chroma (``C420jpeg``; the header also says
``XCOLORRANGE=LIMITED``, which ffmpeg reads and Chromium ignores: limited range is what readers
assume without it). Odd sizes are padded to even.

A named pipe has no reader until another program opens it. Until then the sink drops frames
(counted) instead of waiting: it tries to open the pipe without blocking at every frame. A
reader that goes away is a note on stderr; the sink then waits for the next reader, which gets a
header of its own.
"""
import errno
import os
from fractions import Fraction
from pathlib import Path

from ..errors import CamfxError
from ..text import plural
from .pixels import PixelConverter, padded_size
from .sink import Sink, note


def check_y4m_path(path, overwrite=False):
    """``path`` as a Path if a y4m stream can go there (a named pipe, or a new file in an
    existing folder; an existing file only with ``overwrite``), else raise CamfxError saying why."""
    path = Path(path)
    if path.is_fifo():
        return path
    if path.is_dir():
        raise CamfxError(f"{path}: is a folder; y4m: needs a file or a named pipe")
    if path.exists() and not overwrite:
        raise CamfxError(f"{path}: already exists; not overwriting it (use --overwrite, or make a named pipe "
                         f"with mkfifo)")
    if not path.parent.is_dir():
        raise CamfxError(f"{path}: no such folder {path.parent}")
    return path


def y4m_header(width, height, fps):
    """The stream header for frames of ``width`` x ``height`` (already even) at ``fps`` frames
    per second (a rational close to it: 30 -> 30:1, 29.97 -> 30000:1001)."""
    rate = frame_rate(fps)
    return (f"YUV4MPEG2 W{width} H{height} F{rate.numerator}:{rate.denominator} Ip A1:1 C420jpeg "
            f"XCOLORRANGE=LIMITED\n").encode("ascii")


def frame_rate(fps):
    """``fps`` as a Fraction: whole rates and the NTSC rates (N*1000/1001, which cameras report
    rounded, as 29.97) exactly, others to the nearest fraction over at most 1001."""
    for rate in (Fraction(round(fps)), Fraction(round(fps * 1.001) * 1000, 1001)):
        if rate and abs(float(rate) - fps) < 0.005:
            return rate
    return Fraction(fps).limit_denominator(1001)


class Y4mWriter(Sink):
    """Writes BGR frames of ``width`` x ``height`` at ``fps`` as YUV4MPEG2 to ``path``.

    A regular file is created at once (refused if it exists, unless ``overwrite``); a named
    pipe is opened when a reader appears (see the module's docstring). ``write`` returns False
    for a frame dropped because the pipe had no reader. ``report`` takes the notes for the user
    (default: a ``camfx:`` line on stderr). Raises CamfxError for a path that cannot be used,
    OSError when the file cannot be created.

    Attributes
    ----------
    readers : int
        Readers the pipe has had (1 for a file).
    waiting : int
        Frames dropped while no reader had the pipe open.
    """

    def __init__(self, path, width, height, fps, *, overwrite=False, report=None):
        self.path = check_y4m_path(path, overwrite)
        self.name = f"y4m:{self.path}"
        self.pipe = self.path.is_fifo()
        self._convert = PixelConverter("I420", width, height)
        padded = padded_size(width, height)
        self._header = y4m_header(*padded, fps)
        self._frame_bytes = len(b"FRAME\n") + padded[0] * padded[1] * 3 // 2  # 4:2:0
        self._report = report or note
        self.readers = self.waiting = 0
        self._written = 0        # frames the current reader got
        self._announced = False  # said that we are waiting for a reader
        self._fd = None
        if not self.pipe:
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                self._begin()
            except OSError as error:  # a full disk, a device that refuses writes, no permission
                self.close()
                raise CamfxError(f"{self.path}: cannot write ({error.strerror or error})") from None

    def write(self, frame):
        if self._fd is None and not self._connect():
            self.waiting += 1
            return False
        data = self._convert(frame.image)
        try:
            _write_all(self._fd, [b"FRAME\n", data])
        except BrokenPipeError:
            self._report(f"{self.name}: the reader went away after {plural(self._written, 'frame')}; waiting for another")
            self._disconnect()
            self._announced = True
            self.waiting += 1
            return False
        self._written += 1
        return True

    def _connect(self):
        """Open the pipe if a reader has it open; False (having said so once) if none has."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
            if not self._announced:
                self._report(f"{self.name}: waiting for a reader (frames are dropped until one opens the pipe)")
                self._announced = True
            return False
        os.set_blocking(fd, True)  # from now on a slow reader slows this sink's thread only
        widen_pipe(fd, self._frame_bytes)
        self._fd = fd
        try:
            self._begin()
        except BrokenPipeError:
            self._disconnect()
            return False
        self._announced = False
        return True

    def _begin(self):
        _write_all(self._fd, [self._header])
        self.readers += 1
        self._written = 0

    def _disconnect(self):
        fd, self._fd = self._fd, None
        os.close(fd)

    def close(self):
        if self._fd is not None:
            self._disconnect()


def widen_pipe(fd, size):
    """Ask for a pipe buffer of ``size`` bytes (a whole frame), else of 1 MiB (Linux's limit
    for a user, ``/proc/sys/fs/pipe-max-size``); elsewhere, or if refused, the pipe stays as it
    is. With Linux's default 64 KiB, the sink's thread waited for its reader about 20 times a
    720p frame."""
    try:
        import fcntl
        setting = fcntl.F_SETPIPE_SZ
    except (ImportError, AttributeError):  # not Linux
        return
    for want in (size, 1 << 20):
        try:
            fcntl.fcntl(fd, setting, want)
            return
        except OSError:  # over the user's limit
            continue


def _write_all(fd, buffers):
    """Write every byte of ``buffers`` to ``fd`` (a pipe may take part of a write)."""
    views = [memoryview(b).cast("B") for b in buffers]
    while views:
        n = os.writev(fd, views)
        while views and n >= len(views[0]):
            n -= len(views[0])
            views.pop(0)
        if views and n:
            views[0] = views[0][n:]
