"""camfx process: every frame, the timing and the audio kept; nothing lost, nothing clobbered.

The clips are made here with PyAV (H.264 video of the demo scene, an AAC tone, optionally a
SubRip subtitle), and the outputs are read back with PyAV and compared with independent
references: OpenCV's filter2D on the decoded input frames, and the input's own packets.
"""
import io
import os
import re
import signal
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from camfx.files import encode
from camfx.engine.chain import Chain, parse_chain
from camfx.live.demo import DemoScene
from camfx.errors import CamfxError, PluginError
from camfx.engine.filter import Filter
from camfx.files.pipeline import Pipeline
from camfx.files.batch import process_batch
from camfx.files.process import Settings, plan, process_file
from camfx.files.progress import Progress
from camfx.files.video import InputVideo, OutputVideo
from camfx.frame import Frame
from test_autotune import Trail

TB = Fraction(1, 1000)
SIZE = (160, 120)
VFR_TIMES = [0.0, 0.033, 0.05, 0.1, 0.18, 0.2, 0.3, 0.31, 0.5, 0.52, 0.7, 0.9, 1.0, 1.25, 1.3]
# emboss then sharpen with OpenCV: the references the filters state (tests/test_filters.py
# checks those against kernels written out independently).
EMBOSS_SHARPEN = parse_chain("emboss,sharpen").reference()


def make_clip(path, times=None, size=SIZE, audio=True, subtitles=False, lossless=False, keyint=None):
    """Write an MKV (or MP4) clip: H.264 frames of the demo scene at ``times`` (seconds, 1 ms
    time base), a 440 Hz AAC tone as long as the video, and a SubRip line if asked.
    ``lossless``: FFV1 in yuv444p instead, which any size can use. ``keyint``: a keyframe every
    so many frames (x264's default: one at the start of a short clip)."""
    times = [i / 30 for i in range(30)] if times is None else times
    scene = DemoScene(*size)
    with av.open(str(path), "w") as out:
        video = out.add_stream("ffv1" if lossless else "libx264", rate=30)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv444p" if lossless else "yuv420p"
        video.time_base = video.codec_context.time_base = TB
        if not lossless:
            video.codec_context.options = {"crf": "12", "preset": "fast", **({"g": str(keyint)} if keyint else {})}
        if audio:
            sound = out.add_stream("aac", rate=48000)
            sound.layout = "mono"
        if subtitles:
            text = out.add_mux_stream("subrip")
            text.time_base = TB
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(scene.frame(i * 3), format="bgr24")
            frame.pts, frame.time_base = round(t * 1000), TB
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if audio:
            total = int((times[-1] + 1 / 30) * 48000)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(total) / 48000)).astype(np.float32)[None, :]
            for start in range(0, total, 1024):
                chunk = av.AudioFrame.from_ndarray(tone[:, start:start + 1024], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts, chunk.time_base = 48000, start, Fraction(1, 48000)
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
        if subtitles:
            line = av.Packet(b"Hello from camfx")
            line.stream, line.pts, line.dts, line.duration, line.time_base = text, 100, 100, 500, TB
            out.mux(line)
    return path


# BT.601 luma weights: these clips carry no colour tags, and camfx reads such small videos as
# BT.601 (what players assume below 720 lines), in limited range, and writes them so.
KR, KB = 0.299, 0.114
KG = 1 - KR - KB


def to_bgr(frame):
    """A decoded 8-bit YUV frame as BGR by BT.601's limited-range formulas, each chroma sample
    repeated over the pixels it covers (as camfx reads), computed here in float64 and rounded."""
    def plane(i, width, height):
        p = frame.planes[i]
        return np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:height, :width].astype(np.float64)

    w, h = frame.width, frame.height
    fmt = frame.format
    y = (plane(0, w, h) - 16) * 255 / 219
    cw, ch = fmt.chroma_width(w), fmt.chroma_height(h)
    sx, sy = (2 if cw < w else 1), (2 if ch < h else 1)
    pb, pr = ((plane(i, cw, ch) - 128) * 255 / 224 for i in (1, 2))
    pb, pr = (np.repeat(np.repeat(c, sy, axis=0), sx, axis=1)[:h, :w] for c in (pb, pr))
    r = y + 2 * (1 - KR) * pr
    b = y + 2 * (1 - KB) * pb
    g = (y - KR * r - KB * b) / KG
    return np.clip(np.floor(np.dstack([b, g, r]) + 0.5), 0, 255).astype(np.uint8)


