"""Recording the preview to a video file on a background thread, so a slow disk or encoder never
stalls the live loop. The file appears at its path only when complete."""
import os
import queue
import threading
from pathlib import Path

import cv2

from ..errors import CamfxError

FOURCCS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


def check_record_path(path):
    """Return ``path`` as a Path if a recording can go there, else raise CamfxError saying why."""
    path = Path(path)
    if path.suffix.lower() not in FOURCCS:
        raise CamfxError(f"{path}: recordings must end in {', '.join(FOURCCS)}")
    if path.exists():
        raise CamfxError(f"{path}: already exists; not overwriting it")
    if not path.parent.is_dir():
        raise CamfxError(f"{path}: no such folder {path.parent}")
    return path


class Recorder:
    """Writes frames to ``path`` (.mp4, .avi or .mkv) at ``fps``.

    ``write`` copies the frame and returns at once; if the writer falls more than ``backlog``
    frames behind, frames are dropped (and counted) rather than the caller being slowed down.
    The file is written beside ``path`` under a temporary name and renamed by :meth:`close`.
    """

    def __init__(self, path, fps, size, backlog=60):
        self.path = check_record_path(path)
        self._partial = self.path.with_name(f".{self.path.name}.partial{self.path.suffix}")
        fourcc = cv2.VideoWriter_fourcc(*FOURCCS[self.path.suffix.lower()])
        self._writer = cv2.VideoWriter(str(self._partial), fourcc, fps, size)
        if not self._writer.isOpened():
            self._partial.unlink(missing_ok=True)
            raise CamfxError(f"{self.path}: cannot write a video file here")
        self.size = size
        self.written = 0
        self.dropped = 0
        self._queue = queue.Queue(backlog)
        self._thread = threading.Thread(target=self._drain, name="camfx-recorder", daemon=True)
        self._thread.start()

    def write(self, frame):
        """Queue a copy of ``frame`` (BGR, resized to the recording's size if needed)."""
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        try:
            self._queue.put_nowait(frame.copy())
        except queue.Full:
            self.dropped += 1

    def _drain(self):
        while (frame := self._queue.get()) is not None:
            self._writer.write(frame)
            self.written += 1

    def close(self):
        """Finish writing and move the file into place; return its path."""
        self._queue.put(None)
        self._thread.join()
        self._writer.release()
        os.replace(self._partial, self.path)
        return self.path
