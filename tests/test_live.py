"""The live loop with a scripted window, and `camfx live` as a user runs it."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

import camfx
from camfx.live.capture import Capture
from camfx.errors import CamfxError
from camfx.engine.filter import Filter
from camfx.live.loop import LiveLoop
from camfx.outputs.window import WindowSink
from camfx.engine.registry import Plugin, Registry
from camfx.live import sources
from camfx.live.sources import Camera, VideoFile, any_camera
from conftest import CLIP_FRAMES
from doubles import ClipCamera, Gate, GatedSink, ManualClock, ScriptedWindow, VirtualClock

SUMMARY = re.compile(r"^(\d+) frames? shown, (\d+) dropped, [\d.]+ fps mean, frame time p50 [\d.]+ ms "
                     r"p99 [\d.]+ ms, latency mean [\d.]+ ms(?P<outputs>(?:; [^;]+: \d+ frames?, \d+ dropped(?: \(failed: .*?\))?)*)$",
                     re.M)


def camfx_cli(*args, env=None, cwd=None, timeout=60):
    env = dict(os.environ if env is None else env)
    return subprocess.run([sys.executable, "-m", "camfx", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def run_loop(clip_path, spec, window=None, *, hud=True, registry=None, lockstep=False, **options):
    """`camfx live` on a clip, in this process: the loop on its thread, ``window`` (a scripted
    one) on this one, as the main thread runs it. ``lockstep``: the clip plays in virtual time,
    each frame let through once the window has shown the one before and handled its key, so
    that frames and keys line up exactly however busy the machine is."""
    chain = camfx.parse_chain(spec, registry)
    chain(np.zeros((8, 8, 3), np.uint8))  # compiled before the clock starts, as `camfx live` does
    gate, clock = Gate(), VirtualClock()
    if lockstep:
        capture = Capture(gate.source(lambda: VideoFile(clip_path)), clock=clock, wait=clock.wait)
    else:
        capture = Capture(lambda: VideoFile(clip_path))
    try:
        loop = LiveLoop(capture, chain, **options)
        if window is not None:
            sink = WindowSink(window, loop.commands, loop.status, hud=hud)
            loop.add_output(GatedSink(sink, gate) if lockstep else sink, start=False)
        summary = loop.run()
    finally:
        gate.open()
        capture.close()
    return loop, chain, summary


def with_window(loop, window, hud=True):
    loop.add_output(WindowSink(window, loop.commands, loop.status, hud=hud), start=False)
    return loop


def source_indexes(shown, candidates):
    """For each shown frame, the index of the candidate it equals (-1 if none)."""
    keys = {c.tobytes(): i for i, c in enumerate(candidates)}
    return [keys.get(s.tobytes(), -1) for s in shown]


def test_every_frame_of_a_clip_is_filtered_and_shown_in_order(clip_path, recorded_frames):
    window = ScriptedWindow()
    loop, chain, summary = run_loop(clip_path, "emboss", window, hud=False, lockstep=True)
    shown, dropped = map(int, SUMMARY.match(summary).group(1, 2))
    assert shown == len(window.shown) == CLIP_FRAMES and dropped == 0
    indexes = source_indexes(window.shown, [chain(f) for f in recorded_frames])
    assert indexes == list(range(CLIP_FRAMES))


def test_hud_is_drawn_over_the_frame_and_h_hides_it(clip_path, recorded_frames):
    window = ScriptedWindow(keys={5: "h"}, close_after=10)
    _, chain, _ = run_loop(clip_path, "edge", window)
    filtered = [chain(f) for f in recorded_frames]
    with_hud, without_hud = window.shown[:5], window.shown[5:]
    assert source_indexes(with_hud, filtered) == [-1] * 5
    assert -1 not in source_indexes(without_hud, filtered)
    # Where the HUD frame differs from every filtered frame: a panel in the top-left corner.
    differs = np.all([np.any(with_hud[4] != f, axis=2) for f in filtered], axis=0)
    ys, xs = np.nonzero(differs)
    assert ys.max() < 60 and xs.min() < 10
    assert differs[:40, :150].mean() > 0.5


def test_number_keys_toggle_filters_and_q_quits(clip_path, recorded_frames):
    window = ScriptedWindow(keys={3: "2", 9: "2", 15: "q"})
    _, chain, summary = run_loop(clip_path, "blur, edge", window, hud=False, lockstep=True)
    # q stops the window at once, and the loop before its next frame.
    assert len(window.shown) == 15 and int(SUMMARY.match(summary).group(1)) == 15
    blur_only = source_indexes(window.shown, [chain.filters[0](f) for f in recorded_frames])
    both = source_indexes(window.shown, [chain(f) for f in recorded_frames])
    # Each frame is one or the other; a key takes effect between two frames: from the frame
    # after the one it was pressed on (frames come here one at a time).
    kinds = "".join("b" if i != -1 else "o" if j != -1 else "?" for i, j in zip(both, blur_only))
    assert kinds == "bbb" + "oooooo" + "bbbbbb", kinds


def test_space_pauses_on_the_last_frame(clip_path):
    window = ScriptedWindow(keys={3: "space"}, close_after=20)
    run_loop(clip_path, "edge", window)
    # While paused, the window is redrawn with the HUD on the frame it stopped on.
    below_hud = [shown[80:] for shown in window.shown]
    for shown in below_hud[8:]:
        np.testing.assert_array_equal(shown, below_hud[-1])
    assert sum(np.array_equal(shown, below_hud[-1]) for shown in below_hud) >= 12


def test_s_saves_a_snapshot_of_the_filtered_frame(clip_path, tmp_path, recorded_frames):
    window = ScriptedWindow(keys={4: "s"}, close_after=6)
    _, chain, _ = run_loop(clip_path, "sharpen", window, output_dir=tmp_path)
    [snapshot] = tmp_path.glob("camfx-*.png")
    assert source_indexes([cv2.imread(str(snapshot))], [chain(f) for f in recorded_frames]) != [-1]


def test_r_records_the_filtered_frames_to_a_video_file(clip_path, tmp_path):
    window = ScriptedWindow(keys={5: "r", 25: "r"}, close_after=30)
    run_loop(clip_path, "emboss", window, hud=False, lockstep=True, output_dir=tmp_path)
    [recording] = tmp_path.glob("camfx-*.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == [recording.name]  # no temporary file left
    with VideoFile(recording) as video:
        frames = list(video)
    # From the frame after the first r to the one on which r was pressed again: frames 5 to 24.
    assert len(frames) == 20 and video.size == (320, 240)


def test_frames_option_stops_the_loop(clip_path):
    loop, _, summary = run_loop(clip_path, "edge", frames=7)
    assert SUMMARY.match(summary).group(1) == "7"


def test_closing_the_window_quits(clip_path):
    window = ScriptedWindow(close_after=4)
    run_loop(clip_path, "edge", window)
    assert len(window.shown) == 4


class Slow(Filter):
    """Takes 80 ms a frame."""
    name = "slow"

    def apply(self, frame):
        time.sleep(0.08)
        return frame


def test_a_slow_chain_drops_frames_and_never_shows_one_twice(clip_path):
    registry = Registry([Plugin("slow", "test", lambda: Slow)])
    chain = camfx.parse_chain("slow", registry)
    window = ScriptedWindow()
    with Capture(lambda: VideoFile(clip_path)) as capture:
        summary = with_window(LiveLoop(capture, chain), window, hud=False).run()
    shown, dropped = map(int, SUMMARY.match(summary).group(1, 2))
    assert shown + dropped == CLIP_FRAMES and dropped > CLIP_FRAMES / 2
    fingerprints = {frame.tobytes() for frame in window.shown}
    assert len(fingerprints) == shown


def test_window_stays_alive_and_says_reconnecting_while_the_camera_is_away(recorded_frames):
    cameras = [ClipCamera(recorded_frames, fps=50, vanish_after=5), ClipCamera(recorded_frames, fps=50)]

    def open_camera():
        if len(cameras) == 2:
            return Camera(0, capture_factory=lambda _: cameras.pop(0))
        time.sleep(0.3)  # the device takes a while to come back
        return Camera(0, capture_factory=lambda _: cameras.pop(0))

    window = ScriptedWindow()
    with Capture(open_camera) as capture:
        summary = with_window(LiveLoop(capture, camfx.parse_chain("edge"), frames=15), window).run()
    assert SUMMARY.match(summary).group(1) == "15" and capture.reconnects == 1
    shown_while_away = [s for s in window.shown[5:-10]]
    assert len(shown_while_away) >= 3  # the window was redrawn while waiting


def test_camera_gone_for_good_ends_the_loop_with_a_clear_error(recorded_frames):
    cameras = [ClipCamera(recorded_frames, vanish_after=3)]

    def open_camera():
        if not cameras:
            raise CamfxError("camera 0: not found (no such video device)")
        return Camera(0, capture_factory=lambda _: cameras.pop())

    gate = Gate()  # each frame shown before the next is read: all three, however busy the machine
    with Capture(gate.source(open_camera), give_up_after=0.3, backoff=(0.05, 0.1)) as capture:
        loop = LiveLoop(capture, camfx.parse_chain("edge"))
        loop.add_output(GatedSink(WindowSink(ScriptedWindow(), loop.commands, loop.status), gate), start=False)
        with pytest.raises(CamfxError, match=r"camera 0: lost, and not back within 0.3 s .*; 3 frames shown, 0 dropped"):
            loop.run()


# -- the command, as a user runs it ------------------------------------------------------------

def test_headless_run_on_a_clip_prints_one_summary_line(clip_path):
    result = camfx_cli("live", "--headless", "--source", str(clip_path), "--filters", "blur,edge")
    assert result.returncode == 0, result.stderr
    shown, dropped = map(int, SUMMARY.fullmatch(result.stdout.strip()).group(1, 2))
    assert shown + dropped == CLIP_FRAMES and shown > CLIP_FRAMES / 2
    assert "blur(ksize=5, sigma=0.0),edge()" in result.stderr


def test_recording_from_the_command_line(clip_path, tmp_path):
    out = tmp_path / "rec.mkv"
    result = camfx_cli("live", "--headless", "--source", str(clip_path), "--filters", "edge",
                       "--frames", "10", "--record", str(out))
    assert result.returncode == 0, result.stderr
    with VideoFile(out) as video:
        assert len(list(video)) == 10


@pytest.mark.skipif(any_camera(), reason="this machine has a camera")
def test_no_camera_plays_the_demo_and_says_so():
    result = camfx_cli("live", "--headless", "--frames", "5", "--filters", "edge")
    assert result.returncode == 0, result.stderr
    assert "no camera found; playing the built-in demo scene" in result.stderr
    assert SUMMARY.fullmatch(result.stdout.strip()).group(1) == "5"


@pytest.mark.parametrize("args, message", [
    (["--source", "9"], "camera 9: not found"),
    (["--source", "nothing.mp4"], "nothing.mp4: no such file"),
    (["--source", "rtsp://127.0.0.1:9/cam"], "rtsp://127.0.0.1:9/cam: cannot open"),
    (["--source", "demo", "--filters", "blur(ksize=4)"], "ksize must be an odd positive integer, got 4"),
    (["--source", "demo", "--frames", "0"], "--frames must be positive"),
    (["--source", "demo", "--fps", "-5"], "--fps must be a positive number, got -5.0"),
    (["--source", "demo", "--fps", "nan"], "--fps must be a positive number, got nan"),
    (["--source", "demo", "--fps", "inf"], "--fps must be a positive number, got inf"),
    (["--source", "demo", "--record", "clip.mp4/"], "clip.mp4/: names a folder; a recording is a file"),
    (["--source", "demo", "--fourcc", "MJ"], "--fourcc must be 'auto' or four characters such as MJPG, got 'MJ'"),
])
def test_bad_input_is_one_line_and_a_non_zero_exit(args, message, tmp_path):
    start = time.monotonic()
    result = camfx_cli("live", "--headless", *args, cwd=tmp_path)  # whatever it might write goes there
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and result.stdout == ""
    assert time.monotonic() - start < 10


def test_existing_recording_is_never_clobbered(tmp_path):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"precious")
    result = camfx_cli("live", "--headless", "--source", "demo", "--frames", "3", "--record", str(out))
    assert result.returncode == 2 and "already exists" in result.stderr
    assert out.read_bytes() == b"precious"


def test_without_a_display_it_suggests_headless():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = camfx_cli("live", "--source", "demo", env=env)
    assert result.returncode == 2
    assert "no display" in result.stderr and "--headless" in result.stderr


def test_ctrl_c_quits_with_the_summary():
    process = subprocess.Popen([sys.executable, "-m", "camfx", "live", "--headless", "--source", "demo",
                                "--width", "320", "--height", "240"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:  # a cold start says it is compiling first
        if "demo ->" in line:    # the loop is about to start
            break
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0 and "Traceback" not in err
    assert int(SUMMARY.fullmatch(out.strip()).group(1)) > 0


class PixelBound(Filter):
    """Takes 60 ms per 320x240 frame, less on fewer pixels, like any convolution."""
    name = "pixelbound"

    def apply(self, frame):
        time.sleep(0.06 * frame.shape[0] * frame.shape[1] / (320 * 240))
        return frame


def test_governor_scales_the_chain_down_to_hold_the_frame_rate(clip_path):
    from camfx.live.governor import Governor

    registry = Registry([Plugin("pixelbound", "test", lambda: PixelBound)])
    governor = Governor(30, patience=3)
    window = ScriptedWindow()
    with Capture(lambda: VideoFile(clip_path)) as capture:
        with_window(LiveLoop(capture, camfx.parse_chain("pixelbound", registry), governor=governor), window).run()
    assert governor.scale < 1.0
    assert all(shown.shape == (240, 320, 3) for shown in window.shown)  # shown at full size


class Economical(Filter):
    """Takes 60 ms of the loop's clock per frame, 20 ms economising (say, a mask every other
    frame): the test's clock, so that what the governor sees does not depend on the machine."""
    name = "economical"
    economies = ("cheaper",)
    clock = None

    def apply(self, frame):
        self.clock.advance(0.02 if self.economy else 0.06)
        return frame


