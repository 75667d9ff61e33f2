"""Recordings of `camfx live`: H.264 in yuv420p through the PyAV writer, each frame at the time it
was captured, finished and playable after SIGTERM/SIGINT/SIGHUP, never with the HUD in them,
stopped in one line by a failing disk while the loop goes on.

The clips here carry each frame's number as eight black or white blocks along the top, so that
a frame read back from a recording says which source frame it was."""
import re
import resource
import signal
import subprocess
import sys
import time

import av
import cv2
import numpy as np
import pytest

from camfx.frame import Frame
from camfx.live.demo import DemoScene
from camfx.outputs.recorder import Recorder
from doubles import ScriptedWindow
from test_live import SUMMARY, camfx_cli, run_loop, source_indexes

BITS, BLOCK = 8, 40
SLOW_PLUGIN = '''import time
from camfx import Filter


class Slow(Filter):
    """Passes frames through, 70 ms each: half the rate of a 30 fps source."""
    name = "slow"

    def apply(self, frame):
        time.sleep(0.07)
        return frame.copy()
'''


def numbered_clip(path, frames, fps=30, size=(320, 240)):
    """A lossless (FFV1) clip of the demo scene whose frame i shows i in binary along the top."""
    scene = DemoScene(*size)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), fps, size)
    for i in range(frames):
        image = scene.frame(i)
        for bit in range(BITS):
            image[:BLOCK, bit * BLOCK:(bit + 1) * BLOCK] = 255 if i >> bit & 1 else 0
        writer.write(image)
    writer.release()
    return path


def frame_number(image):
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return sum(1 << bit for bit in range(BITS)
               if gray[8:BLOCK - 8, bit * BLOCK + 8:(bit + 1) * BLOCK - 8].mean() > 128)


