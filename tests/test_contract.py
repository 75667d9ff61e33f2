"""The filter contract (camfx.testing.check_filter) over every installed ``camfx.filters`` entry
point, and over the example plugin as a user installs it."""
import importlib.metadata

import pytest

from camfx.engine.registry import GROUP, Registry
from camfx.testing import check_filter

REGISTRY = Registry.discover()

# Parameters to check each filter with besides its defaults; filters that need parameters
# (or have none to vary) are listed as well. Installed filters not named here run with their
# defaults.
PARAMS = {
    "blur": [{}, {"ksize": 3}, {"ksize": 9}, {"ksize": 15, "sigma": 4.5}, {"ksize": 5, "sigma": 0.6}],
    "box": [{}, {"ksize": 3}, {"ksize": 21}],
    "adjust": [{}, {"brightness": 20.0, "contrast": 1.3, "saturation": 0.4}, {"brightness": -40, "saturation": 2.5}],
    "gamma": [{}, {"gamma": 2.2}, {"gamma": 0.45}],
    "sepia": [{}, {"strength": 0.5}],
    "lut": [{"path": "cube:identity"}, {"path": "cube:curve"}, {"path": "cube:domain"}],
    "vignette": [{}, {"strength": 1.0}],
    "pixelate": [{}, {"block": 5}, {"block": 1}],
    "posterize": [{}, {"levels": 2}, {"levels": 7}],
    "unsharp": [{}, {"ksize": 9, "sigma": 2.0, "amount": 1.5}],
    "laplacian": [{"ksize": 1}, {}, {"ksize": 5}, {"ksize": 7}],
    "motion_blur": [{}, {"length": 15, "angle": 45.0}, {"length": 7, "angle": 30.0}, {"length": 5, "angle": 90.0}],
    "median": [{}, {"ksize": 3}, {"ksize": 7}],
    "bilateral": [{}, {"d": 5, "sigma_color": 30.0, "sigma_space": 10.0}],
    "chroma_key": [{}, {"key": [40, 200, 60], "tolerance": 60.0, "softness": 0.0, "replace": [255, 0, 128]}],
    "cartoon": [{}, {"levels": 3, "edge_block": 15}],
    "flip": [{}, {"axis": "vertical"}, {"axis": "both"}],
    "kernel": [{"matrix": [[0, 1], [1, 0]]},
               {"matrix": [[1, 1, 1, 1]], "scale": 0.25},  # halves everywhere: ties to round
               {"matrix": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]], "scale": 0.5, "offset": 128},
               {"matrix": [[1] * 4] * 6, "scale": 1 / 24},
               {"matrix": [[0.1, 0.7, -0.3], [0.3, -0.2, 0.25]], "offset": 3.5}],
    "background": [{}, {"mode": "color", "feather": 0.0}, {"ksize": 101, "smoothing": 0.0},
                   {"model": "selfie_segmentation"}],
}
# Filters that load a model need the models in the suite's data folder (conftest.py).
NEEDS_MODELS = {"background"}

CASES = [(name, params) for name in REGISTRY.names() for params in PARAMS.get(name, [{}])]


@pytest.mark.parametrize("name, params", CASES, ids=[f"{n}{p or ''}"[:70] for n, p in CASES])
def test_every_installed_filter_keeps_the_contract(name, params, cube_files, request):
    if name in NEEDS_MODELS:
        request.getfixturevalue("models_fetched")
    params = {key: str(cube_files[value[5:]]) if str(value).startswith("cube:") else value
              for key, value in params.items()}
    check_filter(REGISTRY.get(name), **params)


def test_the_example_plugin_keeps_the_contract_once_installed(example_plugin_site, monkeypatch):
    monkeypatch.syspath_prepend(str(example_plugin_site))
    found = {ep.name: ep for ep in importlib.metadata.entry_points(group=GROUP)}
    assert found["tint"].dist.name == "camfx-tint"
    registry = Registry.discover()
    check_filter(registry.get("tint"))
    check_filter(registry.get("tint"), color=[0, 128, 255], strength=0.5)