def test_governor_has_a_filter_economise_before_it_shrinks_the_frame(clip_path, capsys, monkeypatch):
    from camfx.live.governor import Governor

    clock = ManualClock()
    monkeypatch.setattr(Economical, "clock", clock)
    registry = Registry([Plugin("economical", "test", lambda: Economical)])
    chain = camfx.parse_chain("economical", registry)
    governor = Governor(30, economies=chain.economies, patience=3)
    window = ScriptedWindow()
    with Capture(lambda: VideoFile(clip_path)) as capture:
        loop = with_window(LiveLoop(capture, chain, governor=governor, clock=clock), window)
        loop.run()
    assert chain.filters[0].economy == 1 and governor.scale == 1.0  # the economy was enough
    assert loop.status()["governor"] == "economical: cheaper to hold the frame rate"
    assert "camfx: governor: economical: cheaper to hold the frame rate\n" in capsys.readouterr().err


def test_frames_dropped_before_the_loop_starts_are_not_counted(recorded_frames):
    with Capture(camera_opener_for(ClipCamera(recorded_frames * 4, fps=200))) as capture:
        wait_until(lambda: capture.dropped > 10)  # the camera runs on while the app gets ready
        before = capture.dropped
        summary = LiveLoop(capture, camfx.parse_chain("edge"), frames=5).run()
        since = capture.dropped - before  # read after the loop: the camera ran on meanwhile
    assert before > 10
    assert int(SUMMARY.match(summary).group(2)) <= since
    assert int(SUMMARY.match(summary).group(2)) < before


