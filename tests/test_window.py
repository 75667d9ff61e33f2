"""The real preview window, under Xvfb: it opens, shows filtered frames with the HUD, reacts to
keys sent with xdotool, and closes cleanly. CI installs Xvfb, xdotool and ImageMagick; elsewhere
these tests are skipped unless CAMFX_REQUIRE_XVFB=1 makes a missing tool a failure."""
import os
import re
import shutil
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from camfx.live.demo import DemoScene
from camfx_filters.edge import Edge

TOOLS = ("Xvfb", "xdotool", "import")
missing = [tool for tool in TOOLS if shutil.which(tool) is None]
if missing and os.environ.get("CAMFX_REQUIRE_XVFB") != "1":
    pytest.skip(f"needs {', '.join(missing)}", allow_module_level=True)

SIZE = (480, 360)


@pytest.fixture(scope="module")
def display():
    """A private X server; its display name, e.g. ":5". ``-noreset``: an X server resets itself
    when its last client leaves, and a client that connects meanwhile (the next preview, between
    two tests) is refused."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp",
                               "-noreset"], pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    assert number, "Xvfb did not start"
    yield f":{number}"
    server.terminate()
    server.wait(5)


class Preview:
    """`camfx live` running in a real window on ``display``."""

    def __init__(self, display, cwd, filters):
        self.env = dict(os.environ, DISPLAY=display)
        self.started = time.monotonic()
        self.seen = 0  # the newest demo frame seen in the window so far
        self.process = subprocess.Popen(
            [sys.executable, "-m", "camfx", "live", "--source", "demo", "--filters", filters, "--strict",
             "--width", str(SIZE[0]), "--height", str(SIZE[1])],
            cwd=cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.window = self._find_window()

    def _find_window(self, timeout=60):
        """The window's id, once it shows a picture (a cold start may compile for a while)."""
        deadline = time.monotonic() + timeout
        mapped = False
        while time.monotonic() < deadline:
            found = self.xdotool("search", "--name", "^camfx$").split()
            if found and not mapped:
                # With no window manager, Qt on Xvfb now and then misses the first Expose event
                # and never paints. A window manager maps new windows itself; do what it would.
                self.xdotool("windowunmap", "--sync", found[0])
                self.xdotool("windowmap", "--sync", found[0])
                mapped = True
            shot = self.screenshot(found[0]) if found else None
            if shot is not None and shot.any():
                time.sleep(0.5)  # let it show a few frames
                return found[0]
            assert self.process.poll() is None, self.process.communicate()
            time.sleep(0.2)
        raise AssertionError("no camfx window with a picture appeared")

    def xdotool(self, *args):
        return subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True).stdout

    def key(self, name):
        self.xdotool("key", "--window", self.window, name)

    def until(self, condition, what, timeout=30):
        """Wait for ``condition()`` to return something true (a key takes effect when the
        loaded machine gets to it); return it."""
        deadline = time.monotonic() + timeout
        while not (value := condition()):
            assert time.monotonic() < deadline, f"the window never showed {what}"
            assert self.process.poll() is None, self.process.communicate()
            time.sleep(0.1)
        return value

    def demo_frame(self, shot, filter_=None, rows=slice(None)):
        """The demo frame the window shows (filtered by ``filter_``), on ``rows``; None if none.
        The demo plays forward at 30 fps at most: only frames from the last one seen up to
        where that pace could have got are tried."""
        newest = int((time.monotonic() - self.started) * 30) + 2
        found = matching_demo_frame(shot, filter_, range(self.seen, newest), rows)
        if found is not None:
            self.seen = found
        return found

    def screenshot(self, window=None):
        """The window's pixels as a BGR array (None if it cannot be grabbed yet)."""
        result = subprocess.run(["import", "-window", window or self.window, "png:-"], env=self.env,
                                capture_output=True)
        if result.returncode or not result.stdout:
            return None
        return cv2.imdecode(np.frombuffer(result.stdout, np.uint8), cv2.IMREAD_COLOR)

    def finish(self, timeout=10):
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def preview(display, tmp_path):
    previews = []

    def start(filters="edge"):
        previews.append(Preview(display, tmp_path, filters))
        return previews[-1]
    yield start
    for p in previews:
        p.kill()


