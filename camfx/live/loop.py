"""The live loop: a pump on a thread of its own that takes the capture's newest frame, makes the
commands queued since the last frame (:class:`~camfx.live.commands.Commands`), runs the chain
(at the governor's scale) and offers the filtered frame to every output
(:class:`~camfx.outputs.sink.Output`). Outputs come and go while it runs (a recording starts
and stops); the HUD and the web page read :meth:`LiveLoop.status`; a summary line ends it.

>>> with Capture(lambda: open_source("demo")) as capture:            # doctest: +SKIP
...     loop = LiveLoop(capture, parse_chain("edge"), frames=300)
...     loop.add_output(MySink())
...     print(loop.run())
"""
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from ..engine.chain import Chain
from ..errors import CamfxError
from ..outputs.recorder import Recorder
from ..outputs.sink import Output
from .capture import ENDED, FAILED, RECONNECTING
from .commands import Commands
from .hud import draw_hud, draw_mark
from .stats import LiveStats
from ..text import plural

# Frames a recording may fall behind (a slow disk, an encoder hiccup) before it drops: 1 s at 30 fps.
RECORD_BACKLOG = 30
# How long the pump waits for a frame before it looks at its commands and its state again.
POLL = 0.05


def note(message):
    """A line for the user on stderr."""
    print(f"camfx: {message}", file=sys.stderr, flush=True)


def tune_chain(chain, frame):
    """Let the autotuner pick the chain's fastest variants for frames like ``frame`` (timed once
    per chain, frame shape and machine; remembered on disk after that)."""
    if len(chain):
        choice = chain.tune(frame, announce=note)
        if choice["timed"]:
            steps = ", ".join(f"{f.name} {s['variant'] or 'default'} x{s['threads']}"
                              for f, s in zip(chain.filters, choice["steps"]))
            note(f"tuned for {frame.shape[1]}x{frame.shape[0]}: {steps}")


class BufferPool:
    """The chain's output buffers, each reused once nothing but the pool refers to it.

    Every filtered frame goes to several sinks, which may queue it or keep it; a buffer is
    taken again only when no frame (and no view of one) holds it any more, so a steady stream
    allocates nothing and no sink ever sees its pixels change.
    """

    def __init__(self):
        self._buffers = []
        probe = [np.empty(1)]
        self._free = sys.getrefcount(probe[0])  # what "only the pool" counts on this interpreter

    def take(self, shape):
        """A C-contiguous uint8 array of ``shape`` that no one else holds."""
        for i in range(len(self._buffers)):
            if self._buffers[i].shape == shape and sys.getrefcount(self._buffers[i]) <= self._free:
                return self._buffers[i]
        # All busy (or a new size): forget free buffers of other sizes, add one.
        self._buffers = [b for b in self._buffers if b.shape == shape]
        self._buffers.append(np.empty(shape, np.uint8))
        return self._buffers[-1]


