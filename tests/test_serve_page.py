"""The control page in a real browser: Playwright driving Debian's chromium against camfx's server
over a pump double. The picture is read back from the page through a canvas and compared with the
filtered source."""
import asyncio
import base64
import contextlib
import os
import shutil
import threading
from typing import Literal

import cv2
import numpy as np
import pytest

import camfx
from camfx.engine.filter import Filter
from camfx.engine.registry import Plugin, Registry
from camfx.live.demo import DemoScene
from camfx.outputs.sink import Output
from camfx.serve.app import Server, start
from camfx.serve.guard import Guard
from camfx.serve.stream import StreamSink
from serve_doubles import PumpDouble, mad

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# WebRTC between the page and a local aiortc peer: real host addresses, loopback allowed.
FLAGS = ["--disable-features=WebRtcHideLocalIpsWithMdns", "--allow-loopback-in-peer-connection"]
IMAGE = DemoScene(320, 240).frame(0)

if not os.path.exists(CHROMIUM) and not os.environ.get("CAMFX_REQUIRE_CHROMIUM"):
    pytest.skip("chromium is not installed (.ci/run installs it)", allow_module_level=True)
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def serving(spec, image=IMAGE, output_dir=".", registry=None):
    """The server on its own thread and event loop, as ``camfx serve`` runs it; yields (url, pump)."""
    registry = registry or Registry.discover()
    stream = StreamSink()
    output = Output(stream)
    pump = PumpDouble(image, spec, outputs=[output], output_dir=output_dir, registry=registry).start()
    server = Server(pump, pump.commands, stream, registry, Guard("127.0.0.1", 0), tick=0.2)
    ready, stop = threading.Event(), None
    address = {}

    async def run():
        nonlocal stop
        stop = asyncio.Event()
        runner, address["port"] = await start(server, "127.0.0.1", 0)
        ready.set()
        await stop.wait()
        await runner.cleanup()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield f"http://127.0.0.1:{address['port']}", pump
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
        pump.stop()
        output.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    yield page
    context.close()
    assert not errors, errors


def open_page(page, url, view=""):
    page.goto(f"{url}/{'?view=' + view if view else ''}")
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)


def picture(page):
    """What the page shows (the WebRTC video or the MJPEG image) as a BGR array, read through a
    canvas as the page itself could; None before its first picture."""
    url = page.evaluate("""() => {
        const shown = [...document.querySelectorAll('#picture video, #picture img')].find((e) => !e.hidden);
        const width = shown.videoWidth || shown.naturalWidth, height = shown.videoHeight || shown.naturalHeight;
        const canvas = document.createElement('canvas');
        canvas.width = width; canvas.height = height;
        canvas.getContext('2d').drawImage(shown, 0, 0, width, height);
        return canvas.toDataURL('image/png');
    }""")
    data = base64.b64decode(url.split(",", 1)[1])
    if not data:  # nothing shown yet (a 0x0 canvas gives "data:,")
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def shows(page, expected, other, timeout=20.0):
    """Wait until the page's picture is the ``expected`` one: close to it, and much closer to it
    than to ``other``; return the last difference from it."""
    deadline = page.evaluate("performance.now()") + timeout * 1000
    while True:
        shown = picture(page)
        if shown is not None and shown.shape == expected.shape:
            if mad(shown, expected) < 8 and mad(shown, expected) < 0.4 * mad(shown, other):
                return mad(shown, expected)
        assert page.evaluate("performance.now()") < deadline, (
            "the page does not show the expected picture" if shown is None or shown.shape != expected.shape else
            f"the page's picture is {mad(shown, expected):.1f} from the expected one, {mad(shown, other):.1f} from the other")
        page.wait_for_timeout(100)


def test_the_page_loads_with_the_chain_the_filters_and_the_figures(page):
    with serving("box(ksize=9),edge") as (url, _):
        open_page(page, url)
        assert page.title() == "camfx"
        steps = page.locator("#chain > li")
        assert steps.count() == 2
        assert [steps.nth(i).get_attribute("data-name") for i in range(2)] == ["box", "edge"]
        assert steps.nth(0).locator("input[name=ksize]").input_value() == "9"
        options = page.locator("#add-filter option").all_text_contents()
        assert options == Registry.discover().names()
        page.wait_for_function("() => document.querySelector('#hud').textContent.includes('fps')")
        assert "1:box" in page.text_content("#hud") and "2:edge" in page.text_content("#hud")
        assert page.get_attribute("#source", "data-state") == "live"
        assert page.text_content("#spec") == "box(ksize=9),edge()"


