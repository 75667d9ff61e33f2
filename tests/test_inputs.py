"""What phones, recorders, cameras and servers hand camfx (issue 10): each kind of input made
here, small, with PyAV or the ffmpeg command of the imageio-ffmpeg wheel, run through
`camfx process` (and `camfx live`'s file source), and the output read back independently: by the
ffmpeg command (which applies rotation, colour tags and aspect ratios itself, as players do) and
by PyAV.
"""
import subprocess
import sys
from fractions import Fraction

import av
import imageio_ffmpeg
import numpy as np
import pytest

from camfx.engine.chain import parse_chain
from camfx.files.picture import display_matrix, FrameInfo
from camfx.live.demo import DemoScene
from camfx.live.sources import VideoFile
from test_process import run, to_bgr

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
TB = Fraction(1, 30)


def ffmpeg(*args):
    """Run the ffmpeg command; fail the test with its message if it fails."""
    result = subprocess.run([FFMPEG, "-v", "error", "-y", *map(str, args)], capture_output=True)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def ffmpeg_frames(path, size):
    """Every frame of ``path`` as the ffmpeg command shows it (display matrix, colour tags and
    range applied), BGR, ``size`` (width, height). Its converter is asked to round and to
    interpolate chroma, as a careful player does (its default truncates: a level darker)."""
    raw = ffmpeg("-i", path, "-sws_flags", "bicubic+accurate_rnd+full_chroma_int", "-f", "rawvideo",
                 "-pix_fmt", "bgr24", "-")
    return np.frombuffer(raw, np.uint8).reshape(-1, size[1], size[0], 3)


def camfx(*args):
    return subprocess.run([sys.executable, "-m", "camfx", *map(str, args)], capture_output=True, text=True)


def stream_info(path):
    """The first video stream's size, sample aspect ratio, colour tags and frame count, and the
    display matrix of its first frame (None: none), as PyAV reads them."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        frames = list(container.decode(stream))
        info = FrameInfo.of(frames[0])
        return {"size": (context.width, context.height), "sar": stream.sample_aspect_ratio,
                "tags": (context.colorspace, context.color_range, context.color_primaries, context.color_trc),
                "pix_fmt": context.pix_fmt, "frames": len(frames), "matrix": display_matrix(info),
                "start": [float(s.start_time * s.time_base) for s in container.streams if s.start_time is not None],
                "duration": container.duration / av.time_base if container.duration else None}


def mean_difference(a, b):
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def scene(width, height, frames=4):
    """Frames of the demo scene: textured, coloured, moving, and not symmetric."""
    demo = DemoScene(width, height)
    return [demo.frame(i * 5) for i in range(frames)]


def write_video(path, images, *, codec="libx264", pix_fmt="yuv420p", options=None, rate=30, tags=None,
                rotation=None, sar=None, format=None):
    """Encode BGR (or BGRA) images with PyAV; ``tags``: (matrix, range, primaries, transfer) set on
    the encoder; ``rotation``: (degrees, hflip) written as the display matrix."""
    with av.open(str(path), "w", format=format) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.height, stream.width = images[0].shape[:2]
        stream.pix_fmt = pix_fmt
        stream.codec_context.options = options or {}
        if tags:
            context = stream.codec_context
            context.colorspace, context.color_range, context.color_primaries, context.color_trc = tags
        if rotation:
            stream.set_display_rotation(rotation[0], hflip=rotation[1])
        if sar:
            stream.codec_context.sample_aspect_ratio = sar
        for i, image in enumerate(images):
            frame = av.VideoFrame.from_ndarray(image, format="bgra" if image.shape[2] == 4 else "bgr24")
            if tags:
                frame = frame.reformat(format=pix_fmt, dst_colorspace=tags[0] if tags[0] in (1, 5, 6, 9) else None,
                                       dst_color_range=tags[1])
                frame.color_range = tags[1]
            frame.pts, frame.time_base = i, Fraction(1, rate)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


# --- 1. rotation ------------------------------------------------------------------------------

ORIENTATIONS = [(0, False), (90, False), (180, False), (270, False), (0, True), (90, True), (180, True), (270, True)]


@pytest.mark.parametrize("degrees, mirror", ORIENTATIONS, ids=[f"{d}{'-mirrored' if m else ''}" for d, m in ORIENTATIONS])
def test_a_rotated_phone_clip_is_turned_upright_as_ffmpeg_shows_it(tmp_path, degrees, mirror):
    """A display matrix of any of the eight orientations: the output has the picture the
    ffmpeg command shows (it applies the matrix), in its upright size, and no matrix left."""
    source = write_video(tmp_path / "phone.mp4", scene(64, 48), options={"crf": "0"}, rotation=(degrees, mirror))
    upright = (48, 64) if degrees % 180 else (64, 48)
    target = tmp_path / "out.mp4"
    run(source, target, parse_chain(""), crf=0)
    info = stream_info(target)
    assert info["size"] == upright and info["matrix"] is None and info["frames"] == 4
    assert mean_difference(ffmpeg_frames(target, upright), ffmpeg_frames(source, upright)) <= 1.0


def test_filters_see_the_picture_upright_and_live_shows_what_process_writes(tmp_path):
    """Emboss is direction-sensitive: on a clip flagged "rotate 90", the output is emboss of the
    upright picture, not the upright picture of emboss; camfx live's file source shows the same
    pictures as camfx process reads."""
    import cv2

    source = write_video(tmp_path / "phone.mp4", scene(64, 48), options={"crf": "0"}, rotation=(90, False))
    upright = ffmpeg_frames(source, (48, 64))
    target = tmp_path / "out.mp4"
    run(source, target, parse_chain("emboss"), crf=0)
    def luma(frames):  # yuv420p keeps emboss's luma; its per-pixel colours are averaged away
        return np.array([cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_BGR2GRAY) for f in frames])

    output = luma(ffmpeg_frames(target, (48, 64)))
    emboss = parse_chain("emboss").reference()  # OpenCV's filter2D with emboss's matrix
    expected = luma(emboss(frame) for frame in upright)
    wrong = luma(np.rot90(emboss(np.ascontiguousarray(np.rot90(frame, -1)))) for frame in upright)
    assert mean_difference(output, expected) < 2.0 and mean_difference(output, wrong) > 10.0, (
        mean_difference(output, expected), mean_difference(output, wrong))
    with VideoFile(source) as live:
        shown = np.array(list(live))
    plain = tmp_path / "plain.mp4"
    run(source, plain, parse_chain(""), crf=0)
    with av.open(str(plain)) as container:
        written = np.array([to_bgr(frame) for frame in container.decode(video=0)])
    assert shown.shape == written.shape == (4, 64, 48, 3)
    assert mean_difference(shown, written) <= 0.5
    # ffmpeg interpolates colour between samples where camfx repeats them: on this tiny, colourful
    # picture that is 2 levels on average; a wrong turn would be tens.
    assert mean_difference(shown, upright) <= 2.5


# --- 2. colour tags -------------------------------------------------------------------------

def camera_like(frames):
    """Frames whose colour varies smoothly while their luma is detailed, as a camera's does
    (its sensor and codec keep colour at lower resolution): yuv420p, which keeps one colour per
    2x2 pixels, can then hold an RGB source's picture."""
    import cv2

    smooth = []
    for frame in frames:
        ycc = cv2.cvtColor(frame, cv2.COLOR_BGR2YCrCb)
        ycc[..., 1:] = cv2.GaussianBlur(ycc[..., 1:], (0, 0), 2)
        smooth.append(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2BGR))
    return smooth