def matching_demo_frame(shot, filter_=None, frames=range(0, 3000), rows=slice(None)):
    """The index of the demo frame that (filtered) equals ``shot`` on ``rows``, or None."""
    scene = DemoScene(*SIZE)
    for i in frames:
        frame = scene.frame(i)
        expected = filter_(frame) if filter_ else frame
        if np.array_equal(expected[rows], shot[rows]):
            return i
    return None


def test_window_shows_filtered_frames_with_the_hud_and_reacts_to_keys(preview, tmp_path):
    p = preview("edge")
    shot = p.screenshot()
    assert shot.shape[:2] == (SIZE[1], SIZE[0])
    # Below the HUD, the window holds exactly the edge filter of a demo frame (the preview runs
    # --strict: governor scaling would make the picture approximate).
    assert p.demo_frame(shot, Edge(), rows=slice(80, None)) is not None
    hud = shot[:40, :200].astype(int)
    assert (hud >= 200).all(axis=2).sum() > 100  # white HUD text ...
    assert matching_demo_frame(shot, Edge(), range(p.seen, p.seen + 1), rows=slice(0, 40)) is None  # ... over the frame

    p.key("h")  # HUD off: the whole window is a filtered frame
    p.until(lambda: p.demo_frame(p.screenshot(), Edge()) is not None, "the filtered frame without the HUD")

    p.key("1")  # edge off: the demo scene itself, in colour
    def unfiltered():
        shot = p.screenshot()
        return [shot] if shot is not None and p.demo_frame(shot) is not None else None
    [shot] = p.until(unfiltered, "the demo scene unfiltered")
    assert np.abs(shot[..., 2].astype(int) - shot[..., 0]).mean() > 10

    p.key("space")  # paused: the picture stands still ...
    def still():
        first = p.screenshot()
        time.sleep(0.5)
        return np.array_equal(first, p.screenshot())
    p.until(still, "a still picture while paused")
    shot = p.screenshot()
    p.key("space")  # ... and moves again
    p.until(lambda: not np.array_equal(p.screenshot(), shot), "a moving picture once resumed")

    p.key("s")
    p.until(lambda: list(tmp_path.glob("camfx-*.png")), "a snapshot saved")
    assert len(list(tmp_path.glob("camfx-*.png"))) == 1

    p.key("q")
    code, out, err = p.finish(timeout=30)
    assert code == 0, err
    assert re.fullmatch(r"\d+ frames shown, \d+ dropped, .* latency mean [\d.]+ ms; window: \d+ frames, \d+ dropped", out.strip())
    assert "Traceback" not in err


def test_closing_the_window_quits_cleanly(preview):
    Xlib = pytest.importorskip("Xlib.display")
    from Xlib import X, protocol

    p = preview("blur")
    display = Xlib.Display(p.env["DISPLAY"])
    window = display.create_resource_object("window", int(p.window))
    # What a window manager's close button sends.
    message = protocol.event.ClientMessage(
        window=window, client_type=display.intern_atom("WM_PROTOCOLS"),
        data=(32, [display.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0, 0]))
    window.send_event(message, event_mask=0)
    display.flush()
    code, out, err = p.finish(timeout=30)
    display.close()
    assert code == 0, err
    assert "frames shown" in out and "Traceback" not in err


def test_a_key_outside_ascii_does_not_end_the_session(preview):
    p = preview("edge")
    p.key("twosuperior")  # "²": a digit to str.isdigit(), not a filter number
    p.key("eacute")
    p.key("1")  # keys after them still work: the session did not end (edge off)
    p.until(lambda: (shot := p.screenshot()) is not None and p.demo_frame(shot, rows=slice(80, None)) is not None,
            "edge switched off")
    assert p.process.poll() is None, p.process.communicate()
    p.key("q")
    code, out, err = p.finish(timeout=30)
    assert code == 0 and "Traceback" not in err, err
    assert "frames shown" in out
