"""The everyday looks (issue 14), each against its definition written out here (the filters'
own references, which check_filter and the bench use, are OpenCV's routes to them), or, where
a look has no single answer, against the properties it promises."""
import subprocess
import sys

import cv2
import numpy as np
import pytest

from camfx.engine.registry import Registry
from camfx.live.demo import DemoScene
from conftest import all_frames, assert_close, curve, write_cube

REGISTRY = Registry.discover()


def make(spec_name, **params):
    return REGISTRY.create(spec_name, params)


def as_bgr(frame):
    return frame if frame.ndim == 3 else np.repeat(frame[..., None], 3, axis=2)


def gray_of(bgr):
    return cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2GRAY)


def rounded(values):
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


# --- colour ------------------------------------------------------------------------------------

@pytest.mark.parametrize("axis, flipped", [("horizontal", lambda f: f[:, ::-1]), ("vertical", lambda f: f[::-1]),
                                           ("both", lambda f: f[::-1, ::-1])])
def test_flip_mirrors_exactly(sample_frames, axis, flipped):
    f = make("flip", axis=axis)
    for frame in all_frames(sample_frames):
        np.testing.assert_array_equal(f(frame), flipped(frame))


def test_gray_is_cvtcolor_in_three_channels_and_leaves_gray_frames_alone(sample_frames):
    f = make("gray")
    for frame in all_frames(sample_frames):
        result = f(frame)
        if frame.ndim == 2:
            np.testing.assert_array_equal(result, frame)
        else:
            for c in range(3):
                np.testing.assert_array_equal(result[..., c], gray_of(frame))


def test_invert_is_255_minus_the_frame(sample_frames):
    for frame in all_frames(sample_frames):
        np.testing.assert_array_equal(make("invert")(frame), 255 - frame)


@pytest.mark.parametrize("brightness, contrast, saturation", [(0, 1, 1), (25, 1, 1), (0, 1.6, 1), (0, 1, 0),
                                                              (-30, 0.7, 1.8), (10, 1.2, 0.5)])
def test_adjust_follows_its_formula(sample_frames, brightness, contrast, saturation):
    f = make("adjust", brightness=float(brightness), contrast=float(contrast), saturation=float(saturation))
    for frame in all_frames(sample_frames):
        x = (frame.astype(np.float64) - 128) * contrast + 128 + brightness
        gray3 = (gray_of(frame) if frame.ndim == 3 else frame).astype(np.float64)
        gray3 = gray3[..., None] if frame.ndim == 3 else gray3
        assert_close(f(frame), rounded(gray3 + (x - gray3) * saturation))


@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.2, 7.5])
def test_gamma_follows_its_formula(sample_frames, gamma):
    f = make("gamma", gamma=gamma)
    for frame in all_frames(sample_frames):
        np.testing.assert_array_equal(f(frame), rounded(255 * (frame / 255.0) ** (1 / gamma)))


@pytest.mark.parametrize("strength", [0.0, 0.4, 1.0])
def test_sepia_is_the_classic_matrix_blended_by_strength(sample_frames, strength):
    rgb = np.array([[.393, .769, .189], [.349, .686, .168], [.272, .534, .131]])  # rows: R, G, B
    bgr = rgb[::-1, ::-1]
    matrix = (strength * bgr + (1 - strength) * np.eye(3)).astype(np.float32)
    f = make("sepia", strength=strength)
    for frame in all_frames(sample_frames):
        toned = cv2.transform(np.ascontiguousarray(as_bgr(frame)), matrix)
        assert_close(f(frame), toned if frame.ndim == 3 else gray_of(toned))
    frame = sample_frames["bgr"][0]
    if strength == 0:
        np.testing.assert_array_equal(f(frame), frame)


# --- lut ---------------------------------------------------------------------------------------

def test_an_identity_lut_returns_the_input(sample_frames, cube_files):
    f = make("lut", path=str(cube_files["identity"]))
    for frame in all_frames(sample_frames):
        np.testing.assert_array_equal(f(frame), frame)


def test_a_lut_maps_its_domain_onto_the_lattice(sample_frames, cube_files):
    """DOMAIN 0-2 with the identity over it: inputs 0-1 use the lattice's lower half."""
    f = make("lut", path=str(cube_files["domain"]))
    for frame in all_frames(sample_frames):
        np.testing.assert_array_equal(f(frame), frame)
    halving = write_cube(cube_files["domain"].with_name("halving.cube"), 5, lambda r, g, b: (r / 2, g / 2, b / 2),
                         domain=(0.0, 2.0))
    frame = sample_frames["bgr"][0]
    assert_close(make("lut", path=str(halving))(frame), rounded(frame / 2))