def as_yuv420(image):
    """``image`` (BGR) as limited-range BT.601 yuv420p planes, (H * 3 / 2, W), each chroma sample
    the mean of its 2x2 pixels', rounded (float64 here)."""
    b, g, r = (image[..., i].astype(np.float64) for i in range(3))
    luma = KR * r + KG * g + KB * b
    h, w = luma.shape
    y = 16 + 219 / 255 * luma
    cb = 128 + 224 / 255 * (b - luma) / (2 * (1 - KB))
    cr = 128 + 224 / 255 * (r - luma) / (2 * (1 - KR))
    cb, cr = (c.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)) for c in (cb, cr))
    planes = [np.clip(np.floor(p + 0.5), 0, 255).astype(np.uint8).reshape(-1, w) for p in (y, cb, cr)]
    return np.concatenate(planes)


def assert_same_planes(got, expected, message=""):
    """Equal yuv420p planes, but for the last bit of rounding: camfx computes in 16-bit fixed
    point, the reference in float64, so a value within a hair of .5 may round the other way
    (seen: up to 29 samples in 28,800; allowed: one level in 0.5 %)."""
    diff = np.abs(got.astype(np.int16) - expected)
    assert diff.max() <= 1 and np.count_nonzero(diff) <= max(1, diff.size // 200), message


def read_input(path):
    """An input's frames as camfx reads them: the reference the filters' output is checked
    against. (How camfx reads is checked on its own: test_inputs.py compares it with
    :func:`to_bgr`, within a level in a few samples of 100,000, which emboss and sharpen would
    magnify here.)"""
    with InputVideo(path) as video:
        return [item.image for item in video.items(print, others=False)]


def yuv420_frames(path):
    """The yuv420p planes of every frame of a file, as decoded."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray() for frame in container.decode(video=0)]


def decode(path):
    """(BGR frames, their times in seconds, the video stream's rate, size and codec) of a file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        info = {"rate": stream.average_rate, "size": (stream.codec_context.width, stream.codec_context.height),
                "codec": stream.codec_context.name, "pix_fmt": stream.codec_context.pix_fmt}
        frames, times = [], []
        for frame in container.decode(stream):
            frames.append(to_bgr(frame))
            times.append(float(frame.pts * frame.time_base))
    return frames, times, info


def packets(path, kind):
    """(payload, start s, duration s) of every packet of the first ``kind`` stream."""
    with av.open(str(path)) as container:
        stream = getattr(container.streams, kind)[0]
        return [(bytes(p), float(p.pts * p.time_base), float(p.duration * p.time_base))
                for p in container.demux(stream) if p.size]


def audio_samples(path):
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(audio=0))


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255 ** 2 / mse) if mse else np.inf


def gray(frame):
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def leftovers(folder, expected):
    """Files in ``folder`` besides ``expected`` (temporary litter, partial outputs)."""
    return sorted(set(os.listdir(folder)) - set(expected))


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return {
        "cfr": make_clip(folder / "cfr.mkv"),
        "vfr": make_clip(folder / "vfr.mkv", times=VFR_TIMES),
        "subs": make_clip(folder / "subs.mkv", subtitles=True),
        "odd": make_clip(folder / "odd.mkv", size=(161, 121), audio=False, lossless=True),
    }


@pytest.fixture(scope="module")
def chain():
    return parse_chain("emboss,sharpen")


def run(src, dst, chain, **settings):
    out = io.StringIO()
    progress = Progress(str(src), stream=out, tty=False)
    frames = process_file(src, dst, chain, Settings(**settings), progress=progress)
    return frames, out.getvalue()


def camfx(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "camfx", *args], capture_output=True, text=True, cwd=cwd)


# --- what the output keeps ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cfr", "vfr"])
def test_every_frame_and_its_timestamp_size_and_rate_are_kept(clips, chain, tmp_path, name):
    target = tmp_path / "out.mp4"
    frames, _ = run(clips[name], target, chain)
    _, in_times, in_info = decode(clips[name])
    _, out_times, out_info = decode(target)
    assert frames == len(in_times) == len(out_times)
    assert out_times == pytest.approx(in_times, abs=1e-6)
    assert out_info["size"] == in_info["size"] == SIZE
    assert (out_info["codec"], out_info["pix_fmt"]) == ("h264", "yuv420p")
    if name == "cfr":
        assert float(out_info["rate"]) == pytest.approx(30, rel=0.01)
    else:  # the uneven gaps survive: no frame was duplicated or dropped to make a constant rate
        assert np.diff(out_times) == pytest.approx(np.diff(VFR_TIMES), abs=1e-6)