def test_the_buttons_and_the_source_state(page, tmp_path):
    with serving("box(ksize=9)", output_dir=tmp_path) as (url, pump):
        open_page(page, url, "mjpeg")
        page.click("#snapshot")
        page.wait_for_function("() => document.querySelector('#message').textContent.startsWith('snapshot saved')")
        saved = page.text_content("#message").removeprefix("snapshot saved to ")
        assert os.path.dirname(saved) == str(tmp_path) and os.path.isfile(saved)
        page.click("#record")
        page.wait_for_function("() => document.querySelector('#record').textContent === 'Stop recording'")
        assert pump.recording is not None
        page.wait_for_function("() => document.querySelector('#flags').textContent.includes('REC')")
        page.click("#record")
        page.wait_for_function("() => document.querySelector('#record').textContent === 'Record'")
        assert pump.recording is None
        page.click("#pause")
        page.wait_for_function("() => document.querySelector('#pause').textContent === 'Resume'")
        assert pump.paused
        pump.state = "reconnecting"  # what the capture says while a camera is away
        page.wait_for_selector("#source[data-state=reconnecting]")
        assert "reconnecting" in page.text_content("#source")


@pytest.mark.parametrize("view, transport", [("", "WebRTC"), ("mjpeg", "MJPEG")])
def test_the_picture_plays_filtered(page, view, transport):
    with serving("box(ksize=9)") as (url, pump):
        open_page(page, url, view)
        assert page.text_content("#transport") == transport
        shows(page, pump.chain(IMAGE), IMAGE)


def test_changing_the_chain_in_the_page_changes_the_picture(page):
    # The pictures to expect, made first: their kernels are then compiled before the page asks
    # for them (a cold compile on a busy machine can outlast a page's wait).
    box, edge, box31 = (camfx.parse_chain(spec)(IMAGE)
                        for spec in ("box(ksize=9)", "box(ksize=9),edge", "box(ksize=31)"))
    with serving("box(ksize=9)") as (url, pump):
        open_page(page, url, "mjpeg")
        shows(page, box, IMAGE)
        page.select_option("#add-filter", "edge")
        page.click("#add")
        page.wait_for_selector("#chain > li[data-name=edge]")
        assert repr(pump.chain) == "box(ksize=9),edge()"
        shows(page, edge, box)
        page.locator("#chain > li").nth(1).locator("input.enabled").uncheck()  # edge off
        page.wait_for_selector("#chain > li.off[data-name=edge]")
        assert pump.chain.enabled == [True, False]
        shows(page, box, edge)
        page.locator("#chain > li").nth(1).locator("button.move-up").click()  # edge first, still off
        page.wait_for_selector("#chain > li[data-index='0'][data-name=edge]")
        assert repr(pump.chain) == "edge(),box(ksize=9)" and pump.chain.enabled == [False, True]
        ksize = page.locator("#chain > li").nth(1).locator("input[name=ksize]")
        ksize.fill("31")
        ksize.press("Enter")
        page.wait_for_function("() => document.querySelector('#spec').textContent.includes('box(ksize=31)')")
        shows(page, box31, box)
        page.locator("#chain > li").nth(0).locator("button.remove").click()
        page.wait_for_function("() => document.querySelectorAll('#chain > li').length === 1")
        assert repr(pump.chain) == "box(ksize=31)"


def test_a_bad_parameter_shows_its_error_in_the_page_and_changes_nothing(page):
    with serving("box(ksize=9)") as (url, pump):
        open_page(page, url, "mjpeg")
        ksize = page.locator("#chain > li").nth(0).locator("input[name=ksize]")
        ksize.fill("4")
        ksize.press("Enter")
        error = page.locator("#chain > li .step-error")
        error.wait_for(state="visible")
        message = "box: ksize must be an odd positive integer, got 4"
        assert error.text_content() == message and page.text_content("#message") == message
        assert ksize.get_attribute("aria-invalid") == "true" and ksize.input_value() == "4"
        assert repr(pump.chain) == "box(ksize=9)"
        shows(page, pump.chain(IMAGE), IMAGE)