def test_a_lut_of_a_linear_map_returns_that_map(sample_frames, cube_files):
    f = make("lut", path=str(cube_files["rotation"]))  # r, g, b -> g, b, r
    for frame in sample_frames["bgr"]:
        b, g, r = frame[..., 0], frame[..., 1], frame[..., 2]
        np.testing.assert_array_equal(f(frame), np.dstack([r, b, g]))  # new B, G, R = old R, B, G


def test_a_lut_of_a_non_linear_map_matches_the_map_within_2_levels(sample_frames, cube_files):
    f = make("lut", path=str(cube_files["curve"]))
    for frame in sample_frames["bgr"] + [v for v in sample_frames["views"] if v.ndim == 3]:
        rgb = frame[..., ::-1] / 255.0
        mapped = np.dstack(curve(rgb[..., 0], rgb[..., 1], rgb[..., 2]))[..., ::-1]
        assert_close(f(frame), rounded(mapped * 255), tolerance=2)


@pytest.mark.parametrize("text, line, message", [
    ("LUT_3D_SIZE 2\n0 0 0\n1 0 0\n0 1 0\n", 4, "LUT_3D_SIZE 2 needs 8 table rows, got 3"),
    ("LUT_3D_SIZE 2\n0 0 0\n1 0 x\n", 3, "expected three numbers or a keyword, got '1 0 x'"),
    ("TITLE \"a\"\n0 0 0\n", 2, "a table row before LUT_3D_SIZE"),
    ("LUT_3D_SIZE 1\n", 1, "LUT_3D_SIZE must be an integer from 2 to 256, got '1'"),
    ("LUT_1D_SIZE 16\n", 1, "a 1-D LUT"),
    ("LUT_3D_SIZE 2\nDOMAIN_MIN 0 0\n", 2, "DOMAIN_MIN needs three numbers"),
    ("LUT_3D_SIZE 2\nFANCY_KEYWORD 3\n", 2, "expected three numbers or a keyword, got 'FANCY_KEYWORD 3'"),
    ("# nothing\n", 0, "no LUT_3D_SIZE"),
    ("LUT_3D_SIZE 2\n" + "0 0 nan\n" * 8, 2, "expected three numbers"),
])
def test_a_malformed_cube_file_is_one_line_naming_the_file_and_the_line(tmp_path, text, line, message):
    path = tmp_path / "look.cube"
    path.write_text(text)
    where = f", line {line}" if line else ""
    with pytest.raises(ValueError, match=f"^lut: path '{path}'{where}: {message}"):
        make("lut", path=str(path))


