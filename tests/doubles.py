"""Test doubles for the live path: a camera that plays a recorded clip (and can fail the ways real
cameras do), a window that presses keys, and a virtual camera backend that keeps what it gets."""
import threading
import time

import cv2
import numpy as np


class ClipCamera:
    """Stands in for ``cv2.VideoCapture`` on a camera: plays ``frames`` at ``fps`` in real time.

    Each frame read has a timestamp (``get(CAP_PROP_POS_MSEC)``, as V4L2 gives each buffer's),
    unless ``timestamps=False``. Faults: ``vanish_after`` N frames read() fails; ``freeze_after``
    N frames it hands back the same buffer again and again (the last frame, with its timestamp);
    ``block_after`` N frames read() blocks until :meth:`unblock`. ``honours`` lists the properties
    the "hardware" accepts; the others keep their defaults.
    """

    def __init__(self, frames, *, fps=100.0, vanish_after=None, freeze_after=None, block_after=None,
                 timestamps=True,
                 honours=(cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT, cv2.CAP_PROP_FPS,
                          cv2.CAP_PROP_FOURCC, cv2.CAP_PROP_BUFFERSIZE)):
        self.timestamps = timestamps
        self.frames = frames
        self.period = 1.0 / fps
        self.vanish_after, self.freeze_after, self.block_after = vanish_after, freeze_after, block_after
        self.honours = honours
        height, width = frames[0].shape[:2]
        self.props = {cv2.CAP_PROP_FRAME_WIDTH: width, cv2.CAP_PROP_FRAME_HEIGHT: height,
                      cv2.CAP_PROP_FPS: fps, cv2.CAP_PROP_FOURCC: cv2.VideoWriter_fourcc(*"YUYV"),
                      cv2.CAP_PROP_BUFFERSIZE: 4}
        self.requested = {}
        self.reads = 0
        self.released = False
        self._unblocked = threading.Event()

    def isOpened(self):
        return True

    def set(self, prop, value):
        self.requested[prop] = value
        if prop in self.honours:
            self.props[prop] = value
        return prop in self.honours

    def get(self, prop):
        return float(self.props.get(prop, 0))

    def read(self):
        time.sleep(self.period)
        n = self.reads
        self.reads += 1
        if self.vanish_after is not None and n >= self.vanish_after:
            return False, None
        if self.block_after is not None and n >= self.block_after:
            self._unblocked.wait(10)
            return False, None
        if self.freeze_after is not None and n >= self.freeze_after:
            n = self.freeze_after - 1
        if self.timestamps:
            self.props[cv2.CAP_PROP_POS_MSEC] = 5000.0 + n * self.period * 1000
        return True, self.frames[n % len(self.frames)].copy()

    def unblock(self):
        self._unblocked.set()

    def release(self):
        self.released = True


class ScriptedWindow:
    """Stands in for the preview window: records what it was shown and presses ``keys``, a dict
    {frames shown so far: key}. ``close_after`` frames, it reports itself closed."""

    visible = True

    def __init__(self, keys=None, close_after=None):
        self.keys = dict(keys or {})
        self.close_after = close_after
        self.shown = []

    def show(self, image):
        self.shown.append(image.copy())
        return self.keys.pop(len(self.shown), None)

    def poll(self, wait_ms=1):
        return None

    @property
    def closed(self):
        return self.close_after is not None and len(self.shown) >= self.close_after

    def close(self):
        pass


class RecordingBackend:
    """A pyvirtualcam backend that keeps what it is given. ``NATIVE``: the format it claims to
    take natively (None: the one it was opened with); ``REFUSE``: an error to raise on open."""

    NATIVE = None
    REFUSE = None
    opened = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        if self.REFUSE:
            raise RuntimeError(self.REFUSE)
        self.width, self.height, self.fps, self.fourcc, self.name = width, height, fps, fourcc, device or "test0"
        self.frames, self.times, self.closed = [], [], False
        type(self).opened.append(self)

    def send(self, frame):
        assert frame.dtype == np.uint8 and frame.ndim == 1 and frame.flags.c_contiguous
        self.frames.append(frame.copy())
        self.times.append(time.monotonic())

    def close(self):
        self.closed = True

    def device(self):
        return self.name

    def native_fourcc(self):
        import pyvirtualcam
        return pyvirtualcam.util.encode_fourcc(self.NATIVE) if self.NATIVE else self.fourcc


def backend(name, **attributes):
    """Register a RecordingBackend variant under ``name``; return its class."""
    import pyvirtualcam
    cls = type(name, (RecordingBackend,), {"opened": [], **attributes})
    pyvirtualcam.register_backend(name, cls)
    return cls
