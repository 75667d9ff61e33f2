"""The ``camfx`` command: one module per subcommand (``app/live.py``, ``app/process.py``, ...),
each adding its parser here; expected errors become one line and a non-zero exit."""
import argparse
import os
import sys

from ..errors import CamfxError
from . import bench, cameras, config_cmd, explain, filters, live, models, outputs, process, serve

# Each module has add_parser(subparsers), which sets ``run`` to the function the command calls.
COMMANDS = (filters, live, outputs, process, serve, bench, explain, cameras, config_cmd, models)


def make_parser():
    from .. import __version__
    parser = argparse.ArgumentParser(prog="camfx", description="Real-time webcam filters.")
    parser.add_argument("--version", action="version", version=f"camfx {__version__}")
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
        status = args.run(args)
        sys.stdout.flush()  # a reader that went away shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        return _reader_went_away()
    except MemoryError as error:
        print(f"camfx: error: out of memory{f' ({error})' if str(error) else ''}", file=sys.stderr)
        return 2
    except (CamfxError, ValueError, OSError) as error:
        if os.environ.get("CAMFX_DEBUG"):
            raise
        print(f"camfx: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _reader_went_away():
    """``camfx filters | head``: the reader closed the pipe, which is no error of ours. Stdout
    goes to /dev/null so that the interpreter's final flush does not complain again (the recipe
    in Python's ``signal`` documentation); the exit status is the one of a process killed by
    SIGPIPE, as other command-line tools give."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 128 + 13


if __name__ == "__main__":
    sys.exit(main())
