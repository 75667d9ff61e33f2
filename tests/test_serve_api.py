"""camfx serve's routes with aiohttp's test client, over a pump double that filters a still
picture: every route, every refusal, token, Host and Origin, the viewer cap, slow and vanishing
viewers, one JPEG encode per frame."""
import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

import camfx
from camfx.engine.registry import Registry
from camfx.errors import CamfxError
from camfx.live.demo import DemoScene
from camfx.outputs.sink import Output
from camfx.serve.app import Server
from camfx.serve.guard import Guard, machine_names
from camfx.serve.stream import BOUNDARY, StreamSink
from serve_doubles import PumpDouble, mad

IMAGE = DemoScene(160, 120).frame(0)
START = "box(ksize=9)"  # far from the picture itself, which JPEG keeps within ~1.5 levels


@contextlib.asynccontextmanager
async def serving(tmp_path=".", spec=START, image=IMAGE, host="127.0.0.1", token=None, allowed_hosts=(),
                  fps=30.0, **options):
    """A server over a running pump double; yields (client, server, pump)."""
    stream = StreamSink()
    output = Output(stream)
    pump = PumpDouble(image, spec, fps, outputs=[output], output_dir=tmp_path).start()
    server = Server(pump, pump.commands, stream, Registry.discover(), Guard(host, 8080, token, allowed_hosts),
                    **options)
    try:
        async with TestServer(server.app(), handler_cancellation=True) as test_server:
            async with TestClient(test_server) as client:
                await until(lambda: stream.frame is not None)
                yield client, server, pump
    finally:
        pump.stop()
        output.close()


def run(test):
    """Run an async test body (no asyncio plugin needed)."""
    return asyncio.run(asyncio.wait_for(test, 60))


async def until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def looks_like(picture, expected, other):
    """A JPEG of ``expected`` is close to it, and much closer to it than to ``other``."""
    return mad(picture, expected) < 8 and mad(picture, expected) < 0.4 * mad(picture, other)


async def snapshot(client):
    response = await client.get("/snapshot.jpg")
    assert response.status == 200 and response.content_type == "image/jpeg"
    return cv2.imdecode(np.frombuffer(await response.read(), np.uint8), cv2.IMREAD_COLOR)


