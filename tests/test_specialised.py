"""The specialised kernels and every variant the autotuner may choose, against OpenCV."""
import numpy as np
import pytest

from camfx.kernels import codegen
from camfx.kernels.codegen import rounded_division
from conftest import all_frames, assert_close
from test_filters import CASES, REGISTRY

VARIANT_CASES = [(name, params, variant)
                 for name, params in CASES
                 for variant in REGISTRY.create(name, params).variants]


@pytest.mark.parametrize("name, params, variant", VARIANT_CASES,
                         ids=[f"{c[0]}{c[1]}-{c[2]}"[:70] for c in VARIANT_CASES])
def test_every_variant_matches_opencv_on_recorded_frames(name, params, variant, sample_frames):
    f = REGISTRY.create(name, params)
    f.use(variant)
    reference = f.reference()
    for frame in all_frames(sample_frames):
        expected = reference(np.ascontiguousarray(frame))
        assert_close(f(frame), expected, f.reference_tolerance)
        out = np.full(frame.shape, 7, np.uint8)
        assert f(frame, out=out) is out
        assert_close(out, expected, f.reference_tolerance)


def test_every_built_in_convolution_has_variants_and_refuses_unknown_ones():
    for name, params in CASES:
        if name not in ("blur", "box", "emboss", "sharpen", "edge", "kernel", "motion_blur"):
            continue
        f = REGISTRY.create(name, params)
        assert f.variants and f.variant == f.variants[0]
        with pytest.raises(ValueError, match=f"{name}: unknown variant 'turbo'; available: "):
            f.use("turbo")


@pytest.mark.parametrize("ksize", [1, 3, 5, 7, 9, 11, 13, 15])
def test_rounded_division_is_exact_for_every_box_sum(ksize):
    area = ksize * ksize
    offset, multiplier, shift = rounded_division(area, 255 * area)
    sums = np.arange(255 * area + 1, dtype=np.uint64)
    expected = np.floor(sums / area + 0.5).astype(np.uint64)
    np.testing.assert_array_equal(((sums + offset) * multiplier) >> shift, expected)
    assert (sums[-1] + offset) * multiplier < 2**32


def test_large_box_windows_fall_back_to_the_generic_engine(sample_frames):
    import cv2
    f = REGISTRY.create("box", {"ksize": 21})
    assert f.variants == ("generic",)
    frame = sample_frames["bgr"][0]
    assert_close(f(frame), cv2.blur(frame, (21, 21)))


def test_out_must_fit_and_not_overlap_the_frame(sample_frames):
    frame = np.ascontiguousarray(sample_frames["bgr"][0])
    f = REGISTRY.create("emboss", {})
    with pytest.raises(ValueError, match="out must be an array of shape"):
        f(frame, out=np.empty(frame.shape[:2], np.uint8))
    with pytest.raises(ValueError, match="must not overlap"):
        f(frame, out=frame)


def test_generated_source_is_written_once_and_imported_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMFX_CACHE_DIR", str(tmp_path))
    source = codegen.direct_source([[0, 1], [1, 0]]) + "\n# test_generated_source\n"
    module = codegen.load(source)
    files = list((tmp_path / "kernels").glob("k*.py"))
    assert len(files) == 1 and files[0].read_text() == source
    assert module.__file__ == str(files[0])
    assert codegen.load(source) is module