def camera_opener_for(device):
    return lambda: Camera(0, capture_factory=lambda _: device)


def test_auto_source_hands_the_probed_camera_to_the_capture(monkeypatch):
    import camfx.app.live as cli
    opened, said = [], []

    def fake_open(spec, **options):
        opened.append((spec, options))
        return f"device {len(opened)}"

    monkeypatch.setattr(sources, "any_camera", lambda: True)
    monkeypatch.setattr(sources, "open_source", fake_open)
    opener = cli._source_opener("auto", {"width": 640}, said.append)
    assert opened == [(0, {"width": 640})]  # probed once, with the requested settings
    assert opener() == "device 1" and len(opened) == 1  # the probe's device, not a second open
    assert opener() == "device 2" and opened[-1] == (0, {"width": 640})  # a reconnect opens anew
    assert said == []


def test_auto_source_falls_back_to_the_demo_when_the_camera_will_not_open(monkeypatch):
    import camfx.app.live as cli

    def fake_open(spec, **options):
        if spec == 0:
            raise CamfxError("camera 0: cannot open (busy or not a camera?)")
        return spec

    said = []
    monkeypatch.setattr(sources, "any_camera", lambda: True)
    monkeypatch.setattr(sources, "open_source", fake_open)
    assert cli._source_opener("auto", {}, said.append)() == "demo"
    assert said == ["camera 0: cannot open (busy or not a camera?); playing the built-in demo scene "
                    "(pick a source with --source)"]


