"""The capture thread: reads a source in the background and keeps only the newest frame.

The processing loop never works on a stale frame, so latency cannot build up: a frame replaced
before it was taken is counted as dropped, and no frame is handed out twice. Files and the demo
are paced like a camera, by their own timestamps (or frame rate), from the moment the consumer
first asks for a frame. A live source whose reads fail, block, or hand back the frame they
handed before (the same timestamp from the device) is noticed within ``stall_after`` seconds
and reopened with backoff until ``give_up_after`` seconds have passed. Identical pictures are
not a stall: a still scene (slides, a test card, an empty room) is a healthy stream.
"""
import threading
import time

from ..errors import CamfxError
from ..frame import Frame

LIVE, RECONNECTING, ENDED, FAILED = "live", "reconnecting", "ended", "failed"


class Pacer:
    """Waits until a clip's frame is due, ``at`` seconds after its first frame was; never waits
    when it is already late."""

    def __init__(self, clock, wait):
        self.clock, self.wait = clock, wait
        self.start = None

    def wait_until(self, at):
        """Wait for the time ``at``; return False if the wait was interrupted."""
        if self.start is None:
            self.start = self.clock() - at
        delay = self.start + at - self.clock()
        return delay <= 0 or not self.wait(delay)


class Capture:
    """Frames from ``open_source()`` on a background thread, newest only.

    ``open_source`` is called once in :meth:`open` or :meth:`start` (so a missing source fails at
    once, in the caller's thread) and again for every reconnect or ``loop`` restart. ``clock`` timestamps the
    frames and paces files; tests inject their own. ``report`` is called with one line when a live
    source is lost and one when it is back (how long it was gone): the outage log.

    >>> with Capture(lambda: open_source("demo")) as capture:   # doctest: +SKIP
    ...     frame = capture.get(timeout=1.0)
    """

    def __init__(self, open_source, *, loop=False, stall_after=1.0, give_up_after=10.0,
                 backoff=(0.1, 2.0), clock=time.monotonic, report=None):
        self._open = open_source
        self.report = report or (lambda line: None)
        self.loop = loop
        self.stall_after, self.give_up_after = stall_after, give_up_after
        self.backoff = backoff
        self.clock = clock
        self.state = LIVE
        self.history = []          # (clock time, state) of every change of state
        self.error = None
        self.dropped = 0
        self.reconnects = 0
        self.source = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._latest = None
        self._taken = -1
        self._count = 0
        self._last_new = 0.0
        self._thread = None
        # A file starts playing when the consumer first asks for a frame, so that none passes
        # unseen while the consumer is still starting.
        self._wanted = threading.Event()

    # -- the consumer's side -------------------------------------------------------------------

    def open(self):
        """Open the source, so that a missing one fails at once, without reading it yet."""
        if self.source is None:
            self.source = self._open()
        return self.source

    def start(self):
        """Open the source if :meth:`open` did not, and start reading it (once: starting a
        started capture does nothing)."""
        if self._thread is not None:
            return self
        self.open()
        self._last_new = self.clock()
        self._thread = threading.Thread(target=self._supervise, name="camfx-capture", daemon=True)
        self._thread.start()
        return self

    def get(self, timeout=0.1):
        """The newest frame not handed out yet, or None if none came within ``timeout`` seconds
        (then :attr:`state` tells whether the source ended, failed or is reconnecting)."""
        self._wanted.set()
        with self._cond:
            if not self._has_new():
                self._cond.wait_for(lambda: self._has_new() or self.state in (ENDED, FAILED), timeout)
            if not self._has_new():
                return None
            self._taken = self._latest.index
            return self._latest

    def _has_new(self):
        return self._latest is not None and self._latest.index != self._taken

    @property
    def fps(self):
        return self.source.fps

    @property
    def name(self):
        return self.source.name

    def close(self):
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        elif self.source is not None:  # opened, never started: nobody else will close it
            self.source.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- the capture thread ----------------------------------------------------------------------

    def _supervise(self):
        """Run a reader per connection; reconnect when one is lost or stalls."""
        source = self.source
        while not self._stop.is_set():
            outcome = self._watch(source)
            if outcome == "stopped":
                return
            if outcome == "ended":
                if not self.loop:
                    return self._set_state(ENDED)
                source = self._reopen(backoff=False)
            else:
                gone_since = self._last_new
                why = (f"no new frame for {self.clock() - gone_since:.1f} s" if outcome == "stalled"
                       else "a read failed")
                self.report(f"{self.source.name}: lost ({why}); reconnecting")
                self._set_state(RECONNECTING)
                source = self._reopen(backoff=True)
            if source is None:
                return
            self.source = source
            self._last_new = self.clock()
            if self.state == RECONNECTING:
                self.reconnects += 1
                self.report(f"{source.name}: back after {self.clock() - gone_since:.1f} s")
                self._set_state(LIVE)

    def _watch(self, source):
        """Read ``source`` on its own thread until it ends, fails or stalls (a read that blocks
        cannot be interrupted, so a stalled reader is abandoned and closes its source on return)."""
        done = threading.Event()
        result = {}
        cancelled = threading.Event()
        reader = threading.Thread(target=self._read, args=(source, done, cancelled, result),
                                  name="camfx-reader", daemon=True)
        reader.start()
        poll = min(0.05, self.stall_after / 4)
        while not done.wait(poll):
            if self._stop.is_set():
                cancelled.set()
                done.wait(1.0)  # let the reader close its source, unless a read is stuck
                return "stopped"
            if source.live and self.clock() - self._last_new > self.stall_after:
                cancelled.set()
                return "stalled"
        return "stopped" if self._stop.is_set() else result.get("outcome", "lost")

    def _read(self, source, done, cancelled, result):
        # A file is paced by its own timestamps (a variable frame rate stays variable), a clip
        # without them at its frame rate.
        pacer = None if source.live else Pacer(self.clock, self._stop.wait)
        previous = None  # the device's timestamp of the last frame, when it gives them
        i = 0
        try:
            while pacer and not self._wanted.wait(0.05):
                if cancelled.is_set() or self._stop.is_set():
                    return
            while not cancelled.is_set() and not self._stop.is_set():
                image = source.read()
                if cancelled.is_set():
                    break
                if image is None:
                    result["outcome"] = "lost" if source.live else "ended"
                    break
                if pacer and not pacer.wait_until(source.time if source.time is not None else i / source.fps):
                    break
                i += 1
                # A driver that hands back its last buffer again gives it the same timestamp:
                # not news. (The same pixels with a new timestamp are: the scene is still.)
                if source.live and source.time is not None:
                    if source.time == previous:
                        continue
                    previous = source.time
                self._publish(image)
        except Exception:  # a source that raises is a lost source, never a dead thread
            result["outcome"] = "lost"
        finally:
            source.close()
            done.set()

    def _publish(self, image):
        now = self.clock()
        with self._cond:
            if self._has_new():
                self.dropped += 1
            self._latest = Frame(image, self._count, now)
            self._count += 1
            self._last_new = now
            self._cond.notify_all()

    def _reopen(self, backoff):
        """Open the source again, retrying with growing delays; None when stopped or given up."""
        lost_at = self.clock()
        delay = self.backoff[0]
        while not self._stop.is_set():
            try:
                return self._open()
            except Exception as error:  # whatever the library raised, it is one failed attempt
                self.error = str(error) if isinstance(error, CamfxError) else f"{type(error).__name__}: {error}"
            if not backoff or self.clock() - lost_at >= self.give_up_after:
                break
            self._stop.wait(min(delay, max(0.0, lost_at + self.give_up_after - self.clock())))
            delay = min(delay * 2, self.backoff[1])
        if not self._stop.is_set():
            name = self.source.name
            self.error = (f"{name}: lost, and not back within {self.give_up_after:g} s"
                          + (f" ({self.error})" if self.error else ""))
            self._set_state(FAILED)
        return None

    def _set_state(self, state):
        with self._cond:
            self.state = state
            self.history.append((self.clock(), state))
            self._cond.notify_all()

