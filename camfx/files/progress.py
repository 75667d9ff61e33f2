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


class BatchProgress:
    """Progress of a batch of files over all its workers: files done, failed and left, frames
    per second (all workers together, since the batch started) and the time left.

    Workers report each running file's frames (:meth:`frames`); the time left is the frames
    left (of the running files, and the files not started, counted at the mean length of the
    files seen so far) at the batch's frame rate. On a terminal: one bar over the files. Elsewhere:
    a line every ``interval`` seconds, e.g.
    ``camfx: batch: 3 done, 1 failed, 8 left, 212.4 fps, ETA 0:00:31``.
    """

    def __init__(self, files, *, stream=None, tty=None, interval=5.0, clock=time.monotonic):
        self.files = files
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval, self.clock = interval, clock
        self.done = self.failed = 0
        self._running = {}  # index -> [frames so far, total or None]
        self._frames_finished = 0  # frames of the files done
        self._lengths = []  # frames of the files done, and totals of running ones as they come
        self._start = self._last_line = clock()
        self._bar = None
        if self.tty:
            self._bar = tqdm(total=files, desc="camfx", unit="file", file=self.stream, dynamic_ncols=True,
                             bar_format="{desc}: {n}/{total} files |{bar}| {postfix}")

    def frames(self, index, count, total):
        """A running file has written ``count`` frames, of about ``total`` (None: unknown)."""
        self._running[index] = [count, total]
        self.tick()

    def lost(self, index):
        """A file's worker died: its frames no longer count."""
        self._running.pop(index, None)

    def finished(self, index, ok, frames=None):
        """A file is done (``ok``) or failed, with ``frames`` written (default: as counted)."""
        counted = self._running.pop(index, [0])[0]
        count = counted if frames is None else frames
        self._frames_finished += count  # a failed file's frames were work done too
        if ok:
            self.done += 1
            self._lengths.append(count)
        else:
            self.failed += 1
        if self._bar is not None:
            self._bar.update(1)
        self.tick()

    def status(self):
        """``3 done, 1 failed, 8 left, 212.4 fps, ETA 0:00:31`` (ETA ``?`` while unknown)."""
        elapsed = self.clock() - self._start
        frames = self._frames_finished + sum(count for count, _ in self._running.values())
        fps = frames / elapsed if elapsed > 0 else 0.0
        left = self.files - self.done - self.failed
        eta = self._frames_left() / fps if fps > 0 else None
        return (f"{self.done} done, {self.failed} failed, {left} left, {fps:.1f} fps, "
                f"ETA {_clock_time(eta) if eta is not None else '?'}")

    def _frames_left(self):
        known = self._lengths + [total for _, total in self._running.values() if total]
        mean = sum(known) / len(known) if known else 0
        running = sum(max((total or mean) - count, 0) for count, total in self._running.values())
        waiting = self.files - self.done - self.failed - len(self._running)
        return running + waiting * mean

    def tick(self):
        """Redraw the bar, or print the line when it is due."""
        if self._bar is not None:
            self._bar.set_postfix_str(self.status(), refresh=False)
            self._bar.refresh()
        elif self.clock() - self._last_line >= self.interval:
            self._last_line = self.clock()
            self.write(f"camfx: batch: {self.status()}")

    def write(self, line):
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self):
        if self._bar is not None:
            self._bar.set_postfix_str(self.status(), refresh=False)
            self._bar.close()
            self._bar = None


def _clock_time(seconds):
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