# -- outputs, commands and status --------------------------------------------------------------

from camfx.live.sources import Demo  # noqa: E402
from camfx.live.demo import DemoScene  # noqa: E402
from camfx.outputs.sink import Sink  # noqa: E402
from test_sink import Collect, Explode  # noqa: E402


class Keep(Sink):
    """Collects (index, image) of every frame it gets, repeats included."""
    name = "keep"

    def __init__(self, keepalive=False):
        self.keepalive = keepalive
        self.got = []

    def write(self, frame):
        self.got.append((frame.index, frame.image))


def demo_capture(size=(320, 240)):
    return Capture(lambda: Demo(*size, fps=30))


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_several_sinks_at_once_one_slow_and_one_failing_hold_back_neither_the_loop_nor_the_others(
        clip_path, capfd):
    fast, slow, failing = Collect(), Collect(delay=0.1), Explode()
    # The clip plays in virtual time, each frame let through once the fast sink has it: the
    # loop goes as fast as that sink, and a sink that held it back would get every frame.
    clock, gate = VirtualClock(), Gate()
    with Capture(gate.source(lambda: VideoFile(clip_path)), clock=clock, wait=clock.wait) as capture:
        loop = LiveLoop(capture, camfx.parse_chain("edge"))
        outputs = [loop.add_output(GatedSink(fast, gate), maxsize=100), loop.add_output(slow),
                   loop.add_output(failing)]
        summary = loop.run()
        gate.open()
    shown, dropped = map(int, SUMMARY.match(summary).group(1, 2))
    assert shown == CLIP_FRAMES and dropped == 0
    assert len(fast.got) == shown and fast.got == sorted(fast.got)  # every frame, in order
    assert slow.got[-1] == fast.got[-1] and outputs[1].dropped == shown - len(slow.got) > shown / 2
    assert failing.got == [0, 1, 2] and failing.closed == 1
    said = [line for line in capfd.readouterr().err.splitlines() if "explode" in line]
    assert said == ["camfx: output explode failed and was closed: OSError: [Errno 28] No space left on device"]
    assert SUMMARY.match(summary).group("outputs") == (
        f"; collect: {shown} frames, 0 dropped; collect: {len(slow.got)} frames, {outputs[1].dropped} dropped"
        "; explode: 3 frames, 0 dropped (failed: OSError: [Errno 28] No space left on device)")
    status = loop.status()
    assert [(o["name"], o["frames"], o["dropped"], o["error"] is not None) for o in status["outputs"]] == [
        ("collect", shown, 0, False), ("collect", len(slow.got), outputs[1].dropped, False), ("explode", 3, 0, True)]


