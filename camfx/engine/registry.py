"""Plugin discovery: every filter, built-in or third-party, is an entry point in the group
``camfx.filters``; local plugins and named kernels from config.toml become the same kind of
record. A plugin is imported only when a chain uses it (or ``camfx filters`` lists it)."""
import importlib
import importlib.metadata
import importlib.util
import inspect
import sys
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import PluginError
from ..text import did_you_mean
from .filter import Filter

GROUP = "camfx.filters"

# Where each loaded filter class came from, for messages about its instances (a chain naming a
# plugin that failed mid-stream).
_ORIGINS = weakref.WeakKeyDictionary()

# How an annotation in a filter's signature constrains a value from a chain spec.
_TYPES = {int: (int,), float: (int, float), bool: (bool,), str: (str,), list: (list,)}


@dataclass(frozen=True)
class Plugin:
    """Where a filter comes from and how to load its class."""

    name: str
    origin: str
    load: Callable[[], type]


class Registry:
    """Filters by name; loads each plugin once, on first use."""

    def __init__(self, plugins=()):
        self._plugins = {p.name: p for p in plugins}
        self._loaded = {}

    @classmethod
    def discover(cls, plugins=None, kernels=None, base_dir=None):
        """Entry points of the ``camfx.filters`` group, then config.toml's ``plugins`` (name ->
        ``"module:Class"`` or ``"path/to/file.py:Class"``, paths relative to ``base_dir``, a
        folder or a mapping of plugin name -> folder: the folder of the config file that named
        it) and ``kernels`` (name -> ``{"matrix": ..., "scale": ..., "offset": ...}``). Later
        sources override earlier ones of the same name."""
        found = [Plugin(ep.name, _entry_point_origin(ep), ep.load)
                 for ep in importlib.metadata.entry_points(group=GROUP)]
        registry = cls(found)
        folders = base_dir if isinstance(base_dir, dict) else {}
        base_dir = Path(".") if isinstance(base_dir, dict) else Path(base_dir or ".")
        for name, target in (plugins or {}).items():
            registry.add(Plugin(name, f"{target} (config plugins)", _target_loader(name, target, Path(folders.get(name, base_dir)))))
        for name, spec in (kernels or {}).items():
            registry.add(Plugin(name, f"[kernels.{name}] (config)", _kernel_loader(registry, name, spec)))
        return registry

    def add(self, plugin):
        self._plugins[plugin.name] = plugin
        self._loaded.pop(plugin.name, None)

    def names(self):
        return sorted(self._plugins)

    def origin(self, name):
        return self._plugins[name].origin

    def get(self, name):
        """The filter class registered as ``name``; raises PluginError naming the plugin and its
        source if it fails to load, ValueError listing the available names if it is unknown."""
        if name not in self._plugins:
            raise ValueError(f"unknown filter {name!r}{did_you_mean(name, self.names())}; "
                             f"available: {', '.join(self.names())}")
        if name not in self._loaded:
            plugin = self._plugins[name]
            try:
                loaded = plugin.load()
            except Exception as error:  # a broken plugin must not take the others down
                raise PluginError(f"plugin {name!r} from {plugin.origin} failed to load: "
                                  f"{type(error).__name__}: {error}") from error
            if not (inspect.isclass(loaded) and issubclass(loaded, Filter)):
                raise PluginError(f"plugin {name!r} from {plugin.origin} is not a camfx.Filter subclass")
            self._loaded[name] = loaded
            _ORIGINS.setdefault(loaded, plugin.origin)
        return self._loaded[name]

    def create(self, name, params):
        """Construct filter ``name`` with ``params``, checked against its signature first."""
        cls = self.get(name)
        check_params(name, cls, params)
        try:
            return cls(**params)
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
        except Exception as error:
            raise PluginError(f"plugin {name!r} from {self.origin(name)} failed to construct: "
                              f"{type(error).__name__}: {error}") from error


def origin_of(filter_):
    """Where ``filter_``'s class came from: its plugin's origin (entry point and package, or the
    config file) when a registry loaded it, else its module and class name."""
    cls = type(filter_)
    return _ORIGINS.get(cls) or f"{cls.__module__}:{cls.__qualname__}"


def check_params(name, cls, params):
    accepted = {p.name: p for p in cls.parameters()}
    for key, value in params.items():
        if key not in accepted:
            allowed = ", ".join(accepted) or "none"
            raise ValueError(f"{name} has no parameter {key!r}{did_you_mean(key, accepted)}; its parameters: {allowed}")
        types = _TYPES.get(accepted[key].annotation)
        if types and (not isinstance(value, types) or (bool not in types and isinstance(value, bool))):
            raise ValueError(f"{name}: {key} must be {accepted[key].annotation.__name__}, got {value!r}")
    missing = [p.name for p in accepted.values() if p.default is p.empty and p.name not in params]
    if missing:
        raise ValueError(f"{name}: missing required parameter {', '.join(map(repr, missing))}")


def _entry_point_origin(ep):
    dist = getattr(ep, "dist", None)
    package = f"{dist.name} {dist.version}" if dist else "unknown package"
    return f"{ep.value} ({package})"


def _target_loader(name, target, base_dir):
    """A loader for ``"module:Class"`` or ``"file.py:Class"`` (relative to ``base_dir``)."""
    def load():
        where, sep, attr = target.rpartition(":")
        if not sep or not where or not attr:
            raise ValueError(f"target must look like 'module:Class' or 'file.py:Class', got {target!r}")
        if where.endswith(".py"):
            path = (base_dir / where).resolve()
            if not path.is_file():
                raise FileNotFoundError(f"no such file: {path}")
            module_name = f"camfx_local_plugin_{name}"
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[module_name]
                raise
        else:
            module = importlib.import_module(where)
        return getattr(module, attr)
    return load


def _kernel_loader(registry, name, spec):
    """A named kernel from config becomes a subclass of the ``kernel`` plugin with its matrix fixed
    and its scale and offset as defaults."""
    def load():
        base = registry.get("kernel")
        matrix = spec["matrix"]
        scale, offset = float(spec.get("scale", 1.0)), float(spec.get("offset", 0.0))

        def __init__(self, *, scale: float = scale, offset: float = offset):
            base.__init__(self, matrix=matrix, scale=scale, offset=offset)

        doc = f"Kernel {matrix} from config.toml, equal to cv2.filter2D(frame, -1, matrix * scale, delta=offset)."
        return type(f"NamedKernel_{name}", (base,), {"name": name, "__init__": __init__, "__doc__": doc})
    return load
