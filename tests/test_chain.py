import numpy as np
import pytest

import camfx
from camfx.engine.chain import parse_spec
from conftest import assert_close


def opencv_chain(frame):
    """blur(ksize=9), emboss, edge done with the references the filters state (OpenCV's)."""
    return camfx.parse_chain("blur(ksize=9),emboss,edge").reference()(frame)


def test_parse_chain_applies_filters_in_order(recorded_frames):
    chain = camfx.parse_chain("blur(ksize=9),emboss,edge")
    assert [f.name for f in chain] == ["blur", "emboss", "edge"]
    for frame in recorded_frames[::6]:
        assert_close(chain(frame), opencv_chain(frame))


def test_parameters_are_python_literals():
    steps = parse_spec("kernel(matrix=[[0, 1], [1, 0]], scale=0.5, offset=-2), blur(ksize=3, sigma=1.5)")
    assert steps == [("kernel", {"matrix": [[0, 1], [1, 0]], "scale": 0.5, "offset": -2}),
                     ("blur", {"ksize": 3, "sigma": 1.5})]


def test_config_style_steps_and_strings_mean_the_same():
    assert parse_spec([{"name": "blur", "ksize": 9}, "emboss, edge"]) == parse_spec("blur(ksize=9),emboss,edge")


def test_toggling_a_filter_skips_it(recorded_frames):
    chain = camfx.parse_chain("emboss, edge")
    frame = recorded_frames[0]
    assert chain.toggle(1) is False
    np.testing.assert_array_equal(chain(frame), chain.filters[0](frame))
    assert chain.toggle(1) is True


def test_timings_are_reported_per_filter(recorded_frames):
    chain = camfx.parse_chain("emboss, edge")
    timings = []
    chain(recorded_frames[0], timings=timings)
    assert len(timings) == 2 and all(t > 0 for t in timings)


def test_empty_spec_is_the_identity(recorded_frames):
    assert camfx.parse_chain("")(recorded_frames[0]) is recorded_frames[0]


@pytest.mark.parametrize("spec, message", [
    ("blurr", r"unknown filter 'blurr' \(did you mean 'blur'\?\); available: .*blur.*box.*edge"),
    ("blur(ksize=4)", "blur: ksize must be an odd positive integer, got 4"),
    ("blur(ksize=0)", "ksize must be an odd positive integer, got 0"),
    ("blur(radius=3)", "blur has no parameter 'radius'"),
    ("blur(ksize=5", "malformed filter chain"),
    ("blur(5)", "parameters must be given by name"),
    ("blur(ksize=n)", "is not a literal"),
    ("edge + emboss", "malformed filter"),
    ("blur(**{'ksize': 3})", r"'\*\*' is not allowed"),
])
def test_bad_specs_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        camfx.parse_chain(spec)


@pytest.mark.parametrize("frame, message", [
    (np.zeros((4, 4, 3), np.float64), "dtype must be uint8"),
    (np.zeros(16, np.uint8), "gray"),
])
def test_chain_refuses_bad_frames(frame, message):
    with pytest.raises(ValueError, match=message):
        camfx.parse_chain("edge")(frame)


def test_chain_writes_into_out_and_reuses_its_buffers(recorded_frames):
    import tracemalloc
    chain = camfx.parse_chain("blur(ksize=9),emboss,edge")
    frame = recorded_frames[0]
    out = np.empty_like(frame)
    assert chain(frame, out=out) is out
    assert_close(out, opencv_chain(frame))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        chain(recorded_frames[1], out=out)
        allocated = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert allocated < frame.nbytes // 4, f"a second frame of the same shape allocated {allocated} bytes"
    assert_close(out, opencv_chain(recorded_frames[1]))


def test_chain_without_out_returns_a_new_array_each_time(recorded_frames):
    chain = camfx.parse_chain("emboss, edge")
    first = chain(recorded_frames[0])
    second = chain(recorded_frames[1])
    assert first is not second and not np.shares_memory(first, second)