@pytest.mark.parametrize("name", ["cfr", "vfr"])
def test_audio_packets_are_copied_untouched(clips, chain, tmp_path, name):
    target = tmp_path / "out.mp4"
    run(clips[name], target, chain)
    original, copied = packets(clips[name], "audio"), packets(target, "audio")
    assert [p[0] for p in copied] == [p[0] for p in original]  # byte for byte, in order
    assert [p[1] for p in copied] == pytest.approx([p[1] for p in original], abs=1e-3)  # at the same times
    assert audio_samples(target) == audio_samples(clips[name]) >= 48000  # as long (a second of tone at least)


@pytest.mark.parametrize("crf", [0, 8])
def test_pixels_are_the_chain_applied_to_the_decoded_input(clips, chain, tmp_path, crf):
    """The reference is OpenCV's filter2D on the input frames as camfx reads them.
    yuv420p keeps one colour sample per 2x2 pixels, which emboss's per-pixel colours cannot
    survive, so the output's planes are compared with the reference's yuv420p, and luma (gray)
    with the raw reference; crf 0 is lossless H.264, so there the planes must be equal."""
    target = tmp_path / "out.mp4"
    run(clips["cfr"], target, chain, crf=crf)
    decoded = read_input(clips["cfr"])
    output, _, _ = decode(target)
    assert len(output) == len(decoded)
    planes = yuv420_frames(target)
    for i, (frame, got) in enumerate(zip(decoded, output)):
        expected = EMBOSS_SHARPEN(frame)
        if crf == 0:
            assert_same_planes(planes[i], as_yuv420(expected), f"frame {i}")
        assert psnr(planes[i], as_yuv420(expected)) > 35, f"frame {i}"
        assert psnr(gray(got), gray(expected)) > 35, f"frame {i}"
        assert psnr(got, frame) < 20  # and it really was filtered


def x264_options(path):
    """The settings libx264 wrote into the stream (its SEI text: ``... options: cabac=1 ...``)."""
    data = path.read_bytes()
    start = data.index(b"x264 - core")
    text = data[start:data.index(b"\0", start)].decode()
    return dict(item.split("=", 1) for item in text.split("options: ")[1].split() if "=" in item)


def test_x264_runs_frame_threads_as_the_ffmpeg_command_does(clips, chain, tmp_path):
    """PyAV's default is slice threads, which make libx264 cut every frame into slices: a
    different, less efficient encoding than ``ffmpeg -c:v libx264`` with the same crf and preset."""
    target = tmp_path / "out.mp4"
    run(clips["cfr"], target, chain, crf=20, preset="fast")
    options = x264_options(target)
    assert options["sliced_threads"] == "0" and "slices" not in options
    assert (options["crf"], options["subme"]) == ("20.0", "6")  # crf and preset ("fast": subme 6) as asked


def test_a_subtitle_mp4_cannot_hold_is_named_in_a_warning_and_the_rest_is_written(clips, chain, tmp_path):
    frames, log = run(clips["subs"], tmp_path / "out.mp4", chain)
    assert "warning:" in log and "stream #2 (subtitle" in log and "cannot be copied into mp4" in log
    assert frames == 30 and packets(tmp_path / "out.mp4", "audio")


def test_subtitles_are_copied_into_mkv(clips, chain, tmp_path):
    _, log = run(clips["subs"], tmp_path / "out.mkv", chain)
    assert "warning" not in log
    assert packets(tmp_path / "out.mkv", "subtitles") == packets(clips["subs"], "subtitles")
    assert packets(tmp_path / "out.mkv", "audio")[0][0] == packets(clips["subs"], "audio")[0][0]


def test_odd_sizes_are_padded_to_even_with_a_warning(clips, chain, tmp_path):
    target = tmp_path / "out.mp4"
    _, log = run(clips["odd"], target, Chain([]), crf=0)
    assert "161x121 is odd" in log and "162x122" in log
    decoded, _, _ = decode(clips["odd"])
    output, _, info = decode(target)
    assert info["size"] == (162, 122)
    assert psnr(gray(output[5][:121, :161]), gray(decoded[5])) > 35  # the picture is all there, in place
    assert psnr(gray(output[5][121:, :161]), gray(decoded[5][120:])) > 35  # the last row repeated


def test_frames_sharing_a_timestamp_are_all_kept_and_nudged_with_a_warning(chain, tmp_path):
    source = make_clip(tmp_path / "dup.mkv", times=[0, 0.033, 0.033, 0.1, 0.133], audio=False, lossless=True)
    frames, log = run(source, tmp_path / "out.mp4", chain)
    _, times, _ = decode(tmp_path / "out.mp4")
    assert frames == len(times) == 5
    assert times == pytest.approx([0, 0.033, 0.034, 0.1, 0.133], abs=1e-6)
    assert "frame 2 (t=0.033 s) repeats the time of the one before it" in log


