"""Frame statistics for the live loop: smoothed FPS for the HUD and the summary printed at exit."""
import time
from collections import deque

import numpy as np


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

    Kept in preallocated arrays that grow by doubling, so a long session allocates next to nothing.
    """

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.fps = FpsMeter(clock=clock)
        self.started = clock()
        self.shown = 0
        self._frame_times = np.empty(4096)
        self._latencies = np.empty(4096)

    def record(self, frame_time, latency):
        """One frame shown: ``frame_time`` seconds of work, ``latency`` seconds since capture."""
        if self.shown == len(self._frame_times):
            self._frame_times = np.resize(self._frame_times, 2 * self.shown)
            self._latencies = np.resize(self._latencies, 2 * self.shown)
        self._frame_times[self.shown] = frame_time
        self._latencies[self.shown] = latency
        self.shown += 1
        self.fps.tick()

    @property
    def last_frame_time(self):
        return self._frame_times[self.shown - 1] if self.shown else 0.0

    @property
    def last_latency(self):
        return self._latencies[self.shown - 1] if self.shown else 0.0

    def summary(self, dropped):
        """One line: frames shown and dropped, mean FPS, p50/p99 frame time, mean latency."""
        elapsed = self.clock() - self.started
        if not self.shown:
            return f"0 frames shown, {dropped} dropped in {elapsed:.1f} s"
        times = self._frame_times[:self.shown] * 1000
        p50, p99 = np.percentile(times, [50, 99])
        return (f"{self.shown} frames shown, {dropped} dropped, {self.shown / max(elapsed, 1e-9):.1f} fps mean, "
                f"frame time p50 {p50:.1f} ms p99 {p99:.1f} ms, "
                f"latency mean {self._latencies[:self.shown].mean() * 1000:.1f} ms")
