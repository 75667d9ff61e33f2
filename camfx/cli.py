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


# x264's and x265's speed presets, fastest first.
PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"]


def cmd_process(args):
    from .process import Settings, process_batch, tune_for_throughput  # PyAV loads only for this command

    tune_for_throughput()
    chain = build_chain(args, load_config(args.config))
    settings = Settings(codec=args.codec, crf=args.crf, preset=args.preset, overwrite=args.overwrite)
    return 1 if process_batch(args.inputs, args.output, chain, settings) else 0


def _describe(parameter):
    kind = getattr(parameter.annotation, "__name__", "")
    default = "required" if parameter.default is parameter.empty else repr(parameter.default)
    return f"{parameter.name}: {kind} = {default}"


def make_parser():
    parser = argparse.ArgumentParser(prog="camfx", description="Real-time webcam filters.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    filters = commands.add_parser("filters", help="list every filter with its parameters and origin")
    filters.add_argument("--config", metavar="PATH", help="config file (default: ./config.toml if present)")
    filters.set_defaults(run=cmd_filters)

    process = commands.add_parser("process", help="filter video files, keeping every frame, the timing and the audio")
    process.add_argument("inputs", nargs="+", metavar="INPUT", help="video files to filter")
    process.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                         help="output file (one input) or directory (several inputs; DIR/NAME.mp4)")
    process.add_argument("--filters", metavar="SPEC", help="filter chain (default: the config's [chain])")
    process.add_argument("--codec", default="h264", choices=["h264", "hevc"], help="video codec (default: h264)")
    process.add_argument("--crf", type=int, default=23, metavar="N", help="quality, 0-51, lower is better (default: 23)")
    process.add_argument("--preset", default="medium", choices=PRESETS, metavar="NAME",
                         help="encoder speed preset, ultrafast to placebo (default: medium)")
    process.add_argument("--overwrite", action="store_true", help="replace existing output files")
    process.add_argument("--config", metavar="PATH", help="config file (default: ./config.toml if present)")
    process.set_defaults(run=cmd_process)
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
