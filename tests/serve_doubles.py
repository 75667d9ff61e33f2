"""A stand-in for the live loop in the server's tests: a pump thread that filters a still picture
(new frame numbers, same pixels, so the page's picture can be compared with the filtered source)
and feeds the outputs, making commands between frames."""
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from camfx import parse_chain
from camfx.frame import Frame
from camfx.live.commands import Commands


class PumpDouble:
    """``image`` filtered by ``spec`` at ``fps`` into each of ``outputs`` (``Output`` objects),
    on its own thread, with the loop's command handlers and ``status()``."""

    def __init__(self, image, spec="blur(ksize=3)", fps=30.0, outputs=(), output_dir=".", registry=None):
        self.image = image
        self.chain = parse_chain(spec, registry)
        self.commands = Commands(self, registry)
        self.outputs = list(outputs)
        self.period = 1.0 / fps
        self.output_dir = Path(output_dir)
        self.paused = False
        self.recording = None
        self.frames = 0
        self.last = None
        self.state = "live"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pump-double", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self.commands.close()

    def _run(self):
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.commands.run_pending()
            if not self.paused:
                frame = Frame(self.image, self.frames, time.monotonic())
                filtered = frame.with_image(self.chain(self.image))
                self.last = filtered
                self.frames += 1
                for output in self.outputs:
                    output.offer(filtered)
            next_at += self.period
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    # -- what Commands calls, between frames ------------------------------------------------------

    def on_toggle(self, index):
        if index >= len(self.chain):
            raise ValueError(f"no filter at position {index}; the chain has {len(self.chain)}")
        return self.chain.toggle(index)

    def on_replace_chain(self, chain):
        self.chain = chain
        return chain

    def on_set_filter(self, index, old, new):
        if index >= len(self.chain) or self.chain.filters[index] is not old:
            raise ValueError(f"the filter at position {index} changed meanwhile")
        self.chain.filters[index] = new
        return new

    def on_pause(self, paused):
        self.paused = (not self.paused) if paused is None else paused
        return self.paused

    def on_snapshot(self):
        path = self.output_dir / f"snapshot-{self.frames}.png"
        cv2.imwrite(str(path), self.last.image)
        return path

    def on_record(self, on):
        on = self.recording is None if on is None else on
        self.recording = (self.output_dir / "recording.mp4") if on else None
        return self.recording

    def on_quit(self):
        self._stop.set()

    def status(self):
        """The keys of LiveLoop.status() that the server and the page use."""
        return {"source": "still", "state": self.state, "running": not self._stop.is_set(), "paused": self.paused,
                "frames": self.frames, "dropped": 0, "fps": 1 / self.period, "frame_ms_p50": 1.0,
                "frame_ms_p99": 2.0, "latency_ms": 3.0, "size": [self.image.shape[1], self.image.shape[0]],
                "filters": [{"name": f.name, "spec": repr(f), "enabled": on, "ms": 0.5}
                            for f, on in zip(self.chain.filters, self.chain.enabled)],
                "recording": None if self.recording is None else str(self.recording)}


def mad(a, b):
    """Mean absolute difference of two pictures."""
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))
