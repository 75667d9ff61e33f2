"""A video-call client sees camfx as a camera: headless Chromium takes camfx's y4m output as its
camera (``--use-file-for-fake-video-capture``), a page gets it with ``getUserMedia`` and draws
the track on a canvas, and what the page shows is one of camfx's filtered frames."""
import functools
import http.server
import os
import shutil
import threading

import cv2
import numpy as np
import pytest

import camfx
from camfx.frame import Frame
from camfx.outputs.pixels import PixelConverter
from camfx.outputs.y4m import Y4mWriter

CHROMIUM = "/usr/bin/chromium"
PAGE = """<!doctype html><title>camfx as a camera</title>
<video id="video" autoplay muted playsinline></video><canvas id="canvas"></canvas>
<script>
async function start() {
  const stream = await navigator.mediaDevices.getUserMedia({video: true});
  const video = document.getElementById("video");
  video.srcObject = stream;
  await video.play();
  const settings = stream.getVideoTracks()[0].getSettings();
  return {width: video.videoWidth, height: video.videoHeight, frameRate: settings.frameRate};
}
function grab() {
  const video = document.getElementById("video"), canvas = document.getElementById("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext("2d", {willReadFrequently: true});
  context.drawImage(video, 0, 0);
  return Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data);
}
</script>
"""


def chromium_or_skip():
    """Playwright and Debian's chromium; CI (CAMFX_REQUIRE_CHROMIUM=1) fails instead of skipping."""
    required = os.environ.get("CAMFX_REQUIRE_CHROMIUM") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if required:
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed")
    return sync_playwright


@pytest.fixture
def page_server(tmp_path):
    """The page, served from http://127.0.0.1 (about:blank has no mediaDevices)."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text(PAGE)
    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def browser_sees(sync_playwright, url, y4m):
    """(the track's settings, the RGB pixels the page drew) with ``y4m`` as Chromium's camera."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m}"])
        try:
            page = browser.new_page()
            page.goto(url)
            settings = page.evaluate("start()")
            rgba = np.array(page.evaluate("grab()"), np.uint8).reshape(settings["height"], settings["width"], 4)
        finally:
            browser.close()
    return settings, rgba[..., :3]


def test_chromium_shows_camfxs_filtered_frames_as_a_camera(tmp_path, recorded_frames, page_server):
    sync_playwright = chromium_or_skip()
    chain = camfx.parse_chain("blur(ksize=5),emboss")
    filtered = [chain(image) for image in recorded_frames[:12:2]]
    y4m = tmp_path / "camfx.y4m"
    with Y4mWriter(y4m, 320, 240, 30) as sink:
        for i, image in enumerate(filtered):
            sink.write(Frame(image, i, i / 30))

    settings, shown = browser_sees(sync_playwright, page_server, y4m)

    assert (settings["width"], settings["height"], settings["frameRate"]) == (320, 240, 30)
    # The browser shows one of the frames (which one depends on when the canvas was drawn), as
    # a camera of 4:2:0 can carry it: compared with the filtered frame taken to I420 and back by
    # OpenCV's decoder, in the frame's inner region; far from every other frame.
    def carried(image):
        i420 = PixelConverter("I420", 320, 240)(image).reshape(360, 320)
        return cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)
    inner = (slice(8, -8), slice(8, -8))
    differences = sorted((np.abs(shown[inner].astype(np.int16) - carried(image)[inner]) for image in filtered),
                         key=np.mean)
    closest, runner_up = differences[0], differences[1]
    assert closest.mean() < 1, f"mean difference to the closest filtered frame is {closest.mean():.2f}"
    assert np.percentile(closest, 99) <= 4
    assert runner_up.mean() > 5 * closest.mean()