def read_recording(path):
    """(codec, pixel format, container duration in s, [(time in s, BGR image), ...])."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [(frame.time, frame.to_ndarray(format="bgr24")) for frame in container.decode(stream)]
        return stream.codec_context.name, stream.codec_context.pix_fmt, container.duration / av.time_base, frames


def output_counts(summary, name):
    """(frames, dropped) of the output ``name`` in a summary line."""
    match = re.search(rf"; {re.escape(name)}: (\d+) frames?, (\d+) dropped", summary)
    assert match, summary
    return int(match.group(1)), int(match.group(2))


def test_a_recording_keeps_wall_clock_time_when_the_chain_drops_frames(tmp_path):
    clip = numbered_clip(tmp_path / "numbered.mkv", 90)
    (tmp_path / "slow.py").write_text(SLOW_PLUGIN)
    (tmp_path / "config.toml").write_text('[plugins]\nslow = "slow.py:Slow"\n')
    out = tmp_path / "rec.mp4"
    result = camfx_cli("live", "--headless", "--config", str(tmp_path / "config.toml"), "--source", str(clip),
                       "--filters", "slow", "--strict", "--record", str(out))
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip()
    shown, dropped = map(int, SUMMARY.fullmatch(summary).group(1, 2))
    assert shown + dropped == 90 and dropped > 30  # the chain kept up with about half the frames

    codec, pixel_format, duration, frames = read_recording(out)
    assert (codec, pixel_format) == ("h264", "yuv420p")
    assert len(frames) == output_counts(summary, f"record:{out}")[0] == shown
    numbers = [frame_number(image) for _, image in frames]
    assert numbers == sorted(set(numbers)) and numbers[-1] - numbers[0] > 60
    # Each frame plays at the time its source frame was captured (a frame the capture thread
    # published late, on a busy machine, keeps that lateness) ...
    errors = [abs(t - (n - numbers[0]) / 30) for (t, _), n in zip(frames, numbers)]
    assert np.median(errors) < 0.005 and max(errors) < 0.1
    # ... so the recording lasts the wall time it covers (the frames alone would last half of it).
    wall = (numbers[-1] - numbers[0] + 1) / 30
    assert duration == pytest.approx(wall, rel=0.10)
    assert len(frames) / 30 < 0.7 * wall


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_signal_mid_recording_leaves_a_playable_file_and_prints_the_summary(tmp_path, signame):
    out = tmp_path / "rec.mp4"
    process = subprocess.Popen([sys.executable, "-m", "camfx", "live", "--headless", "--source", "demo",
                                "--width", "320", "--height", "240", "--filters", "emboss", "--record", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:  # a cold start compiles first
        if "demo ->" in line:    # the loop is about to start
            break
    time.sleep(1.5)
    process.send_signal(getattr(signal, signame))
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0 and "Traceback" not in stderr, stderr
    summary = SUMMARY.fullmatch(stdout.strip())
    recorded, _ = output_counts(summary.group(0), f"record:{out}")
    assert f"recorded {recorded} frames to {out}" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.mp4"]  # no temporary file left
    codec, pixel_format, duration, frames = read_recording(out)
    assert (codec, pixel_format) == ("h264", "yuv420p")
    assert len(frames) == recorded > 20
    # The demo plays at 30 fps: the recording lasts the frames the loop took and those it had to
    # let go (a busy machine), from the first frame on.
    shown, dropped = map(int, summary.group(1, 2))
    assert duration == pytest.approx((shown + dropped) / 30, rel=0.10)


def test_the_hud_is_drawn_in_the_window_and_never_in_the_recording(clip_path, recorded_frames, tmp_path):
    window = ScriptedWindow(close_after=25)
    out = tmp_path / "rec.mkv"
    _, chain, _ = run_loop(clip_path, "emboss", window, record=out)
    filtered = [chain(f) for f in recorded_frames]
    assert source_indexes(window.shown, filtered) == [-1] * len(window.shown)  # the window has the HUD ...

    _, _, _, frames = read_recording(out)
    assert len(frames) >= 20
    hud = (slice(0, 40), slice(0, 200))
    for _, image in frames:
        # ... the recording is the filtered frame everywhere, the HUD's corner included (within
        # H.264's rounding, on the luma: the HUD darkens its panel to a quarter and writes white).
        got = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(int)
        errors = [np.abs(got - cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)) for f in filtered]
        best = min(errors, key=np.mean)
        assert best[hud].mean() < 6 and best.mean() < 6, (best[hud].mean(), best.mean())
        assert np.abs(cv2.cvtColor(window.shown[0], cv2.COLOR_BGR2GRAY).astype(int)[hud] - got[hud]).mean() > 30


def test_a_failing_disk_stops_the_recording_in_one_line_and_the_loop_goes_on(tmp_path):
    def small_disk():  # in the child: files may grow to 16 kB, then writes fail (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16_000, 16_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    # FFmpeg's MP4 muxer writes in blocks of 256 kB, and finds out then: 720p gets there in about
    # 40 frames.
    out = tmp_path / "rec.mp4"
    result = subprocess.run([sys.executable, "-m", "camfx", "live", "--headless", "--source", "demo", "--width", "1280",
                             "--height", "720", "--filters", "", "--frames", "90", "--record", str(out)],
                            capture_output=True, text=True, timeout=60, preexec_fn=small_disk)
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip()
    assert SUMMARY.fullmatch(summary).group(1) == "90"  # the loop went on to the end
    assert re.search(rf"; record:{re.escape(str(out))}: \d+ frames?, \d+ dropped \(failed: .*File too large", summary)
    failures = [line for line in result.stderr.splitlines() if "rec.mp4" in line and "recording to" not in line]
    assert len(failures) == 1 and "recording stopped" in failures[0], result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing half written left behind


@pytest.mark.parametrize("name, message", [
    ("rec.avi", "recordings must end in .mp4, .m4v, .mov, .mkv"),
    ("missing/rec.mp4", "no such directory"),
])
def test_a_recording_path_that_cannot_work_is_refused_at_once(tmp_path, name, message):
    with pytest.raises(ValueError, match=message):
        Recorder(tmp_path / name, 30)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_recording_is_replaced_only_with_overwrite(tmp_path):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"precious")
    # Refused before the camera is opened: camera 9 does not exist and is never mentioned.
    refused = camfx_cli("live", "--headless", "--source", "9", "--record", str(out))
    assert refused.returncode == 2 and refused.stderr.strip().count("\n") == 0
    assert "keep.mp4: already exists (use --overwrite to replace it)" in refused.stderr
    assert out.read_bytes() == b"precious"

    replaced = camfx_cli("live", "--headless", "--source", "demo", "--width", "320", "--height", "240",
                         "--filters", "", "--frames", "10", "--record", str(out), "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert read_recording(out)[0] == "h264" and len(read_recording(out)[3]) == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]


def test_each_frame_plays_at_its_capture_time(tmp_path):
    times = [100.0, 100.1, 100.5, 100.55, 102.0, 102.0333]  # capture clock: any origin, any gaps
    scene = DemoScene(160, 120)
    out = tmp_path / "gaps.mkv"
    with Recorder(out, 30) as recorder:
        for i, t in enumerate(times):
            recorder.write(Frame(scene.frame(i), i, t))
    codec, pixel_format, _, frames = read_recording(out)
    assert (codec, pixel_format) == ("h264", "yuv420p")
    assert [t for t, _ in frames] == pytest.approx([t - times[0] for t in times], abs=1e-3)  # Matroska: 1 ms
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gaps.mkv"]


def test_a_recording_that_never_got_a_frame_leaves_nothing(tmp_path):
    Recorder(tmp_path / "empty.mp4", 30).close()
    assert list(tmp_path.iterdir()) == []


def test_a_part_file_a_killed_recording_left_is_removed_by_the_next_recording_to_that_path(tmp_path):
    """A second Ctrl-C while a recording is being finished, or a SIGKILL, ends camfx before it
    can remove its part file; the next recording to the same path removes it (its lock is free),
    and leaves another recording's part, still written by a live process, alone."""
    code = ("import sys, time; from camfx.files import parts; p = parts.create(sys.argv[1]); "
            "print(p.name, flush=True); time.sleep(60)")

    def writer(name):
        return subprocess.Popen([sys.executable, "-c", code, str(tmp_path / name)], stdout=subprocess.PIPE, text=True)
    with writer("take.mp4") as killed, writer("other.mp4") as alive:
        killed_part, alive_part = killed.stdout.readline().strip(), alive.stdout.readline().strip()
        killed.kill()
        killed.wait()
        try:
            assert sorted(p.name for p in tmp_path.iterdir()) == sorted([killed_part, alive_part])
            scene = DemoScene(160, 120)
            with Recorder(tmp_path / "take.mp4", 30) as recorder:
                for i in range(3):
                    recorder.write(Frame(scene.frame(i), i, i / 30))
            assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["take.mp4", alive_part])
        finally:
            alive.kill()