class Probe(Filter):
    """Writes its tag in a log, once per frame, and takes a moment (a frame is not instant)."""
    name = "probe"
    log = []

    def __init__(self, *, tag: str = "a"):
        self.tag = tag

    def apply(self, frame):
        Probe.log.append(self.tag)
        time.sleep(0.003)
        return frame.copy()


def test_commands_from_another_thread_take_effect_between_two_frames():
    registry = Registry([Plugin("probe", "test", lambda: Probe)])
    Probe.log.clear()
    specs = ["probe(tag='c'), probe(tag='d')", "probe(tag='a'), probe(tag='b')"] * 5
    with demo_capture() as capture:
        loop = LiveLoop(capture, camfx.parse_chain("probe(tag='a'), probe(tag='b')", registry), registry=registry)
        loop.start()
        wait_until(lambda: loop.status()["frames"] >= 2)

        def steer():
            for spec in specs:
                before = loop.status()["frames"]
                assert repr(loop.commands.replace_chain(spec).result(timeout=5)) == spec.replace(" ", "")
                wait_until(lambda: loop.status()["frames"] >= before + 2)  # a frame or two with each chain
        steering = threading.Thread(target=steer)
        steering.start()
        steering.join(30)
        loop.stop()
        loop.wait(10)
        loop.result()
    # Every frame ran through one whole chain, never half of one and half of the next, and the
    # chains changed exactly as often as they were replaced.
    pairs = ["".join(pair) for pair in zip(Probe.log[::2], Probe.log[1::2])]
    assert len(Probe.log) % 2 == 0 and set(pairs) == {"ab", "cd"}
    assert sum(a != b for a, b in zip(pairs, pairs[1:])) == len(specs)


