"""`camfx live` with several outputs at once: the window, a virtual camera, y4m and a recording,
each a sink; the virtual camera is never mirrored and keeps sending while the source is away."""
import os
import subprocess
import threading
import time

import numpy as np
import pytest

import camfx
from camfx.live.capture import Capture
from camfx.live.loop import LiveLoop
from camfx.live.sources import Camera, VideoFile
from camfx.outputs.vcam import VirtualCamera
from camfx.outputs.window import WindowSink
from camfx.outputs.y4m import Y4mWriter
from conftest import CLIP_FRAMES
from doubles import ClipCamera, ScriptedWindow, backend
from test_live import SUMMARY, camfx_cli
from yuv_reference import reference

pytest.importorskip("pyvirtualcam")


def which_frame(sent, candidates):
    """Index of the candidate (I420 reference) ``sent`` equals within rounding, else -1."""
    for i, candidate in enumerate(candidates):
        if np.abs(sent.astype(np.int16) - candidate).max() <= 1:
            return i
    return -1


def test_window_vcam_y4m_and_recording_at_once_and_the_vcam_is_never_mirrored(clip_path, recorded_frames, tmp_path):
    cls = backend("camfx-test-live")
    chain = camfx.parse_chain("blur(ksize=5),emboss")
    filtered = [chain(f) for f in recorded_frames]
    expected = [reference(f, "I420") for f in filtered]
    chain(np.zeros((8, 8, 3), np.uint8))
    window = ScriptedWindow()
    with Capture(lambda: VideoFile(clip_path)) as capture:
        loop = LiveLoop(capture, chain, record=tmp_path / "rec.mp4")
        loop.add_output(VirtualCamera(320, 240, capture.fps, backend=cls.__name__))
        loop.add_output(Y4mWriter(tmp_path / "out.y4m", 320, 240, capture.fps))
        loop.add_output(WindowSink(window, loop.commands, loop.status, hud=False, mirror=True), start=False)
        summary = loop.run()
    outputs = dict(part.split(": ", 1) for part in SUMMARY.match(summary).group("outputs").split("; ")[1:])
    assert set(outputs) == {"vcam:test0", f"y4m:{tmp_path / 'out.y4m'}", f"record:{tmp_path / 'rec.mp4'}", "window"}
    camera = cls.opened[-1]
    sent = [which_frame(frame, expected) for frame in camera.frames]
    assert -1 not in sent and sent == sorted(set(sent)) and len(sent) > CLIP_FRAMES / 2  # right way round, in order
    assert outputs["vcam:test0"].startswith(f"{len(camera.frames)} frames")
    # The window is the one output that mirrors.
    shown = [next((i for i, f in enumerate(filtered) if np.array_equal(s, f[:, ::-1])), -1) for s in window.shown]
    assert -1 not in shown and len(shown) > CLIP_FRAMES / 2
    assert (tmp_path / "rec.mp4").stat().st_size > 0 and (tmp_path / "out.y4m").stat().st_size > 0


def test_the_virtual_camera_keeps_sending_the_last_frame_marked_while_the_source_reconnects(recorded_frames):
    cls = backend("camfx-test-keepalive")
    cameras = [ClipCamera(recorded_frames, fps=30, vanish_after=5), ClipCamera(recorded_frames, fps=30)]
    away = []

    def open_camera():
        if len(cameras) == 2:
            return Camera(0, capture_factory=lambda _: cameras.pop(0))
        away.append(time.monotonic())
        time.sleep(1.0)  # the device takes a second to come back
        away.append(time.monotonic())
        return Camera(0, capture_factory=lambda _: cameras.pop(0))

    chain = camfx.parse_chain("edge")
    chain(np.zeros((8, 8, 3), np.uint8))
    with Capture(open_camera, stall_after=0.2) as capture:
        loop = LiveLoop(capture, chain, frames=12)
        loop.add_output(VirtualCamera(320, 240, 30, backend=cls.__name__))
        summary = loop.run()
    assert capture.reconnects == 1, summary
    camera = cls.opened[-1]
    times = np.array(camera.times)
    during = [f for f, t in zip(camera.frames, times) if away[0] + 0.1 < t < away[1]]
    # About 30 a second while the source was away (the loop repeats at the source's rate) ...
    assert len(during) >= 15, f"{len(during)} frames in the {away[1] - away[0]:.2f} s away"
    # ... each the last frame with a small mark: most of the picture unchanged.
    last_real = next(f for f, t in zip(reversed(camera.frames), reversed(times)) if t < away[0])
    for frame in during:
        changed = np.abs(frame[:320 * 240].astype(np.int16) - last_real[:320 * 240]) > 2
        assert 0 < changed.mean() < 0.2


