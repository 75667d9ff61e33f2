"""WebRTC (aiortc): the control page's low-latency view of the filtered stream.

The page sends an SDP offer for one receive-only video track; camfx answers with VP8 (every
browser with WebRTC decodes it). Each frame is encoded once for all the WebRTC viewers together
(:class:`SharedEncoder`), and every peer is sent the same packets: N viewers cost one encoder,
not N. The price is one bitrate for all (sized for the frame, for a local network) instead of
one that follows each peer's link, and keyframes at a fixed interval (and whenever a viewer
joins or falls behind) instead of on each peer's request; a viewer on a poor link is better off
with the MJPEG stream, which skips frames instead.
"""
import asyncio
import collections
import fractions
import multiprocessing
import time

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.codecs.vpx import number_of_threads
from aiortc.mediastreams import MediaStreamError

CLOCK_RATE = 90_000  # RTP's video clock
TIME_BASE = fractions.Fraction(1, CLOCK_RATE)
BITRATE_PER_PIXEL = 3.0    # bits per second: 0.9 Mbit/s at 640x480, 2.8 Mbit/s at 1280x720 (0.1 bit a pixel at 30 fps)
KEYFRAME_INTERVAL = 2.0    # seconds: how long a peer that lost a packet may wait for a clean picture
BACKLOG = 8                # packets a peer may fall behind before it skips to the next keyframe


class SharedEncoder:
    """Encodes the stream sink's frames to VP8 once, for every subscribed :class:`StreamTrack`.

    It runs while at least one track is subscribed: a task on the event loop takes each new
    frame, encodes it on a worker thread (libvpx with aiortc's real-time settings, constant
    bitrate) and hands the packets to every track.
    """

    def __init__(self, stream, clock=time.monotonic):
        self.stream = stream
        self.clock = clock
        self.tracks = set()
        self.encoded = 0
        self._codec = None
        self._keyframe = False
        self._start = self._last_keyframe = None
        self._task = None

    def subscribe(self, track):
        self.tracks.add(track)
        self.request_keyframe()  # the new viewer can only start from one
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def unsubscribe(self, track):
        self.tracks.discard(track)

    def request_keyframe(self):
        self._keyframe = True

    async def _run(self):
        signal = self.stream.signal()
        last = None
        try:
            while self.tracks:
                frame = await signal.next_frame(last, timeout=1.0)
                if self.stream.closed:
                    break
                if frame is None:
                    continue
                last = frame.index
                keyframe, self._keyframe = self._keyframe, False
                packets = await asyncio.to_thread(self._encode, frame, keyframe)
                for track in list(self.tracks):
                    track.put(packets)
        finally:
            for track in list(self.tracks):
                track.put(None)  # the stream ended: the tracks end too
            self._codec = None   # the next viewer starts a new stream

    def _encode(self, frame, keyframe):
        image = frame.image
        video = av.VideoFrame.from_ndarray(image, format="bgr24" if image.ndim == 3 else "gray")
        video = video.reformat(format="yuv420p")
        now = self.clock()
        if self._codec is None or (self._codec.width, self._codec.height) != (video.width, video.height):
            self._codec = self._new_codec(video.width, video.height)
            self._start, keyframe = now, True
        if keyframe or now - self._last_keyframe >= KEYFRAME_INTERVAL:
            self._last_keyframe = now
            video.pict_type = av.video.frame.PictureType.I
        video.pts = round((now - self._start) * CLOCK_RATE)
        video.time_base = TIME_BASE
        packets = list(self._codec.encode(video))
        for packet in packets:
            packet.time_base = TIME_BASE
        self.encoded += 1
        return packets

    def _new_codec(self, width, height):
        bitrate = int(max(250_000, BITRATE_PER_PIXEL * width * height))
        codec = av.CodecContext.create("libvpx", "w")
        codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
        codec.time_base = TIME_BASE
        codec.bit_rate = bitrate
        codec.gop_size = 3000  # keyframes are asked for by time (KEYFRAME_INTERVAL) and by new viewers
        codec.qmin, codec.qmax = 2, 56
        # aiortc's own real-time VP8 settings (aiortc/codecs/vpx.py), at a constant bitrate.
        codec.options = {"bufsize": str(bitrate), "cpu-used": "-6", "deadline": "realtime", "lag-in-frames": "0",
                         "minrate": str(bitrate), "maxrate": str(bitrate), "noise-sensitivity": "4",
                         "overshoot-pct": "15", "partitions": "0", "static-thresh": "1", "undershoot-pct": "100"}
        codec.thread_count = number_of_threads(width * height, multiprocessing.cpu_count())
        return codec


class StreamTrack(MediaStreamTrack):
    """One peer's video track: the shared encoder's packets, in order.

    A peer must get every packet after a keyframe (each VP8 frame builds on the one before), so
    the track keeps a short queue; if the peer falls ``BACKLOG`` packets behind, the queue is
    dropped (counted in ``skipped``) and the track waits for the next keyframe, asked for at
    once.
    """

    kind = "video"

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.sent = self.skipped = 0
        self._queue = collections.deque()
        self._ready = asyncio.Event()
        self._needs_keyframe = True
        self._ended = False
        encoder.subscribe(self)

    def put(self, packets):
        """From the encoder: the packets of one frame (None: the stream ended)."""
        if packets is None:
            self._ended = True
        else:
            for packet in packets:
                if self._needs_keyframe and not packet.is_keyframe:
                    self.skipped += 1
                    continue
                if len(self._queue) >= BACKLOG:
                    self.skipped += len(self._queue) + 1
                    self._queue.clear()
                    self._needs_keyframe = True
                    self.encoder.request_keyframe()
                    continue
                self._needs_keyframe = False
                self._queue.append(packet)
        self._ready.set()

    async def recv(self):
        while not self._queue:
            if self._ended or self.readyState != "live":
                self.stop()
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        self.sent += 1
        return self._queue.popleft()

    def stop(self):
        super().stop()
        self.encoder.unsubscribe(self)


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
            if self.track is not None:
                self.track.stop()
            await self.connection.close()
            self._on_closed(self)


async def answer(offer, encoder, on_closed):
    """Answer the SDP ``offer`` (``{"sdp": ..., "type": "offer"}``) with a :class:`Peer` that
    sends the frames of ``encoder`` (a :class:`SharedEncoder`); ``on_closed(peer)`` is called
    once when its connection fails or closes.

    Returns ``(peer, answer)`` with ``answer`` as ``{"sdp", "type"}``. Raises ValueError for an
    offer that is not one, that asks for no video, or whose browser cannot take VP8.
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
        peer.track = StreamTrack(encoder)
        # The transceiver is made before the offer is read, so that the answer offers VP8 only
        # (the shared encoder makes one stream for every peer).
        transceiver = connection.addTransceiver(peer.track, direction="sendonly")
        transceiver.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                                         if c.mimeType in ("video/VP8", "video/rtx")])
        try:
            await connection.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
        except Exception as error:
            if "video description" in str(error):
                raise ValueError("the browser's WebRTC offer has no VP8 video") from None
            raise
        if transceiver.mid is None:
            raise ValueError("the WebRTC offer asks for no video")
        await connection.setLocalDescription(await connection.createAnswer())
    except Exception as error:
        await peer.close()
        if isinstance(error, ValueError):
            raise
        raise ValueError(f"cannot answer this WebRTC offer: {type(error).__name__}: {error}") from None
    local = connection.localDescription
    return peer, {"sdp": local.sdp, "type": local.type}
