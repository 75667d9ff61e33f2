"""The live loop: newest captured frame -> chain -> preview window (and recording), with the HUD,
the keys, and a summary line at the end."""
import sys
import time
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from .capture import ENDED, FAILED, RECONNECTING
from ..errors import CamfxError
from .hud import draw_hud, hud_lines
from ..outputs.recorder import Recorder
from .stats import LiveStats

KEYS_HELP = "keys: 1-9 toggle a filter, space pause, s snapshot, r record, h HUD, q quit"


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


class LiveLoop:
    """Runs ``chain`` on the newest frame of ``capture`` and shows it in ``window``.

    ``frames`` stops after that many frames shown; ``record`` starts recording to that path at
    once; snapshots and ``r`` recordings go to ``output_dir``. ``governor`` scales the chain down
    when it cannot hold the frame rate. Frames the capture dropped before :meth:`run` are not
    counted.
    """

    def __init__(self, capture, chain, window, *, frames=None, record=None, output_dir=".",
                 hud=True, governor=None, clock=time.perf_counter):
        self.capture, self.chain, self.window = capture, chain, window
        self.governor = governor
        self.max_frames = frames
        self.output_dir = Path(output_dir)
        self.show_hud = hud
        self.clock = clock
        self.stats = LiveStats(clock)
        self.paused = False
        self.recorder = None
        self._record_path = record
        self._last = None          # the last filtered frame, shown again while paused or reconnecting
        self._out = None           # the chain's output buffer
        self._filter_times = []
        self._running = True
        self._dropped_before = 0
        draw_hud(np.zeros((8, 8, 3), np.uint8), ["-"])  # OpenCV loads its fonts now, not on frame 1 (~20 ms)

    def run(self):
        """Loop until the user quits, the source ends, or ``frames`` were shown; return the
        summary line. Raises CamfxError if the source was lost for good."""
        self._dropped_before = self.capture.dropped
        try:
            while self._running and not self._done():
                frame = self.capture.get(timeout=0.01)
                if frame is None:
                    if self.capture.state in (ENDED, FAILED):
                        break
                    self._idle()
                elif self.paused:
                    self._idle()
                else:
                    self._process(frame)
                if self.window.closed:
                    break
        except KeyboardInterrupt:  # Ctrl-C quits like q does
            pass
        finally:
            self._stop_recording()
        summary = self.stats.summary(self.dropped)
        if self.capture.state == FAILED:
            raise CamfxError(f"{self.capture.error}; {summary}")
        return summary

    @property
    def dropped(self):
        """Frames the capture replaced before the loop took them, since :meth:`run` began."""
        return self.capture.dropped - self._dropped_before

    def _done(self):
        return self.max_frames is not None and self.stats.shown >= self.max_frames

    def _process(self, frame):
        start = self.clock()
        self._filter_times = []
        image = self._filter(frame.image)
        if self.governor is not None:
            self.governor.update(self.clock() - start)
            self.chain.economize(self.governor.economy)
        self._last = image
        if self._record_path is not None and self.recorder is None:
            self._start_recording(self._record_path)
        if self.recorder is not None:
            self.recorder.write(image)
        self._handle(self.window.show(self._decorate(image)))
        self.stats.record(self.clock() - start, self.capture.clock() - frame.time)

    def _filter(self, image):
        """The chain on ``image``, at the governor's scale (and scaled back up) when it is below 1."""
        scale = self.governor.scale if self.governor is not None else 1.0
        if scale == 1.0:
            # Into one reused buffer: at full size a steady stream allocates no frames. (The
            # HUD draws on a copy and the recorder queues one, so reusing it is safe.)
            if self._out is None or self._out.shape != image.shape:
                self._out = np.empty(image.shape, np.uint8)
            return self.chain(image, self._filter_times, out=self._out)
        height, width = image.shape[:2]
        small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
        return cv2.resize(self.chain(small, self._filter_times), (width, height), interpolation=cv2.INTER_LINEAR)

    def _idle(self):
        """Nothing new to show: keep the window alive, showing the last frame and the state."""
        if self._last is not None and (self.paused or self.capture.state == RECONNECTING):
            self._handle(self.window.show(self._decorate(self._last)))
            self._handle(self.window.poll(25))  # redraw at ~30 Hz, not as fast as the loop spins
        else:
            self._handle(self.window.poll())

    def _decorate(self, image):
        if not (self.show_hud and self.window.visible):
            return image
        status = []
        if self.capture.state == RECONNECTING:
            status.append(f"RECONNECTING to {self.capture.name}...")
        if self.paused:
            status.append("PAUSED")
        if self.recorder is not None:
            status.append(f"REC {self.recorder.path.name}")
        if self.governor is not None:
            status.append(self.governor.state)
        lines = hud_lines(self.stats, self.dropped, self.chain, self._filter_times, status)
        # The HUD is drawn on a copy: the filtered frame may be the chain's reused buffer or the
        # frame being recorded.
        return draw_hud(image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), lines)

    def _handle(self, key):
        if key is None:
            return
        if key in ("q", "esc"):
            self._running = False
        elif key == "space":
            self.paused = not self.paused
        elif key == "h":
            self.show_hud = not self.show_hud
        elif key == "s":
            self._snapshot()
        elif key == "r" and self._last is not None:
            if self.recorder is None:
                self._start_recording(self._new_path(".mp4"))
            else:
                self._stop_recording()
        elif key.isdigit() and 1 <= int(key) <= len(self.chain):
            on = self.chain.toggle(int(key) - 1)
            note(f"{self.chain.filters[int(key) - 1].name} {'on' if on else 'off'}")

    def _snapshot(self):
        if self._last is None:
            return
        path = self._new_path(".png")
        if cv2.imwrite(str(path), self._last):
            note(f"snapshot saved to {path}")
        else:
            note(f"could not save a snapshot to {path}")

    def _start_recording(self, path):
        self._record_path = None
        try:
            self.recorder = Recorder(path, self.capture.fps, (self._last.shape[1], self._last.shape[0]))
            note(f"recording to {path}")
        except CamfxError as error:
            note(f"cannot record: {error}")

    def _stop_recording(self):
        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            path = recorder.close()
            dropped = f", {recorder.dropped} frames dropped by a slow disk" if recorder.dropped else ""
            note(f"recorded {recorder.written} frames to {path}{dropped}")

    def _new_path(self, suffix):
        """A new file name in the output folder that clobbers nothing."""
        stem = f"camfx-{datetime.now():%Y%m%d-%H%M%S}"
        path = self.output_dir / f"{stem}{suffix}"
        n = 1
        while path.exists():
            path = self.output_dir / f"{stem}-{n}{suffix}"
            n += 1
        return path
