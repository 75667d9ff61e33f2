"""The stream sink: the newest filtered frame, handed to any number of web viewers.

The live loop's :class:`~camfx.outputs.sink.Output` calls :meth:`StreamSink.write` on its own
thread. The sink keeps only the newest frame and wakes the viewers waiting on the web server's
event loop; each viewer then takes whatever is newest when it is ready for more, so a viewer on a
slow link skips frames (counted) and holds at most one frame, never a queue. A frame is
JPEG-encoded when the first viewer asks for it, at most once however many MJPEG viewers there
are (they all send the same bytes), and never when no viewer takes it: the encoder works at the
pace of the viewers, not of the loop.
"""
import asyncio
import threading

import cv2

from ..outputs.sink import Sink

BOUNDARY = "camfx-frame"


class StreamSink(Sink):
    """Newest frame for the web viewers, JPEG-encoded once per frame when wanted.

    Parameters
    ----------
    quality : int
        JPEG quality, 1-100 (OpenCV's ``IMWRITE_JPEG_QUALITY``).

    Attributes
    ----------
    frame : camfx.Frame or None
        The newest frame written.
    encodes : int
        JPEG encodings done so far (at most one per frame).
    """

    name = "stream"

    def __init__(self, quality=80):
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise ValueError(f"JPEG quality must be a whole number from 1 to 100, got {quality!r}")
        self.quality = quality
        self.frame = None
        self.encodes = 0
        self.closed = False
        self._last = (None, b"", b"")        # (frame index, JPEG, MJPEG part) of the newest encode
        self._encode_lock = threading.Lock()
        self._waiters = set()                # FrameSignal objects, one per event loop listening

    # -- the sink's thread -------------------------------------------------------------------

    def write(self, frame):
        if self._last[0] is not None and frame.index < self._last[0]:  # numbering started again
            with self._encode_lock:
                self._last = (None, b"", b"")
        self.frame = frame
        for signal in list(self._waiters):
            signal.notify(frame)

    def close(self):
        self.closed = True
        for signal in list(self._waiters):
            signal.notify(None)

    # -- any thread --------------------------------------------------------------------------

    def jpeg(self, frame=None):
        """``(index, bytes)``: the newest frame as JPEG (``frame``, or a newer one when that is
        encoded already), encoded at most once per frame whoever asks; ``(None, b"")`` before
        the first frame."""
        index, data, _ = self._encoded(frame or self.frame)
        return index, data

    def mjpeg_part(self, frame=None, encode=True):
        """``(index, bytes)``: the newest frame (or ``frame``) as one part of the MJPEG stream,
        made once per frame and sent as the same bytes to every viewer. ``encode=False``: only
        if it is encoded already, else ``(index, None)`` (for a caller that must not block)."""
        frame = frame or self.frame
        if not encode:
            index, _, part = self._last  # one read of the tuple: consistent without the lock
            if frame is None or index is None or index < frame.index:
                return (None if frame is None else frame.index), None
            return index, part
        index, _, part = self._encoded(frame)
        return index, part

    def _encoded(self, frame):
        if frame is None:
            return None, b"", b""
        with self._encode_lock:
            if self._last[0] is not None and frame.index <= self._last[0]:
                return self._last  # this frame, or a newer one, is encoded already: that one will do
            ok, buffer = cv2.imencode(".jpg", frame.image, (cv2.IMWRITE_JPEG_QUALITY, self.quality))
            if not ok:  # OpenCV encodes any uint8 gray or BGR image; this would be a bug
                raise RuntimeError(f"JPEG encoding failed for a {frame.image.shape} frame")
            self.encodes += 1
            data = buffer.tobytes()
            self._last = (frame.index, data, multipart_part(data))
            return self._last

    # -- the web server's event loop ---------------------------------------------------------

    def signal(self):
        """A :class:`FrameSignal` for the running event loop (one per loop, shared by its
        viewers)."""
        loop = asyncio.get_running_loop()
        for signal in self._waiters:
            if signal.loop is loop:
                return signal
        signal = FrameSignal(loop, self)
        self._waiters.add(signal)
        return signal

    def forget(self, loop):
        """Stop waking ``loop`` (its server stopped)."""
        self._waiters = {s for s in self._waiters if s.loop is not loop}


class FrameSignal:
    """Wakes the coroutines of one event loop when the sink gets a frame.

    One future per frame, shared by every waiter; the sink's thread resolves it through
    ``call_soon_threadsafe``, so no waiter holds a queue of its own.
    """

    def __init__(self, loop, sink):
        self.loop = loop
        self.sink = sink
        self._next = loop.create_future()

    def notify(self, frame):
        """From the sink's thread: the frame ``frame`` arrived (None: the stream ended)."""
        try:
            self.loop.call_soon_threadsafe(self._resolve, frame)
        except RuntimeError:  # the event loop was closed: nobody is listening any more
            self.sink.forget(self.loop)

    def wake(self):
        """From the event loop's thread: wake every waiter now (they look at the state again)."""
        self._resolve(self.sink.frame)

    def _resolve(self, frame):
        current, self._next = self._next, self.loop.create_future()
        if not current.done():
            current.set_result(frame)

    async def next_frame(self, after=None, timeout=None):
        """The newest frame with an index above ``after`` (any frame when None), waiting for one
        if need be. None when the stream ended, when nothing came within ``timeout`` seconds,
        or when :meth:`wake` woke the waiters without a new frame: the caller looks at its
        state and asks again."""
        for waited in (False, True):
            frame = self.sink.frame
            if self.sink.closed:
                return None
            if frame is not None and (after is None or frame.index > after):
                return frame
            if waited:
                return None
            try:
                await asyncio.wait_for(asyncio.shield(self._next), timeout)
            except TimeoutError:
                return None


def multipart_part(data):
    """One part of a ``multipart/x-mixed-replace`` MJPEG stream: boundary, headers, JPEG."""
    head = (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n").encode("ascii")
    return head + data + b"\r\n"
