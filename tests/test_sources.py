import numpy as np
import pytest

from camfx.errors import CamfxError
from camfx.live.sources import Demo, VideoFile, open_source
from conftest import CLIP_FRAMES, CLIP_SIZE


def test_recorded_clip_reads_back_every_frame_exactly(clip_path, scene_frames):
    with open_source(clip_path) as video:
        assert video.size == CLIP_SIZE
        assert video.fps == pytest.approx(30)
        frames = list(video)
    assert len(frames) == CLIP_FRAMES
    for got, written in zip(frames, scene_frames):
        np.testing.assert_array_equal(got, written)


def test_the_recorded_scene_moves(recorded_frames):
    diffs = [np.abs(a.astype(int) - b).mean() for a, b in zip(recorded_frames, recorded_frames[1:])]
    assert min(diffs) > 1.0


def test_demo_source_is_deterministic_and_finite_when_asked():
    with Demo(64, 48, frames=3) as a, Demo(64, 48, frames=3) as b:
        first, second = list(a), list(b)
    assert len(first) == 3 and first[0].shape == (48, 64, 3)
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CamfxError, match="no such file"):
        VideoFile(tmp_path / "nope.mp4")


def test_non_video_file_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("not a video")
    with pytest.raises(CamfxError, match="not a readable video file"):
        VideoFile(path)