def test_a_bad_cube_file_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "look.cube").write_text("LUT_3D_SIZE 2\n0 0 0\n")
    result = subprocess.run([sys.executable, "-m", "camfx", "warmup", "--filters", "lut(path='look.cube')"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "camfx: error: lut: path 'look.cube', line 2: LUT_3D_SIZE 2 needs 8 table rows, got 1\n"


def test_a_missing_cube_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="lut: path 'nowhere.cube': No such file"):
        make("lut", path="nowhere.cube")


def test_a_lut_reads_resolve_input_ranges_and_comments(tmp_path, sample_frames):
    path = write_cube(tmp_path / "half.cube", 3, lambda r, g, b: (r * 0.5, g * 0.5, b * 0.5))
    path.write_text(path.read_text().replace("LUT_3D_SIZE 3", "# a comment\nLUT_3D_SIZE 3\nLUT_3D_INPUT_RANGE 0 1"))
    frame = sample_frames["bgr"][0]
    assert_close(make("lut", path=str(path))(frame), rounded(frame * 0.5))


# --- stylise -----------------------------------------------------------------------------------

@pytest.mark.parametrize("strength", [0.0, 0.5, 1.0])
def test_vignette_follows_its_formula(sample_frames, strength):
    f = make("vignette", strength=strength)
    for frame in all_frames(sample_frames):
        height, width = frame.shape[:2]
        y, x = np.mgrid[0:height, 0:width]
        r2 = (x - (width - 1) / 2) ** 2 + (y - (height - 1) / 2) ** 2
        gain = 1 - strength * r2 / (np.hypot(width, height) / 2) ** 2
        assert_close(f(frame), rounded(frame * (gain[..., None] if frame.ndim == 3 else gain)))


@pytest.mark.parametrize("block", [1, 4, 16, 1000])
def test_pixelate_fills_every_tile_with_its_rounded_mean(sample_frames, block):
    f = make("pixelate", block=block)
    for frame in all_frames(sample_frames):
        expected = np.empty_like(frame)
        for y in range(0, frame.shape[0], block):
            for x in range(0, frame.shape[1], block):
                tile = frame[y:y + block, x:x + block].astype(np.float64)
                expected[y:y + block, x:x + block] = np.floor(tile.mean(axis=(0, 1)) + 0.5)
        np.testing.assert_array_equal(f(frame), expected)


@pytest.mark.parametrize("levels", [2, 4, 9, 256])
def test_posterize_follows_its_formula(sample_frames, levels):
    f = make("posterize", levels=levels)
    for frame in all_frames(sample_frames):
        q = np.floor(frame.astype(np.float64) * levels / 256)
        np.testing.assert_array_equal(f(frame), np.round(q * 255 / (levels - 1)).astype(np.uint8))


def test_cartoon_has_smooth_flat_colours_a_small_palette_and_dark_lines(recorded_frames):
    levels = 6
    f = make("cartoon", levels=levels)
    palette = {round(q * 255 / (levels - 1)) for q in range(levels)}
    for frame in recorded_frames[::12]:
        out = f(frame)
        lines = np.all(out == 0, axis=2)
        colours = out[~lines]
        assert set(np.unique(colours)) <= palette  # a reduced palette: levels tones per channel
        # Smoothed before the palette: more flat runs than posterizing the raw frame gives.
        raw = make("posterize", levels=levels)(frame)
        assert (out[:, 1:] == out[:, :-1]).all(axis=2).mean() > (raw[:, 1:] == raw[:, :-1]).all(axis=2).mean() + 0.04
        # Dark lines: along strong edges of the picture, seldom in flat parts.
        gray = gray_of(frame)
        magnitude = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
        near_line = cv2.dilate(lines.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert near_line[magnitude > 200].mean() > 0.85
        assert lines[cv2.blur(magnitude, (7, 7)) < 15].mean() < 0.03


# --- blur, sharpen and edges -------------------------------------------------------------------

@pytest.mark.parametrize("ksize, sigma, amount", [(5, 0.0, 1.0), (3, 0.0, 0.5), (9, 2.5, 2.0)])
def test_unsharp_is_the_frame_plus_amount_times_its_detail(sample_frames, ksize, sigma, amount):
    f = make("unsharp", ksize=ksize, sigma=sigma, amount=amount)
    for frame in all_frames(sample_frames):
        blur = cv2.GaussianBlur(np.ascontiguousarray(frame), (ksize, ksize), sigma).astype(np.float64)
        assert_close(f(frame), rounded(frame + amount * (frame - blur)))


@pytest.mark.parametrize("ksize", [1, 3, 5, 7])
def test_laplacian_is_opencvs_absolute_laplacian_of_the_gray_image(sample_frames, ksize):
    f = make("laplacian", ksize=ksize)
    for frame in all_frames(sample_frames):
        gray = gray_of(frame) if frame.ndim == 3 else np.ascontiguousarray(frame)
        edges = np.minimum(np.abs(cv2.Laplacian(gray, cv2.CV_16S, ksize=ksize).astype(np.int32)), 255).astype(np.uint8)
        np.testing.assert_array_equal(f(frame), edges if frame.ndim == 2 else np.dstack([edges] * 3))


@pytest.mark.parametrize("name, kx", [("scharr", [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]),
                                      ("prewitt", [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])])
def test_scharr_and_prewitt_are_gradient_magnitudes(sample_frames, name, kx):
    kx = np.array(kx, np.float64)
    f = make(name)
    for frame in all_frames(sample_frames):
        gray = (gray_of(frame) if frame.ndim == 3 else np.ascontiguousarray(frame)).astype(np.float64)
        gx = cv2.filter2D(gray, -1, kx, borderType=cv2.BORDER_REFLECT_101)
        gy = cv2.filter2D(gray, -1, kx.T, borderType=cv2.BORDER_REFLECT_101)
        edges = rounded(np.hypot(gx, gy))
        assert_close(f(frame), edges if frame.ndim == 2 else np.dstack([edges] * 3))


@pytest.mark.parametrize("angle, line", [(0, lambda n: np.pad(np.ones((1, n)), ((n // 2, n // 2), (0, 0)))),
                                         (45, np.eye), (90, lambda n: np.pad(np.ones((n, 1)), ((0, 0), (n // 2, n // 2)))),
                                         (135, lambda n: np.fliplr(np.eye(n)))])
@pytest.mark.parametrize("length", [1, 5, 9])
def test_motion_blur_at_the_four_axes_is_filter2d_with_a_line_of_ones(sample_frames, angle, line, length):
    f = make("motion_blur", length=length, angle=float(angle))
    kernel = (line(length) / length).astype(np.float32)
    for frame in all_frames(sample_frames):
        assert_close(f(frame), cv2.filter2D(np.ascontiguousarray(frame), -1, kernel))


@pytest.mark.parametrize("angle", [10.0, 30.0, 60.0, 100.0, 160.0, -20.0])
def test_motion_blur_at_other_angles_is_a_centred_line_of_unit_weight(angle):
    from camfx_filters.motion_blur import line_kernel
    kernel = line_kernel(9, angle)
    assert kernel.shape == (9, 9) and abs(kernel.sum() - 1) < 1e-12 and kernel.min() >= 0
    np.testing.assert_allclose(kernel, kernel[::-1, ::-1], atol=1e-12)  # symmetric about the centre
    assert kernel[4, 4] == pytest.approx(1 / 9)
    ys, xs = np.nonzero(kernel)
    centre_x, centre_y = (kernel * np.arange(9)).sum(), (kernel * np.arange(9)[:, None]).sum()
    assert (centre_x, centre_y) == (pytest.approx(4), pytest.approx(4))
    direction = np.degrees(np.arctan2(((ys - 4) * (xs - 4) * kernel[ys, xs]).sum() * 2,
                                      (((xs - 4) ** 2 - (ys - 4) ** 2) * kernel[ys, xs]).sum())) / 2
    assert (direction - angle + 90) % 180 - 90 == pytest.approx(0, abs=4)  # clockwise from the horizontal


def test_median_is_the_median_of_each_window_with_repeated_edges(sample_frames):
    f = make("median", ksize=3)
    for frame in sample_frames["views"]:
        pad = np.pad(frame, ((1, 1), (1, 1)) + ((0, 0),) * (frame.ndim - 2), mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(pad, (3, 3), axis=(0, 1))
        np.testing.assert_array_equal(f(frame), np.median(windows, axis=(-2, -1)).astype(np.uint8))


# --- composite ---------------------------------------------------------------------------------

def green_screen(height=120, width=160):
    """A green screen with shading and a little blue spill, and a subject (a disc of the demo
    scene) in front of it; returns the frame and the subject's mask."""
    y, x = np.mgrid[0:height, 0:width]
    screen = np.zeros((height, width, 3), np.uint8)
    screen[..., 1] = np.rint(255 * (0.55 + 0.45 * x / (width - 1)))
    screen[..., 0] = np.rint(30 * y / (height - 1))
    subject = (x - width // 2) ** 2 + (y - height // 2) ** 2 < (height // 3) ** 2
    return np.where(subject[..., None], DemoScene(width, height).frame(12), screen), subject


def test_chroma_key_keeps_the_subject_exactly_and_loses_all_of_the_green():
    frame, subject = green_screen()
    out = make("chroma_key", replace=[255, 0, 255])(frame)
    np.testing.assert_array_equal(out[subject], frame[subject])
    assert (out[~subject] == [255, 0, 255]).all()  # BGR of the RGB replace colour (the same here)
    from camfx.kernels.chroma import chroma
    distance = np.hypot(*(np.array(chroma(out)) - np.array(chroma([0, 255, 0]))[:, None, None]))
    assert distance.min() > 100  # nothing within the tolerance of the key is left


def test_chroma_key_puts_a_picture_behind(tmp_path):
    frame, subject = green_screen()
    picture = DemoScene(64, 48).frame(3)
    cv2.imwrite(str(tmp_path / "beach.png"), picture)
    out = make("chroma_key", image=str(tmp_path / "beach.png"))(frame)
    behind = cv2.resize(picture, (160, 120), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(out[~subject], behind[~subject])
    np.testing.assert_array_equal(out[subject], frame[subject])


def test_chroma_key_softens_the_edge_by_distance():
    key = make("chroma_key", tolerance=40.0, softness=40.0, replace=[0, 0, 0])
    # Greens at growing chroma distance from the key: replaced, mixed, kept.
    colours = np.array([[[0, 255, 0], [0, 200, 90], [0, 150, 200]]], np.uint8)  # BGR
    from camfx.kernels.chroma import chroma
    distance = np.hypot(*(np.array(chroma(colours[0])) - np.array(chroma([0, 255, 0]))[:, None]))
    alpha = np.clip((distance - 40) / 40, 0, 1)
    assert alpha[0] == 0 and 0 < alpha[1] < 1 and alpha[2] == 1
    assert_close(key(colours)[0], rounded(colours[0] * alpha[:, None]))


def test_chroma_key_names_a_missing_picture(tmp_path):
    with pytest.raises(ValueError, match="chroma_key: image 'none.png': no such picture"):
        make("chroma_key", image="none.png")
