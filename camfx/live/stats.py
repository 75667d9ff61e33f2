"""Frame statistics for the live loop: smoothed FPS for the HUD and the summary printed at exit."""
import time
from collections import deque

import numpy as np
from ..text import plural


class FpsMeter:
    """Frames per second, smoothed over the last ``window`` seconds of frames.

    >>> clock = iter([0.0, 0.1, 0.2, 0.3]).__next__
    >>> meter = FpsMeter(clock=clock)
    >>> for _ in range(4): meter.tick()
    >>> round(meter.fps, 3)
    10.0
    """

    def __init__(self, window=1.0, clock=time.perf_counter):
        self.window = window
        self.clock = clock
        self._times = deque()

    def tick(self):
        now = self.clock()
        self._times.append(now)
        while len(self._times) > 2 and now - self._times[0] > self.window:
            self._times.popleft()

    @property
    def fps(self):
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / max(self._times[-1] - self._times[0], 1e-9)


class LiveStats:
    """Per-frame processing time and capture-to-display latency, kept for the summary.

    Frame times go into a fixed histogram (0.05 ms bins up to 2 s) and latencies into a running
    sum, so memory stays flat however long the session runs.
    """

    BIN = 0.05e-3
    BINS = 40_000

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.fps = FpsMeter(clock=clock)
        self.started = clock()
        self.shown = 0
        self.last_frame_time = self.last_latency = 0.0
        self._histogram = np.zeros(self.BINS, np.int64)
        self._latency_sum = 0.0

    def record(self, frame_time, latency):
        """One frame shown: ``frame_time`` seconds of work, ``latency`` seconds since capture."""
        self._histogram[min(int(frame_time / self.BIN), self.BINS - 1)] += 1
        self._latency_sum += latency
        self.last_frame_time, self.last_latency = frame_time, latency
        self.shown += 1
        self.fps.tick()

    def frame_time_percentile(self, q):
        """The ``q``-th percentile (0-100) of the frame times, in seconds (to the bin's middle)."""
        rank = np.searchsorted(np.cumsum(self._histogram), q / 100 * self.shown)
        return (min(rank, self.BINS - 1) + 0.5) * self.BIN

    def summary(self, dropped):
        """One line: frames shown and dropped, mean FPS, p50/p99 frame time, mean latency."""
        elapsed = self.clock() - self.started
        if not self.shown:
            return f"0 frames shown, {dropped} dropped in {elapsed:.1f} s"
        p50, p99 = (self.frame_time_percentile(q) * 1000 for q in (50, 99))
        return (f"{plural(self.shown, 'frame')} shown, {dropped} dropped, {self.shown / max(elapsed, 1e-9):.1f} fps mean, "
                f"frame time p50 {p50:.1f} ms p99 {p99:.1f} ms, "
                f"latency mean {self._latency_sum / self.shown * 1000:.1f} ms")