COLOUR_SOURCES = {
    # name: (how it is encoded, the tags the output must carry: matrix, range, primaries, transfer)
    "libx264rgb": ({"codec": "libx264rgb", "pix_fmt": "bgr24", "options": {"crf": "0"}}, (6, 1, 6, 6)),
    "ffv1 rgb": ({"codec": "ffv1", "pix_fmt": "bgr0"}, (6, 1, 6, 6)),
    "full range bt709": ({"options": {"crf": "0"}, "tags": (1, 2, 1, 1)}, (1, 2, 1, 1)),
    "limited bt709": ({"options": {"crf": "0"}, "tags": (1, 1, 1, 1)}, (1, 1, 1, 1)),
    "bt601 pal": ({"options": {"crf": "0"}, "tags": (5, 1, 5, 6)}, (5, 1, 5, 6)),
    "untagged": ({"options": {"crf": "0"}}, (6, 1, 6, 6)),
}


@pytest.mark.parametrize("name", COLOUR_SOURCES)
def test_colours_come_back_within_a_level_with_tags_for_what_was_written(tmp_path, name):
    """No filter, --crf 0: the output is yuv420p tagged with the matrix it was made with (never
    the RGB matrix, which strict decoders refuse for 4:2:0), full range kept, and a player that
    reads the tags shows the input's pixels within a level on average."""
    encoding, tags = COLOUR_SOURCES[name]
    source = write_video(tmp_path / "in.mkv", camera_like(scene(160, 120)), **encoding)
    target = tmp_path / "out.mp4"
    run(source, target, parse_chain(""), crf=0)
    info = stream_info(target)
    assert info["tags"] == tags and info["pix_fmt"] in ("yuv420p", "yuvj420p")
    assert mean_difference(ffmpeg_frames(target, (160, 120)), ffmpeg_frames(source, (160, 120))) <= 1.0