def test_a_frame_size_change_mid_stream_is_named(clips, tmp_path):
    with InputVideo(clips["cfr"]) as video, pytest.raises(CamfxError, match="frame 7 is 100x90 but the video began "
                                                                          "at 160x120; size changes are not supported"):
        with OutputVideo(tmp_path / "out.mp4", video.format) as out:
            out.write(Frame(np.zeros((90, 100, 3), np.uint8), 7, 0.0, 0))


def test_hevc_on_request_with_the_tag_apple_players_need(clips, tmp_path):
    target = tmp_path / "out.mp4"
    result = camfx("process", str(clips["cfr"]), "-o", str(target), "--codec", "hevc", "--filters", "emboss")
    assert result.returncode == 0 and "x265" not in result.stderr  # x265's own chatter is kept quiet
    with av.open(str(target)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_tag) == ("hevc", "hvc1")
    assert len(decode(target)[0]) == 30


def test_overwrite_replaces_an_existing_output(clips, chain, tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"old")
    run(clips["cfr"], target, chain, overwrite=True)
    assert len(decode(target)[0]) == 30
    assert leftovers(tmp_path, ["out.mp4"]) == []


# --- nothing lost, nothing clobbered -----------------------------------------------------------

class Boom(Filter):
    """Raises ``error`` on the ``at``-th frame, the way a Ctrl-C or a bug would mid-run."""

    name = "boom"

    def __init__(self, error, at=10):
        self.error, self.at, self.seen = error, at, 0

    def apply(self, frame):
        self.seen += 1
        if self.seen == self.at:
            raise self.error
        return frame


@pytest.mark.parametrize("error, raised", [(KeyboardInterrupt(), KeyboardInterrupt),
                                           (RuntimeError("bug in a plugin"), PluginError)], ids=["ctrl-c", "crash"])
def test_an_interrupt_mid_run_leaves_no_output_and_no_temporary_file(clips, tmp_path, error, raised):
    source = tmp_path / "in.mkv"
    source.write_bytes(clips["cfr"].read_bytes())
    boom = Boom(error)
    with pytest.raises(raised):
        run(source, tmp_path / "out.mp4", Chain([boom]))
    assert boom.seen == 10  # it did stop in the middle
    assert leftovers(tmp_path, ["in.mkv"]) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("camfx-")]  # every thread stopped


def test_a_full_disk_while_encoding_leaves_no_output_and_no_temporary_file(clips, chain, tmp_path, monkeypatch):
    written = []

    def write_frame(self, frame):
        if len(written) == 12:
            raise OSError(28, "No space left on device")
        written.append(frame.index)

    monkeypatch.setattr(OutputVideo, "write_frame", write_frame)
    with pytest.raises(OSError, match="No space left"):
        run(clips["cfr"], tmp_path / "out.mp4", chain)
    assert leftovers(tmp_path, []) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("camfx-")]


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_ctrl_c_or_kill_on_the_command_line_exits_130_with_no_output(clips, tmp_path, signame):
    """A real signal, sent by a plugin to its own process on the 10th frame."""
    (tmp_path / "stop.py").write_text(
        "import os, signal\nfrom camfx.engine.filter import Filter\n"
        "class Stop(Filter):\n    name = 'stop'\n    seen = 0\n"
        "    def apply(self, frame):\n        Stop.seen += 1\n"
        f"        if Stop.seen == 10:\n            os.kill(os.getpid(), signal.{signame})\n        return frame\n")
    (tmp_path / "config.toml").write_text('[plugins]\nstop = "stop.py:Stop"\n')
    source = tmp_path / "in.mkv"
    source.write_bytes(clips["cfr"].read_bytes())
    result = camfx("process", "in.mkv", "-o", "out.mp4", "--filters", "stop", cwd=tmp_path)
    assert result.returncode == 130, result.stderr
    assert "camfx: interrupted: out.mp4 not written" in result.stderr and "Traceback" not in result.stderr
    assert leftovers(tmp_path, ["in.mkv", "stop.py", "config.toml", "__pycache__"]) == []


def test_a_missing_output_folder_is_named(clips, tmp_path):
    with pytest.raises(CamfxError, match="no such directory for the output"):
        run(clips["cfr"], tmp_path / "nowhere" / "out.mp4", Chain([]))


