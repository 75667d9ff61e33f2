"""The live loop with a scripted window, and `camfx live` as a user runs it."""
import os
import re
import signal
import subprocess
import sys
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
from doubles import ClipCamera, ScriptedWindow

SUMMARY = re.compile(r"^(\d+) frames shown, (\d+) dropped, [\d.]+ fps mean, frame time p50 [\d.]+ ms "
                     r"p99 [\d.]+ ms, latency mean [\d.]+ ms(?P<outputs>(?:; [^;]+: \d+ frames, \d+ dropped(?: \(failed: [^)]*\))?)*)$",
                     re.M)


def camfx_cli(*args, env=None, cwd=None, timeout=60):
    env = dict(os.environ if env is None else env)
    return subprocess.run([sys.executable, "-m", "camfx", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def run_loop(clip_path, spec, window=None, *, hud=True, registry=None, **options):
    """`camfx live` on a clip, in this process: the loop on its thread, ``window`` (a scripted
    one) on this one, as the main thread runs it."""
    chain = camfx.parse_chain(spec, registry)
    chain(np.zeros((8, 8, 3), np.uint8))  # compiled before the clock starts, as `camfx live` does
    capture = Capture(lambda: VideoFile(clip_path))
    try:
        loop = LiveLoop(capture, chain, **options)
        if window is not None:
            loop.add_output(WindowSink(window, loop.commands, loop.status, hud=hud), start=False)
        summary = loop.run()
    finally:
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
    loop, chain, summary = run_loop(clip_path, "emboss", window, hud=False)
    shown, dropped = map(int, SUMMARY.match(summary).group(1, 2))
    assert shown == len(window.shown) and shown + dropped == CLIP_FRAMES
    assert dropped <= 3  # a machine busy elsewhere may drop a frame or two, never more
    indexes = source_indexes(window.shown, [chain(f) for f in recorded_frames])
    assert -1 not in indexes and indexes == sorted(set(indexes))


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
    _, chain, summary = run_loop(clip_path, "blur, edge", window, hud=False)
    # q stops the window at once; the loop may have filtered a frame or two more meanwhile.
    assert len(window.shown) == 15 and 15 <= int(SUMMARY.match(summary).group(1)) <= 18
    blur_only = source_indexes(window.shown, [chain.filters[0](f) for f in recorded_frames])
    both = source_indexes(window.shown, [chain(f) for f in recorded_frames])
    # Each frame is one or the other; a key takes effect between two frames, within the frames
    # already on their way to the window (its queue holds two).
    kinds = "".join("b" if i != -1 else "o" if j != -1 else "?" for i, j in zip(both, blur_only))
    assert re.fullmatch(r"b{3,6}o{3,9}b{3,}", kinds), kinds


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
    run_loop(clip_path, "emboss", window, output_dir=tmp_path)
    [recording] = tmp_path.glob("camfx-*.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == [recording.name]  # no temporary file left
    with VideoFile(recording) as video:
        frames = list(video)
    assert 18 <= len(frames) <= 22 and video.size == (320, 240)


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

    with Capture(open_camera, give_up_after=0.3, backoff=(0.05, 0.1)) as capture:
        with pytest.raises(CamfxError, match=r"camera 0: lost, and not back within 0.3 s .* 3 frames shown"):
            with_window(LiveLoop(capture, camfx.parse_chain("edge")), ScriptedWindow()).run()


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
    (["--source", "demo", "--fps", "-5"], "--fps must be positive"),
    (["--source", "demo", "--fourcc", "MJ"], "--fourcc must be 'auto' or four characters such as MJPG, got 'MJ'"),
])
def test_bad_input_is_one_line_and_a_non_zero_exit(args, message):
    start = time.monotonic()
    result = camfx_cli("live", "--headless", *args)
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
    """Takes 60 ms per frame, 20 ms economising (say, a mask every other frame)."""
    name = "economical"
    economies = ("cheaper",)

    def apply(self, frame):
        time.sleep(0.02 if self.economy else 0.06)
        return frame


def test_governor_has_a_filter_economise_before_it_shrinks_the_frame(clip_path):
    from camfx.live.governor import Governor

    registry = Registry([Plugin("economical", "test", lambda: Economical)])
    chain = camfx.parse_chain("economical", registry)
    governor = Governor(30, economies=chain.economies, patience=3)
    window = ScriptedWindow()
    with Capture(lambda: VideoFile(clip_path)) as capture:
        loop = with_window(LiveLoop(capture, chain, governor=governor), window)
        loop.run()
    assert chain.filters[0].economy == 1 and governor.scale == 1.0  # the economy was enough
    assert loop.status()["governor"] == "economical: cheaper to hold the frame rate"


def test_frames_dropped_before_the_loop_starts_are_not_counted(recorded_frames):
    with Capture(camera_opener_for(ClipCamera(recorded_frames * 4, fps=200))) as capture:
        time.sleep(0.2)  # the camera runs on while the app gets ready
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
