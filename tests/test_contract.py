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
def test_every_installed_filter_keeps_the_contract(name, params, request):
    if name in NEEDS_MODELS:
        request.getfixturevalue("models_fetched")
    check_filter(REGISTRY.get(name), **params)


def test_the_example_plugin_keeps_the_contract_once_installed(example_plugin_site, monkeypatch):
    monkeypatch.syspath_prepend(str(example_plugin_site))
    found = {ep.name: ep for ep in importlib.metadata.entry_points(group=GROUP)}
    assert found["tint"].dist.name == "camfx-tint"
    registry = Registry.discover()
    check_filter(registry.get("tint"))
    check_filter(registry.get("tint"), color=[0, 128, 255], strength=0.5)
