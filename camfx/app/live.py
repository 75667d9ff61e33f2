"""``camfx live``: wires a source, the capture thread, the chain and the outputs together."""
import contextlib
import math
import signal
import threading
import time
from pathlib import Path

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
    live.add_argument("--output", action="append", metavar="SPEC", dest="outputs",
                      help="also send the filtered frames to SPEC: record:PATH, vcam (a virtual camera for video "
                           "calls), vcam:/dev/videoN, y4m:PATH (a file or named pipe), window (the default unless "
                           "--headless); repeatable. 'camfx outputs' lists what works here")
    live.add_argument("--overwrite", action="store_true",
                      help="let --record and record:/y4m: outputs replace an existing file")
    live.add_argument("--mirror", action="store_true", default=None,
                      help="flip the preview window left to right (a self-view); never the other outputs")
    live.add_argument("--strict", action="store_true", default=None,
                      help="always filter at full size (no frame-rate governor)")
    live.set_defaults(run=cmd_live)


def cmd_live(args):
    from ..live.governor import Governor
    from ..live.loop import LiveLoop, note
    from ..outputs.window import KEYS_HELP, Window, WindowSink

    config = load_config(args.config)
    capture_settings = override(config["capture"], args, ("source", "width", "height", "fps", "fourcc", "loop"))
    live = override(config["live"], args, ("headless", "strict", "mirror"))
    check_live_settings(capture_settings, live, args)
    # Everything that can be refused is refused before the camera opens and the chain is tuned.
    specs = output_specs(args, live)
    inputs = file_inputs(capture_settings["source"])
    check_outputs(specs, args.overwrite, inputs)
    record = next((spec.target for spec in specs if spec.kind == "record"), None)
    headless = not any(spec.kind == "window" for spec in specs)
    registry = build_registry(config)
    chain = build_chain(args, config, registry)

    capture = open_capture(capture_settings, live, chain)
    try:
        source = capture.source
        governor = Governor(live["target_fps"] or capture.fps, economies=chain.economies, strict=live["strict"])
        with contextlib.ExitStack() as opened:  # the sinks opened so far are closed if a later one fails
            sinks = [opened.enter_context(open_sink(spec, source.size, capture.fps, args.overwrite))
                     for spec in specs if spec.kind in ("vcam", "y4m")]
            loop = LiveLoop(capture, chain, frames=args.frames, record=record, overwrite=args.overwrite,
                            inputs=inputs, output_dir=live["output_dir"], governor=governor,
                            registry=registry)
            opened.pop_all()  # from here on the loop closes them
        for sink in sinks:
            loop.add_output(sink)
            note(f"sending to {sink.name}" + (f" ({sink.format})" if hasattr(sink, "format") else ""))
        if not headless:
            # The window belongs to this (the main) thread; the loop runs on its own.
            sink = WindowSink(Window(), loop.commands, loop.status, hud=live["hud"], mirror=live["mirror"])
            loop.add_output(sink, start=False)
        note(f"{source.name} -> {chain_label(chain)}" + ("" if headless else f"; {KEYS_HELP}"))
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


def output_specs(args, live):
    """The outputs to run: ``--output`` specs (else the config's ``live.outputs``), ``--record``,
    and the window unless headless."""
    from ..outputs.specs import OutputSpec, parse_outputs
    texts = list(args.outputs if args.outputs is not None else live["outputs"])
    if args.record:
        texts.append(f"record:{args.record}")
    specs = parse_outputs(texts)
    windows = [spec for spec in specs if spec.kind == "window"]
    if live["headless"] and windows:
        raise CamfxError("--headless shows no window, but the outputs name 'window'; drop one of the two")
    if not live["headless"] and not windows:
        specs.insert(0, OutputSpec("window"))
    return specs


def check_outputs(specs, overwrite, inputs):
    """Refuse, in one line, an output that cannot work, before any camera is opened."""
    from ..live.loop import note
    from ..outputs.recorder import check_record_path
    from ..outputs.vcam import check_virtual_camera
    from ..outputs.window import check_display
    from ..outputs.y4m import check_y4m_path
    for spec in specs:
        if spec.kind == "window":
            check_display()
        elif spec.kind == "record":
            check_record_path(spec.target, overwrite, inputs)
        elif spec.kind == "vcam":
            note(f"virtual camera: {check_virtual_camera(spec.target)}")
        elif spec.kind == "y4m":
            path = check_y4m_path(spec.target, overwrite)
            if any(path.exists() and path.samefile(source) for source in inputs):
                raise CamfxError(f"{path}: is the source being played; not overwriting it")


def open_sink(spec, size, fps, overwrite):
    """The sink of a ``vcam`` or ``y4m`` spec, for frames of the source's ``size`` and ``fps``."""
    if spec.kind == "vcam":
        from ..outputs.vcam import VirtualCamera
        return VirtualCamera(*size, fps, device=spec.target)
    from ..outputs.y4m import Y4mWriter
    return Y4mWriter(spec.target, *size, fps, overwrite=overwrite)


def file_inputs(spec):
    """The source as a file that a recording must never overwrite, if it is one."""
    from pathlib import Path
    from ..live.sources import parse_source
    spec = parse_source(spec)
    return [Path(spec)] if isinstance(spec, str) and Path(spec).is_file() else []


def check_live_settings(capture, live, args):
    """Refuse values that would only fail later, naming the option."""
    for key in ("width", "height", "fps"):
        if not 0 < capture[key] < math.inf:  # nan and inf too
            raise CamfxError(f"--{key} must be a positive number, got {capture[key]}")
    fourcc = capture["fourcc"]
    if fourcc != "auto" and not (len(fourcc) == 4 and fourcc.isascii() and fourcc.isprintable()):
        raise CamfxError(f"--fourcc must be 'auto' or four characters such as MJPG, got {fourcc!r}")
    for key in ("stall_timeout", "reconnect_timeout"):
        if not 0 < live[key] < math.inf:
            raise CamfxError(f"live.{key} must be a positive number of seconds, got {live[key]}")
    if not 0 <= live["target_fps"] < math.inf:
        raise CamfxError(f"live.target_fps must be positive, or 0 for the source's rate, got {live['target_fps']}")
    if not Path(live["output_dir"]).is_dir():
        raise CamfxError(f"live.output_dir: no such folder {live['output_dir']!r} "
                         "(where snapshots and recordings go)")
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
