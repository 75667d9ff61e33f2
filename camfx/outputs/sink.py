"""Sinks: where filtered frames go (the preview window, a recording, a virtual camera, a stream).

A sink is small: ``write(frame)`` and ``close()``, and it is a context manager. The live loop
never calls a sink directly; each sink runs behind an :class:`Output`, on a thread of its own,
fed by a bounded queue that keeps the newest frames. A slow sink therefore drops frames (and
counts them) instead of holding back the loop or the other sinks, and a sink that fails is named
once on stderr and closed while the loop goes on.

>>> class Count(Sink):
...     name = "count"
...     def __init__(self): self.n = 0
...     def write(self, frame): self.n += 1
>>> with Output(Count()) as output:
...     output.offer("a frame")
>>> output.sink.n
1
"""
import collections
import sys
import threading

from ..text import plural


class Sink:
    """Base class of every output. Subclasses implement :meth:`write` and, if they hold
    resources, :meth:`close`.

    ``write(frame)`` receives a :class:`camfx.Frame` whose ``image`` it must not modify (other
    sinks see the same array); it may keep the frame. It returns False when it discarded the
    frame on purpose (a pipe that has no reader yet): the frame is then counted as dropped, not
    written. It may raise: the :class:`Output` running it then names it once and closes it. ``close()`` is called once, from the sink's own thread,
    when the loop ends or after a failure.

    Class attributes a sink may set:

    - ``keepalive = True``: while the source is reconnecting or the loop is paused, the loop
      sends the last filtered frame again at the source's rate (with a small "reconnecting"
      mark while reconnecting), for consumers that drop a camera that goes quiet (a video
      call's virtual camera). Repeated frames keep their ``index``.
    - ``idle_interval`` (seconds): when no frame came for that long, ``idle()`` is called on
      the sink's thread (a window processing its events and keys meanwhile).
    """

    name = "sink"
    keepalive = False
    idle_interval = None

    def write(self, frame):
        raise NotImplementedError

    def idle(self):
        """Called on the sink's thread when no frame came for ``idle_interval`` seconds."""

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def note(message):
    """A line for the user on stderr."""
    print(f"camfx: {message}", file=sys.stderr, flush=True)


class Output:
    """Runs one :class:`Sink` on its own thread behind a queue of at most ``maxsize`` frames.

    :meth:`offer` never blocks: when the queue is full the oldest waiting frame is dropped (the
    newest is what a viewer wants) and counted in :attr:`dropped`. If ``sink.write`` raises, the
    error is reported once through ``report`` (default: a ``camfx:`` line on stderr), the sink is
    closed, :attr:`error` keeps the message and later frames are ignored (not counted as
    dropped). ``start=False`` leaves the thread unstarted: call :meth:`run` from a thread of the
    caller's choosing (a GUI toolkit's main thread).

    Attributes
    ----------
    written : int
        Frames the sink's ``write`` returned from.
    dropped : int
        Frames replaced in the queue before the sink took them, and frames the sink discarded
        (its ``write`` returned False).
    error : str or None
        Why the sink stopped, if it failed.
    """

    def __init__(self, sink, *, maxsize=2, report=None, start=True):
        self.sink = sink
        self.name = getattr(sink, "name", type(sink).__name__)
        self.written = self.dropped = 0
        self.error = None
        self._report = report or note
        self._queue = collections.deque()
        self._maxsize = maxsize
        self._cond = threading.Condition()
        self._closing = False
        self._closed = threading.Event()
        self._thread = None
        if start:
            self._thread = threading.Thread(target=self.run, name=f"camfx-output-{self.name}", daemon=True)
            self._thread.start()

    @property
    def failed(self):
        return self.error is not None

    def offer(self, frame):
        """Queue ``frame`` for the sink; return at once."""
        with self._cond:
            if self._closing or self.failed:
                return
            if len(self._queue) >= self._maxsize:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(frame)
            self._cond.notify()

    def next(self, timeout=None):
        """The next queued frame, or None when none came within ``timeout`` seconds or the
        output is closing (for a caller that runs the sink's loop itself, see :meth:`run`)."""
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._closing, timeout)
            return self._queue.popleft() if self._queue else None

    def run(self):
        """Feed the sink until :meth:`close`; then close the sink. Runs on the output's thread
        (or the caller's, with ``start=False``)."""
        idle = getattr(self.sink, "idle_interval", None)
        try:
            while True:
                frame = self.next(idle)
                if frame is None:
                    if self._closing:
                        break
                    if idle is not None and not self._idle():
                        break
                    continue
                if not self.deliver(frame):
                    break
        finally:
            self._close_sink()

    def deliver(self, frame):
        """Write one frame to the sink; False (after naming the failure) when it failed."""
        try:
            taken = self.sink.write(frame)
        except Exception as error:  # any failure of one output must leave the loop and the others running
            self.fail(error)
            return False
        if taken is False:
            with self._cond:  # offer() counts drops too, from the caller's thread
                self.dropped += 1
        else:
            self.written += 1
        return True

    def _idle(self):
        try:
            self.sink.idle()
        except Exception as error:  # as in deliver: this output stops, the rest goes on
            self.fail(error)
            return False
        return True

    def fail(self, error):
        """Record that the sink failed with ``error`` and say so once; the frames that follow are
        ignored."""
        with self._cond:
            if self.error is not None:
                return
            self.error = _one_line(error)
            self._queue.clear()
        self._report(f"output {self.name} failed and was closed: {self.error}")

    def _close_sink(self):
        try:
            self.sink.close()
        except Exception as error:  # closing failed (a full disk at the trailer): named, not raised
            if self.error is None:
                self.error = _one_line(error)
                self._report(f"output {self.name} failed while closing: {self.error}")
        finally:
            self._closed.set()

    def close(self, timeout=10.0):
        """Let the sink take the frames still queued, then close it; wait up to ``timeout``
        seconds for that (a sink stuck in a write is abandoned: its thread is a daemon)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        return self._closed.is_set()

    def summary(self):
        """``"window: 300 frames, 2 dropped"``, or the failure."""
        text = f"{self.name}: {plural(self.written, 'frame')}, {self.dropped} dropped"
        return f"{text} (failed: {self.error})" if self.error else text

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _one_line(error):
    text = str(error).strip().splitlines()
    reason = text[0] if text else ""
    return f"{type(error).__name__}: {reason}" if not isinstance(error, ValueError) or not reason else reason
