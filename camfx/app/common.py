"""What every command shares: the config option, the registry and the chain it builds."""
from ..engine.chain import parse_chain
from ..engine.registry import Registry
from .config import load_config

__all__ = ["add_config_option", "build_chain", "build_registry", "configure_models", "load_config", "override"]


def add_config_option(parser):
    parser.add_argument("--config", metavar="PATH",
                        help="the project's config file (default: $CAMFX_CONFIG, else ./config.toml if it is "
                             "camfx's), read over the per-user one; `camfx config` shows which are read")


def build_registry(config):
    """The registry of installed plugins plus the config's local plugins and named kernels (and
    the model files the config names, for the filters that load models)."""
    configure_models(config)
    return Registry.discover(config["plugins"], config["kernels"], config.plugin_dirs)


def configure_models(config):
    """Use the model files named in the config's ``[models]``."""
    from .. import models
    models.configure(config["models"])


def build_chain(args, config, registry=None):
    """The chain from ``--filters`` when given, else from the config's ``[chain]``; its filters
    from ``registry`` (default: :func:`build_registry`)."""
    spec = args.filters if getattr(args, "filters", None) is not None else config["chain"]["filters"]
    return parse_chain(spec, registry or build_registry(config))


def override(section, args, keys):
    """A copy of a config section with the command-line options that were given put over it."""
    merged = dict(section)
    merged.update({k: getattr(args, k) for k in keys if getattr(args, k) is not None})
    return merged