async def picture_becomes(client, expected, other, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not looks_like(await snapshot(client), expected, other):
        assert time.monotonic() < deadline, "the picture did not change to the expected one"
        await asyncio.sleep(0.05)


async def read_parts(response, count):
    """``count`` JPEG parts of an MJPEG response, parsed by their headers."""
    reader = response.content
    parts = []
    while len(parts) < count:
        line = await reader.readline()
        if not line.strip():
            continue
        assert line.strip() == f"--{BOUNDARY}".encode()
        headers = {}
        while (line := await reader.readline()).strip():
            key, value = line.decode().split(":", 1)
            headers[key.strip().lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        parts.append(await reader.readexactly(int(headers["content-length"])))
    return parts


# -- the page and the pictures -------------------------------------------------------------------

def test_the_page_is_served_from_memory_with_headers_that_keep_it_to_itself():
    async def test():
        async with serving() as (client, _, _):
            page = await client.get("/")
            assert page.status == 200 and page.content_type == "text/html"
            assert 'src="/app.js"' in await page.text()
            assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
            assert page.headers["X-Frame-Options"] == "DENY"
            for path, kind in (("/app.js", "text/javascript"), ("/style.css", "text/css")):
                asset = await client.get(path)
                assert asset.status == 200 and asset.content_type == kind
            # No route maps a path to a file.
            for path in ("/index.html", "/page/app.js", "/../pyproject.toml", "/%2e%2e/etc/passwd", "/api/nothing"):
                missing = await client.get(path)
                assert missing.status == 404 and "error" in await missing.json()
            wrong_method = await client.post("/api/chain")
            assert wrong_method.status == 405 and "error" in await wrong_method.json()
    run(test())


def test_mjpeg_stream_and_snapshot_show_the_filtered_picture():
    async def test():
        async with serving() as (client, server, pump):
            expected, unfiltered = pump.chain(IMAGE), IMAGE
            response = await client.get("/stream.mjpg")
            assert response.status == 200
            assert response.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
            for part in await read_parts(response, 3):
                assert looks_like(cv2.imdecode(np.frombuffer(part, np.uint8), cv2.IMREAD_COLOR), expected, unfiltered)
            response.close()
            assert looks_like(await snapshot(client), expected, unfiltered)
    run(test())


def test_opencv_plays_the_stream_as_a_network_camera():
    async def test():
        async with serving() as (client, _, pump):
            url = str(client.make_url("/stream.mjpg"))

            def read_three():
                capture = cv2.VideoCapture(url)
                try:
                    return [capture.read() for _ in range(3)] if capture.isOpened() else []
                finally:
                    capture.release()

            frames = await asyncio.to_thread(read_three)
            assert len(frames) == 3 and all(ok for ok, _ in frames)
            assert looks_like(frames[-1][1], pump.chain(IMAGE), IMAGE)
    run(test())


def test_each_frame_is_encoded_once_for_any_number_of_viewers():
    async def test():
        async with serving() as (client, server, pump):
            viewers = [await client.get("/stream.mjpg") for _ in range(4)]
            got = await asyncio.gather(*(read_parts(v, 10) for v in viewers))
            encodes, written = server.stream.encodes, pump.frames
            # 40 pictures went out, and no frame was encoded twice: at most one encode per
            # frame the loop made, whatever the number of viewers.
            assert sum(map(len, got)) == 40 and encodes <= written < 40
            for viewer in viewers:
                viewer.close()
            await until(lambda: server.mjpeg_viewers == 0)
            before = server.stream.encodes
            await asyncio.sleep(0.3)
            assert server.stream.encodes == before, "frames are encoded while nobody watches MJPEG"
    run(test())


def test_a_viewer_that_stops_reading_holds_back_nothing_and_is_let_go():
    big = DemoScene(640, 480).frame(0)

    async def test():
        async with serving(spec="", image=big, write_timeout=1.5) as (client, server, pump):
            # A client that asks for the stream and then never reads: a tiny receive buffer so
            # that the server's side fills at once.
            with socket.socket() as stuck:
                stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                stuck.connect((client.host, client.port))
                stuck.sendall(f"GET /stream.mjpg HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n\r\n".encode())
                await until(lambda: server.mjpeg_viewers == 1)
                viewer = await client.get("/stream.mjpg")
                frames_before = pump.frames
                started = time.monotonic()
                parts = await read_parts(viewer, 20)
                elapsed = time.monotonic() - started
                # The reading viewer got the loop's frames meanwhile, and the loop kept its pace.
                assert len(parts) == 20 and pump.frames - frames_before >= 19
                assert (pump.frames - frames_before) / elapsed > 0.6 * 30
                # The stuck viewer holds at most what the transport buffers before it must wait
                # (asyncio's high-water mark, 64 KiB) plus one frame: nothing queues up for it.
                buffered = [t.get_write_buffer_size() for t in server.transports()]
                assert max(buffered) <= 64 * 1024 + max(len(p) for p in parts) + 1024
                # ... and it is disconnected once it has taken nothing for write_timeout.
                await until(lambda: server.mjpeg_viewers == 1, timeout=10)
                viewer.close()
            await until(lambda: server.mjpeg_viewers == 0)
    run(test())


def test_a_viewer_that_leaves_is_let_go_at_once_even_while_no_frame_comes():
    async def test():
        async with serving() as (client, server, pump):
            assert (await (await client.post("/api/pause", json={"paused": True})).json()) == {"paused": True}
            viewer = socket.create_connection((client.host, client.port))
            viewer.sendall(f"GET /stream.mjpg HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n\r\n".encode())
            await until(lambda: server.mjpeg_viewers == 1)
            frames = pump.frames
            viewer.close()
            await until(lambda: server.mjpeg_viewers == 0, timeout=3)
            assert pump.frames == frames  # no frame came that could have told the server
    run(test())


def test_viewers_past_the_cap_are_refused_until_one_leaves():
    async def test():
        async with serving(max_viewers=2) as (client, server, _):
            first, second = await client.get("/stream.mjpg"), await client.get("/stream.mjpg")
            third = await client.get("/stream.mjpg")
            assert third.status == 503 and "at most 2" in (await third.json())["error"]
            offer = await client.post("/api/webrtc", json={"type": "offer", "sdp": "v=0"})
            assert offer.status == 503
            first.close()
            await until(lambda: server.mjpeg_viewers == 1)
            fourth = await client.get("/stream.mjpg")
            assert fourth.status == 200
            second.close()
            fourth.close()
            await until(lambda: server.mjpeg_viewers == 0)
            # Asked for all at once, still no more than the cap.
            at_once = await asyncio.gather(*(client.get("/stream.mjpg") for _ in range(5)))
            assert sorted(r.status for r in at_once) == [200, 200, 503, 503, 503]
            for response in at_once:
                response.close()
    run(test())


async def webrtc_peer(client):
    """An aiortc peer that asks the server for the stream, as the page does; returns it and the
    track it receives."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    peer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    peer.addTransceiver("video", direction="recvonly")
    tracks = []
    peer.on("track", tracks.append)
    await peer.setLocalDescription(await peer.createOffer())
    answer = await client.post("/api/webrtc", json={"sdp": peer.localDescription.sdp, "type": "offer"})
    assert answer.status == 200
    description = await answer.json()
    assert "VP8" in description["sdp"] and "H264" not in description["sdp"]
    await peer.setRemoteDescription(RTCSessionDescription(**description))
    await until(lambda: tracks)
    return peer, tracks[0]


async def received(track, expected, other, frames=60, counter=None):
    """Frames from ``track`` until one looks like ``expected`` (the encoder starts coarse);
    ``counter[track]`` counts them."""
    for _ in range(frames):
        picture = (await asyncio.wait_for(track.recv(), 10)).to_ndarray(format="bgr24")
        if counter is not None:
            counter[track] += 1
        if looks_like(picture, expected, other):
            return picture
    raise AssertionError(f"no frame like the expected one; the last is {mad(picture, expected):.1f} from it")


def test_webrtc_plays_the_filtered_picture_to_every_peer_from_one_encode_per_frame(monkeypatch):
    from camfx.serve.webrtc import SharedEncoder
    encoded = []  # the index of every frame encoded
    encode = SharedEncoder._encode

    def spy(self, frame, keyframe):
        packets = encode(self, frame, keyframe)
        encoded.append(frame.index)
        return packets
    monkeypatch.setattr(SharedEncoder, "_encode", spy)

    async def test():
        async with serving() as (client, server, pump):
            (first, track1), (second, track2) = await webrtc_peer(client), await webrtc_peer(client)
            assert len(server.peers) == 2
            expected = pump.chain(IMAGE)
            got = {track1: 0, track2: 0}
            for track in (track1, track2):
                assert (await received(track, expected, IMAGE, counter=got)).shape == IMAGE.shape
            for _ in range(10):  # both peers keep getting frames
                for track in (track1, track2):
                    await asyncio.wait_for(track.recv(), 10)
                    got[track] += 1
            done = len(encoded)
            stats = await (await client.get("/api/stats")).json()
            assert stats["viewers"]["webrtc"] == 2
            # One VP8 encode per frame the loop made, for both peers together: no frame twice,
            # and every frame either peer showed among them.
            assert encoded == sorted(set(encoded))
            counted = stats["stream"]["webrtc_encodes"]
            assert max(got.values()) <= done <= counted <= len(encoded) + 1  # (one may be on its way)
            await first.close()
            await until(lambda: len(server.peers) == 1, timeout=10)
            await asyncio.wait_for(track2.recv(), 10)  # the other one plays on
            await second.close()
            await until(lambda: not server.peers, timeout=10)
    run(test())


class Packet:
    def __init__(self, n, key=False):
        self.n, self.is_keyframe = n, key


class Encoder:
    def __init__(self):
        self.tracks, self.keyframes_asked = set(), 0

    def subscribe(self, track):
        self.tracks.add(track)

    def unsubscribe(self, track):
        self.tracks.discard(track)

    def request_keyframe(self):
        self.keyframes_asked += 1


def test_a_webrtc_peer_that_falls_behind_skips_to_the_next_keyframe_and_never_queues_more():
    from aiortc.mediastreams import MediaStreamError
    from camfx.serve.webrtc import BACKLOG, StreamTrack

    async def test():
        encoder = Encoder()
        track = StreamTrack(encoder)
        track.put([Packet(0), Packet(1)])        # joined mid-stream: nothing until a keyframe
        track.put([Packet(2, key=True)])
        track.put([Packet(3)])
        assert [(await track.recv()).n for _ in range(2)] == [2, 3] and track.skipped == 2
        for n in range(4, 4 + BACKLOG + 1):       # the peer stops taking packets
            track.put([Packet(n)])
        assert encoder.keyframes_asked == 1 and track.skipped == 2 + BACKLOG + 1
        track.put([Packet(20)])                   # still waiting for a keyframe
        track.put([Packet(21, key=True)])
        assert (await track.recv()).n == 21
        track.put(None)                           # the stream ended
        with pytest.raises(MediaStreamError):
            await asyncio.wait_for(track.recv(), 1)
        assert track not in encoder.tracks
    run(test())


def test_a_bad_webrtc_offer_is_a_400():
    async def test():
        async with serving() as (client, server, _):
            for body in ({"type": "answer", "sdp": "x"}, {"type": "offer"}, [1]):
                response = await client.post("/api/webrtc", json=body)
                assert response.status == 400 and "offer" in (await response.json())["error"]
            garbage = await client.post("/api/webrtc", json={"type": "offer", "sdp": "not sdp"})
            assert garbage.status == 400 and "WebRTC offer" in (await garbage.json())["error"]
            assert not server.peers
    run(test())


# -- the JSON API --------------------------------------------------------------------------------

def test_filters_lists_every_installed_filter_with_its_parameters_types_and_defaults():
    async def test():
        async with serving() as (client, _, _):
            listed = {f["name"]: f for f in (await (await client.get("/api/filters")).json())["filters"]}
            registry = Registry.discover()
            assert sorted(listed) == registry.names()
            for name, entry in listed.items():
                expected = [p.name for p in registry.get(name).parameters()]
                assert [p["name"] for p in entry["parameters"]] == expected
            assert listed["blur"]["parameters"] == [
                {"name": "ksize", "type": "int", "required": False, "default": 5},
                {"name": "sigma", "type": "float", "required": False, "default": 0.0}]
            matrix = listed["kernel"]["parameters"][0]
            assert matrix == {"name": "matrix", "type": "list", "required": True}
            assert listed["emboss"]["parameters"] == [] and "filter2D" in listed["emboss"]["doc"]
    run(test())


def test_put_chain_replaces_the_running_chain_and_the_picture_follows():
    async def test():
        async with serving() as (client, server, pump):
            before = await (await client.get("/api/chain")).json()
            assert before["filters"] == "box(ksize=9)" and before["steps"][0]["enabled"]
            response = await client.put("/api/chain", json={"filters": "sharpen,edge"})
            assert response.status == 200
            after = await response.json()
            assert after["filters"] == "sharpen(),edge()" == repr(pump.chain)
            assert after["steps"][0]["kernel"]["matrix"] == [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
            assert after == await (await client.get("/api/chain")).json()
            await picture_becomes(client, camfx.parse_chain("sharpen,edge")(IMAGE), camfx.parse_chain(START)(IMAGE))
            # The list form config.toml takes, with steps switched off.
            steps = [{"name": "kernel", "matrix": [[0, 1], [1, 0]], "scale": 0.5}, "edge"]
            listed = await client.put("/api/chain", json={"filters": steps, "enabled": [True, False]})
            assert listed.status == 200
            assert [s["enabled"] for s in (await listed.json())["steps"]] == [True, False]
            assert pump.chain.enabled == [True, False]
    run(test())


def test_toggle_and_one_parameter_change_one_step():
    async def test():
        async with serving(spec="box(ksize=9),edge") as (client, _, pump):
            toggled = await client.post("/api/chain/1/toggle")
            assert [s["enabled"] for s in (await toggled.json())["steps"]] == [True, False]
            await picture_becomes(client, camfx.parse_chain("box(ksize=9)")(IMAGE),
                                  camfx.parse_chain("box(ksize=9),edge")(IMAGE))
            changed = await client.put("/api/chain/0/params/ksize", json={"value": 31})
            assert (await changed.json())["filters"] == "box(ksize=31),edge()"
            assert repr(pump.chain.filters[0]) == "box(ksize=31)" and pump.chain.enabled == [True, False]
            await picture_becomes(client, camfx.parse_chain("box(ksize=31)")(IMAGE),
                                  camfx.parse_chain("box(ksize=9)")(IMAGE))
    run(test())


def cli_error(spec):
    """What the command line says about a bad chain spec."""
    result = subprocess.run([sys.executable, "-m", "camfx", "warmup", "--filters", spec],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    return result.stderr.strip().removeprefix("camfx: error: ")


def test_bad_requests_are_400_with_the_command_lines_message_and_the_chain_stays():
    cli = {spec: cli_error(spec) for spec in ("blurr", "blur(ksize=4)", "blur(size=3)")}

    async def test():
        async with serving() as (client, _, pump):
            before = await (await client.get("/api/chain")).json()
            cases = [
                ("PUT", "/api/chain", {"filters": "blurr"}, cli["blurr"]),
                ("PUT", "/api/chain", {"filters": "blur(ksize=4)"}, cli["blur(ksize=4)"]),
                ("PUT", "/api/chain", {"filters": "blur(size=3)"}, cli["blur(size=3)"]),
                ("PUT", "/api/chain", {"filters": "blur(ksize="}, "malformed filter chain"),
                ("PUT", "/api/chain", {"filters": 5}, "a chain must be a spec string or a list of steps"),
                ("PUT", "/api/chain", {"chain": "edge"}, 'expected {"filters"'),
                ("PUT", "/api/chain", {"filters": "edge", "enabled": [True, False]}, "enabled has 2 values for 1 step"),
                ("PUT", "/api/chain", {"filters": "edge", "enabled": "yes"}, "enabled must be a list"),
                ("PUT", "/api/chain", b"{not json", "malformed JSON"),
                ("PUT", "/api/chain/0/params/ksize", {"value": 4}, "box: ksize must be an odd positive integer, got 4"),
                ("PUT", "/api/chain/0/params/ksize", {"value": 2.5}, "box: ksize must be int, got 2.5"),
                ("PUT", "/api/chain/0/params/size", {"value": 3}, "box has no parameter 'size'"),
                ("PUT", "/api/chain/3/params/ksize", {"value": 3}, "no filter at position 3; the chain has 1"),
                ("PUT", "/api/chain/0/params/ksize", {"val": 3}, 'expected {"value"'),
                ("POST", "/api/chain/1/toggle", None, "no filter at position 1"),
                ("POST", "/api/record", {"on": "yes"}, "on must be true or false"),
                ("POST", "/api/pause", [True], "expected a JSON object"),
            ]
            for method, path, body, message in cases:
                data = body if isinstance(body, bytes) else (None if body is None else json.dumps(body))
                response = await client.request(method, path, data=data)
                assert response.status == 400, (path, body)
                error = (await response.json())["error"]
                assert error.startswith(message) if body in ({"filters": s} for s in cli) else message in error, error
                assert await (await client.get("/api/chain")).json() == before
            assert repr(pump.chain) == "box(ksize=9)" and pump.chain.enabled == [True]
    run(test())


def test_stats_snapshot_record_and_pause(tmp_path):
    async def test():
        async with serving(tmp_path) as (client, _, pump):
            stats = await (await client.get("/api/stats")).json()
            assert stats["state"] == "live" and stats["fps"] == 30.0
            assert stats["viewers"] == {"mjpeg": 0, "webrtc": 0, "events": 0, "max": 8}
            saved = await (await client.post("/api/snapshot")).json()
            assert saved["path"].startswith(str(tmp_path))
            assert looks_like(cv2.imread(saved["path"]), pump.chain(IMAGE), IMAGE)
            started = await (await client.post("/api/record", json={"on": True})).json()
            assert started["recording"] and (await (await client.get("/api/stats")).json())["recording"]
            stopped = await (await client.post("/api/record", json={"on": False})).json()
            assert stopped == {"recording": None}
            assert (await (await client.post("/api/pause", json={"paused": True})).json()) == {"paused": True}
            assert (await (await client.post("/api/pause")).json()) == {"paused": False}  # no body: toggles
    run(test())


def test_the_push_channel_sends_stats_and_every_chain_change():
    async def test():
        async with serving(tick=0.1) as (client, server, pump):
            socket_ = await client.ws_connect("/api/events")
            first = await socket_.receive_json(timeout=5)
            assert first["type"] == "chain" and first["chain"]["filters"] == "box(ksize=9)"
            assert (await socket_.receive_json(timeout=5))["type"] == "stats"
            for _ in range(3):  # ticks with nothing changed push stats only: the page has the chain
                assert (await socket_.receive_json(timeout=5))["type"] == "stats"
            await client.put("/api/chain", json={"filters": "edge"})
            while (message := await socket_.receive_json(timeout=5))["type"] != "chain":
                assert message["type"] == "stats" and message["stats"]["viewers"]["events"] == 1
            assert message["chain"]["filters"] == "edge()"
            # A change made elsewhere (another front end's command) is pushed too.
            pump.commands.toggle(0)
            while (message := await socket_.receive_json(timeout=5))["type"] != "chain":
                pass
            assert message["chain"]["steps"][0]["enabled"] is False
            await socket_.close()
            await until(lambda: not server.sockets)
    run(test())


def test_when_the_loop_has_ended_commands_are_503():
    async def test():
        async with serving() as (client, _, pump):
            pump.stop()
            response = await client.put("/api/chain", json={"filters": "edge"})
            assert response.status == 503 and "ended" in (await response.json())["error"]
    run(test())


# -- who may use it ----------------------------------------------------------------------------

ROUTES = [("GET", "/"), ("GET", "/app.js"), ("GET", "/stream.mjpg"), ("GET", "/snapshot.jpg"),
          ("GET", "/api/filters"), ("GET", "/api/chain"), ("PUT", "/api/chain"), ("POST", "/api/chain/0/toggle"),
          ("PUT", "/api/chain/0/params/ksize"), ("GET", "/api/stats"), ("POST", "/api/snapshot"),
          ("POST", "/api/record"), ("POST", "/api/pause"), ("GET", "/api/events"), ("POST", "/api/webrtc")]


def test_a_server_on_another_address_needs_a_token():
    with pytest.raises(CamfxError, match="needs a token"):
        Guard("0.0.0.0", 8080)
    with pytest.raises(CamfxError, match="printable ASCII"):
        Guard("0.0.0.0", 8080, "two words")
    Guard("127.0.0.1", 8080), Guard("::1", 8080), Guard("localhost", 8080)  # loopback: no token needed


def test_every_route_checks_the_token_by_header_cookie_or_address(tmp_path):
    async def test():
        async with serving(tmp_path, host="0.0.0.0", token="s3cret") as (client, server, pump):
            for method, path in ROUTES:
                refused = await client.request(method, path)
                assert refused.status == 401 and "token" in (await refused.json())["error"], path
                wrong = await client.request(method, path, headers={"Authorization": "Bearer nope"})
                assert wrong.status == 401, path
            assert (await client.get("/api/chain", headers={"Authorization": "Bearer s3cret"})).status == 200
            assert (await client.get("/api/chain?token=nope")).status == 401
            assert pump.chain.enabled == [True] and not list(tmp_path.iterdir())  # nothing happened
            # The address: what <img> tags and players use; the page sets the cookie from it.
            stream = await client.get("/stream.mjpg?token=s3cret")
            assert stream.status == 200
            stream.close()
            page = await client.get("/?token=s3cret")
            assert page.status == 200 and page.cookies["camfx_token_8080"].value == "s3cret"
            assert page.cookies["camfx_token_8080"]["samesite"] == "Strict"
            assert page.cookies["camfx_token_8080"]["httponly"]
            # From now on the client's cookie jar carries it, WebSocket included.
            assert (await client.put("/api/chain", json={"filters": "edge"})).status == 200
            socket_ = await client.ws_connect("/api/events")
            assert (await socket_.receive_json(timeout=5))["type"] == "chain"
            await socket_.close()
    run(test())


@pytest.mark.parametrize("host, allowed", [
    ("127.0.0.1:8080", True), ("localhost:8080", True), ("[::1]:8080", True), ("LOCALHOST", True),
    ("cam.localhost:8080", True), ("192.168.1.20:8080", True), ("evil.example:8080", False),
    ("127.0.0.1.nip.io", False), ("attacker.com", False)])
def test_host_names_other_than_addresses_and_local_names_are_refused(host, allowed):
    async def test():
        async with serving() as (client, _, _):
            response = await client.get("/api/chain", headers={"Host": host})
            assert response.status == (200 if allowed else 403)
            if not allowed:
                assert "DNS rebinding" in (await response.json())["error"]
    run(test())


def test_a_server_on_the_network_answers_to_the_machines_names_and_the_allowed_ones():
    guard = Guard("0.0.0.0", 8080, "t", allowed_hosts=["cam.example.org"])
    for name in machine_names() | {"cam.example.org", "CAM.example.org.", "10.0.0.5", "localhost"}:
        assert guard.host_allowed(f"{name}:8080"), name
    assert not guard.host_allowed("evil.example:8080")


def test_requests_from_other_sites_are_refused():
    async def test():
        async with serving() as (client, _, pump):
            own = f"http://{client.host}:{client.port}"
            refused = [
                ("PUT", "/api/chain", {"Origin": "http://evil.example"}),
                ("PUT", "/api/chain", {"Origin": "null"}),
                ("PUT", "/api/chain", {"Origin": f"http://{client.host}:{client.port + 1}"}),
                ("GET", "/stream.mjpg", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image"}),
                ("GET", "/api/stats", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "empty"}),
                ("GET", "/", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "iframe"}),
            ]
            for method, path, headers in refused:
                response = await client.request(method, path, headers=headers, json={"filters": "edge"})
                assert response.status == 403 and "refused" in (await response.json())["error"], (path, headers)
            with pytest.raises(Exception):
                await client.ws_connect("/api/events", headers={"Origin": "http://evil.example"})
            assert repr(pump.chain) == "box(ksize=9)"
            # Its own page, and a link to the page followed from elsewhere, are fine.
            ok = await client.put("/api/chain", json={"filters": "edge"}, headers={"Origin": own, "Sec-Fetch-Site": "same-origin"})
            assert ok.status == 200
            link = await client.get("/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "document"})
            assert link.status == 200
            socket_ = await client.ws_connect("/api/events", headers={"Origin": own})
            await socket_.close()
    run(test())


def test_the_background_filter_is_served_like_any_other_and_refused_in_one_line_without_its_model(
        models_fetched, monkeypatch):
    async def test():
        async with serving() as (client, _, pump):
            response = await client.put("/api/chain", json={"filters": "background(mode='color', color=[0, 160, 0])"})
            assert response.status == 200, await response.text()
            green = np.full_like(IMAGE, (0, 160, 0))  # nobody in the demo scene: all background
            await picture_becomes(client, green, camfx.parse_chain(START)(IMAGE))
            monkeypatch.setenv("CAMFX_DATA_DIR", "/nonexistent")
            refused = await client.put("/api/chain", json={"filters": "background"})
            assert refused.status == 400
            assert "camfx models fetch" in (await refused.json())["error"]
            assert repr(pump.chain).startswith("background(mode='color'")
    run(test())
