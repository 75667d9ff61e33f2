"""Settings from config.toml: every key has a default here, and config.toml at the top of the
project documents them all. Unknown keys and wrong types are errors naming the key and the file."""
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..engine.filter import kernel_matrix

DEFAULT_PATH = Path("config.toml")


@dataclass(frozen=True)
class Setting:
    default: object
    types: tuple


def _number(default):
    return Setting(default, (int, float))


SCHEMA = {
    "capture": {
        "source": Setting("auto", (str, int)),
        "width": Setting(1280, (int,)),
        "height": Setting(720, (int,)),
        "fps": _number(30.0),
        "fourcc": Setting("auto", (str,)),
        "loop": Setting(False, (bool,)),
    },
    "live": {
        "headless": Setting(False, (bool,)),
        "hud": Setting(True, (bool,)),
        "mirror": Setting(False, (bool,)),
        "output_dir": Setting(".", (str,)),
        "stall_timeout": _number(1.0),
        "reconnect_timeout": _number(10.0),
        "target_fps": _number(0.0),
        "strict": Setting(False, (bool,)),
    },
    "chain": {
        "filters": Setting("blur(ksize=5),edge", (str, list)),
    },
}
# Sections whose keys are names the user chooses.
FREE_SECTIONS = ("plugins", "kernels", "models")
KERNEL_KEYS = {"matrix": (list,), "scale": (int, float), "offset": (int, float)}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", list: "a list", bool: "true or false", dict: "a table"}


@dataclass
class Config:
    """Merged settings: ``config["capture"]["width"]``; ``path`` is the file read, if any."""

    sections: dict
    path: Path | None = None

    def __getitem__(self, section):
        return self.sections[section]

    @property
    def base_dir(self):
        """Folder that relative paths in the file are resolved against."""
        return self.path.parent if self.path else Path(".")


def defaults():
    sections = {name: {key: s.default for key, s in keys.items()} for name, keys in SCHEMA.items()}
    sections.update({name: {} for name in FREE_SECTIONS})
    return sections


def load_config(path=None):
    """Read ``path`` (default: ./config.toml if it exists) over the defaults.

    A ``path`` given explicitly must exist.
    """
    if path is None:
        if not DEFAULT_PATH.is_file():
            return Config(defaults())
        path = DEFAULT_PATH
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config: {error}") from None
    return Config(_merge(data, path), path)


def _merge(data, path):
    sections = defaults()
    for section, values in data.items():
        if section not in sections:
            raise ConfigError(f"{path}: unknown section [{section}]; known: {', '.join(sections)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: {section} must be a table [{section}]")
        for key, value in values.items():
            where = f"{section}.{key}"
            if section == "plugins":
                _check_type(path, where, value, (str,))
            elif section == "models":
                _check_model(path, where, key, value)
            elif section == "kernels":
                value = _check_kernel(path, where, value)
            elif key not in SCHEMA[section]:
                raise ConfigError(f"{path}: unknown key {where!r}; known: {', '.join(SCHEMA[section])}")
            else:
                _check_type(path, where, value, SCHEMA[section][key].types)
            sections[section][key] = value
    return sections


def _check_type(path, where, value, types):
    if isinstance(value, bool) and bool not in types or not isinstance(value, types):
        expected = " or ".join(_TYPE_NAMES[t] for t in types)
        raise ConfigError(f"{path}: {where} must be {expected}, got {value!r}")


def _check_model(path, where, name, value):
    from ..models import MODELS
    if name not in MODELS:
        raise ConfigError(f"{path}: unknown model {where!r}; known: {', '.join(MODELS)}")
    _check_type(path, where, value, (str,))


def _check_kernel(path, where, table):
    _check_type(path, where, table, (dict,))
    for key, value in table.items():
        if key not in KERNEL_KEYS:
            raise ConfigError(f"{path}: unknown key '{where}.{key}'; known: {', '.join(KERNEL_KEYS)}")
        _check_type(path, f"{where}.{key}", value, KERNEL_KEYS[key])
    if "matrix" not in table:
        raise ConfigError(f"{path}: {where} needs a matrix")
    try:
        kernel_matrix(table["matrix"])
    except ValueError as error:
        raise ConfigError(f"{path}: {where}.{error}") from None
    if not where.split(".", 1)[1].isidentifier():
        raise ConfigError(f"{path}: kernel name in {where!r} must be a Python identifier")
    return table