@pytest.mark.parametrize("command, cli_spec", [
    (lambda commands: commands.replace_chain("blurr, edge"), "blurr, edge"),
    (lambda commands: commands.replace_chain("blur(ksize=4)"), "blur(ksize=4)"),
    (lambda commands: commands.set_parameter(0, "ksize", 4), "blur(ksize=4)"),
    (lambda commands: commands.set_parameter(0, "size", 3), "blur(size=3)"),
])
def test_a_bad_command_is_refused_with_the_command_lines_message_and_the_chain_is_left_as_it_was(command, cli_spec):
    from_cli = camfx_cli("live", "--headless", "--source", "demo", "--filters", cli_spec)
    assert from_cli.returncode == 2
    message = from_cli.stderr.strip().removeprefix("camfx: error: ")
    sink = Keep()
    with demo_capture() as capture:
        loop = LiveLoop(capture, camfx.parse_chain("blur(ksize=3)"))
        chain = loop.chain
        loop.add_output(sink)
        loop.start()
        wait_until(lambda: len(sink.got) >= 3)
        with pytest.raises(ValueError) as refused:
            command(loop.commands)
        taken = len(sink.got)
        wait_until(lambda: len(sink.got) >= taken + 3)
        loop.stop()
        loop.wait(10)
    assert message in str(refused.value) or str(refused.value) in message, (str(refused.value), message)
    assert loop.chain is chain and repr(chain) == "blur(ksize=3, sigma=0.0)"
    scene = DemoScene(320, 240)
    for index, image in sink.got[taken:]:
        np.testing.assert_array_equal(image, cv2.GaussianBlur(scene.frame(index), (3, 3), 0))


