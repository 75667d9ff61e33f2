"""The ``camfx`` command: one module per subcommand (``app/live.py``, ``app/process.py``, ...),
each adding its parser here; expected errors become one line and a non-zero exit."""
import argparse
import os
import sys

from ..errors import CamfxError
from . import bench, filters, live, models, process

# Each module has add_parser(subparsers), which sets ``run`` to the function the command calls.
COMMANDS = (filters, live, process, bench, models)


def make_parser():
    parser = argparse.ArgumentParser(prog="camfx", description="Real-time webcam filters.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def configure_process():
    """Process-wide settings that belong to the command, not to ``import camfx``.

    - numba's OpenMP workers sleep, not spin, between parallel calls: spinning they take the CPU
      from OpenCV's capture and display threads and from the encoder (measured with
      ``camfx bench`` and on ``camfx process``). Set before numba starts its thread pool; a
      user's own ``OMP_WAIT_POLICY`` wins.
    - OpenCV logs failed opens as warnings, and the FFmpeg inside it logs a stream it cannot
      reach as errors; camfx reports both in one line of its own. Their own log levels keep them
      quiet (environment variables read when OpenCV loads and when it first opens a stream;
      ``camfx process`` never loads OpenCV): OpenCV's errors still show, FFmpeg's (-8: quiet)
      do not. A user's own settings win.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


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
