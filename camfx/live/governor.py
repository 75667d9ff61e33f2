"""The frame-rate governor: holds the live loop's frame rate by asking the chain's filters to
work more cheaply, then by running the chain on a smaller frame, when it cannot keep up with the
full work at full size, and going back up when there is room again."""

# Processing scales, best first. Below a quarter of the pixels (0.5x) the picture turns to mush.
SCALES = (1.0, 0.85, 0.7, 0.6, 0.5)


class Governor:
    """Picks the economy level and the processing scale from the chain's measured frame times.

    The ladder, best first: the full work at full size; then each of ``economies`` in turn (the
    cheaper ways of working the chain's filters offer, as :attr:`camfx.Chain.economies` names
    them, such as a mask computed every other frame); then, with all of them, smaller frames
    (:data:`SCALES`).

    The chain may use ``headroom`` of each frame's time budget (1 / ``target_fps``); the rest is
    for capture and display. When the smoothed time stays over that budget for ``patience``
    frames, it steps one rung down. It steps back up only when the time one rung up, predicted
    from the pixel count (or, for an economy, from the times measured on either side of it when
    it was taken), would stay under ``up_margin`` of the budget for ``patience * 4`` frames: the
    gap between the two thresholds and the slower way up keep it from flickering between two
    rungs. ``strict=True`` turns it off: always the full work at full size.
    """

    def __init__(self, target_fps, *, economies=(), strict=False, headroom=0.8, up_margin=0.7, patience=15,
                 smoothing=0.2):
        if not target_fps > 0:
            raise ValueError(f"target_fps must be positive, got {target_fps!r}")
        self.budget = headroom / target_fps
        self.strict = strict
        self.up_margin = up_margin
        self.patience = patience
        self.smoothing = smoothing
        self._ladder, self.level = [(0, 1.0)], 0
        self.use_economies(economies)

    def use_economies(self, economies):
        """Govern a chain that offers ``economies`` from now on (a new chain was swapped in): the
        same scale, the new chain's economies all on if the frame is scaled, and times measured
        afresh."""
        scale = self.scale
        self.economies = tuple(economies)
        count = len(self.economies)
        # (economy level, scale) of each rung.
        self._ladder = [(level, 1.0) for level in range(count + 1)] + [(count, s) for s in SCALES[1:]]
        self.level = next(i for i, (level, s) in enumerate(self._ladder) if s == scale)
        self._ratios = {}  # economy rung -> time one rung up / time on it, as measured
        self._before = None
        self.smoothed = None
        self._over = self._under = self._frames = 0

    @property
    def scale(self):
        return self._ladder[self.level][1]

    @property
    def economy(self):
        """How many of :attr:`economies` are in effect."""
        return self._ladder[self.level][0]

    @property
    def state(self):
        """A few words for the HUD."""
        if self.strict:
            return "full size (strict)"
        done = list(self.economies[:self.economy])
        if self.scale < 1.0:
            done.append(f"scaled {self.scale:.2f}x")
        return f"{', '.join(done)} to hold the frame rate" if done else "full size"

    def update(self, seconds):
        """Record the chain's time for one frame on the current rung; return the scale to use
        next (and :attr:`economy` the economy level)."""
        if self.strict:
            return self.scale
        a = self.smoothing
        self.smoothed = seconds if self.smoothed is None else (1 - a) * self.smoothed + a * seconds
        self._frames += 1
        if self._before is not None and self._frames == self.patience:  # the economy's effect, measured
            self._ratios[self.level] = self._before / max(self.smoothed, 1e-9)
            self._before = None
        self._over = self._over + 1 if self.smoothed > self.budget else 0
        if self.level > 0:
            ratio = self._up_ratio()
            fits = ratio is not None and self.smoothed * ratio < self.up_margin * self.budget
            self._under = self._under + 1 if fits else 0
        if self._over >= self.patience and self.level < len(self._ladder) - 1:
            self._step(+1)
        elif self._under >= 4 * self.patience:
            self._step(-1)
        return self.scale

    def _up_ratio(self):
        """How much longer a frame would take one rung up (None: not known yet)."""
        above, here = self._ladder[self.level - 1], self._ladder[self.level]
        if above[1] != here[1]:
            return (above[1] / here[1]) ** 2  # work grows with the pixel count
        return self._ratios.get(self.level)

    def _step(self, direction):
        down_to_economy = direction > 0 and self._ladder[self.level + 1][1] == self.scale
        self._before = self.smoothed if down_to_economy else None
        self.level += direction
        self.smoothed = None  # times measured on the old rung say little about the new one
        self._over = self._under = self._frames = 0
