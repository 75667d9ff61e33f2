"""camfx serve: time from capture to the frame shown in a browser page, and the loop's frame rate
with viewers watching.

    python benchmarks/serve_latency.py [--seconds 10] [--sizes 640x480,1280x720] [--viewers 1,4]

Method. A camera stand-in makes frames at ``--fps`` with their number written into them as 16
black/white blocks (and the same 16 inverted below, as a check) and notes each frame's time; the
real pipeline runs them: capture thread, live loop (``--filters``), the stream sink, camfx's web
server. Headless Chromium (Debian's ``chromium``) opens one page per viewer, each in its own
browser context, showing the stream over MJPEG (an ``<img>``) or WebRTC (a ``<video>``); on every
frame the page shows (``requestAnimationFrame`` for the image, ``requestVideoFrameCallback`` for
the video) it draws the picture into a canvas, reads the blocks and sends the number back over a
WebSocket. The server takes the time it arrives, so both ends are timed on one clock (this
process's ``time.monotonic``); the latency includes that last hop (well under a millisecond on
loopback) and the wait for the page's next paint, as a viewer sees it.

"In camfx" is the time from capture to the frame's JPEG part or VP8 packets being ready to go
out (camfx's own share: capture, filters, hand-over to the stream, encoding); the rest is the
network stack and the browser.

The loop's frame rate is the frames it filtered per second over the same window, with no viewer
and with each number of viewers, for both transports. Everything runs on this machine: the
browser's decoding competes with camfx for the same cores, as it would on a laptop watching its
own camera.
"""
import argparse
import asyncio
import json
import shutil
import statistics
import threading
import time

import numpy as np
from aiohttp import WSMsgType, web

from camfx import parse_chain
from camfx.engine.registry import Registry
from camfx.live.capture import Capture
from camfx.live.demo import DemoScene
from camfx.live.loop import LiveLoop, tune_chain
from camfx.live.sources import Source
from camfx.serve.app import Server
from camfx.serve.guard import Guard
from camfx.serve.stream import StreamSink

BITS = 16
FLAGS = ["--disable-features=WebRtcHideLocalIpsWithMdns", "--allow-loopback-in-peer-connection"]

PAGE = """<!doctype html>
<html><body style="margin:0;background:#000">
<canvas id="blocks" hidden></canvas>
<script>
"use strict";
const BITS = %d;
const mode = new URLSearchParams(location.search).get("mode");
const report = new WebSocket(`ws://${location.host}/bench/seen`);
const canvas = document.getElementById("blocks");
const context = canvas.getContext("2d", {willReadFrequently: true});
let last = -1;

// The frame's number from its blocks; -1 when a block and its check disagree (a garbled frame).
function decode(source, height) {
  const block = Math.floor(height / 12);
  canvas.width = BITS * block;
  canvas.height = 2 * block;
  context.drawImage(source, 0, 0, canvas.width, canvas.height, 0, 0, canvas.width, canvas.height);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const green = (x, y) => pixels[4 * (y * canvas.width + x) + 1];
  let n = 0;
  for (let i = 0; i < BITS; i++) {
    const x = Math.floor((i + 0.5) * block);
    const bit = green(x, Math.floor(block / 2)) > 128;
    if (bit === (green(x, Math.floor(1.5 * block)) > 128)) return -1;
    if (bit) n |= 1 << i;
  }
  return n;
}

function seen(n) {
  if (n < 0 || n === last) return;
  last = n;
  if (report.readyState === WebSocket.OPEN) report.send(String(n));
  document.body.dataset.seen = "true";
}

async function webrtc() {
  const video = document.createElement("video");
  video.autoplay = video.muted = video.playsInline = true;
  document.body.append(video);
  const peer = new RTCPeerConnection();
  const transceiver = peer.addTransceiver("video", {direction: "recvonly"});
  if ("jitterBufferTarget" in transceiver.receiver) transceiver.receiver.jitterBufferTarget = 0;
  peer.ontrack = (event) => { video.srcObject = new MediaStream([event.track]); };
  await peer.setLocalDescription(await peer.createOffer());
  while (peer.iceGatheringState !== "complete") await new Promise((r) => setTimeout(r, 20));
  const answer = await fetch("/api/webrtc", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({sdp: peer.localDescription.sdp, type: "offer"})});
  await peer.setRemoteDescription(await answer.json());
  const shown = () => {
    if (video.videoHeight) seen(decode(video, video.videoHeight));
    video.requestVideoFrameCallback(shown);
  };
  video.requestVideoFrameCallback(shown);
}

function mjpeg() {
  const image = new Image();
  image.src = "/stream.mjpg";
  document.body.append(image);
  const shown = () => {
    if (image.naturalHeight) seen(decode(image, image.naturalHeight));
    requestAnimationFrame(shown);
  };
  requestAnimationFrame(shown);
}

report.onopen = () => (mode === "webrtc" ? webrtc() : mjpeg());
</script></body></html>
""" % BITS


