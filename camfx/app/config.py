"""Settings from config files: every key has a default here, and config.toml at the top of the
project documents them all. Unknown keys and wrong types are errors naming the key and the file.

Where settings come from, each over the one before (command-line options come last, over all):

1. the defaults below;
2. the per-user file, ``$XDG_CONFIG_HOME/camfx/config.toml`` on Linux (see
   :func:`camfx.paths.user_config_path` for macOS and Windows), if it exists;
3. the project's file: ``--config PATH`` if given, else ``$CAMFX_CONFIG`` if set (both must
   exist), else ``./config.toml`` if it exists and is camfx's: a file with none of camfx's sections
   belongs to another tool and is passed over with one note.
"""
import json
import math
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..engine.filter import kernel_matrix
from ..paths import user_config_path
from ..text import did_you_mean

DEFAULT_PATH = Path("config.toml")
ENV_VAR = "CAMFX_CONFIG"


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
        "outputs": Setting([], (list,)),
        "output_dir": Setting(".", (str,)),
        "stall_timeout": _number(1.0),
        "reconnect_timeout": _number(10.0),
        "target_fps": _number(0.0),
        "strict": Setting(False, (bool,)),
    },
    "chain": {
        "filters": Setting("blur(ksize=5),edge", (str, list)),
    },
    "serve": {
        "host": Setting("127.0.0.1", (str,)),
        "port": Setting(8080, (int,)),
        "token": Setting("", (str,)),
        "allowed_hosts": Setting([], (list,)),
        "max_viewers": Setting(8, (int,)),
        "jpeg_quality": Setting(80, (int,)),
        "write_timeout": _number(10.0),
    },
}
# Sections whose keys are names the user chooses.
FREE_SECTIONS = ("plugins", "kernels", "models")
KERNEL_KEYS = {"matrix": (list,), "scale": (int, float), "offset": (int, float)}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", list: "a list", bool: "true or false", dict: "a table"}


@dataclass
class Config:
    """Merged settings: ``config["capture"]["width"]``.

    ``lookup`` lists every place looked at, in order, as ``(role, path, status)``: role
    ``"per-user"`` or ``"project"``, status ``"read"``, ``"absent"`` or why the file was not
    read; ``files`` the files read. ``plugin_dirs`` maps each local plugin to the folder of the
    file that named it, which its relative ``.py`` path is relative to.
    """

    sections: dict
    lookup: list = field(default_factory=list)
    plugin_dirs: dict = field(default_factory=dict)

    @property
    def files(self):
        return [path for _, path, status in self.lookup if status.startswith("read")]

    def __getitem__(self, section):
        return self.sections[section]

    @property
    def path(self):
        """The last file read (the project's, when there is one), or None."""
        return self.files[-1] if self.files else None

    @property
    def base_dir(self):
        """Folder of the last file read."""
        return self.path.parent if self.path else Path(".")


def defaults():
    sections = {name: {key: s.default for key, s in keys.items()} for name, keys in SCHEMA.items()}
    sections.update({name: {} for name in FREE_SECTIONS})
    return sections


def load_config(path=None, *, environ=None, note=None):
    """The defaults, then the per-user file, then the project's file (module docstring).

    ``path`` is ``--config``; ``environ`` defaults to ``os.environ``; ``note`` (default: a line
    on stderr) is told about a ``./config.toml`` that is passed over. Raises ConfigError naming
    the file and key for anything wrong in a file that is read.
    """
    environ = os.environ if environ is None else environ
    config = Config(defaults())
    user = user_config_path()
    if user.is_file():
        _read_into(config, "per-user", user)
    else:
        config.lookup.append(("per-user", user, "absent"))
    if path is not None or environ.get(ENV_VAR):
        explicit = Path(path if path is not None else environ[ENV_VAR])
        if not explicit.is_file():
            how = "" if path is not None else f" (named by ${ENV_VAR})"
            raise ConfigError(f"{explicit}: config file not found{how}")
        _read_into(config, "project", explicit, how=" (--config)" if path is not None else f" (${ENV_VAR})")
    elif DEFAULT_PATH.is_file():
        data = _load(DEFAULT_PATH)
        if any(section in config.sections for section in data):
            _read_into(config, "project", DEFAULT_PATH, data)
        else:
            reason = f"no camfx section ({', '.join(f'[{name}]' for name in config.sections)})"
            config.lookup.append(("project", DEFAULT_PATH, f"not read: {reason}"))
            (note or _note)(f"{DEFAULT_PATH} has {reason}: another tool's, not read")
    else:
        config.lookup.append(("project", DEFAULT_PATH, "absent"))
    return config