def test_a_chain_that_changes_the_frame_shape_is_refused(clips, tmp_path):
    class Crop(Filter):
        name = "crop"

        def apply(self, frame):
            return frame[1:]

    with pytest.raises(CamfxError, match=r"turned a \(120, 160, 3\) frame into \(119, 160, 3\)"):
        run(clips["cfr"], tmp_path / "out.mp4", Chain([Crop()]))
    assert leftovers(tmp_path, []) == []


def test_an_existing_output_is_refused_and_left_alone(clips, tmp_path):
    (tmp_path / "out.mp4").write_bytes(b"precious")
    result = camfx("process", str(clips["cfr"]), "-o", str(tmp_path / "out.mp4"), "--filters", "emboss")
    assert result.returncode != 0
    assert "out.mp4: already exists (use --overwrite" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "out.mp4").read_bytes() == b"precious"
    assert leftovers(tmp_path, ["out.mp4"]) == []


@pytest.mark.parametrize("how", ["same path", "other spelling", "hard link"])
def test_an_output_that_is_an_input_is_refused_even_with_overwrite(clips, tmp_path, how):
    source = tmp_path / "in.mp4"
    run(clips["cfr"], source, Chain([]))
    before = source.read_bytes()
    target = {"same path": source, "other spelling": tmp_path / "sub" / ".." / "in.mp4",
              "hard link": tmp_path / "link.mp4"}[how]
    (tmp_path / "sub").mkdir()
    if how == "hard link":
        os.link(source, target)
    with pytest.raises(CamfxError, match="refusing to write over an input"):
        run(source, target, Chain([]), overwrite=True)
    assert source.read_bytes() == before


@pytest.mark.parametrize("case", ["missing", "text", "audio only", "directory"])
def test_a_bad_input_is_one_line_naming_it_and_no_output(tmp_path, case):
    bad = tmp_path / "bad.mkv"
    if case == "text":
        bad.write_text("this is not a video\n" * 50)
    elif case == "audio only":
        bad = make_clip(tmp_path / "bad.mkv", times=[0, 0.5], audio=True)  # then strip the video:
        with av.open(str(bad)) as src, av.open(str(tmp_path / "tone.mka"), "w") as dst:
            copy = dst.add_stream_from_template(src.streams.audio[0])
            for packet in src.demux(src.streams.audio[0]):
                if packet.dts is not None:
                    packet.stream = copy
                    dst.mux(packet)
        bad.unlink()
        bad = tmp_path / "tone.mka"
    elif case == "directory":
        bad.mkdir()
    existing = set(os.listdir(tmp_path))
    result = camfx("process", str(bad), "-o", str(tmp_path / "out.mp4"), "--filters", "emboss")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"camfx: error: {bad}:"), result.stderr
    expected = {"missing": "no such file", "text": "not a readable video file", "audio only": "has no video stream",
                "directory": "is a directory"}[case]
    assert expected in lines[0]
    assert set(os.listdir(tmp_path)) == existing


def test_a_truncated_input_keeps_the_frames_that_decode_and_says_where_it_broke(tmp_path, chain):
    whole = make_clip(tmp_path / "whole.mkv", times=[i / 30 for i in range(60)])
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 6 // 10])
    frames, log = run(cut, tmp_path / "out.mp4", chain)
    assert 0 < frames < 60
    assert f"the video ends after frame {frames - 1} (t=" in log and "it looks truncated" in log
    assert len(decode(tmp_path / "out.mp4")[0]) == frames
    assert leftovers(tmp_path, ["whole.mkv", "cut.mkv", "out.mp4"]) == []


def test_garbage_in_the_middle_of_a_file_is_never_a_traceback(tmp_path):
    whole = make_clip(tmp_path / "whole.mkv", times=[i / 30 for i in range(60)])
    data = bytearray(whole.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4000] = np.random.default_rng(1).integers(0, 256, 4000, np.uint8).tobytes()
    (tmp_path / "corrupt.mkv").write_bytes(bytes(data))
    result = camfx("process", str(tmp_path / "corrupt.mkv"), "-o", str(tmp_path / "out.mp4"), "--filters", "emboss")
    assert "Traceback" not in result.stderr
    if result.returncode == 0:  # the frames that decode, with a warning saying where it broke
        frames = len(decode(tmp_path / "out.mp4")[0])
        assert 0 < frames < 60 and f"corrupt.mkv: the video ends after frame {frames - 1} (t=" in result.stderr
    else:
        assert result.stderr.startswith("camfx: error:") and not (tmp_path / "out.mp4").exists()
    assert leftovers(tmp_path, ["whole.mkv", "corrupt.mkv", "out.mp4"]) == []


