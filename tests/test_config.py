import tomllib
from pathlib import Path

import pytest

from camfx.app.config import SCHEMA, defaults, load_config
from camfx.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_documented_config_holds_every_default():
    with (ROOT / "config.toml").open("rb") as f:
        documented = tomllib.load(f)
    for section, keys in SCHEMA.items():
        assert documented[section] == {key: setting.default for key, setting in keys.items()}, section
    assert load_config(ROOT / "config.toml").sections == defaults()


def test_no_config_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config().sections == defaults()


def test_values_override_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[capture]\nwidth = 640\n[chain]\nfilters = [{ name = "blur", ksize = 9 }]\n'
                    '[kernels.outline]\nmatrix = [[0, 1], [1, 0]]\n[plugins]\nsepia = "x.py:Sepia"\n')
    config = load_config(path)
    assert config["capture"]["width"] == 640 and config["capture"]["height"] == 720
    assert config["chain"]["filters"] == [{"name": "blur", "ksize": 9}]
    assert config["kernels"]["outline"]["matrix"] == [[0, 1], [1, 0]]
    assert config.base_dir == tmp_path


@pytest.mark.parametrize("text, message", [
    ("[capture]\nwidht = 3\n", r"c.toml: unknown key 'capture.widht'"),
    ("[captur]\n", r"c.toml: unknown section \[captur\]"),
    ('[capture]\nwidth = "big"\n', r"c.toml: capture.width must be an integer, got 'big'"),
    ("[capture]\nwidth = true\n", r"capture.width must be an integer, got True"),
    ("[chain]\nfilters = 3\n", r"chain.filters must be a string or a list"),
    ("[plugins]\nsepia = 3\n", r"plugins.sepia must be a string"),
    ("[kernels.outline]\nscale = 2\n", r"kernels.outline needs a matrix"),
    ("[kernels.outline]\nmatrix = [1, 2]\n", r"kernels.outline.matrix must be a non-empty 2-D list"),
    ("[kernels.outline]\nmatrix = [[1]]\nsize = 3\n", r"unknown key 'kernels.outline.size'"),
    ("[capture\n", r"c.toml: cannot read config"),
    ("[capture]\nfps = nan\n", r"c.toml: capture.fps must be a finite number, got nan"),
    ("[live]\nreconnect_timeout = inf\n", r"c.toml: live.reconnect_timeout must be a finite number, got inf"),
    ("[kernels.outline]\nmatrix = [[1]]\nscale = -inf\n", r"kernels.outline.scale must be a finite number"),
])
def test_bad_config_names_the_key_and_the_file(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_explicit_config_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.toml")
