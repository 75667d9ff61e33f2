import importlib.metadata
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import camfx
from camfx.errors import PluginError
from camfx.engine.registry import GROUP, Registry


INVERT_PLUGIN = textwrap.dedent('''
    from camfx.engine.filter import Filter

    class Invert(Filter):
        """Photographic negative."""
        name = "invert"

        def __init__(self, *, amount: int = 255):
            self.amount = amount

        def apply(self, frame):
            return (self.amount - frame).astype(frame.dtype)
''')


@pytest.fixture
def fake_entry_points(monkeypatch, tmp_path):
    """Install extra entry points in the camfx.filters group, as a third-party package would."""
    module = tmp_path / "fake_camfx_plugin.py"
    module.write_text(INVERT_PLUGIN + "\nraise_on_import = None\n")
    (tmp_path / "broken_camfx_plugin.py").write_text("import no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(tmp_path)
    real = importlib.metadata.entry_points

    def entry_points(**selection):
        found = list(real(**selection))
        if selection.get("group") == GROUP:
            found += [importlib.metadata.EntryPoint("invert", "fake_camfx_plugin:Invert", GROUP),
                      importlib.metadata.EntryPoint("broken", "broken_camfx_plugin:Thing", GROUP)]
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


def test_built_ins_come_from_the_entry_point_group():
    registry = Registry.discover()
    assert "camfx_filters.blur:Blur" in registry.origin("blur")


def test_fake_entry_point_is_found_and_used_in_a_chain(fake_entry_points):
    registry = Registry.discover()
    chain = camfx.parse_chain("invert(amount=200), edge", registry)
    frame = np.full((8, 8, 3), 50, np.uint8)
    assert chain.filters[0](frame)[0, 0, 0] == 150
    assert chain(frame).shape == frame.shape


def test_broken_plugin_names_itself_and_the_others_still_load(fake_entry_points):
    registry = Registry.discover()
    with pytest.raises(PluginError, match=r"plugin 'broken' from broken_camfx_plugin:Thing .*ModuleNotFoundError"):
        registry.get("broken")
    assert camfx.parse_chain("invert, blur", registry)


def test_local_plugin_file_from_config_loads_without_packaging(tmp_path):
    (tmp_path / "my_filters.py").write_text(INVERT_PLUGIN)
    registry = Registry.discover(plugins={"negative": "my_filters.py:Invert"}, base_dir=tmp_path)
    frame = np.zeros((4, 4), np.uint8)
    assert camfx.parse_chain("negative", registry)(frame)[0, 0] == 255
    assert "my_filters.py:Invert" in registry.origin("negative")


@pytest.mark.parametrize("target, message", [
    ("missing.py:Invert", "plugin 'x' from missing.py:Invert .*failed to load: FileNotFoundError"),
    ("my_filters.py:Nope", "failed to load: AttributeError"),
    ("my_filters.py", "failed to load: ValueError: target must look like"),
    ("my_filters.py:NOT_A_FILTER", "is not a camfx.Filter subclass"),
])
def test_bad_local_plugins_are_named(tmp_path, target, message):
    (tmp_path / "my_filters.py").write_text(INVERT_PLUGIN + "\nNOT_A_FILTER = 3\n")
    registry = Registry.discover(plugins={"x": target}, base_dir=tmp_path)
    with pytest.raises(PluginError, match=message):
        registry.get("x")
    assert camfx.parse_chain("blur", registry)  # the others still load


def test_plugin_that_fails_to_construct_is_named(tmp_path):
    (tmp_path / "bad.py").write_text(textwrap.dedent('''
        from camfx.engine.filter import Filter
        class Bad(Filter):
            name = "bad"
            def __init__(self):
                raise RuntimeError("no GPU")
    '''))
    registry = Registry.discover(plugins={"bad": "bad.py:Bad"}, base_dir=tmp_path)
    with pytest.raises(PluginError, match=r"plugin 'bad' from bad.py:Bad .*failed to construct: RuntimeError: no GPU"):
        registry.create("bad", {})


def test_named_kernel_from_config_becomes_a_filter():
    import cv2
    registry = Registry.discover(kernels={"outline": {"matrix": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], "offset": 10}})
    frame = np.random.default_rng(0).integers(0, 256, (20, 30, 3), np.uint8)
    outline = registry.create("outline", {"scale": 0.5})
    expected = cv2.filter2D(frame, -1, np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], np.float32) * 0.5, delta=10)
    assert np.abs(outline(frame).astype(int) - expected).max() <= 1
    assert [p.name for p in type(outline).parameters()] == ["scale", "offset"]


def test_example_external_plugin_installs_and_runs_in_a_chain(example_plugin_site):
    """The package under examples/ is published like any plugin: install it, and camfx finds it."""
    script = ("import numpy as np, camfx\n"
              "chain = camfx.parse_chain('tint(color=[255, 128, 0], strength=1.0), blur(ksize=3)')\n"
              "frame = np.full((4, 4, 3), (100, 150, 200), np.uint8)\n"
              "print(chain.filters[0](frame)[0, 0].tolist())\n")
    result = subprocess.run([sys.executable, "-c", script], env={"PYTHONPATH": str(example_plugin_site), "PATH": ""},
                            capture_output=True, text=True, check=True)
    b, g, r = 100, 150, 200  # each channel times the colour's (r, g, b) / 255, by hand
    assert result.stdout.split("\n")[0] == str([0, round(g * 128 / 255), r])
