"""Where settings come from: defaults, the per-user file, the project's file; other tools'
config.toml files are passed over; `camfx config` shows it all."""
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from camfx.app.config import defaults, load_config, to_toml
from camfx.errors import ConfigError
from camfx.paths import user_config_path


@pytest.fixture
def user_file(tmp_path, monkeypatch):
    """The per-user config file, in a folder of this test's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user"))
    path = user_config_path()
    path.parent.mkdir(parents=True)
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_per_user_then_project_then_command_line(user_file, project):
    user_file.write_text('[capture]\nwidth = 640\nheight = 360\n[plugins]\nmine = "mine.py:Mine"\n')
    (project / "config.toml").write_text("[capture]\nwidth = 800\n")
    config = load_config()
    assert config["capture"]["width"] == 800 and config["capture"]["height"] == 360
    assert config["capture"]["fps"] == 30.0
    # A plugin file is found beside the config file that named it, wherever camfx runs.
    assert config["plugins"]["mine"] == "mine.py:Mine"
    assert config.plugin_dirs == {"mine": user_file.resolve().parent}
    assert config.files == [user_file, Path("config.toml")]


def test_camfx_config_and_then_the_option_take_the_project_files_place(user_file, project, tmp_path):
    (project / "config.toml").write_text("[capture]\nwidth = 800\n")
    (tmp_path / "env.toml").write_text("[capture]\nheight = 100\n")
    (tmp_path / "opt.toml").write_text("[capture]\nfps = 5\n")
    config = load_config(environ={"CAMFX_CONFIG": str(tmp_path / "env.toml")})
    assert (config["capture"]["width"], config["capture"]["height"]) == (1280, 100)
    config = load_config(tmp_path / "opt.toml", environ={"CAMFX_CONFIG": str(tmp_path / "env.toml")})
    assert (config["capture"]["height"], config["capture"]["fps"]) == (720, 5)
    with pytest.raises(ConfigError, match=r"none.toml: config file not found \(named by \$CAMFX_CONFIG\)"):
        load_config(environ={"CAMFX_CONFIG": str(tmp_path / "none.toml")})


@pytest.mark.parametrize("text", [
    '[tool.black]\nline-length = 100\n',                 # another tool's settings
    'title = "my site"\nbaseURL = "https://x"\n',         # a static site generator's
    "",                                                   # empty
])
def test_another_tools_config_toml_is_passed_over_with_one_note(project, text):
    (project / "config.toml").write_text(text)
    notes = []
    config = load_config(note=notes.append)
    assert config.sections == defaults() and config.files == []
    assert len(notes) == 1 and "config.toml has no camfx section" in notes[0]


def test_a_camfx_file_with_a_mistake_is_still_an_error(project):
    (project / "config.toml").write_text("[capture]\nwidht = 3\n")
    with pytest.raises(ConfigError, match="did you mean 'width'"):
        load_config()


def test_merged_settings_print_as_toml_that_reads_back(user_file, project):
    user_file.write_text('[chain]\nfilters = [{ name = "blur", ksize = 9 }, "edge"]\n'
                         '[kernels.outline]\nmatrix = [[-1, -1], [1.5, 1]]\nscale = 0.5\n'
                         '[capture]\nsource = "rtsp://cam/\\"x\\""\n')
    sections = load_config().sections
    assert tomllib.loads(to_toml(sections)) == sections


def camfx(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "camfx", *args], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ, **(env or {})))


def test_camfx_config_lists_what_was_read_and_the_merged_settings(user_file, project):
    user_file.write_text("[capture]\nwidth = 640\n")
    (project / "config.toml").write_text("[live]\nheadless = true\n")
    result = camfx("config", cwd=project, env={"XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"]})
    assert result.returncode == 0, result.stderr
    comments = [line for line in result.stdout.splitlines() if line.startswith("#   ")]
    assert comments == [f"#   per-user {user_file}: read", f"#   project  {project / 'config.toml'}: read"]
    merged = tomllib.loads(result.stdout)
    assert merged["capture"]["width"] == 640 and merged["live"]["headless"] is True
    assert merged["chain"]["filters"] == defaults()["chain"]["filters"]


def test_every_command_runs_beside_another_tools_config_toml(project):
    (project / "config.toml").write_text('[server]\nport = 8080\n')
    result = camfx("filters", cwd=project)
    assert result.returncode == 0 and "blur" in result.stdout
    assert result.stderr.count("\n") == 1 and "config.toml has no camfx section" in result.stderr
    shown = camfx("config", cwd=project)
    assert f"#   project  {project / 'config.toml'}: not read: no camfx section" in shown.stdout


def test_a_local_plugin_is_found_beside_the_file_that_names_it(user_file, project):
    from camfx.app.common import build_registry
    (user_file.parent / "mine.py").write_text("from camfx import Filter\nclass Mine(Filter):\n    name = 'mine'\n")
    user_file.write_text('[plugins]\nmine = "mine.py:Mine"\n')
    registry = build_registry(load_config())
    assert registry.get("mine").__name__ == "Mine"
    assert registry.origin("mine") == "mine.py:Mine (config plugins)"
