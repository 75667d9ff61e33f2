"""The ``camfx`` command: wires config, registry, sources and sinks together."""
import argparse
import os
import sys

from .chain import parse_chain
from .config import load_config
from .errors import CamfxError
from .registry import Registry


def build_registry(config):
    """The registry of installed plugins plus the config's local plugins and named kernels."""
    return Registry.discover(config["plugins"], config["kernels"], config.base_dir)


def build_chain(args, config):
    """The chain from ``--filters`` when given, else from the config's ``[chain]``."""
    spec = args.filters if getattr(args, "filters", None) is not None else config["chain"]["filters"]
    return parse_chain(spec, build_registry(config))


def cmd_filters(args):
    config = load_config(args.config)
    registry = build_registry(config)
    failed = 0
    for name in registry.names():
        try:
            cls = registry.get(name)
        except CamfxError as error:
            failed += 1
            print(f"{name:<12} FAILED: {error}")
            continue
        params = ", ".join(_describe(p) for p in cls.parameters()) or "no parameters"
        summary = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
        print(f"{name:<12} {params}")
        print(f"{'':<12} {summary}")
        print(f"{'':<12} from {registry.origin(name)}")
    return 1 if failed else 0


def _describe(parameter):
    kind = getattr(parameter.annotation, "__name__", "")
    default = "required" if parameter.default is parameter.empty else repr(parameter.default)
    return f"{parameter.name}: {kind} = {default}"


def cmd_bench(args):
    from . import bench
    config = load_config(args.config)
    bench.main(args.size, args.filters, args.chain, args.repeat, args.json, not args.no_tune,
               build_registry(config))
    return 0


def cmd_warmup(args):
    """Compile (or load from numba's cache) every kernel the chain can use, variants included."""
    import numpy as np
    from .chain import announce_compilation
    config = load_config(args.config)
    chain = build_chain(args, config)
    announce_compilation(chain)
    frame = np.zeros((8, 8, 3), np.uint8)
    for f in chain:
        for variant in f.variants or [None]:
            if variant is not None:
                f.use(variant)
            f(frame)
    print(f"camfx: ready ({chain!r})")
    return 0


def make_parser():
    parser = argparse.ArgumentParser(prog="camfx", description="Real-time webcam filters.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    filters = commands.add_parser("filters", help="list every filter with its parameters and origin")
    filters.add_argument("--config", metavar="PATH", help="config file (default: ./config.toml if present)")
    filters.set_defaults(run=cmd_filters)
    bench = commands.add_parser("bench", help="time the filters and a chain against OpenCV on this machine")
    bench.add_argument("--size", choices=["720p", "1080p", "4k"], default="1080p", help="frame size (default 1080p)")
    bench.add_argument("--filters", metavar="SPEC", help="filters to time one by one (default: the built-ins)")
    bench.add_argument("--chain", metavar="SPEC", default="blur,emboss,edge", help="chain to time as a whole")
    bench.add_argument("--repeat", type=int, default=100, metavar="N", help="timed runs per filter (default 100)")
    bench.add_argument("--json", action="store_true", help="machine-readable output")
    bench.add_argument("--no-tune", action="store_true", help="default variants, no autotuning")
    bench.add_argument("--config", metavar="PATH", help="config file (default: ./config.toml if present)")
    bench.set_defaults(run=cmd_bench)
    warmup = commands.add_parser("warmup", help="compile the chain's filters now, so the first frame is fast")
    warmup.add_argument("--filters", metavar="SPEC", help="filters to compile (default: the config's chain)")
    warmup.add_argument("--config", metavar="PATH", help="config file (default: ./config.toml if present)")
    warmup.set_defaults(run=cmd_warmup)
    return parser


def main(argv=None):
    args = make_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CamfxError, ValueError, OSError) as error:
        if os.environ.get("CAMFX_DEBUG"):
            raise
        print(f"camfx: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