def test_a_truncated_mp4_without_its_index_fails_cleanly(clips, tmp_path):
    whole = tmp_path / "whole.mp4"
    run(clips["cfr"], whole, Chain([]))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = camfx("process", str(cut), "-o", str(tmp_path / "out.mp4"), "--filters", "emboss")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"camfx: error: {cut}:") and result.stderr.count("\n") == 1
    assert leftovers(tmp_path, ["whole.mp4", "cut.mp4"]) == []


def test_a_batch_goes_on_past_a_bad_file_and_sums_up(clips, tmp_path):
    (tmp_path / "broken.mkv").write_text("not a video")
    inputs = [str(clips["cfr"]), str(tmp_path / "broken.mkv"), str(clips["vfr"]), str(tmp_path / "gone.mkv")]
    result = camfx("process", *inputs, "-o", f"{tmp_path / 'out'}/", "--filters", "emboss")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "camfx: 2 of 4 files processed, 2 failed:" in result.stderr
    summary = result.stderr[result.stderr.index("2 failed:"):]
    assert "broken.mkv: not a readable video file" in summary and "gone.mkv: no such file" in summary
    assert sorted(os.listdir(tmp_path / "out")) == ["camfx-manifest.jsonl", "cfr.mp4", "vfr.mp4"]
    assert len(decode(tmp_path / "out" / "vfr.mp4")[0]) == len(VFR_TIMES)
    assert f"camfx: wrote {tmp_path / 'out' / 'cfr.mp4'} (30 frames in" in result.stderr


