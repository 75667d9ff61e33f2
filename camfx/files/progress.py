"""Progress of a long job: a tqdm bar on a terminal, quiet log lines otherwise."""
import sys
import threading
import time

from tqdm import tqdm
from ..text import plural


class Progress:
    """Count frames of one job and show it.

    On a terminal: a bar with frames, fps and ETA. Elsewhere (a log, a pipe): a line every
    ``interval`` seconds and one at the end, e.g. ``camfx: in.mkv: 60/110 frames (55%), 41.3 fps``.
    Warnings go through :meth:`warn` so that they do not tear the bar; it may be called from any
    thread.

    >>> with Progress("clip.mkv", total=3, stream=sys.stdout, tty=False) as progress:
    ...     progress.update(3)                             # doctest: +ELLIPSIS
    camfx: clip.mkv: 3 frames in ... s, ... fps
    """

    def __init__(self, label, total=None, *, stream=None, tty=None, interval=5.0, clock=time.monotonic):
        self.label, self.total = label, total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval, self.clock = interval, clock
        self.count = 0
        self._lock = threading.Lock()
        self._start = self._last_line = clock()
        self._bar = None  # drawn once the total is known or the first frame is counted

    def _draw(self):
        if self.tty and self._bar is None:
            self._bar = tqdm(total=self.total, desc=self.label, unit="frame", file=self.stream, dynamic_ncols=True)
        return self._bar

    def set_total(self, total):
        """Set the expected count once it is known (None: unknown)."""
        self.total = total
        if self._draw() is not None:
            self._bar.total = total
            self._bar.refresh()

    def update(self, n=1):
        """Count ``n`` frames more (fewer, if negative: frames given up); two threads may count
        into one job."""
        with self._lock:
            self.count += n
            if self._draw() is not None:
                self._bar.update(n)
                return
            due = self.clock() - self._last_line >= self.interval
            if due:
                self._last_line = self.clock()
        if due:
            self._line(f"{self._done()}, {self._fps():.1f} fps")

    def warn(self, message):
        self.write(f"camfx: warning: {message}")

    def write(self, line):
        with self._lock:
            if self._bar is not None:
                self._bar.write(line, file=self.stream)
            else:
                print(line, file=self.stream, flush=True)

    def close(self, ok=True):
        """End the bar or print the last line; a finished job's count replaces the estimate."""
        if self._bar is not None:
            if ok:
                self._bar.total = self.count
                self._bar.refresh()
            self._bar.close()
            self._bar = None
        elif ok:
            self._line(f"{plural(self.count, 'frame')} in {self.clock() - self._start:.1f} s, {self._fps():.1f} fps")

    def _done(self):
        if self.total:
            return f"{self.count}/{plural(self.total, 'frame')} ({100 * self.count // self.total}%)"
        return plural(self.count, "frame")

    def _fps(self):
        elapsed = self.clock() - self._start
        return self.count / elapsed if elapsed > 0 else 0.0

    def _line(self, text):
        self.write(f"camfx: {self.label}: {text}")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(ok=exc_type is None)
