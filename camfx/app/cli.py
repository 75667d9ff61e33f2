"""The ``camfx`` command: wires config, registry, sources and sinks together."""
import argparse
import os
import sys

import numpy as np

from ..engine.chain import parse_chain
from .config import load_config
from ..errors import CamfxError
from ..engine.registry import Registry


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


def cmd_live(args):
    from ..live.capture import Capture
    from ..live.governor import Governor
    from ..live.loop import KEYS_HELP, LiveLoop, note, tune_chain
    from ..outputs.window import NoWindow, Window, check_display
    from ..outputs.recorder import check_record_path

    config = load_config(args.config)
    capture_settings = _override(config["capture"], args, ("source", "width", "height", "fps", "fourcc", "loop"))
    live = _override(config["live"], args, ("headless", "strict"))
    _check_live_settings(capture_settings, live, args)
    if not live["headless"]:
        check_display()
    if args.record:
        check_record_path(args.record)
    chain = build_chain(args, config)

    options = {k: capture_settings[k] for k in ("width", "height", "fps", "fourcc")}
    capture = Capture(_source_opener(capture_settings["source"], options, note), loop=capture_settings["loop"],
                      stall_after=live["stall_timeout"], give_up_after=live["reconnect_timeout"])
    try:
        source = capture.open()
        if hasattr(source, "report"):
            note(source.report)
            for warning in source.warnings:
                note(f"warning: {warning}")
        # Tuned on a blank frame of the source's size before reading starts: the kernels' cost
        # does not depend on the picture, and no frame is dropped meanwhile. Then the chosen
        # kernels are loaded (or compiled) by one run, not on the first frame.
        blank = np.zeros((source.size[1], source.size[0], 3), np.uint8)
        tune_chain(chain, blank)
        chain.warm(blank)
        note(f"{source.name} -> {chain!r}" + ("" if live["headless"] else f"; {KEYS_HELP}"))
        with (NoWindow() if live["headless"] else Window()) as window, capture:
            governor = Governor(live["target_fps"] or capture.fps, strict=live["strict"])
            loop = LiveLoop(capture, chain, window, frames=args.frames, record=args.record,
                            output_dir=live["output_dir"], hud=live["hud"], governor=governor)
            print(loop.run(), flush=True)
    finally:
        capture.close()
    return 0


def _check_live_settings(capture, live, args):
    """Refuse values that would only fail later, naming the option."""
    for key in ("width", "height", "fps"):
        if capture[key] <= 0:
            raise CamfxError(f"--{key} must be positive, got {capture[key]}")
    fourcc = capture["fourcc"]
    if fourcc != "auto" and not (len(fourcc) == 4 and fourcc.isascii() and fourcc.isprintable()):
        raise CamfxError(f"--fourcc must be 'auto' or four characters such as MJPG, got {fourcc!r}")
    for key in ("stall_timeout", "reconnect_timeout"):
        if live[key] <= 0:
            raise CamfxError(f"live.{key} must be positive, got {live[key]}")
    if live["target_fps"] < 0:
        raise CamfxError(f"live.target_fps must be positive, or 0 for the source's rate, got {live['target_fps']}")
    if args.frames is not None and args.frames <= 0:
        raise CamfxError(f"--frames must be positive, got {args.frames}")


def _override(section, args, keys):
    """A copy of a config section with the command-line options that were given put over it."""
    merged = dict(section)
    merged.update({k: getattr(args, k) for k in keys if getattr(args, k) is not None})
    return merged


def _source_opener(spec, options, note):
    """What the capture calls to open (and reopen) the source. ``"auto"``: camera 0 when this
    machine has one that opens, else the demo scene, said in one line. The camera opened to find
    that out is the one the capture gets first (a second open costs a real camera a second)."""
    from ..live.sources import any_camera, open_source  # OpenCV loads only for the live view
    if spec != "auto":
        return lambda: open_source(spec, **options)
    fallback = "playing the built-in demo scene (pick a source with --source)"
    if not any_camera():
        note(f"no camera found; {fallback}")
        return lambda: open_source("demo", **options)
    try:
        opened = [open_source(0, **options)]
    except CamfxError as error:
        note(f"{error}; {fallback}")
        return lambda: open_source("demo", **options)
    return lambda: opened.pop() if opened else open_source(0, **options)


# x264's and x265's speed presets, fastest first.
PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"]


def cmd_process(args):
    from ..files.process import Settings, process_batch, tune_for_throughput  # PyAV loads only for this command

    tune_for_throughput()
    chain = build_chain(args, load_config(args.config))
    settings = Settings(codec=args.codec, crf=args.crf, preset=args.preset, overwrite=args.overwrite)
    return 1 if process_batch(args.inputs, args.output, chain, settings) else 0


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
    from ..engine.chain import announce_compilation
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

    live = commands.add_parser("live", help="filter a camera (or a file, stream or the demo) in a preview window",
                               description="Run the filter chain on a camera, stream, file or the demo scene, "
                                           "live, in a preview window. Options override config.toml.")
    live.add_argument("--source", metavar="SRC",
                      help="camera index (0), device (/dev/video2), video file, stream URL, or 'demo' "
                           "(default: camera 0, or the demo scene when there is no camera)")
    live.add_argument("--filters", metavar="SPEC", help='filter chain, e.g. "blur(ksize=9),emboss,edge"')
    live.add_argument("--width", type=int, metavar="W", help="width to ask the camera for")
    live.add_argument("--height", type=int, metavar="H", help="height to ask the camera for")
    live.add_argument("--fps", type=float, metavar="F", help="frame rate to ask the camera for")
    live.add_argument("--fourcc", metavar="CODE", help="pixel format to ask the camera for, e.g. MJPG")
    live.add_argument("--config", metavar="PATH", help="config file (default: ./config.toml if present)")
    live.add_argument("--headless", action="store_true", default=None, help="no window (servers, tests)")
    live.add_argument("--frames", type=int, metavar="N", help="stop after N frames")
    live.add_argument("--loop", action="store_true", default=None, help="restart a file source at its end")
    live.add_argument("--record", metavar="PATH", help="record the filtered frames to PATH (.mp4, .avi, .mkv)")
    live.add_argument("--strict", action="store_true", default=None,
                      help="always filter at full size (no frame-rate governor)")
    live.set_defaults(run=cmd_live)

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


def configure_process():
    """Process-wide settings that belong to the command, not to ``import camfx``.

    - numba's OpenMP workers sleep, not spin, between parallel calls: spinning they take the CPU
      from OpenCV's capture and display threads and from the encoder (measured with
      ``camfx bench`` and on ``camfx process``). Set before numba starts its thread pool; a
      user's own ``OMP_WAIT_POLICY`` wins.
    - OpenCV logs failed opens as warnings; camfx reports them in one line of its own. (Its
      environment variable, read when OpenCV loads: ``camfx process`` never loads it.)
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")


def main(argv=None):
    args = make_parser().parse_args(argv)
    configure_process()
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