def test_keepalive_sinks_get_the_last_frame_again_marked_while_the_camera_is_away(recorded_frames):
    cameras = [ClipCamera(recorded_frames, fps=30, vanish_after=10), ClipCamera(recorded_frames, fps=30)]
    back = threading.Event()

    def open_camera():
        if len(cameras) == 1:
            assert back.wait(30)  # the device comes back when the test says
        return Camera(0, capture_factory=lambda _: cameras.pop(0))

    keep, plain = Keep(keepalive=True), Keep()
    gate = Gate()  # each camera frame reaches the sinks before the next is read: none dropped
    clock = ManualClock()  # the loop's time, which paces the repeats, passes when the test says
    with Capture(gate.source(open_camera)) as capture:
        loop = LiveLoop(capture, camfx.parse_chain("emboss"), frames=20, clock=clock)
        loop.add_output(keep, maxsize=100)
        loop.add_output(GatedSink(plain, gate), maxsize=100)
        loop.start()
        wait_until(lambda: len(plain.got) == 10 and capture.state == "reconnecting")
        last_before = plain.got[9]
        repeated = lambda: sum(index == last_before[0] for index, _ in keep.got) - 1  # noqa: E731
        for k in range(1, 16):  # one repeat per 1/30 s of the loop's time: the source's rate
            clock.advance(1 / 30)
            wait_until(lambda: repeated() >= k)
        back.set()
        assert loop.wait(30)
        loop.result()
    plain_indexes = [index for index, _ in plain.got]
    assert plain_indexes == list(range(20))  # every frame once: no repeats for it
    repeats = [image for index, image in keep.got if index == last_before[0]][1:]
    assert len(repeats) == 15
    for image in repeats:  # the same picture with a small mark in the bottom-left corner
        differs = np.any(image != last_before[1], axis=2)
        ys, xs = np.nonzero(differs)
        assert differs.any() and ys.min() > 240 * 0.8 and xs.max() < 320 * 0.5
    assert [index for index, _ in keep.got if index != last_before[0]] == [i for i in plain_indexes if i != last_before[0]]


def test_keepalive_sinks_get_the_last_frame_unmarked_while_paused():
    keep, plain = Keep(keepalive=True), Keep()
    clock = ManualClock()  # the loop's time, which paces the repeats, passes when the test says
    with demo_capture() as capture:
        loop = LiveLoop(capture, camfx.parse_chain("edge"), clock=clock)
        keep_output = loop.add_output(keep, maxsize=100)
        loop.add_output(plain, maxsize=100)
        loop.start()
        wait_until(lambda: len(plain.got) >= 5)
        assert loop.commands.pause(True).result(timeout=5) is True
        shown = loop.status()["frames"]  # no frame is filtered while paused ...
        wait_until(lambda: len(plain.got) == shown and keep_output.written == shown)  # ... those on their way arrive
        last_index, last_image = plain.got[-1]
        for k in range(1, 16):  # one repeat per 1/30 s of the loop's time: the source's rate
            clock.advance(1 / 30)
            wait_until(lambda: len(keep.got) >= shown + k)
        time.sleep(0.5)  # the source runs on meanwhile
        assert len(plain.got) == shown and len(keep.got) == shown + 15 and loop.status()["paused"]
        published = capture._count  # frames the source has given so far
        assert loop.commands.pause(False).result(timeout=5) is False
        wait_until(lambda: len(plain.got) >= shown + 5)
        loop.stop()
        loop.wait(10)
    repeats = [image for index, image in keep.got if index == last_index][1:]
    assert len(repeats) == 15
    for image in repeats:
        np.testing.assert_array_equal(image, last_image)
    # After the pause: the newest frame, not a backlog of the frames that came meanwhile.
    assert published > last_index + 2 and plain.got[shown][0] >= published - 1


def test_mirror_flips_the_window_only(clip_path):
    window, other = ScriptedWindow(close_after=10), Keep()
    with Capture(lambda: VideoFile(clip_path)) as capture:
        loop = LiveLoop(capture, camfx.parse_chain("emboss"))
        loop.add_output(WindowSink(window, loop.commands, loop.status, hud=False, mirror=True), start=False)
        loop.add_output(other, maxsize=100)
        loop.run()
    images = {image.tobytes(): image for _, image in other.got}
    for shown in window.shown:
        assert shown.tobytes() not in images
        assert cv2.flip(shown, 1).tobytes() in images