def _note(message):
    print(f"camfx: note: {message}", file=sys.stderr, flush=True)


def _load(path):
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config: {error}") from None


def _read_into(config, role, path, data=None, how=""):
    """Check ``path``'s settings and put them over ``config``'s."""
    data = _load(path) if data is None else data
    checked = _check(data, path)
    for section, values in checked.items():
        if section == "plugins":
            config.plugin_dirs.update(dict.fromkeys(values, path.resolve().parent))
        elif section == "models":  # model files are relative to the file that names them
            values = {name: str(path.resolve().parent / os.path.expanduser(file)) for name, file in values.items()}
        config.sections[section].update(values)
    config.lookup.append((role, path, "read" + how))


def _check(data, path):
    """``data`` read from ``path``, every section and key checked against the schema."""
    known = list(SCHEMA) + list(FREE_SECTIONS)
    for section, values in data.items():
        if section not in known:
            raise ConfigError(f"{path}: unknown section [{section}]{did_you_mean(section, known)}; "
                              f"known: {', '.join(known)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: {section} must be a table [{section}]")
        for key, value in values.items():
            where = f"{section}.{key}"
            if section == "plugins":
                _check_type(path, where, value, (str,))
            elif section == "models":
                _check_model(path, where, key, value)
            elif section == "kernels":
                _check_kernel(path, where, value)
            elif key not in SCHEMA[section]:
                raise ConfigError(f"{path}: unknown key {where!r}{did_you_mean(key, SCHEMA[section])}; "
                                  f"known: {', '.join(SCHEMA[section])}")
            else:
                _check_type(path, where, value, SCHEMA[section][key].types)
    return data


def _check_type(path, where, value, types):
    if isinstance(value, bool) and bool not in types or not isinstance(value, types):
        expected = " or ".join(_TYPE_NAMES[t] for t in types)
        raise ConfigError(f"{path}: {where} must be {expected}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):  # TOML has nan and inf
        raise ConfigError(f"{path}: {where} must be a finite number, got {value!r}")


def _check_model(path, where, name, value):
    from ..models import MODELS
    if name not in MODELS:
        raise ConfigError(f"{path}: unknown model {where!r}; known: {', '.join(MODELS)}")
    _check_type(path, where, value, (str,))


def _check_kernel(path, where, table):
    _check_type(path, where, table, (dict,))
    for key, value in table.items():
        if key not in KERNEL_KEYS:
            raise ConfigError(f"{path}: unknown key '{where}.{key}'{did_you_mean(key, KERNEL_KEYS)}; "
                              f"known: {', '.join(KERNEL_KEYS)}")
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


def to_toml(sections):
    """``sections`` as TOML text that reads back (``tomllib.loads``) to the same values: one
    table per section, values inline (strings, numbers, booleans, lists, tables)."""
    lines = []
    for section, values in sections.items():
        tables = {k: v for k, v in values.items() if section == "kernels"}
        lines.append(f"[{section}]")
        lines += [f"{_key(k)} = {_value(v)}" for k, v in values.items() if k not in tables]
        for name, table in tables.items():
            lines.append(f"\n[{section}.{_key(name)}]")
            lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items()]
        lines.append("")
    return "\n".join(lines)


def _key(key):
    return key if key.replace("_", "a").replace("-", "a").isalnum() and key.isascii() else json.dumps(key)


def _value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are TOML basic-string escapes
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")
