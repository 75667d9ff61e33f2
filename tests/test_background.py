"""The background filter on a recorded webcam-style clip of a person (scikit-image's astronaut
photo, a person on a busy background, filmed as a near-still stretch with sensor noise and a
shaking hand, then moving), against independent references: the input itself inside the
person, OpenCV's Gaussian blur, a colour or a picture behind them."""
import subprocess
import sys

import cv2
import numpy as np
import pytest

import camfx
from camfx.live.sources import VideoFile

pytestmark = pytest.mark.usefixtures("models_fetched")

SIZE = (640, 480)
STILL = range(0, 24)       # frames of the near-still stretch
MOVE, STEP = range(24, 32), 8  # then the person moves STEP pixels right per frame ...
HOLD = range(32, 38)       # ... and holds still again
SHIFT = STEP * len(MOVE)

# Boxes (x0, y0, x1, y1) in the still frames, chosen by eye on the photo: well inside the
# person (the face; the suit's left arm) and well outside (the flag; the model shuttle).
PERSON = [(255, 100, 315, 200), (90, 375, 220, 470)]
BACKGROUND = [(0, 0, 50, 300), (480, 0, 640, 120)]


def region(image, box, shift=0):
    x0, y0, x1, y1 = box
    return image[y0:y1, x0 + shift:x1 + shift].astype(np.int16)


def astronaut():
    """The photo's top 3:4 (head and shoulders, as a webcam frames them) at 640x480, BGR."""
    import skimage.data  # the photo ships inside the scikit-image wheel: nothing is downloaded
    photo = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    return cv2.resize(photo[:384], SIZE, interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def person_frames(tmp_path_factory):
    """The clip's frames, recorded losslessly (FFV1) and read back through camfx's own reader."""
    base = astronaut()
    rng = np.random.default_rng(7)
    frames = []
    for i in range(HOLD.stop):
        dx, dy = rng.uniform(-0.7, 0.7, 2) if i in STILL else (0.0, 0.0)
        dx += STEP * min(max(i - MOVE.start + 1, 0), len(MOVE))
        moved = cv2.warpAffine(base, np.float32([[1, 0, dx], [0, 1, dy]]), SIZE, borderMode=cv2.BORDER_REFLECT)
        noisy = moved * rng.uniform(0.98, 1.02) + rng.normal(0, 3, moved.shape)  # exposure and sensor noise
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    path = tmp_path_factory.mktemp("person") / "astronaut.mkv"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 30, SIZE)
    for frame in frames:
        writer.write(frame)
    writer.release()
    with VideoFile(path) as video:
        recorded = list(video)
    assert len(recorded) == HOLD.stop and np.array_equal(recorded[5], frames[5])
    return recorded


def run(filter_, frames):
    return [filter_(frame) for frame in frames]


def background(**params):
    from camfx_filters.background import Background
    return Background(**params)


def test_blur_keeps_the_person_and_blurs_the_room_behind(person_frames):
    frames = [person_frames[i] for i in STILL]
    outputs = run(background(), frames)
    frame, out = frames[-1], outputs[-1]
    for box in PERSON:
        diff = np.abs(region(out, box) - region(frame, box))
        assert diff.max() <= 3 and diff.mean() < 0.5, (box, diff.max(), diff.mean())
    reference = cv2.GaussianBlur(frame, (31, 31), 0)
    for box in BACKGROUND:
        assert np.abs(region(out, box) - region(reference, box)).mean() < 3, box
        detail = cv2.Laplacian(region(frame, box).astype(np.float32), cv2.CV_32F).var()
        left = cv2.Laplacian(region(out, box).astype(np.float32), cv2.CV_32F).var()
        assert left < detail / 20, (box, detail, left)


def test_blur_equals_opencv_gaussian_blur_of_the_same_size_where_nobody_is():
    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (0, 0), 1.5)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX)
    for ksize in (9, 31, 61):
        f = background(ksize=ksize)
        out = f(texture)
        assert f.mask.max() < 0.4  # nobody there: the whole frame is background
        diff = np.abs(out.astype(np.int16) - cv2.GaussianBlur(texture, (ksize, ksize), 0))
        assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 4, (ksize, diff.mean(), np.percentile(diff, 99))