def test_an_untagged_hd_video_is_read_and_tagged_as_bt709(tmp_path):
    """Players read an untagged video of 720 lines and up as BT.709: so does camfx, and it
    says so in the output's tags."""
    source = write_video(tmp_path / "hd.mkv", scene(1280, 720, frames=2), options={"crf": "0"})
    target = tmp_path / "out.mp4"
    run(source, target, parse_chain(""), crf=0)
    assert stream_info(target)["tags"] == (1, 1, 1, 1)
    reference = ffmpeg("-i", source, "-vf", "scale=in_color_matrix=bt709:flags=bicubic+accurate_rnd+full_chroma_int",
                       "-f", "rawvideo", "-pix_fmt", "bgr24", "-")
    reference = np.frombuffer(reference, np.uint8).reshape(-1, 720, 1280, 3)
    assert mean_difference(ffmpeg_frames(target, (1280, 720)), reference) <= 1.0


# --- 3. HDR -----------------------------------------------------------------------------------

def write_hdr(path, transfer, codes, *, max_cll=1000):
    """A 10-bit HEVC clip (BT.2020, ``transfer`` 16 PQ or 18 HLG, limited range) of gray patches
    32 pixels wide whose signal is ``codes`` (10-bit luma codes), with its content light level."""
    width, height = 32 * len(codes), 64
    luma = np.repeat(np.array(codes, np.uint16), 32)[None, :].repeat(height, axis=0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx265", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p10le"
        context = stream.codec_context
        context.colorspace, context.color_range, context.color_primaries, context.color_trc = 9, 1, 9, transfer
        # No B-frames, one frame thread: x265 then hands out packets in order, whose decoding
        # time is their presentation time (with its threads, a garbage dts was seen once).
        context.options = {"x265-params": f"log-level=error:lossless=1:max-cll={max_cll},400:bframes=0:frame-threads=1"}
        for i in range(2):
            frame = av.VideoFrame(width, height, "yuv420p10le")
            for plane, values in zip(frame.planes, (luma, np.full((height // 2, width // 2), 512, np.uint16),
                                                    np.full((height // 2, width // 2), 512, np.uint16))):
                rows = np.zeros((values.shape[0], plane.line_size // 2), np.uint16)
                rows[:, :values.shape[1]] = values
                plane.update(rows.tobytes())
            frame.pts, frame.time_base = i, TB
            out.mux(_in_order(stream.encode(frame)))
        out.mux(_in_order(stream.encode(None)))
    return path


def _in_order(packets):
    for packet in packets:
        packet.dts = packet.pts
    return packets


# Gray patches: 10-bit codes, and the 8-bit SDR value each must become (worked out by hand from
# the curves camfx documents: ST 2084 or BT.2100 HLG to nits, /203, linear below 0.75, extended
# Reinhard to the 1000-nit peak above, gamma 1/2.4). PQ: 10, 100, 203, 400 and 1000 nits.
HDR_PATCHES = {
    "pq": (16, [327, 509, 573, 636, 723], [73, 190, 241, 251, 255]),
    "hlg": (18, [283, 502, 721, 940], [72, 143, 241, 255]),  # signal 0.25, 0.5, 0.75 (203 nits), 1.0
}


@pytest.mark.parametrize("kind", HDR_PATCHES)
def test_hdr_is_tone_mapped_to_sdr_bt709_and_says_so(tmp_path, kind):
    transfer, codes, expected = HDR_PATCHES[kind]
    source = write_hdr(tmp_path / "hdr.mkv", transfer, codes)
    target = tmp_path / "out.mp4"
    _, log = run(source, target, parse_chain(""), crf=0)
    assert "HDR" in log and "tone-mapped to SDR BT.709" in log
    info = stream_info(target)
    assert info["tags"] == (1, 1, 1, 1) and info["pix_fmt"] == "yuv420p"
    frames = ffmpeg_frames(target, info["size"])
    centres = frames[:, 32, 16::32].astype(int)  # the middle of each patch: (frames, patches, BGR)
    assert np.abs(centres - np.array(expected)[None, :, None]).max() <= 2, centres[0, :, 1]
    with VideoFile(source) as live:  # camfx live shows the same
        assert np.abs(live.read()[32, 16::32].astype(int) - np.array(expected)[:, None]).max() <= 1


# --- 4. start time ----------------------------------------------------------------------------

def write_ts(path, start, seconds=3):
    """A transport stream of H.264 video and AAC audio (``seconds`` long) whose clock starts at
    ``start`` seconds, as a recording cut from a broadcast's does."""
    return ffmpeg("-f", "lavfi", "-i", f"testsrc=size=160x120:rate=30:duration={seconds}", "-f", "lavfi",
                  "-i", f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-preset", "ultrafast",
                  "-c:a", "aac", "-output_ts_offset", start, "-f", "mpegts", path) or path


def first_times(path):
    """{stream type: the first packet's presentation time in seconds}."""
    with av.open(str(path)) as container:
        first = {}
        for packet in container.demux():
            if packet.pts is not None and packet.stream.type not in first:
                first[packet.stream.type] = float(packet.pts * packet.time_base)
        return first


@pytest.mark.parametrize("start", [20000, 1.4])
def test_an_output_starts_at_zero_with_its_audio_moved_as_much(tmp_path, start):
    source = write_ts(tmp_path / "cut.ts", start)
    before = first_times(source)
    assert before["video"] >= start
    target = tmp_path / "out.mp4"
    frames, _ = run(source, target, parse_chain("edge"))
    after = first_times(target)
    assert min(after.values()) == pytest.approx(0, abs=1e-3)
    # Sync: audio keeps its place against the video.
    assert after["audio"] - after["video"] == pytest.approx(before["audio"] - before["video"], abs=0.002)
    info = stream_info(target)
    assert frames == info["frames"] == 90 and info["duration"] == pytest.approx(3.0, abs=0.1)


# --- 5. pixel aspect ratio --------------------------------------------------------------------

SAR_SOURCES = {
    # name: (ffmpeg's output options, size, the sample aspect ratio and display aspect it stands for)
    "dvd": (["-c:v", "mpeg2video", "-aspect", "16:9", "-f", "dvd"], (720, 480), Fraction(32, 27), Fraction(16, 9)),
    "dv": (["-c:v", "dvvideo", "-pix_fmt", "yuv411p", "-aspect", "4:3", "-f", "dv"], (720, 480), Fraction(8, 9),
           Fraction(4, 3)),
    "hdv": (["-c:v", "mpeg2video", "-aspect", "16:9", "-f", "mpegts"], (1440, 1080), Fraction(4, 3), Fraction(16, 9)),
}


@pytest.mark.parametrize("name", SAR_SOURCES)
def test_non_square_pixels_keep_their_aspect_ratio(tmp_path, name):
    options, size, sar, dar = SAR_SOURCES[name]
    source = tmp_path / f"{name}.input"
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size[0]}x{size[1]}:rate=30000/1001", "-frames:v", 3, *options, source)
    assert stream_info(source)["sar"] == sar  # what such footage says of itself
    target = tmp_path / "out.mp4"
    run(source, target, parse_chain("sharpen"), preset="ultrafast")
    info = stream_info(target)
    assert info["size"] == size and info["sar"] == sar
    assert Fraction(size[0], size[1]) * info["sar"] == dar


def test_a_live_recording_of_a_dvd_file_keeps_its_aspect_ratio(tmp_path):
    options, size, sar, _ = SAR_SOURCES["dvd"]
    source = tmp_path / "dvd.vob"
    ffmpeg("-f", "lavfi", "-i", f"testsrc=size={size[0]}x{size[1]}:rate=30000/1001", "-frames:v", 10, *options, source)
    result = camfx("live", "--headless", "--source", source, "--frames", 5, "--record", tmp_path / "rec.mp4")
    assert result.returncode == 0, result.stderr
    assert stream_info(tmp_path / "rec.mp4")["sar"] == sar


def test_the_writer_keeps_a_sample_aspect_ratio_for_live_recordings_too(tmp_path):
    """The writer carries the ratio (VideoFormat.sar), so a live recording of such a file keeps
    it as camfx process does."""
    from camfx.files.video import OutputVideo, VideoFormat
    from camfx.frame import Frame

    target = tmp_path / "rec.mp4"
    with OutputVideo(target, VideoFormat(720, 480, Fraction(30), TB, sar=Fraction(32, 27))) as out:
        for i, image in enumerate(scene(720, 480, frames=2)):
            out.write(Frame(image, i, i / 30, i))
    assert stream_info(target)["sar"] == Fraction(32, 27)


# --- 6. size change mid-stream ----------------------------------------------------------------

def write_size_change(path, first, second, switch, total):
    """An H.264 transport stream whose first ``switch`` frames are ``first`` (w, h) and the rest,
    up to ``total``, ``second``: what a broadcast or an IP camera sends when its resolution
    changes (each size from its own encoder, headers in-band)."""
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = *first, "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast"}
        encoder = stream.codec_context
        for i in range(total):
            if i == switch:
                out.mux(encoder.encode(None))
                encoder = av.CodecContext.create("libx264", "w")
                encoder.width, encoder.height, encoder.pix_fmt = *second, "yuv420p"
                encoder.time_base, encoder.framerate = TB, 30
                encoder.options = {"preset": "ultrafast"}
            size = first if i < switch else second
            frame = av.VideoFrame.from_ndarray(DemoScene(*size).frame(i), format="bgr24")
            frame.pts, frame.time_base = i, TB
            packets = encoder.encode(frame)
            for packet in packets:
                packet.stream = stream
            out.mux(packets)
        packets = encoder.encode(None)
        for packet in packets:
            packet.stream = stream
        out.mux(packets)
    return path


def test_a_size_change_mid_stream_is_scaled_to_the_first_size_with_one_warning(tmp_path):
    """Before: an error at frame 50 and no output. Now every frame is kept, those after the
    change scaled to the first size (here the same aspect, so no bars), and one warning names
    the frame and its time."""
    import cv2

    source = write_size_change(tmp_path / "switch.ts", (160, 90), (320, 180), switch=50, total=80)
    target = tmp_path / "out.mp4"
    frames, log = run(source, target, parse_chain(""), crf=0)
    assert frames == 80 and stream_info(target)["size"] == (160, 90)
    warnings = [line for line in log.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "frame 50 (t=1.667 s) is 320x180" in warnings[0] and "160x90" in warnings[0]
    output = ffmpeg_frames(target, (160, 90))
    with av.open(str(source)) as container:
        big = [to_bgr(frame) for frame in container.decode(video=0)][50:]
    assert big[0].shape == (180, 320, 3)
    expected = np.array([cv2.resize(frame, (160, 90), interpolation=cv2.INTER_AREA) for frame in big])
    assert mean_difference(output[50:], expected) < 3.0


def test_a_size_change_to_another_aspect_is_letterboxed(tmp_path):
    source = write_size_change(tmp_path / "switch.ts", (160, 90), (120, 120), switch=10, total=20)
    target = tmp_path / "out.mp4"
    frames, log = run(source, target, parse_chain(""), crf=0)
    output = ffmpeg_frames(target, (160, 90))
    assert frames == 20 and "scaled to fit 160x90 (aspect kept, black bars)" in log
    bars = np.concatenate([output[10:, :, :33], output[10:, :, -33:]], axis=2)  # 90x90 centred: 35 each side
    assert bars.max() <= 2 and output[10:, :, 40:120].mean() > 40


# --- 7. streams the output cannot hold --------------------------------------------------------

def write_camera_mov(path):
    """A camera's MOV: H.264, AAC and a QuickTime timecode track (tmcd) starting at 01:00:00:00."""
    return ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=30:duration=1", "-f", "lavfi", "-i",
                  "sine=duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                  "-timecode", "01:00:00:00", path) or path


def streams(path):
    with av.open(str(path)) as container:
        return [(s.type, s.metadata.get("timecode") or s.metadata.get("TIMECODE")) for s in container.streams]


@pytest.mark.parametrize("suffix", [".mov", ".mp4", ".mkv"])
def test_a_timecode_track_becomes_the_outputs_timecode(tmp_path, suffix):
    """Copied into MOV, a tmcd track made FFmpeg fail at the very end ("Invalid argument")
    after every frame was encoded. Its timecode is now the output video's, which MOV and MP4
    write as a timecode track of their own and MKV as a tag; the warning says so."""
    source = write_camera_mov(tmp_path / "camera.mov")
    assert ("data", "01:00:00:00") in streams(source)
    target = tmp_path / f"out{suffix}"
    frames, log = run(source, target, parse_chain("emboss"), preset="ultrafast")
    assert frames == 30
    assert "stream #2 (data, timecode) is not copied: its timecode 01:00:00:00 is written as the output video's" in log
    kinds = streams(target)
    assert ("video", "01:00:00:00") in kinds and ("audio", None) in kinds


def test_a_muxer_that_fails_at_the_end_is_named_with_the_streams_it_held(tmp_path, monkeypatch):
    """Should a stream pass every check and the muxer still refuse the file at its end, the
    error names the copied streams, in one line, and nothing is left behind."""
    from camfx.errors import CamfxError
    from camfx.files import video

    source = write_camera_mov(tmp_path / "camera.mov")
    monkeypatch.setattr(video, "is_timecode", lambda stream: False)  # copy the tmcd track as it is
    monkeypatch.setattr(video, "can_copy", lambda stream, format, sample=None: True)
    with pytest.raises(CamfxError, match=r"the mov output could not be finished \(Invalid argument\); it held "
                                         r"stream #1 \(audio, aac\), stream #2 \(data, timecode\) copied"):
        run(source, tmp_path / "out.mov", parse_chain("emboss"), preset="ultrafast")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["camera.mov"]


def test_each_stream_is_decided_before_encoding_with_a_packet_of_its_own(tmp_path):
    """The check writes a stream's header, its first packet and a trailer: the tmcd track passes
    a header-only check and fails this one, the audio passes both."""
    from camfx.files.video import InputVideo, can_copy

    with InputVideo(write_camera_mov(tmp_path / "camera.mov")) as video:
        audio, timecode = video.others
        assert can_copy(timecode, "mov") and not can_copy(timecode, "mov", video.sample_packets[timecode])
        assert can_copy(audio, "mov", video.sample_packets[audio])


# --- 8. which video stream --------------------------------------------------------------------

def write_cover(path):
    import cv2

    cover = np.zeros((64, 64, 3), np.uint8)
    cover[16:48, 16:48] = (0, 200, 255)
    cv2.imwrite(str(path), cover)
    return path


def cover_first(path):
    """Move an MP4's metadata box (udta, with the cover art) before its tracks, as some taggers
    write it: FFmpeg then lists the cover as the first video stream. Only boxes inside moov
    change places, so every offset into the media data stays right."""
    import struct

    def boxes(data, start, end):
        while start < end:
            size, kind = struct.unpack(">I4s", data[start:start + 8])
            yield kind, data[start:start + size]
            start += size

    data = path.read_bytes()
    start = data.index(b"moov") - 4
    end = start + int.from_bytes(data[start:start + 4], "big")
    children = sorted(boxes(data, start + 8, end), key=lambda box: box[0] == b"trak")  # stable: mvhd, udta, traks
    path.write_bytes(data[:start + 8] + b"".join(box for _, box in children) + data[end:])


def test_the_main_video_is_filtered_not_the_cover_picture_before_it(tmp_path):
    """An MP4 whose first video stream is its cover art (an attached picture): the real video
    is the one filtered."""
    cover = write_cover(tmp_path / "cover.png")
    video = ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=30:duration=1", "-c:v", "libx264",
                   "-preset", "ultrafast", tmp_path / "video.mp4") or tmp_path / "video.mp4"
    source = tmp_path / "with-cover.mp4"
    ffmpeg("-i", video, "-i", cover, "-map", 0, "-map", 1, "-c:v:0", "copy", "-c:v:1", "png",
           "-disposition:v:1", "attached_pic", source)
    cover_first(source)
    with av.open(str(source)) as container:
        assert container.streams.video[0].disposition & av.stream.Disposition.attached_pic  # the cover comes first
    target = tmp_path / "out.mp4"
    result = camfx("process", source, "-o", target, "--filters", "sharpen", "--crf", 0)
    assert result.returncode == 0, result.stderr
    with av.open(str(target)) as container:
        main = next(s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic)
        assert (main.codec_context.width, main.codec_context.height) == (160, 120)
        assert sum(1 for _ in container.decode(main)) == 30


@pytest.mark.parametrize("suffix", [".m4a", ".mp3"])
def test_an_audio_file_with_cover_art_has_no_video_stream(tmp_path, suffix):
    cover = write_cover(tmp_path / "cover.png")
    source = tmp_path / f"song{suffix}"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-i", cover, "-map", 0, "-map", 1,
           "-c:v", "png" if suffix == ".m4a" else "mjpeg", "-disposition:v", "attached_pic", source)
    result = camfx("process", source, "-o", tmp_path / "out.mp4")
    assert result.returncode == 1
    assert result.stderr.strip() == f"camfx: error: {source}: has no video stream (only a cover picture)"
    assert not (tmp_path / "out.mp4").exists()


# --- 9. alpha ---------------------------------------------------------------------------------

def sticker(width=96, height=64):
    """BGRA: transparent, with red hidden under the transparency (what a matte would leak), an
    opaque green sticker in the middle and a half-transparent blue band at the bottom."""
    image = np.zeros((height, width, 4), np.uint8)
    image[..., :3] = (0, 0, 255)
    image[16:48, 32:64] = (0, 200, 0, 255)
    image[52:, :] = (255, 0, 0, 128)
    return image


ALPHA_SOURCES = {
    "vp9 webm": {"codec": "libvpx-vp9", "pix_fmt": "yuva420p", "options": {"lossless": "1"}},
    "png mov": {"codec": "png", "pix_fmt": "rgba"},
}


@pytest.mark.parametrize("name", ALPHA_SOURCES)
@pytest.mark.parametrize("background, bgr", [(None, (0, 0, 0)), ("white", (255, 255, 255)), ("#336699", (153, 102, 51))])
def test_transparency_is_composited_over_the_background(tmp_path, name, background, bgr):
    suffix = ".webm" if "webm" in name else ".mov"
    source = write_video(tmp_path / f"sticker{suffix}", [sticker()] * 3, **ALPHA_SOURCES[name])
    target = tmp_path / "out.mp4"
    options = ["--background", background] if background else []
    result = camfx("process", source, "-o", target, "--filters", "", "--crf", 0, *options)
    assert result.returncode == 0, result.stderr
    assert f"has transparency (alpha) from frame 0 (t=0.000 s) on; composited over {background or 'black'}" in result.stderr
    frame = ffmpeg_frames(target, (96, 64))[0].astype(int)
    half = [round((255 * 128 + c * 127) / 255) if i == 0 else round(c * 127 / 255) for i, c in enumerate(bgr)]
    for (y, x), expected in (((4, 4), bgr), ((32, 48), (0, 200, 0)), ((58, 48), half)):
        assert np.abs(frame[y, x] - expected).max() <= 4, (y, x, frame[y, x], expected)


def test_a_bad_background_is_one_line(tmp_path):
    source = write_video(tmp_path / "sticker.mov", [sticker()], codec="png", pix_fmt="rgba")
    result = camfx("process", source, "-o", tmp_path / "out.mp4", "--background", "plaid")
    assert result.returncode == 2
    assert result.stderr.strip() == ("camfx: error: --background must be a colour name (black, white, gray, grey, "
                                     "green, blue, red) or #rrggbb, got 'plaid'")


# --- 10. interlaced ---------------------------------------------------------------------------

def woven(frames=6, width=160, height=120):
    """Interlaced pictures of a bar moving right: even rows caught 1/60 s before odd rows (top
    field first), so the bar's edges comb."""
    images = []
    for i in range(frames):
        image = np.full((height, width, 3), 40, np.uint8)
        for parity, x in ((0, 20 + 16 * i), (1, 28 + 16 * i)):
            image[parity::2, x:x + 30] = 220
        images.append(image)
    return images


def combing(frames):
    """Mean difference between each row and the mean of its neighbours, in luma: large when the
    fields of a moving picture are woven together."""
    luma = frames[..., 1].astype(np.float64)
    return float(np.abs(luma[:, 1:-1] - (luma[:, :-2] + luma[:, 2:]) / 2).mean())


def test_interlaced_video_is_named_and_deinterlaced_on_request(tmp_path):
    source = write_video(tmp_path / "tv.mkv", woven(), options={"crf": "0", "x264-params": "tff=1"})
    with av.open(str(source)) as container:
        assert next(container.decode(video=0)).interlaced_frame
    plain, deinterlaced = tmp_path / "plain.mp4", tmp_path / "deinterlaced.mp4"
    result = camfx("process", source, "-o", plain, "--filters", "", "--crf", 0)
    assert result.returncode == 0 and "interlaced video, filtered as whole frames" in result.stderr
    assert "--deinterlace deinterlaces it first" in result.stderr
    result = camfx("process", source, "-o", deinterlaced, "--filters", "", "--crf", 0, "--deinterlace")
    assert result.returncode == 0 and "deinterlaced with FFmpeg's bwdif" in result.stderr
    before, after = ffmpeg_frames(plain, (160, 120)), ffmpeg_frames(deinterlaced, (160, 120))
    assert len(before) == len(after) == 6
    assert combing(after) < combing(before) / 3
    assert first_times(deinterlaced) == first_times(plain)  # one frame per frame, at its time


# --- 11. inputs people type -------------------------------------------------------------------

def write_sequence(folder, count=8, first=1):
    import cv2

    folder.mkdir(exist_ok=True)
    for i, image in enumerate(scene(96, 64, frames=count)):
        cv2.imwrite(str(folder / f"img_{first + i:04d}.png"), image)
    return folder / "img_%04d.png"


def test_an_image_sequence_pattern_is_a_video_at_25_fps(tmp_path):
    pattern = write_sequence(tmp_path / "shots")
    result = camfx("process", pattern, "-o", f"{tmp_path}/out/", "--filters", "edge")
    assert result.returncode == 0, result.stderr
    info = stream_info(tmp_path / "out" / "img.mp4")
    assert info["frames"] == 8 and info["size"] == (96, 64)
    assert info["duration"] == pytest.approx(8 / 25, abs=0.05)
    with VideoFile(pattern) as live:  # and camfx live plays it, to its end
        assert len(list(live)) == 8


def test_a_pattern_that_matches_nothing_is_one_line(tmp_path):
    result = camfx("process", tmp_path / "img_%04d.png", "-o", tmp_path / "out.mp4")
    assert result.returncode == 1
    assert result.stderr.strip() == (f"camfx: error: {tmp_path}/img_%04d.png: no image matches the pattern "
                                     "(looked for img_0000.png to img_0004.png)")


def test_a_still_image_stays_on_screen_as_a_camera_would(tmp_path):
    import cv2
    from camfx.live.capture import ENDED, Capture
    from camfx.live.sources import open_source

    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), scene(96, 64, frames=1)[0])
    with Capture(lambda: open_source(photo, fps=50)) as capture:
        frames = []
        while len(frames) < 20 and capture.state != ENDED:
            frame = capture.get(timeout=1.0)
            if frame is not None:
                frames.append(frame)
    assert len(frames) == 20 and capture.state != ENDED
    assert all(np.array_equal(f.image, frames[0].image) for f in frames)
    result = camfx("live", "--headless", "--source", photo, "--frames", 10, "--filters", "edge")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("10 frames shown")


# --- 16. -o for files or folders --------------------------------------------------------------

def test_output_ending_in_a_slash_is_a_folder_and_several_inputs_need_one(tmp_path):
    clip = write_video(tmp_path / "clip.mkv", scene(64, 48))
    result = camfx("process", clip, "-o", f"{tmp_path}/filtered/", "--filters", "emboss")
    assert result.returncode == 0, result.stderr
    assert stream_info(tmp_path / "filtered" / "clip.mp4")["frames"] == 4
    result = camfx("process", clip, clip.with_name("other.mkv"), "-o", tmp_path / "x.mp4")
    assert result.returncode == 2
    assert result.stderr.strip() == f"camfx: error: {tmp_path}/x.mp4: 2 inputs need a folder for -o (end it with /), not one file"
    assert not (tmp_path / "x.mp4").exists()


# --- every kind, in both halves of a split encode ---------------------------------------------

def split_kinds(folder):
    scene90 = scene(96, 64, frames=90)
    return {
        # turned, full range, DVD-shaped pixels, a keyframe every 10 frames
        "rotated full-range mp4": write_video(folder / "phone.mp4", scene90, options={"crf": "0", "g": "10"},
                                              tags=(1, 2, 1, 1), rotation=(90, False), sar=Fraction(32, 27)),
        # a transport stream (its clock starts at 1.4 s) changing size in the first or the second half
        "size change at 30": write_size_change(folder / "switch30.ts", (96, 64), (192, 128), 30, 90),
        "size change at 70": write_size_change(folder / "switch70.ts", (96, 64), (192, 128), 70, 90),
        "alpha at 60": write_video(folder / "sticker.mov", [np.dstack([f, np.full(f.shape[:2], 255 if i < 60 else 100,
                                                                                   np.uint8)])
                                                             for i, f in enumerate(scene90)], codec="png", pix_fmt="rgba"),
    }


@pytest.fixture(scope="module")
def kinds_to_split(tmp_path_factory):
    return split_kinds(tmp_path_factory.mktemp("split"))


@pytest.mark.parametrize("kind", ["rotated full-range mp4", "size change at 30", "size change at 70", "alpha at 60"])
def test_two_halves_make_the_file_one_pass_makes(tmp_path, monkeypatch, kinds_to_split, kind):
    """camfx process encodes a long video as two halves at once, the second read by a reader of
    its own: each kind's handling lives in the reader and the writer, so the halves' file is the
    one-pass file, frame for frame (lossless here), with the same tags, aspect and warnings."""
    from camfx.files import encode

    source = kinds_to_split[kind]
    one, two = tmp_path / "one.mp4", tmp_path / "two.mp4"
    _, one_log = run(source, one, parse_chain("emboss"), crf=0, preset="ultrafast")
    starts, begin = [], encode.SecondHalf.begin.__func__

    def spy(cls, video, *args):
        second = begin(cls, video, *args)
        starts.append(second)
        return second
    monkeypatch.setattr(encode, "MIN_FRAMES_PER_HALF", 20)
    monkeypatch.setattr(encode.SecondHalf, "begin", classmethod(spy))
    _, two_log = run(source, two, parse_chain("emboss"), crf=0, preset="ultrafast")
    assert starts and starts[0] is not None  # it did split
    a, b = stream_info(one), stream_info(two)
    assert a["size"] == b["size"] and a["sar"] == b["sar"] and a["tags"] == b["tags"] and a["frames"] == b["frames"] == 90
    assert first_times(one) == first_times(two) and min(first_times(two).values()) == pytest.approx(0, abs=1e-3)
    assert np.array_equal(ffmpeg_frames(one, a["size"]), ffmpeg_frames(two, b["size"]))
    warnings = [line for line in two_log.splitlines() if "warning" in line]
    assert warnings == [line for line in one_log.splitlines() if "warning" in line] and len(warnings) <= 1


# --- how camfx reads and writes 8-bit YUV ----------------------------------------------------

@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv422p", "yuv444p"])
@pytest.mark.parametrize("size", [(160, 120), (161, 121)])
def test_yuv_is_read_by_the_standard_formulas(pix_fmt, size):
    """camfx's YUV to BGR (16-bit fixed point) against BT.601's formulas in float64 (test_process's
    to_bgr, chroma repeated): equal but for one level in a handful of samples that fall on a
    rounding edge. (Full range is checked end to end by the colour tests above.)"""
    from camfx.files import yuv

    image = scene(*size, frames=1)[0]
    frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format=pix_fmt)
    diff = np.abs(yuv.to_bgr(frame, 6, False).astype(np.int16) - to_bgr(frame))
    assert diff.max() <= 1 and np.count_nonzero(diff) <= diff.size // 5000


def test_yuv420_is_written_by_the_standard_formulas():
    from camfx.files import yuv
    from test_process import as_yuv420

    image = scene(160, 120, frames=1)[0]
    diff = np.abs(yuv.to_yuv420(image, 6, False).astype(np.int16) - as_yuv420(image))
    assert diff.max() <= 1 and np.count_nonzero(diff) <= diff.size // 1000