def test_a_plugin_that_raises_is_one_line_naming_it_and_the_other_files_still_run(clips, tmp_path):
    """A bug in a plugin's apply (here: on odd frame widths only) fails its file with one line
    naming the filter and where it came from; the batch goes on."""
    (tmp_path / "picky.py").write_text(
        "from camfx.engine.filter import Filter\n"
        "class Picky(Filter):\n    name = 'picky'\n"
        "    def apply(self, frame):\n"
        "        if frame.shape[1] % 2:\n            raise RuntimeError('odd widths are beyond me')\n"
        "        return frame\n")
    (tmp_path / "config.toml").write_text('[plugins]\npicky = "picky.py:Picky"\n')
    result = camfx("process", str(clips["odd"]), str(clips["cfr"]), "-o", "out/", "--filters", "picky", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = (f"camfx: error: {clips['odd']}: filter 'picky' from picky.py:Picky (config plugins) failed on a "
            f"(121, 161, 3) frame: RuntimeError: odd widths are beyond me\n")
    assert line in result.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["camfx-manifest.jsonl", "cfr.mp4"]
    assert "camfx: 1 of 2 files processed, 1 failed:" in result.stderr


def test_plan_pairs_inputs_with_outputs(tmp_path):
    assert plan(["a.mkv"], tmp_path / "x.mp4")[0][1] == tmp_path / "x.mp4"
    assert [dst for _, dst in plan(["d/a.mkv", "b.mov"], tmp_path)] == [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    with pytest.raises(CamfxError, match="both be written to"):
        plan(["x/a.mkv", "y/a.mkv"], tmp_path)
    with pytest.raises(CamfxError, match="unsupported output extension '.avi'"):
        plan(["a.mkv"], tmp_path / "x.avi")
    (tmp_path / "file.mp4").write_bytes(b"")
    for output in (tmp_path / "file.mp4", tmp_path / "new.mp4"):  # existing or not, a file takes one input
        with pytest.raises(CamfxError, match="2 inputs need a folder for -o"):
            plan(["a.mkv", "b.mkv"], output)
    assert not (tmp_path / "new.mp4").exists()
    # A path ending in / is a folder, whether it exists or not; an existing folder is one without it.
    assert plan(["d/a.mkv"], f"{tmp_path}/filtered/") == [(Path("d/a.mkv"), tmp_path / "filtered" / "a.mp4")]
    assert plan(["d/a.mkv"], tmp_path) == [(Path("d/a.mkv"), tmp_path / "a.mp4")]
    assert plan(["d/img_%04d.png"], f"{tmp_path}/") == [(Path("d/img_%04d.png"), tmp_path / "img.mp4")]
    with pytest.raises(CamfxError, match="is a file, not a folder"):
        plan(["a.mkv"], f"{tmp_path}/file.mp4/")


def test_process_batch_returns_the_failures(clips, tmp_path):
    log = io.StringIO()
    result = process_batch([clips["cfr"], tmp_path / "nope.mkv"], f"{tmp_path}/out/", Chain([]), stream=log, tty=False)
    assert [f.path.name for f in result.failures] == ["nope.mkv"] and result.done == 1
    assert (tmp_path / "out" / "cfr.mp4").is_file()
    assert "camfx: 1 of 2 files processed, 1 failed:" in log.getvalue()


# --- the pieces ---------------------------------------------------------------------------------

def test_pipeline_keeps_order_and_overlaps_stages():
    seen = []
    with Pipeline(range(100), [lambda x: x + 1, lambda x: seen.append(threading.current_thread().name) or x * 2]) as out:
        assert list(out) == [(x + 1) * 2 for x in range(100)]
    assert set(seen) == {"camfx-stage-2"}


def test_pipeline_raises_a_stage_error_and_stops_every_thread():
    def source():
        for i in range(10 ** 9):  # endless unless the pipeline stops it
            yield i

    def stage(x):
        if x == 50:
            raise ValueError("bad item 50")
        return x

    with pytest.raises(ValueError, match="bad item 50"):
        with Pipeline(source(), [stage], maxsize=2) as out:
            for _ in out:
                pass
    assert not [t for t in threading.enumerate() if t.name.startswith("camfx-")]


def test_pipeline_stops_when_the_consumer_fails():
    with pytest.raises(KeyboardInterrupt):
        with Pipeline(iter(range(10 ** 9)), [lambda x: x], maxsize=2) as out:
            for x in out:
                if x == 5:
                    raise KeyboardInterrupt
    assert not [t for t in threading.enumerate() if t.name.startswith("camfx-")]


def test_progress_without_a_terminal_prints_quiet_lines_on_a_clock():
    now = [0.0]
    out = io.StringIO()
    with Progress("clip.mkv", total=40, stream=out, tty=False, interval=5, clock=lambda: now[0]) as progress:
        for _ in range(40):
            now[0] += 0.25
            progress.update()
        progress.warn("something odd")
    lines = out.getvalue().splitlines()
    assert lines == ["camfx: clip.mkv: 20/40 frames (50%), 4.0 fps",
                     "camfx: clip.mkv: 40/40 frames (100%), 4.0 fps",
                     "camfx: warning: something odd",
                     "camfx: clip.mkv: 40 frames in 10.0 s, 4.0 fps"]


def test_progress_on_a_terminal_draws_a_bar():
    out = io.StringIO()
    with Progress("clip.mkv", total=10, stream=out, tty=True) as progress:
        progress.update(10)
    assert "clip.mkv" in out.getvalue() and "10/10" in out.getvalue() and "frame" in out.getvalue()


# --- a long video, encoded as two halves at once -----------------------------------------------

@pytest.fixture(scope="module")
def long_clips(tmp_path_factory):
    """90 frames with a keyframe every 10, at a constant and at a variable frame rate, and with
    one keyframe only (as webcam recordings often have)."""
    folder = tmp_path_factory.mktemp("long")
    gaps = np.random.default_rng(5).choice([0.02, 0.033, 0.05, 0.1], 89)
    return {"cfr": make_clip(folder / "cfr.mkv", times=[i / 30 for i in range(90)], keyint=10),
            "vfr": make_clip(folder / "vfr.mkv", times=np.round(np.r_[0, np.cumsum(gaps)], 3).tolist(), keyint=10),
            "one keyframe": make_clip(folder / "one.mkv", times=[i / 30 for i in range(90)])}


@pytest.fixture
def halves(monkeypatch):
    """Split videos of 40 frames and more (the real threshold is for 600); the list it gives
    collects the second halves' start times, in seconds."""
    monkeypatch.setattr(encode, "MIN_FRAMES_PER_HALF", 20)
    starts, begin = [], encode.SecondHalf.begin.__func__

    def spy(cls, video, *args):
        second = begin(cls, video, *args)
        if second is not None:
            starts.append(video.seconds(second.start))
        return second
    monkeypatch.setattr(encode.SecondHalf, "begin", classmethod(spy))
    return starts


def keyframes(path):
    with av.open(str(path)) as container:
        return [i for i, p in enumerate(p for p in container.demux(video=0) if p.size) if p.is_keyframe]


@pytest.mark.parametrize("name", ["cfr", "vfr", "one keyframe"])
def test_a_long_video_is_two_halves_joined_without_a_seam(long_clips, chain, tmp_path, halves, name):
    """crf 0 is lossless: every frame on both sides of the join must be exactly the chain's
    output after the yuv420p round trip, at its own time, and the audio must be untouched."""
    target = tmp_path / "out.mp4"
    frames, _ = run(long_clips[name], target, chain, crf=0)
    decoded, (_, in_times, _) = read_input(long_clips[name]), decode(long_clips[name])
    output, out_times, _ = decode(target)
    assert frames == len(output) == len(decoded) == 90
    assert out_times == pytest.approx(in_times, abs=1e-6)
    assert keyframes(long_clips[name])[:1] == [0] and (name != "one keyframe" or keyframes(long_clips[name]) == [0])
    [start] = halves
    join = next(i for i, t in enumerate(out_times) if t >= start - 1e-6)
    assert 20 <= join <= 70 and join in keyframes(target)  # the second half's encoder began there
    for i, (frame, got) in enumerate(zip(decoded, yuv420_frames(target))):
        expected = EMBOSS_SHARPEN(frame)
        assert_same_planes(got, as_yuv420(expected), f"frame {i}")
    original, copied = packets(long_clips[name], "audio"), packets(target, "audio")
    assert [p[0] for p in copied] == [p[0] for p in original]
    assert [p[1] for p in copied] == pytest.approx([p[1] for p in original], abs=1e-3)
    assert leftovers(tmp_path, ["out.mp4"]) == []


def test_a_short_video_is_not_split(clips, chain, tmp_path, halves):
    target = tmp_path / "out.mp4"
    frames, _ = run(clips["cfr"], target, chain)
    assert frames == len(decode(target)[0]) == 30 and halves == []


def test_a_chain_with_a_filter_that_remembers_frames_runs_in_one_pass(long_clips, tmp_path, halves):
    """Two halves would start the second with an empty memory and interleave the two halves'
    frames in it; such a chain is run in one pass, its memory starting with the first frame."""
    target = tmp_path / "out.mp4"
    frames, _ = run(long_clips["cfr"], target, Chain([Trail()]), crf=0)
    decoded = read_input(long_clips["cfr"])
    output, _, _ = decode(target)
    assert frames == len(output) == 90 and halves == []
    reference, previous = [], None
    for frame in decoded:
        reference.append(frame if previous is None else ((frame.astype(np.uint16) + previous) // 2).astype(np.uint8))
        previous = frame
    for i, (expected, got) in enumerate(zip(reference, yuv420_frames(target))):
        assert_same_planes(got, as_yuv420(expected), f"frame {i}")


@pytest.mark.parametrize("half", ["first", "second"])
@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(28, "No space left on device")], ids=["ctrl-c", "disk"])
def test_a_failure_in_either_half_leaves_no_output_and_no_temporary_file(long_clips, chain, tmp_path, halves,
                                                                          monkeypatch, half, error):
    failing = {"seen": 0}
    write_frame = OutputVideo.write_frame

    def fail_once_far_enough(self, frame):
        if (self.spool is None) == (half == "first"):
            failing["seen"] += 1
            if failing["seen"] == 15:
                raise error
        write_frame(self, frame)

    monkeypatch.setattr(OutputVideo, "write_frame", fail_once_far_enough)
    source = tmp_path / "in.mkv"
    source.write_bytes(long_clips["cfr"].read_bytes())
    with pytest.raises(type(error)):
        run(source, tmp_path / "out.mp4", chain)
    assert failing["seen"] == 15
    assert leftovers(tmp_path, ["in.mkv"]) == []
    assert not [t for t in threading.enumerate() if t.name.startswith("camfx-")]
@pytest.mark.parametrize("name", ["cfr", "one keyframe"])
@pytest.mark.parametrize("where", [0.3, 0.45, 0.75], ids=["first half", "end of first half", "second half"])
def test_damage_in_either_half_keeps_the_frames_in_order_and_never_a_traceback(long_clips, tmp_path, halves,
                                                                                 where, name):
    data = bytearray(long_clips[name].read_bytes())
    at = int(len(data) * where)
    data[at:at + 3000] = np.random.default_rng(1).integers(0, 256, 3000, np.uint8).tobytes()
    source = tmp_path / "damaged.mkv"
    source.write_bytes(bytes(data))
    try:
        frames, log = run(source, tmp_path / "out.mp4", parse_chain("emboss"))
    except CamfxError as error:  # failing cleanly is allowed; a traceback is not
        assert str(error).startswith(str(source)) and leftovers(tmp_path, ["damaged.mkv"]) == []
        return
    _, times, _ = decode(tmp_path / "out.mp4")
    _, in_times, _ = decode(long_clips[name])
    assert len(times) == frames and np.all(np.diff(times) > 0)
    assert set(np.round(times, 3)) <= set(np.round(in_times, 3))  # frames of the input, none invented
    if frames < 90:  # a warning says where
        assert re.search(r"damaged\.mkv: (damaged data after|decoding stopped after|the video ends after) (frame|the frame)", log), log
    assert leftovers(tmp_path, ["damaged.mkv", "out.mp4"]) == []