def test_color_replaces_the_room_and_keeps_the_person(person_frames):
    frame = person_frames[STILL[-1]]
    out = background(mode="color", color=[255, 0, 128])(frame)
    for box in BACKGROUND:
        assert np.abs(region(out, box) - [255, 0, 128]).max() <= 2, box
    for box in PERSON:
        assert np.abs(region(out, box) - region(frame, box)).max() <= 3, box


def test_image_covers_the_frame_scaled_and_centred(person_frames, tmp_path):
    rng = np.random.default_rng(5)
    picture = cv2.resize(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8), (300, 200), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(tmp_path / "beach.png"), picture)
    frame = person_frames[STILL[-1]]
    out = background(mode="image", image=str(tmp_path / "beach.png"))(frame)
    # 300x200 covers 640x480 at 2.4x: 720x480, cropped 40 columns each side.
    expected = cv2.resize(picture, (720, 480), interpolation=cv2.INTER_LINEAR)[:, 40:680]
    for box in BACKGROUND:
        assert np.abs(region(out, box) - region(expected, box)).max() <= 2, box
    for box in PERSON:
        assert np.abs(region(out, box) - region(frame, box)).max() <= 3, box


def test_a_video_background_plays_in_a_loop(person_frames, tmp_path):
    colors = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    path = tmp_path / "loop.mkv"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 30, (64, 48))
    for color in colors:
        writer.write(np.full((48, 64, 3), color, np.uint8))
    writer.release()
    f = background(mode="image", image=str(path))
    seen = [region(f(person_frames[i]), BACKGROUND[0]).reshape(-1, 3).mean(axis=0) for i in range(7)]
    expected = [colors[i % 3] for i in range(7)]
    assert np.abs(np.array(seen) - expected).max() <= 2


def test_the_mask_does_not_flicker_on_a_near_still_stretch(person_frames):
    def flicker(smoothing):
        f = background(smoothing=smoothing)
        masks = []
        for i in STILL:
            f(person_frames[i])
            masks.append(f.mask.copy())
        return np.mean([np.abs(b - a).mean() for a, b in zip(masks, masks[1:])])
    raw, smoothed = flicker(0.0), flicker(0.8)
    # The network's own mask moves by ~0.0035 per pixel and frame here; smoothed, under half.
    assert smoothed < 0.5 * raw and smoothed < 0.002, (raw, smoothed)


def test_the_mask_follows_a_moving_person_at_once(person_frames):
    f = background()
    raw = background(smoothing=0.0)
    for i in STILL:
        f(person_frames[i])
    for i in list(MOVE) + list(HOLD):
        out = f(person_frames[i])
        raw(person_frames[i])
        ours, theirs = f.mask > 0.5, raw.mask > 0.5
        assert (ours & theirs).sum() / (ours | theirs).sum() > 0.97, i
    frame = person_frames[HOLD[0]]
    out = f(frame)
    for box in PERSON[:1]:  # the face, where it has moved to, is the frame's own
        assert np.abs(region(out, box, SHIFT) - region(frame, box, SHIFT)).max() <= 3


def test_gray_frames_odd_sizes_and_views_keep_shape_and_leave_the_input_alone(person_frames):
    frame = person_frames[0]
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    for mode in ("blur", "color"):
        f = background(mode=mode)
        out = f(gray)
        assert out.shape == gray.shape and out.dtype == np.uint8
        assert np.abs(region(out, PERSON[0]) - region(gray, PERSON[0])).max() <= 3
        frozen, frozen_gray = frame.copy(), gray.copy()
        frozen.flags.writeable = frozen_gray.flags.writeable = False
        for image in (frozen[:1, :1], frozen[:5, :7], frozen_gray[:7, :5], frozen[1::2, ::3], frozen[::-1]):
            result = f(image)
            assert result.shape == image.shape and result.dtype == np.uint8
        assert np.array_equal(frozen, frame) and np.array_equal(frozen_gray, gray)
    out = np.empty_like(frame)
    assert background()(frame, out=out) is out


def test_bad_parameters_are_refused_naming_them(tmp_path):
    cases = [({"mode": "sepia"}, "mode"), ({"ksize": 4}, "ksize"), ({"ksize": 303}, "ksize"),
             ({"color": [0, 0]}, "color"), ({"color": [0, 0, 256]}, "color"), ({"feather": -1.0}, "feather"),
             ({"smoothing": 1.0}, "smoothing"), ({"mode": "image"}, "image"),
             ({"image": "x.png"}, "image"), ({"mode": "image", "image": str(tmp_path / "none.png")}, "none.png"),
             ({"model": "nonesuch"}, "nonesuch")]
    for params, named in cases:
        with pytest.raises(ValueError, match=named):
            camfx.parse_chain([{"name": "background", **params}])
    (tmp_path / "fake.tflite").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="fake.tflite is none of the models camfx knows"):
        background(model=str(tmp_path / "fake.tflite"))