class NumberedCamera(Source):
    """A live source (it paces itself, like a camera) whose frames carry their number as blocks:
    16 blocks of ``height // 12`` pixels in a row at the top left, white for a 1 bit, with the
    inverted row below them as a check. ``times[n]`` is when frame ``n`` was captured."""

    live = True

    def __init__(self, width, height, fps):
        self.name = f"numbered {width}x{height}"
        self.size, self.fps = (width, height), fps
        self.block = height // 12
        if BITS * self.block > width:
            raise ValueError(f"{width}x{height} is too narrow for {BITS} blocks")
        self.background = DemoScene(width, height).frame(0)
        self.times = {}
        self._n = 0
        self._due = None

    def read(self):
        now = time.monotonic()
        self._due = now if self._due is None else self._due
        if self._due > now:
            time.sleep(self._due - now)
        self._due += 1 / self.fps
        frame = self.background.copy()
        n, b = self._n % (1 << BITS), self.block
        for i in range(BITS):
            bit = (n >> i) & 1
            frame[:b, i * b:(i + 1) * b] = 255 * bit
            frame[b:2 * b, i * b:(i + 1) * b] = 255 * (1 - bit)
        self.times[n] = time.monotonic()
        self._n += 1
        return frame


class Bench:
    """The pipeline and the server for one frame size, on a thread of their own."""

    def __init__(self, width, height, fps, spec):
        self.camera = NumberedCamera(width, height, fps)
        self.capture = Capture(lambda: self.camera, stall_after=5.0)
        chain = parse_chain(spec)
        blank = np.zeros((height, width, 3), np.uint8)
        tune_chain(chain, blank)
        chain.warm(blank)
        self.loop = LiveLoop(self.capture, chain)  # no governor: always the full size
        stream = StreamSink()
        self.loop.add_output(stream)
        self.server = Server(self.loop, self.loop.commands, stream, Registry.discover(), Guard("127.0.0.1", 0),
                             max_viewers=16)
        self.reports = []  # (arrival time, latency in s)
        self.ready = []    # (time, s from capture to the picture ready to send: JPEG part or VP8 packets)
        self._watch_encoders(stream)
        self._ready = threading.Event()
        self._events = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._events.run_until_complete, args=(self._serve(),), daemon=True)

    def _watch_encoders(self, stream):
        """Note when each frame's JPEG part or VP8 packets are ready to go out: camfx's own share
        of the latency (the rest is the network stack and the browser)."""
        from camfx.serve import webrtc
        mjpeg_part = stream.mjpeg_part

        def part(frame=None, encode=True):
            index, data = mjpeg_part(frame, encode)
            if data is not None and frame is not None:
                self.ready.append((time.monotonic(), time.monotonic() - frame.time))
            return index, data

        stream.mjpeg_part = part
        encode = webrtc.SharedEncoder._encode

        def vp8(encoder, frame, keyframe):
            packets = encode(encoder, frame, keyframe)
            self.ready.append((time.monotonic(), time.monotonic() - frame.time))
            return packets

        webrtc.SharedEncoder._encode = vp8

    def __enter__(self):
        self.loop.start()
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        self._events.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self.loop.stop()
        self.loop.wait(10)
        self.capture.close()

    async def _serve(self):
        self._stop = asyncio.Event()
        app = self.server.app()
        app.router.add_get("/bench", self._page)
        app.router.add_get("/bench/seen", self._seen)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    async def _page(self, request):
        return web.Response(text=PAGE, content_type="text/html")

    async def _seen(self, request):
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                now = time.monotonic()
                captured = self.camera.times.get(int(message.data))
                if captured is not None:
                    self.reports.append((now, now - captured))
        return socket

    def measure(self, seconds):
        """Latencies reported and the loop's frames per second over the next ``seconds``."""
        start, frames = time.monotonic(), self.loop.stats.shown
        time.sleep(seconds)
        end, frames = time.monotonic(), self.loop.stats.shown - frames
        latencies = [latency for at, latency in self.reports if start <= at < end]
        ready = [latency for at, latency in self.ready if start <= at < end]
        return latencies, frames / (end - start), ready