def test_status_is_plain_data_with_every_documented_key(clip_path):
    import json
    with Capture(lambda: VideoFile(clip_path)) as capture:
        loop = LiveLoop(capture, camfx.parse_chain("blur, edge"), frames=10)
        sink = Keep()
        loop.add_output(sink, maxsize=100)
        seen = []
        reader = threading.Thread(target=lambda: [seen.append(loop.status()) for _ in range(200)])
        loop.start()
        reader.start()  # read while the loop runs: never an error, never a torn chain
        reader.join()
        loop.wait(10)
    status = json.loads(json.dumps(loop.status()))
    assert set(status) == {"source", "state", "running", "paused", "frames", "dropped", "fps", "frame_ms",
                           "frame_ms_p50", "frame_ms_p99", "latency_ms", "size", "scale", "governor", "filters",
                           "recording", "outputs"}
    assert status["frames"] == 10 and status["size"] == [320, 240] and status["running"] is False
    assert [f["spec"] for f in status["filters"]] == ["blur(ksize=5, sigma=0.0)", "edge()"]
    assert all(f["ms"] > 0 and f["enabled"] for f in status["filters"])
    assert 0 < status["frame_ms_p50"] <= status["frame_ms_p99"]
    assert status["outputs"] == [{"name": "keep", "frames": 10, "dropped": 0, "error": None, "active": False}]
    assert all(len(s["filters"]) == 2 for s in seen)


# -- faults ------------------------------------------------------------------------------------

def test_a_key_outside_ascii_does_nothing(clip_path):
    window = ScriptedWindow(keys={3: "²", 4: "é", 5: "€"}, close_after=12)
    _, _, summary = run_loop(clip_path, "edge", window, hud=False, lockstep=True)
    assert len(window.shown) == 12 and int(SUMMARY.match(summary).group(1)) == 12


def test_frames_a_file_passes_while_the_loop_starts_are_shown_or_counted(tmp_path, scene_frames):
    # At 1000 fps a file passes a frame a millisecond: any gap between the capture starting and
    # the loop taking frames would lose frames from both counts.
    clip = tmp_path / "fast.mkv"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"FFV1"), 1000, (320, 240))
    for frame in scene_frames:
        writer.write(frame)
    writer.release()
    result = camfx_cli("live", "--headless", "--source", str(clip), "--filters", "edge")
    assert result.returncode == 0, result.stderr
    shown, dropped = map(int, SUMMARY.fullmatch(result.stdout.strip()).group(1, 2))
    assert shown + dropped == CLIP_FRAMES


def test_a_display_that_cannot_be_reached_is_one_line_before_the_camera_opens():
    free = next(n for n in range(900, 1000) if not os.path.exists(f"/tmp/.X11-unix/X{n}"))
    result = camfx_cli("live", "--source", "demo", "--filters", "edge", env=dict(os.environ, DISPLAY=f":{free}"))
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"camfx: error: cannot open the display ':{free}' (no X server answers there); " \
                            "use --headless\n"
    assert result.stdout == ""


def test_a_parameter_change_runs_the_new_filter_on_the_thread_count_it_was_tuned_for(monkeypatch):
    import camfx.live.loop as live_loop

    def tune(chain, frame):  # what the autotuner would choose on a machine where one thread wins
        chain.threads = [1] * len(chain)
    monkeypatch.setattr(live_loop, "tune_chain", tune)
    with demo_capture() as capture:
        chain = camfx.parse_chain("blur(ksize=3), edge")
        chain.threads = [2, 1]  # as tuned at start
        loop = LiveLoop(capture, chain)
        loop.start()
        new = loop.commands.set_parameter(0, "ksize", 7).result(timeout=30)
        loop.stop()
        loop.wait(10)
        loop.result()
    assert loop.chain.filters[0] is new and repr(new) == "blur(ksize=7, sigma=0.0)"
    assert loop.chain.threads == [1, 1]  # the new blur's own tuning, not numba's default


def test_run_after_start_runs_one_pump(clip_path):
    sink = Keep()
    with Capture(lambda: VideoFile(clip_path)) as capture:
        loop = LiveLoop(capture, camfx.parse_chain("edge"), frames=10)
        loop.add_output(sink, maxsize=100)
        loop.start()
        summary = loop.run()
    assert SUMMARY.match(summary).group(1) == "10"
    indexes = [index for index, _ in sink.got]
    assert indexes == sorted(set(indexes)) and len(indexes) == 10  # no frame filtered twice
