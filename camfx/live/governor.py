"""The frame-rate governor: holds the live loop's frame rate by running the chain on a smaller
frame when it cannot keep up at full size, and going back up when there is room again."""

# Processing scales, best first. Below a quarter of the pixels (0.5x) the picture turns to mush.
SCALES = (1.0, 0.85, 0.7, 0.6, 0.5)


class Governor:
    """Picks the processing scale from the chain's measured frame times.

    The chain may use ``headroom`` of each frame's time budget (1 / ``target_fps``); the rest is
    for capture and display. When the smoothed time stays over that budget for ``patience``
    frames, it steps one scale down. It steps back up only when the time at the next scale up,
    predicted from the pixel count, would stay under ``up_margin`` of the budget for
    ``patience * 4`` frames: the gap between the two thresholds and the slower way up keep it from
    flickering between two scales. ``strict=True`` turns it off: always full size.
    """

    def __init__(self, target_fps, *, strict=False, headroom=0.8, up_margin=0.7, patience=15, smoothing=0.2):
        if not target_fps > 0:
            raise ValueError(f"target_fps must be positive, got {target_fps!r}")
        self.budget = headroom / target_fps
        self.strict = strict
        self.up_margin = up_margin
        self.patience = patience
        self.smoothing = smoothing
        self.level = 0
        self.smoothed = None
        self._over = self._under = 0

    @property
    def scale(self):
        return SCALES[self.level]

    @property
    def state(self):
        """A few words for the HUD."""
        if self.strict:
            return "full size (strict)"
        return "full size" if self.level == 0 else f"scaled {self.scale:.2f}x to hold the frame rate"

    def update(self, seconds):
        """Record the chain's time for one frame at the current scale; return the scale to use next."""
        if self.strict:
            return self.scale
        a = self.smoothing
        self.smoothed = seconds if self.smoothed is None else (1 - a) * self.smoothed + a * seconds
        self._over = self._over + 1 if self.smoothed > self.budget else 0
        if self.level > 0:
            ratio = (SCALES[self.level - 1] / self.scale) ** 2  # work grows with the pixel count
            fits = self.smoothed * ratio < self.up_margin * self.budget
            self._under = self._under + 1 if fits else 0
        if self._over >= self.patience and self.level < len(SCALES) - 1:
            self._step(+1)
        elif self._under >= 4 * self.patience:
            self._step(-1)
        return self.scale

    def _step(self, direction):
        self.level += direction
        self.smoothed = None  # times measured at the old scale say little about the new one
        self._over = self._under = 0