def percentile(values, q):
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per row")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring, per row")
    parser.add_argument("--sizes", default="640x480,1280x720")
    parser.add_argument("--viewers", default="1,4")
    parser.add_argument("--transports", default="mjpeg,webrtc")
    parser.add_argument("--fps", type=float, default=30.0, help="the camera stand-in's frame rate")
    parser.add_argument("--filters", default="blur(ksize=5)", help="the chain the loop runs")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=FLAGS)
        for size in args.sizes.split(","):
            width, height = map(int, size.split("x"))
            with Bench(width, height, args.fps, args.filters) as bench:
                time.sleep(args.warmup)
                _, fps, _ = bench.measure(args.seconds)
                rows.append({"size": size, "transport": "-", "viewers": 0, "loop_fps": fps})
                print(f"{size} no viewer: loop {fps:.1f} fps", flush=True)
                for transport in args.transports.split(","):
                    for viewers in map(int, args.viewers.split(",")):
                        contexts = [browser.new_context() for _ in range(viewers)]
                        for context in contexts:
                            page = context.new_page()
                            page.goto(f"{bench.url}/bench?mode={transport}")
                            page.wait_for_selector("body[data-seen=true]", timeout=30_000)
                        time.sleep(args.warmup)
                        latencies, fps, ready = bench.measure(args.seconds)
                        for context in contexts:
                            context.close()
                        row = {"size": size, "transport": transport, "viewers": viewers, "loop_fps": fps,
                               "shown_fps": len(latencies) / args.seconds / viewers,
                               "p50_ms": percentile(latencies, 50), "p90_ms": percentile(latencies, 90),
                               "p99_ms": percentile(latencies, 99), "camfx_p50_ms": percentile(ready, 50)}
                        rows.append(row)
                        print(f"{size} {transport} x{viewers}: p50 {row['p50_ms']:.1f} ms, p90 {row['p90_ms']:.1f} ms, "
                              f"ready to send p50 {row['camfx_p50_ms']:.1f} ms, "
                              f"{row['shown_fps']:.1f} fps shown per viewer, loop {fps:.1f} fps", flush=True)
                        time.sleep(1.0)  # let the viewers' connections close before the next row
        browser.close()

    print(f"\ncapture to page, {args.filters} at {args.fps:g} fps, {args.seconds:g} s per row; "
          "latency p50 / p90 / p99 in ms, frames shown per second per viewer, the loop's frames per second\n")
    print("| size | view | viewers | p50 ms | p90 ms | p99 ms | in camfx p50 ms | shown fps | loop fps | loop vs no viewer |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        base = next(r["loop_fps"] for r in rows if r["size"] == row["size"] and r["viewers"] == 0)
        if row["viewers"] == 0:
            print(f"| {row['size']} | none | 0 | | | | | | {row['loop_fps']:.1f} | |")
        else:
            print(f"| {row['size']} | {row['transport']} | {row['viewers']} | {row['p50_ms']:.1f} | {row['p90_ms']:.1f} "
                  f"| {row['p99_ms']:.1f} | {row['camfx_p50_ms']:.1f} | {row['shown_fps']:.1f} | {row['loop_fps']:.1f} "
                  f"| {100 * (row['loop_fps'] / base - 1):+.1f} % |")
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
