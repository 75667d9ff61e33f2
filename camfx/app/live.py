"""``camfx live``: wires a source, the capture thread, the chain and the outputs together."""
import contextlib
import signal
import threading
import time

import numpy as np

from ..errors import CamfxError
from ..text import chain_label
from .common import add_config_option, build_chain, build_registry, load_config, override


def add_parser(commands):
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
    add_config_option(live)
    live.add_argument("--headless", action="store_true", default=None, help="no window (servers, tests)")
    live.add_argument("--frames", type=int, metavar="N", help="stop after N frames")
    live.add_argument("--loop", action="store_true", default=None, help="restart a file source at its end")
    live.add_argument("--record", metavar="PATH",
                      help="record the filtered frames to PATH: H.264 in .mp4 (or .m4v, .mov, .mkv)")
    live.add_argument("--overwrite", action="store_true", help="let --record replace an existing file")
    live.add_argument("--mirror", action="store_true", default=None,
                      help="flip the preview window left to right (a self-view); never the other outputs")
    live.add_argument("--strict", action="store_true", default=None,
                      help="always filter at full size (no frame-rate governor)")
    live.set_defaults(run=cmd_live)


def cmd_live(args):
    from ..live.governor import Governor
    from ..live.loop import LiveLoop, note
    from ..outputs.recorder import check_record_path
    from ..outputs.window import KEYS_HELP, Window, WindowSink, check_display

    config = load_config(args.config)
    capture_settings = override(config["capture"], args, ("source", "width", "height", "fps", "fourcc", "loop"))
    live = override(config["live"], args, ("headless", "strict", "mirror"))
    check_live_settings(capture_settings, live, args)
    # Everything that can be refused is refused before the camera opens and the chain is tuned.
    if not live["headless"]:
        check_display()
    inputs = file_inputs(capture_settings["source"])
    if args.record:
        check_record_path(args.record, args.overwrite, inputs)
    registry = build_registry(config)
    chain = build_chain(args, config, registry)

    capture = open_capture(capture_settings, live, chain)
    try:
        source = capture.source
        governor = Governor(live["target_fps"] or capture.fps, economies=chain.economies, strict=live["strict"])
        loop = LiveLoop(capture, chain, frames=args.frames, record=args.record, overwrite=args.overwrite,
                        inputs=inputs, output_dir=live["output_dir"], governor=governor,
                        registry=registry)
        if not live["headless"]:
            # The window belongs to this (the main) thread; the loop runs on its own.
            sink = WindowSink(Window(), loop.commands, loop.status, hud=live["hud"], mirror=live["mirror"])
            loop.add_output(sink, start=False)
        note(f"{source.name} -> {chain_label(chain)}" + ("" if live["headless"] else f"; {KEYS_HELP}"))
        with signals_end(loop):
            summary = loop.run()
        print(summary, flush=True)
    finally:
        capture.close()
    return 0


def open_capture(capture_settings, live, chain):
    """The capture of the configured source, opened (what the camera gave and did not honour
    said on stderr), with ``chain`` tuned and warmed for its frame size. Not started; the caller
    closes it. Raises CamfxError for a source that cannot be opened."""
    from ..live.capture import Capture
    from ..live.loop import note, tune_chain

    options = {k: capture_settings[k] for k in ("width", "height", "fps", "fourcc")}
    capture = Capture(_source_opener(capture_settings["source"], options, note), loop=capture_settings["loop"],
                      stall_after=live["stall_timeout"], give_up_after=live["reconnect_timeout"],
                      report=lambda line: note(f"{time.strftime('%H:%M:%S')} {line}"))  # the outage log
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
    except BaseException:
        capture.close()
        raise
    return capture


@contextlib.contextmanager
def signals_end(loop):
    """SIGINT (Ctrl-C), SIGTERM and SIGHUP end the loop as q does: the recording is finished,
    the summary printed. A second one, while that takes its time, interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []

    def end(signum, frame):
        if received:
            raise KeyboardInterrupt
        received.append(signum)
        loop.stop()  # only sets a flag: safe whatever this thread was doing

    wanted = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {signum: signal.signal(signum, end) for signum in wanted}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def file_inputs(spec):
    """The source as a file that a recording must never overwrite, if it is one."""
    from pathlib import Path
    from ..live.sources import parse_source
    spec = parse_source(spec)
    return [Path(spec)] if isinstance(spec, str) and Path(spec).is_file() else []


def check_live_settings(capture, live, args):
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