class LiveLoop:
    """Runs ``chain`` on the newest frame of ``capture`` and offers the result to its outputs.

    Parameters
    ----------
    capture : camfx.live.capture.Capture
        Opened or started; the loop starts it when it starts (so a file is not played before
        the loop is ready to take its frames).
    chain : camfx.Chain
        Already tuned and warmed for the source's frame size.
    frames : int, optional
        Stop after that many frames.
    record : path, optional
        Record from the first frame on (see :class:`~camfx.outputs.recorder.Recorder`);
        ``overwrite`` allows an existing file, ``inputs`` names files that must never be
        overwritten (the source). Raises CamfxError at once if it cannot be recorded.
    output_dir : path
        Where snapshots and recordings started by :meth:`Commands.record` without a path go.
    governor : camfx.live.governor.Governor, optional
        Scales the chain down when it cannot hold the frame rate.
    registry : camfx.engine.registry.Registry, optional
        Where :attr:`commands` find filters by name.

    Attributes
    ----------
    commands : camfx.live.commands.Commands
        The one way to steer the loop from another thread (keys, the web API).
    """

    def __init__(self, capture, chain, *, frames=None, record=None, overwrite=False, inputs=(), output_dir=".",
                 governor=None, registry=None, clock=time.perf_counter):
        self.capture, self.chain = capture, chain
        self.governor = governor
        self.max_frames = frames
        self.output_dir = Path(output_dir)
        self.overwrite, self.inputs = overwrite, inputs
        self.clock = clock
        self.stats = LiveStats(clock)
        self.paused = False
        self.commands = Commands(self, registry, prepare=self.prepare)
        width, height = capture.open().size
        self._shape = (height, width, 3)  # of the frames the chain gets; prepare() tunes for it
        self._lock = threading.Lock()     # the status (stats, chain, outputs) between the pump and readers
        self._outputs = []                # offered every frame (replaced, never changed in place)
        self._every_output = []           # every output that ran, for the summary
        self._main_output = None          # the one output that runs on the caller's thread
        self._closers = []
        self._recording = None
        self._pool = BufferPool()
        self._last = None                 # the last filtered Frame (snapshots, repeats)
        self._filter_times = []
        self._next_repeat = 0.0
        self._quit = False
        self._stop_requested = False
        self._dropped_before = 0
        self._error = None
        self._thread = None
        self._finished = threading.Event()
        draw_hud(np.zeros((8, 8, 3), np.uint8), ["-"])  # OpenCV loads its fonts now, not on frame 1 (~20 ms)
        if record is not None:
            self._start_recording(record)

    # -- outputs -------------------------------------------------------------------------------

    def add_output(self, sink, *, start=True, maxsize=2):
        """Offer every filtered frame from now on to ``sink``, through an
        :class:`~camfx.outputs.sink.Output` (returned) with a queue of ``maxsize`` frames.
        ``start=False``: the output runs on the thread that calls :meth:`run` (a window; at most
        one). Any thread may call this, also while the loop runs."""
        if self._finished.is_set():
            raise RuntimeError("the live loop has ended")
        if not start and self._main_output is not None:
            raise ValueError(f"only one output can run on the main thread; {self._main_output.name} does")
        output = Output(sink, maxsize=maxsize, start=start)
        with self._lock:
            self._outputs = [*self._outputs, output]
            self._every_output.append(output)
            if not start:
                self._main_output = output
        return output

    def remove_output(self, output):
        """Stop offering frames to ``output`` and close it on a thread of its own (it may take a
        while: a recording finishes its file)."""
        with self._lock:
            self._outputs = [o for o in self._outputs if o is not output]
        closer = threading.Thread(target=self._close_output, args=(output,), name=f"camfx-close-{output.name}")
        self._closers.append(closer)
        closer.start()

    def _close_output(self, output):
        output.close(timeout=30.0)
        if isinstance(output.sink, Recorder) and not output.failed:
            dropped = f", {output.dropped} dropped (the disk or encoder was too slow)" if output.dropped else ""
            if output.sink.written:
                note(f"recorded {plural(output.sink.written, 'frame')} to {output.sink.path}{dropped}")
            else:
                note(f"nothing recorded to {output.sink.path} (no frame came)")

    # -- running ---------------------------------------------------------------------------------

    def start(self):
        """Start the pump on its own thread; return at once (once: starting a started loop, or
        :meth:`run` after :meth:`start`, does not start a second pump)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._pump, name="camfx-live-loop", daemon=True)
            self._thread.start()
        return self

    def stop(self):
        """Ask the loop to end after the current frame. Safe from a signal handler (it only sets
        a flag) and from any thread."""
        self._stop_requested = True

    def wait(self, timeout=None):
        """Wait for the pump to end (every output closed); True when it has."""
        return self._finished.wait(timeout)

    def run(self):
        """Run until the user quits, the source ends, ``frames`` were shown or :meth:`stop`; the
        pump on its own thread, the output added with ``start=False`` (a window) on this one.
        Return the summary line. Raises CamfxError if the source was lost for good, and
        whatever the pump raised (a broken filter). Ctrl-C (KeyboardInterrupt) ends it the same
        way as :meth:`stop`."""
        self.start()
        try:
            if self._main_output is not None:
                self._main_output.run()  # until the pump closes it, or the window fails
            while not self.wait(0.1):  # a timeout, so that signal handlers run
                pass
        except KeyboardInterrupt:
            self.stop()
            self.wait()
        return self.result()

    def result(self):
        """After the pump ended: the summary line, or the error that ended it."""
        if self._error is not None:
            raise self._error
        summary = self.summary()
        if self.capture.state == FAILED:
            raise CamfxError(f"{self.capture.error}; {summary}")
        return summary

    def summary(self):
        """One line: the loop's frames, drops, rate and times, then each output's frames and drops."""
        with self._lock:
            outputs = list(self._every_output)
        return "; ".join([self.stats.summary(self.dropped), *(o.summary() for o in outputs)])

    @property
    def dropped(self):
        """Frames the capture replaced before the loop took them, since the loop started."""
        return self.capture.dropped - self._dropped_before

    def _pump(self):
        try:
            self.capture.start()  # now: a file starts playing when the loop is ready for it
            self._dropped_before = self.capture.dropped
            with self._lock:
                self.stats = LiveStats(self.clock)
            while not (self._stop_requested or self._quit or self._done()):
                frame = self.capture.get(timeout=self._timeout())
                self.commands.run_pending()
                if self._stop_requested or self._quit:
                    break
                if frame is None:
                    if self.capture.state in (ENDED, FAILED):
                        break
                    self._repeat()
                elif self.paused:
                    self._repeat()  # frames that come while paused are let go, not counted as dropped
                else:
                    self._process(frame)
        except BaseException as error:  # re-raised by result(), in the caller's thread
            self._error = error
        finally:
            self.commands.close()
            with self._lock:
                outputs, self._outputs = self._outputs, []
            for output in outputs:
                self._close_output(output)
            for closer in self._closers:
                closer.join()
            self._finished.set()

    def _done(self):
        return self.max_frames is not None and self.stats.shown >= self.max_frames

    def _timeout(self):
        """How long to wait for a frame: until the next repeat is due, when frames are repeated."""
        if self._last is not None and (self.paused or self.capture.state == RECONNECTING):
            return min(POLL, max(0.001, self._next_repeat - self.clock()))
        return POLL

    def _process(self, frame):
        start = self.clock()
        times = []
        image = self._filter(frame.image, times)
        if self.governor is not None:
            rung = self.governor.level
            self.governor.update(self.clock() - start)
            self.chain.economize(self.governor.economy)
            if self.governor.level != rung:  # said once per change, for headless runs too
                note(f"governor: {self.governor.state}")
        filtered = frame.with_image(image)
        self._last = filtered
        self._shape = frame.image.shape
        for output in self._outputs:
            output.offer(filtered)
        now = self.clock()
        self._next_repeat = now + 1.0 / self._rate()
        with self._lock:
            self.stats.record(now - start, self.capture.clock() - frame.time)
            self._filter_times = times

    def _filter(self, image, times):
        """The chain on ``image``, at the governor's scale (and scaled back up) when it is below 1."""
        scale = self.governor.scale if self.governor is not None else 1.0
        if scale == 1.0:
            return self.chain(image, times, out=self._pool.take(image.shape))
        height, width = image.shape[:2]
        small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
        return cv2.resize(self.chain(small, times), (width, height), interpolation=cv2.INTER_LINEAR)

    def _rate(self):
        return self.capture.fps if self.capture.fps and self.capture.fps > 0 else 30.0

    def _repeat(self):
        """While paused or reconnecting, give the sinks that ask for it (``keepalive``) the last
        frame again at the source's rate: marked "reconnecting" on a copy while the source is away."""
        reconnecting = self.capture.state == RECONNECTING
        now = self.clock()
        if self._last is None or not (reconnecting or self.paused) or now < self._next_repeat:
            return
        self._next_repeat = max(self._next_repeat + 1.0 / self._rate(), now)
        keepalive = [o for o in self._outputs if getattr(o.sink, "keepalive", False)]
        if not keepalive:
            return
        frame = self._last
        if reconnecting:
            image = frame.image if frame.image.ndim == 3 else cv2.cvtColor(frame.image, cv2.COLOR_GRAY2BGR)
            frame = frame.with_image(draw_mark(image.copy()))
        for output in keepalive:
            output.offer(frame)

    # -- what the commands do, in the pump's thread, between two frames ---------------------------

    def prepare(self, chain):
        """Ready a new chain for this loop's frames before it is swapped in: tuned and warmed at
        the current frame size (called by :attr:`commands`, in the caller's thread)."""
        frame = np.zeros(self._shape, np.uint8)
        tune_chain(chain, frame)
        chain.warm(frame)

    def on_toggle(self, index):
        if index >= len(self.chain):
            raise ValueError(f"no filter at position {index}; the chain has {len(self.chain)}")
        with self._lock:
            on = self.chain.toggle(index)
        note(f"{self.chain.filters[index].name} {'on' if on else 'off'}")
        return on

    def on_replace_chain(self, chain):
        with self._lock:
            self.chain, self._filter_times = chain, []
        self._governed(chain)
        note(f"chain: {chain!r}")
        return chain

    def on_set_filter(self, index, old, new, threads=None):
        if index >= len(self.chain) or self.chain.filters[index] is not old:
            raise ValueError(f"the chain changed meanwhile; filter {index} is no longer {old!r}")
        chain = Chain([new if i == index else f for i, f in enumerate(self.chain.filters)])
        chain.enabled = list(self.chain.enabled)
        chain.threads = [threads if i == index else t for i, t in enumerate(self.chain.threads)]
        with self._lock:
            self.chain = chain
        self._governed(chain)
        note(f"chain: {chain!r}")
        return new

    def _governed(self, chain):
        """Tell the governor what economies the new chain offers."""
        if self.governor is not None:
            self.governor.use_economies(chain.economies)

    def on_pause(self, paused):
        self.paused = (not self.paused) if paused is None else bool(paused)
        self._next_repeat = self.clock() + 1.0 / self._rate()
        return self.paused

    def on_snapshot(self):
        if self._last is None:
            raise ValueError("no frame to save yet")
        path = self._new_path(".png")
        if not cv2.imwrite(str(path), self._last.image):
            note(f"could not save a snapshot to {path}")
            raise CamfxError(f"could not save a snapshot to {path}")
        note(f"snapshot saved to {path}")
        return path

    def on_record(self, on):
        if self._recording is not None and self._recording.failed:  # said so already; let it go
            self.remove_output(self._recording)
            self._recording = None
        on = (self._recording is None) if on is None else bool(on)
        if on and self._recording is None:
            self._start_recording(self._new_path(".mp4"))
        elif not on and self._recording is not None:
            recording, self._recording = self._recording, None
            self.remove_output(recording)
        return self._recording.sink.path if self._recording is not None else None

    def on_quit(self):
        self._quit = True

    def _start_recording(self, path):
        try:
            sink = Recorder(path, self._rate(), overwrite=self.overwrite, inputs=self.inputs,
                            sar=getattr(self.capture.source, "sar", 1))
        except CamfxError as error:
            note(f"cannot record: {error}")
            raise
        self._recording = self.add_output(sink, maxsize=RECORD_BACKLOG)
        note(f"recording to {sink.path}")

    def _new_path(self, suffix):
        """A new file name in the output folder that clobbers nothing."""
        stem = f"camfx-{datetime.now():%Y%m%d-%H%M%S}"
        path = self.output_dir / f"{stem}{suffix}"
        n = 1
        while path.exists():
            path = self.output_dir / f"{stem}-{n}{suffix}"
            n += 1
        return path

    # -- what front ends read ------------------------------------------------------------------

    def status(self):
        """A snapshot of the loop's state, safe to call from any thread, made of plain values
        (it serialises to JSON as is). The HUD is drawn from it; the web page serves it.

        Keys
        ----
        source : str
            The source's name (``"camera 0"``, a path, a URL, ``"demo"``).
        state : str
            The source's state: ``"live"``, ``"reconnecting"``, ``"ended"`` or ``"failed"``.
        running : bool
            False once the loop has ended.
        paused : bool
        frames : int
            Frames filtered and handed to the outputs so far.
        dropped : int
            Frames the capture replaced before the loop took them (the chain was too slow).
        fps : float
            Frames per second over the last second.
        frame_ms, frame_ms_p50, frame_ms_p99 : float
            The loop's time per frame (chain and hand-over), last frame and percentiles, ms.
        latency_ms : float
            From capture to hand-over to the outputs, last frame, ms.
        size : [int, int]
            Width and height of the frames the outputs get.
        scale : float
            The governor's processing scale (1.0: full size).
        governor : str or None
            The governor's state in a few words (None without one).
        filters : list of dict
            One per step of the chain: ``name``, ``spec`` (its repr, parseable as a chain),
            ``enabled`` (bool) and ``ms`` (its time on the last frame; 0 when off).
        recording : str or None
            The path of the recording in progress.
        outputs : list of dict
            One per output that ran: ``name``, ``frames`` (written), ``dropped`` (replaced in its
            queue), ``error`` (why it stopped, or None), ``active`` (still receiving frames).
        """
        with self._lock:
            stats, chain, times = self.stats, self.chain, self._filter_times
            filters = [{"name": f.name, "spec": repr(f), "enabled": bool(on),
                        "ms": times[i] * 1000 if on and i < len(times) else 0.0}
                       for i, (f, on) in enumerate(zip(chain.filters, chain.enabled))]
            shown = stats.shown
            p50, p99 = ((stats.frame_time_percentile(q) * 1000 if shown else 0.0) for q in (50, 99))
            status = {
                "source": self.capture.name, "state": self.capture.state,
                "running": not self._finished.is_set(), "paused": self.paused,
                "frames": shown, "dropped": self.dropped, "fps": stats.fps.fps,
                "frame_ms": stats.last_frame_time * 1000, "frame_ms_p50": p50, "frame_ms_p99": p99,
                "latency_ms": stats.last_latency * 1000,
                "size": [self._shape[1], self._shape[0]],
                "scale": self.governor.scale if self.governor is not None else 1.0,
                "governor": self.governor.state if self.governor is not None else None,
                "filters": filters,
                "recording": (str(self._recording.sink.path)
                              if self._recording is not None and not self._recording.failed else None),
                "outputs": [{"name": o.name, "frames": o.written, "dropped": o.dropped, "error": o.error,
                             "active": o in self._outputs} for o in self._every_output],
            }
        return status