def test_ffmpeg_reads_every_frame_camfx_live_writes_to_a_y4m_pipe_in_order(clip_path, recorded_frames, tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    fifo = tmp_path / "live.y4m"
    os.mkfifo(fifo)
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "yuv4mpegpipe", "-i", str(fifo),
               "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
    with subprocess.Popen(command, stdout=subprocess.PIPE) as ffmpeg:  # the reader is there first
        got = []
        reader = threading.Thread(target=lambda: got.append(ffmpeg.stdout.read()))
        reader.start()
        result = camfx_cli("live", "--headless", "--source", str(clip_path), "--filters", "emboss",
                           "--output", f"y4m:{fifo}")
        reader.join(30)
        assert ffmpeg.wait(30) == 0
    assert result.returncode == 0, result.stderr
    written = int(SUMMARY.match(result.stdout.strip()).group("outputs").split(": ")[1].split()[0])
    chain = camfx.parse_chain("emboss")
    expected = [reference(chain(f), "I420") for f in recorded_frames]
    received = np.frombuffer(got[0], np.uint8).reshape(-1, 320 * 240 * 3 // 2)
    order = [which_frame(frame, expected) for frame in received]
    assert len(received) == written > CLIP_FRAMES / 2
    assert -1 not in order and order == sorted(set(order))  # every frame camfx wrote, in order


def test_no_loopback_device_is_one_line_before_the_camera_is_opened():
    if __import__("camfx.outputs.vcam", fromlist=["x"]).loopback_devices():
        pytest.skip("this machine has a v4l2loopback device")
    result = camfx_cli("live", "--headless", "--source", "demo", "--frames", "3", "--output", "vcam")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "camfx: error: no v4l2loopback device for the virtual camera; make one with: sudo modprobe v4l2loopback "
        "exclusive_caps=1 card_label=camfx (Debian/Ubuntu package v4l2loopback-dkms; Chrome lists only devices "
        "made with exclusive_caps=1)"]  # nothing about the source: it was never opened


def test_outputs_come_from_the_config_and_the_command_line_replaces_them(tmp_path):
    (tmp_path / "config.toml").write_text('[live]\noutputs = ["y4m:from-config.y4m"]\n')
    result = camfx_cli("live", "--headless", "--source", "demo", "--frames", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "y4m:from-config.y4m: " in result.stdout and (tmp_path / "from-config.y4m").exists()
    result = camfx_cli("live", "--headless", "--source", "demo", "--frames", "3", "--output", "y4m:given.y4m",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "from-config" not in result.stdout and (tmp_path / "given.y4m").exists()
    result = camfx_cli("live", "--headless", "--source", "demo", "--frames", "3", "--output", "y4m:given.y4m",
                       cwd=tmp_path)
    assert result.returncode == 2 and "given.y4m: already exists; not overwriting it" in result.stderr
    (tmp_path / "config.toml").write_text('[live]\noutputs = "vcam"\n')
    result = camfx_cli("live", "--headless", "--source", "demo", cwd=tmp_path)
    assert result.returncode == 2 and "live.outputs must be a list" in result.stderr
