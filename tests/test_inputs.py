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
from test_process import EMBOSS, SHARPEN, run, to_bgr

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
    expected = luma(cv2.filter2D(frame, -1, EMBOSS) for frame in upright)
    wrong = luma(np.rot90(cv2.filter2D(np.ascontiguousarray(np.rot90(frame, -1)), -1, EMBOSS)) for frame in upright)
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
