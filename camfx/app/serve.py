"""``camfx serve``: the live loop, headless, watched and steered from a browser on one port."""
import asyncio
import math
import signal
import socket

from ..errors import CamfxError
from .common import add_config_option, build_chain, build_registry, load_config, override
from ..text import chain_label
from .live import check_live_settings, file_inputs, open_capture


def add_parser(commands):
    serve = commands.add_parser(
        "serve", help="run the live filters headless and watch and steer them from a browser",
        description="Run the filter chain on a camera, stream, file or the demo scene and serve the "
                    "filtered picture (WebRTC, MJPEG), a control page and a JSON API on one port. "
                    "Options override config.toml ([capture], [live], [chain], [serve]).")
    serve.add_argument("--source", metavar="SRC",
                       help="camera index (0), device (/dev/video2), video file, stream URL, or 'demo' "
                            "(default: camera 0, or the demo scene when there is no camera)")
    serve.add_argument("--filters", metavar="SPEC", help='filter chain, e.g. "blur(ksize=9),emboss,edge"')
    serve.add_argument("--host", metavar="ADDR",
                       help="address to listen on (default 127.0.0.1: this machine only; any other needs a token)")
    serve.add_argument("--port", type=int, metavar="N", help="port to listen on (default 8080; 0: any free port)")
    serve.add_argument("--token", metavar="TOKEN",
                       help="the token every request must carry (default: made up and printed when --host "
                            "is not a loopback address)")
    add_config_option(serve)
    serve.add_argument("--loop", action="store_true", default=None, help="restart a file source at its end")
    serve.set_defaults(run=cmd_serve, frames=None)


def cmd_serve(args):
    from ..live.governor import Governor
    from ..live.loop import LiveLoop, note
    from ..serve.app import Server
    from ..serve.guard import Guard, is_loopback, new_token
    from ..serve.stream import StreamSink

    config = load_config(args.config)
    capture_settings = override(config["capture"], args, ("source", "loop"))
    live = dict(config["live"], headless=True)
    settings = override(config["serve"], args, ("host", "port", "token"))
    check_live_settings(capture_settings, live, args)
    _check_serve_settings(settings)
    made_up = not settings["token"] and not is_loopback(settings["host"])
    token = new_token() if made_up else (settings["token"] or None)
    guard = Guard(settings["host"], settings["port"], token, settings["allowed_hosts"])
    stream = StreamSink(settings["jpeg_quality"])
    registry = build_registry(config)
    chain = build_chain(args, config, registry)
    listening = listen(settings["host"], settings["port"])  # a busy port fails before the camera opens

    try:
        capture = open_capture(capture_settings, live, chain)
    except BaseException:
        listening.close()
        raise
    try:
        governor = Governor(live["target_fps"] or capture.fps, economies=chain.economies, strict=live["strict"])
        loop = LiveLoop(capture, chain, inputs=file_inputs(capture_settings["source"]),
                        output_dir=live["output_dir"], governor=governor, registry=registry)
        loop.add_output(stream)
        server = Server(loop, loop.commands, stream, registry, guard, max_viewers=settings["max_viewers"],
                        write_timeout=settings["write_timeout"])
        note(f"{capture.name} -> {chain_label(chain)}")
        asyncio.run(_serve(loop, server, listening, settings["host"], token if made_up else None, note))
        print(loop.result(), flush=True)
    finally:
        capture.close()
    return 0


def listen(host, port):
    """A socket listening on ``host``:``port`` (0: a free port); CamfxError when it cannot."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as error:
        raise CamfxError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


async def _serve(loop, server, listening, host, show_token, note):
    """Serve until the loop ends (the source ended or was lost) or a signal (SIGINT, SIGTERM,
    SIGHUP) ends it; then stop the server and let the loop finish its outputs."""
    from ..serve.app import start
    runner, port = await start(server, sock=listening)
    events = asyncio.get_running_loop()
    signals = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    for signum in signals:
        events.add_signal_handler(signum, loop.stop)
    try:
        loop.start()
        everywhere = host in ("0.0.0.0", "::", "")
        shown = socket.gethostname() if everywhere else f"[{host}]" if ":" in host else host
        address = f"http://{shown}:{port}/" + (f"?token={show_token}" if show_token else "")
        note(f"serving on {address}" + (" (and every other address of this machine)" if everywhere else "")
             + ("" if show_token or server.guard.token is None else " (requests need the token)"))
        note(f"stream: {address.split('?')[0]}stream.mjpg" + (f"?token={show_token}" if show_token else "")
             + "; stop with Ctrl-C")
        while not await asyncio.to_thread(loop.wait, 0.25):
            pass
    finally:
        for signum in signals:
            events.remove_signal_handler(signum)
        loop.stop()
        await asyncio.to_thread(loop.wait)
        await runner.cleanup()


def _check_serve_settings(settings):
    """Refuse values that would only fail later, naming the setting."""
    port = settings["port"]
    if isinstance(port, bool) or not 0 <= port <= 65535:
        raise CamfxError(f"--port must be from 0 to 65535, got {port}")
    if settings["max_viewers"] < 1:
        raise CamfxError(f"serve.max_viewers must be at least 1, got {settings['max_viewers']}")
    if not 1 <= settings["jpeg_quality"] <= 100:
        raise CamfxError(f"serve.jpeg_quality must be from 1 to 100, got {settings['jpeg_quality']}")
    if not 0 < settings["write_timeout"] < math.inf:
        raise CamfxError(f"serve.write_timeout must be a positive number of seconds, got {settings['write_timeout']}")
    if not all(isinstance(h, str) and h for h in settings["allowed_hosts"]):
        raise CamfxError(f"serve.allowed_hosts must be a list of host names, got {settings['allowed_hosts']!r}")