def test_the_kernel_grid_shows_the_values_and_follows_the_edits(page):
    edited = camfx.parse_chain("kernel(matrix=[[0.5, 0], [0, -0.25]], offset=128)")(IMAGE)  # compiled first
    with serving("kernel(matrix=[[1,2,1],[0,0,0],[-1,-2,-1]], offset=128)") as (url, pump):
        open_page(page, url, "mjpeg")
        cells = page.locator("#chain > li .kernel .cell")
        assert cells.all_text_contents() == ["1", "2", "1", "0", "0", "0", "-1", "-2", "-1"]
        assert page.evaluate("getComputedStyle(document.querySelector('.kernel')).gridTemplateColumns").count("px") == 3
        shade = [page.evaluate(f"getComputedStyle(document.querySelectorAll('.kernel .cell')[{i}]).backgroundColor")
                 for i in (1, 4, 7)]  # 2, 0, -2: light, middle, dark
        levels = [int(s[s.index("(") + 1:].split(",")[0]) for s in shade]
        assert levels[0] > levels[1] > levels[2]
        # Redrawn as the user types, before anything is sent ...
        matrix = page.locator("#chain > li textarea[name=matrix]")
        matrix.fill("[[0.5, 0], [0, -0.25]]")
        assert cells.all_text_contents() == ["0.5", "0", "0", "-0.25"]
        assert repr(pump.chain).startswith("kernel(matrix=[[1.0, 2.0, 1.0]")
        # ... and the chain takes it when the edit is done.
        matrix.blur()
        page.wait_for_function("() => document.querySelector('#spec').textContent.includes('[[0.5, 0.0], [0.0, -0.25]]')")
        assert pump.chain.filters[0].matrix == [[0.5, 0.0], [0.0, -0.25]]
        assert page.locator("#chain > li .kernel .cell").all_text_contents() == ["0.5", "0", "0", "-0.25"]
        np.testing.assert_array_equal(pump.chain(IMAGE), edited)
        before = camfx.parse_chain("kernel(matrix=[[1,2,1],[0,0,0],[-1,-2,-1]], offset=128)")(IMAGE)
        shows(page, edited, before)


class Channel(Filter):
    """One colour channel of the picture (a plugin with a choice and a switch, for the page)."""

    name = "channel"
    stateless = True

    def __init__(self, *, colour: Literal["blue", "green", "red"] = "green", invert: bool = False):
        if colour not in ("blue", "green", "red"):
            raise ValueError(f"colour must be 'blue', 'green' or 'red', got {colour!r}")
        self.colour, self.invert = colour, invert

    def apply(self, frame):
        plane = frame[..., ("blue", "green", "red").index(self.colour)]
        plane = 255 - plane if self.invert else plane
        return np.repeat(plane[..., None], 3, axis=2) if frame.ndim == 3 else plane.copy()


def test_choices_and_switches_get_a_menu_and_a_checkbox(page):
    registry = Registry.discover()
    registry.add(Plugin("channel", "tests (test_serve_page.py)", lambda: Channel))
    with serving("channel", registry=registry) as (url, pump):
        open_page(page, url, "mjpeg")
        colour = page.locator("#chain > li select[name=colour]")
        assert colour.locator("option").all_text_contents() == ["blue", "green", "red"]
        assert colour.input_value() == '"green"'
        colour.select_option(label="red")
        page.wait_for_function("() => document.querySelector('#spec').textContent.includes(\"colour='red'\")")
        page.locator("#chain > li input[name=invert]").check()
        page.wait_for_function("() => document.querySelector('#spec').textContent.includes('invert=True')")
        assert repr(pump.chain) == "channel(colour='red', invert=True)"
        shows(page, 255 - np.repeat(IMAGE[..., 2:3], 3, axis=2), np.repeat(IMAGE[..., 1:2], 3, axis=2))