def test_toggled_off_last_step_still_fills_out(recorded_frames):
    chain = camfx.parse_chain("emboss, edge")
    chain.toggle(1)
    out = np.empty_like(recorded_frames[0])
    assert chain(recorded_frames[0], out=out) is out
    np.testing.assert_array_equal(out, chain.filters[0](recorded_frames[0]))
    chain.toggle(0)
    np.testing.assert_array_equal(chain(recorded_frames[0], out=out), recorded_frames[0])


def test_a_cold_start_says_it_is_compiling(monkeypatch, capsys, recorded_frames):
    import camfx.kernels.codegen
    monkeypatch.setattr(camfx.kernels.codegen, "is_cached", lambda dispatcher: False)
    chain = camfx.parse_chain("blur, edge")
    chain(recorded_frames[0])
    err = capsys.readouterr().err
    assert err.startswith("camfx: compiling filters (first run, ~") and err.count("\n") == 1
    chain(recorded_frames[1])
    assert capsys.readouterr().err == ""  # once per frame shape, not per frame


@pytest.mark.parametrize("spec", ["shrink", "shrink, emboss", "emboss, shrink"])
def test_a_filter_that_changes_the_shape_is_named(spec):
    from camfx.errors import CamfxError
    from camfx.engine.filter import Filter
    from camfx.engine.registry import Plugin, Registry

    class Shrink(Filter):
        name = "shrink"

        def apply(self, frame):
            return frame[1:]

    registry = Registry([Plugin("shrink", "test", lambda: Shrink), *Registry.discover()._plugins.values()])
    chain = camfx.parse_chain(spec, registry)
    with pytest.raises(CamfxError, match=r"shrink turned a \(6, 5, 3\) frame into \(5, 5, 3\) uint8"):
        chain(np.zeros((6, 5, 3), np.uint8))


@pytest.mark.parametrize("spec", ["shrink", "shrink, emboss", "emboss, shrink"])
def test_a_filter_that_changes_the_shape_is_named_on_the_out_path_too(spec):
    """A filter that takes ``out`` but returns another array of another shape."""
    from camfx.errors import CamfxError
    from camfx.engine.filter import Filter
    from camfx.engine.registry import Plugin, Registry

    class ShrinkInto(Filter):
        name = "shrink"

        def apply(self, frame, out=None):
            return frame[1:].copy()

    registry = Registry([Plugin("shrink", "test", lambda: ShrinkInto), *Registry.discover()._plugins.values()])
    chain = camfx.parse_chain(spec, registry)
    frame = np.zeros((6, 5, 3), np.uint8)
    with pytest.raises(CamfxError, match=r"shrink turned a \(6, 5, 3\) frame into \(5, 5, 3\) uint8"):
        chain(frame, out=np.empty_like(frame))


def test_a_filter_that_raises_is_named_with_its_origin(tmp_path):
    from camfx.errors import PluginError
    from camfx.engine.registry import Registry
    (tmp_path / "flaky.py").write_text(
        "from camfx.engine.filter import Filter\n"
        "class Flaky(Filter):\n    name = 'flaky'\n"
        "    def apply(self, frame):\n        raise ZeroDivisionError('oops')\n")
    registry = Registry.discover(plugins={"flaky": "flaky.py:Flaky"}, base_dir=tmp_path)
    chain = camfx.parse_chain("emboss, flaky", registry)
    with pytest.raises(PluginError, match=r"^filter 'flaky' from flaky.py:Flaky \(config plugins\) failed on a "
                                          r"\(4, 4\) frame: ZeroDivisionError: oops$"):
        chain(np.zeros((4, 4), np.uint8), out=np.empty((4, 4), np.uint8))


def test_the_chain_reference_is_its_filters_references_in_order(recorded_frames):
    import cv2
    frame = recorded_frames[0]
    chain = camfx.parse_chain("box(ksize=3), sharpen")
    sharpen = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32)
    np.testing.assert_array_equal(chain.reference()(frame), cv2.filter2D(cv2.blur(frame, (3, 3)), -1, sharpen))
    chain.toggle(0)
    np.testing.assert_array_equal(chain.reference()(frame), cv2.filter2D(frame, -1, sharpen))

    class Own(camfx.Filter):
        name = "own"

        def apply(self, frame):
            return frame
    assert camfx.Chain([Own()]).reference() is None