def test_the_networks_last_layers_in_camfx_give_what_opencv_gives(person_frames):
    from camfx.segmentation import PersonSegmenter
    for model in ("selfie_segmentation_landscape", "selfie_segmentation"):
        ours, theirs = PersonSegmenter(model), PersonSegmenter(model, own_head=False)
        for frame in person_frames[:2] + [cv2.cvtColor(person_frames[2], cv2.COLOR_BGR2GRAY)]:
            assert np.abs(ours(frame) - theirs(frame)).max() < 1e-5
        assert ours.runs_own_head and not theirs.runs_own_head


def test_model_takes_a_copy_under_another_name(person_frames, tmp_path, models_fetched):
    copy = tmp_path / "mine.tflite"
    copy.write_bytes((models_fetched / "models" / "selfie_segmentation_landscape.tflite").read_bytes())
    frame = person_frames[0]
    assert np.array_equal(background(model=str(copy))(frame), background()(frame))
    general = background(model="selfie_segmentation")
    general(frame)
    assert general.mask.shape == (256, 256)


def test_without_the_model_the_chain_fails_at_once_saying_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("CAMFX_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="camfx models fetch"):
        camfx.parse_chain("blur, background")


def test_cli_without_the_model_is_one_line_and_exit_2(clip_path, tmp_path):
    env = {**__import__("os").environ, "CAMFX_DATA_DIR": str(tmp_path / "empty")}
    result = subprocess.run([sys.executable, "-m", "camfx", "process", str(clip_path), "-o", str(tmp_path / "out.mp4"),
                             "--filters", "background"], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "selfie_segmentation_landscape" in result.stderr and "camfx models fetch" in result.stderr
    assert not (tmp_path / "out.mp4").exists()


def test_the_chain_and_the_autotuner_leave_the_real_frames_to_it(person_frames):
    chain = camfx.parse_chain("background, edge")
    f = chain.filters[0]
    chain.tune(person_frames[0])
    assert f.mask is None  # timing runs would have been frames it remembers
    chain.warm(np.zeros_like(person_frames[0]))
    assert f.mask is None  # warmed, then reset: the first real frame starts afresh
    chain(person_frames[0])
    assert f.mask is not None


def test_economising_runs_the_network_every_other_frame(person_frames, monkeypatch):
    f = background()
    calls = []
    network = f._segmenter

    def counted(frame):
        calls.append(1)
        return network(frame)
    monkeypatch.setattr(f, "_segmenter", counted)
    chain = camfx.Chain([f])
    assert chain.economies == ["background: mask every other frame"]
    for i in range(4):
        chain(person_frames[i])
    chain.economize(1)
    masks = []
    for i in range(4, 10):
        out = chain(person_frames[i])
        masks.append(f.mask)
        assert np.abs(region(out, PERSON[0]) - region(person_frames[i], PERSON[0])).max() <= 3
    assert len(calls) == 4 + 3
    assert masks[1] is masks[2] and masks[3] is masks[4]  # the skipped frames reuse the mask
    chain.economize(0)
    chain(person_frames[10])
    assert len(calls) == 8


def test_live_and_process_run_it_like_any_filter(clip_path, tmp_path):
    live = subprocess.run([sys.executable, "-m", "camfx", "live", "--headless", "--source", str(clip_path),
                           "--frames", "10", "--filters", "background(ksize=15)"], capture_output=True, text=True)
    assert live.returncode == 0, live.stderr
    assert "10 frames shown" in live.stdout
    out = tmp_path / "green.mp4"
    process = subprocess.run([sys.executable, "-m", "camfx", "process", str(clip_path), "-o", str(out),
                              "--filters", "background(mode='color', color=[0, 160, 0])"], capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
    with VideoFile(out) as video:
        frames = list(video)
    assert len(frames) == 36
    # The demo scene has nobody in it: every frame is the colour (H.264 moves it a little).
    assert np.abs(frames[-1].astype(np.int16) - [0, 160, 0]).mean() < 4
