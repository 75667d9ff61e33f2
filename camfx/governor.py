"""The frame-rate governor: when the chain's frame time stays over budget, process at a lower
scale (and scale back up for display); when there is headroom again, step back up.

Hysteresis keeps it from flickering: frame times are smoothed, a step down needs the smoothed
time over budget, a step up needs the time predicted at the higher scale (time grows with the
pixel count, the square of the scale) under ``headroom`` x budget, and after any step the
governor holds still for ``hold`` seconds so the new frame times can settle.
"""
import time

import cv2

SCALES = (1.0, 0.75, 0.5, 0.35, 0.25)


class Governor:
    """Keep a chain within the frame budget of ``target_fps``.

    Parameters
    ----------
    target_fps : float
        Frames per second to hold (e.g. the source's frame rate).
    strict : bool
        Never change the scale (full quality, whatever the frame rate); ``state`` is "strict".
    clock : callable
        Monotonic seconds; injectable for tests.
    scales : sequence of float
        Processing scales from best to cheapest, the first 1.0.
    smoothing : float
        Weight of the newest frame time in the exponential moving average.
    headroom : float
        Step up only when the time predicted at the higher scale is under this share of the budget.
    hold : float
        Seconds to wait after a step before the next one.

    Examples
    --------
    >>> g = Governor(30, clock=lambda: 0.0)
    >>> g.update(0.010), g.state
    (1.0, 'full')
    """

    def __init__(self, target_fps, strict=False, *, clock=time.monotonic, scales=SCALES, smoothing=0.2,
                 headroom=0.7, hold=1.0):
        if isinstance(target_fps, bool) or not isinstance(target_fps, (int, float)) or not target_fps > 0:
            raise ValueError(f"target_fps must be a positive number, got {target_fps!r}")
        scales = tuple(float(s) for s in scales)
        if not scales or scales[0] != 1.0 or any(not 0 < b < a for a, b in zip(scales, scales[1:])):
            raise ValueError(f"scales must start at 1.0 and decrease, got {scales!r}")
        if not 0 < smoothing <= 1 or not 0 < headroom < 1 or hold < 0:
            raise ValueError("smoothing must be in (0, 1], headroom in (0, 1), hold >= 0")
        self.target_fps = float(target_fps)
        self.budget = 1.0 / self.target_fps
        self.strict = bool(strict)
        self.scales = scales
        self.smoothing = smoothing
        self.headroom = headroom
        self.hold = hold
        self._clock = clock
        self.level = 0
        self.smoothed = None
        self._last_step = clock()

    @property
    def scale(self):
        """The processing scale to use for the next frame (1.0 = full size)."""
        return self.scales[self.level]

    @property
    def state(self):
        """Short text for the HUD: "strict", "full" or the scale, e.g. "0.75x"."""
        if self.strict:
            return "strict"
        return "full" if self.level == 0 else f"{self.scale:g}x"

    def update(self, frame_seconds):
        """Record the chain's time for the frame just processed; return the scale for the next one."""
        if frame_seconds < 0:
            raise ValueError(f"frame_seconds must not be negative, got {frame_seconds!r}")
        if self.smoothed is None:
            self.smoothed = float(frame_seconds)
        else:
            self.smoothed += self.smoothing * (frame_seconds - self.smoothed)
        if self.strict:
            return self.scale
        now = self._clock()
        if now - self._last_step < self.hold:
            return self.scale
        if self.smoothed > self.budget and self.level < len(self.scales) - 1:
            self._step(+1, now)
        elif self.level > 0:
            up = self.scales[self.level - 1] / self.scale
            if self.smoothed * up * up < self.headroom * self.budget:
                self._step(-1, now)
        return self.scale

    def _step(self, direction, now):
        before = self.scale
        self.level += direction
        # Frame time follows the pixel count: rescale the average rather than forget it.
        self.smoothed *= (self.scale / before) ** 2
        self._last_step = now

    def __repr__(self):
        return f"Governor({self.target_fps:g} fps, {self.state})"


def process_scaled(chain, frame, scale, timings=None):
    """Run ``chain`` on ``frame`` shrunk to ``scale`` (area averaging) and bring the result back to
    the frame's size (bilinear); at scale 1.0 it is just ``chain(frame, timings)``."""
    if scale >= 1.0:
        return chain(frame, timings)
    height, width = frame.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return cv2.resize(chain(small, timings), (width, height), interpolation=cv2.INTER_LINEAR)
