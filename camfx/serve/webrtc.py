"""WebRTC (aiortc): the control page's low-latency view of the filtered stream.

The page sends an SDP offer for one receive-only video track; camfx answers with a track that
yields the stream sink's newest frame each time the encoder is ready for one. aiortc encodes
(VP8 or H.264, as the browser prefers) per peer, on its executor threads: a WebRTC encoder
adapts to its own peer's bandwidth, so, unlike MJPEG, the encoding cannot be shared.
"""
import fractions
import time

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

CLOCK_RATE = 90_000  # RTP's video clock
TIME_BASE = fractions.Fraction(1, CLOCK_RATE)


class StreamTrack(MediaStreamTrack):
    """A video track playing a :class:`~camfx.serve.stream.StreamSink`'s newest frames.

    Frames that came while the encoder was busy are skipped (counted in ``skipped``), never
    queued. Each frame is stamped with the time it is handed over, so the receiver's playout
    clock follows the real pace of the stream.
    """

    kind = "video"

    def __init__(self, stream, clock=time.monotonic):
        super().__init__()
        self._signal = stream.signal()
        self._clock = clock
        self._start = None
        self._last = None
        self._pts = -1
        self.sent = self.skipped = 0

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        frame = None
        while frame is None:
            frame = await self._signal.next_frame(self._last)
            if self._signal.sink.closed or self.readyState != "live":  # the stream ended
                self.stop()
                raise MediaStreamError
        if self._last is not None:
            self.skipped += max(0, frame.index - self._last - 1)
        self._last = frame.index
        image = frame.image
        video = av.VideoFrame.from_ndarray(image, format="bgr24" if image.ndim == 3 else "gray")
        now = self._clock()
        if self._start is None:
            self._start = now
        self._pts = max(self._pts + 1, round((now - self._start) * CLOCK_RATE))
        video.pts, video.time_base = self._pts, TIME_BASE
        self.sent += 1
        return video


class Peer:
    """One browser watching over WebRTC: its connection and the track it gets."""

    def __init__(self, connection, on_closed):
        self.connection = connection
        self.track = None
        self._on_closed = on_closed
        self.closed = False

    async def close(self):
        """Close the connection (idempotent) and tell the owner once."""
        if not self.closed:
            self.closed = True
            await self.connection.close()
            self._on_closed(self)


async def answer(offer, stream, on_closed):
    """Answer the SDP ``offer`` (``{"sdp": ..., "type": "offer"}``) with a :class:`Peer` that
    sends ``stream``; ``on_closed(peer)`` is called once when its connection fails or closes.

    Returns ``(peer, answer)`` with ``answer`` as ``{"sdp", "type"}``. Raises ValueError for an
    offer that is not one, or that asks for no video.
    """
    if not isinstance(offer, dict) or offer.get("type") != "offer" or not isinstance(offer.get("sdp"), str):
        raise ValueError('a WebRTC offer must be {"type": "offer", "sdp": "..."}')
    # No STUN server: aiortc's default is a public one, which an offline machine would wait on.
    # Host candidates reach any browser on the same network, which is what camfx serves.
    connection = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    peer = Peer(connection, on_closed)

    @connection.on("connectionstatechange")
    async def _state():
        if connection.connectionState in ("failed", "closed"):
            await peer.close()

    try:
        await connection.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
        if not any(t.kind == "video" for t in connection.getTransceivers()):
            raise ValueError("the WebRTC offer asks for no video")
        peer.track = StreamTrack(stream)
        connection.addTrack(peer.track)
        await connection.setLocalDescription(await connection.createAnswer())
    except Exception as error:
        await peer.close()
        if isinstance(error, ValueError):
            raise
        raise ValueError(f"cannot answer this WebRTC offer: {type(error).__name__}: {error}") from None
    local = connection.localDescription
    return peer, {"sdp": local.sdp, "type": local.type}
