"""``camfx process``: filter video files with a chain, keeping every frame, the timing and the audio.

:func:`process_file` is the one code path for a file, whether it runs in the ``camfx`` process
or on a worker (batches of files: :mod:`camfx.files.batch`). Each file goes decode -> filter ->
encode in overlapping threads (a long one as two halves at once, see :mod:`camfx.files.encode`),
into a part file beside the target (:mod:`camfx.files.parts`) that is renamed over it only when
complete.
"""
import ctypes
import ctypes.util
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import CamfxError, PluginError
from . import parts
from .encode import SecondHalf, encode, prepare
from .picture import DEFAULT_BACKGROUND, parse_background
from .progress import Progress
from .video import DEFAULT_CRF, DEFAULT_PRESET, InputVideo, OutputVideo, output_format

DEFAULT_EXTENSION = ".mp4"


@dataclass(frozen=True)
class Settings:
    """How outputs are encoded and whether existing ones may be replaced.

    ``threads``: the cores one file may use, for numba's kernels and the encoder (None: all of
    them). Several files processed at once on one machine share its cores this way; below 2, a
    long video is not split into two halves encoded at once.
    """

    codec: str = "h264"
    crf: int = DEFAULT_CRF
    preset: str = DEFAULT_PRESET
    overwrite: bool = False
    threads: int | None = None
    background: str = DEFAULT_BACKGROUND  # what transparent pixels become (a name or #rrggbb)
    deinterlace: bool = False

    def __post_init__(self):
        if isinstance(self.crf, bool) or not isinstance(self.crf, int) or not 0 <= self.crf <= 51:
            raise CamfxError(f"crf must be an integer from 0 (lossless) to 51, got {self.crf!r}")
        parse_background(self.background)


def tune_for_throughput():
    """Memory settings for a process that streams frames through filters and an encoder.

    Call before the first frame is decoded. glibc's malloc then keeps freed frame-sized blocks for
    reuse instead of handing each back to the system and faulting fresh zeroed pages in for the
    next frame: measured on book.mkv on a 2-core machine, 220,000 page faults became 38,000 and
    system time halved. (numba's OpenMP workers are already told to sleep between frames, by
    ``camfx/__init__.py``, for every command: spinning, they took 11-13 s of CPU from the encoder
    against 8 s for the same job.)
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)  # blocks up to 32 MB (a 4K BGR frame) from the heap
            libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)  # and keep up to 256 MB of freed heap for reuse
        except (OSError, AttributeError):
            pass  # not glibc: its malloc, its defaults


# mallopt parameters, from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def plan(inputs, output):
    """Pair every input with its output path.

    ``output`` is a folder when it ends in ``/`` or is an existing folder, and each output is
    then ``FOLDER/NAME.mp4``, named after its input (an image sequence ``img_%04d.png`` gives
    ``img.mp4``); otherwise it is a file, which takes exactly one input. Several inputs and a
    file are refused, as are two inputs that would write the same output.
    """
    inputs = [Path(p) for p in inputs]
    text = str(output)
    output = Path(output)
    if not inputs:
        raise CamfxError("no input files given")
    if text.endswith(("/", os.sep)) or output.is_dir():
        if output.exists() and not output.is_dir():
            raise CamfxError(f"{text}: is a file, not a folder for the outputs")
        pairs = [(src, output / (_output_stem(src) + DEFAULT_EXTENSION)) for src in inputs]
    elif len(inputs) > 1:
        raise CamfxError(f"{text}: {len(inputs)} inputs need a folder for -o (end it with /), not one file")
    else:
        output_format(output)  # a bad extension fails before any work
        return [(inputs[0], output)]
    seen = {}
    for src, dst in pairs:
        if dst in seen:
            raise CamfxError(f"{seen[dst]} and {src} would both be written to {dst}")
        seen[dst] = src
    return pairs


def _output_stem(src):
    """An output's name for ``src``: its stem, less an image sequence's number pattern."""
    stem = re.sub(r"%0?\d*d", "", src.stem).strip("_-. ")
    return stem or "sequence"


def check_target(src, dst, inputs, overwrite):
    """Refuse an output that is one of the inputs (always) or that exists (unless ``overwrite``)."""
    for other in inputs:
        if same_file(other, dst):
            raise CamfxError(f"{dst}: is the input {other}; refusing to write over an input")
    if not dst.parent.is_dir():
        raise CamfxError(f"{dst.parent}: no such directory for the output")
    if dst.exists() and not overwrite:
        raise CamfxError(f"{dst}: already exists (use --overwrite to replace it)")
    if dst.is_dir():
        raise CamfxError(f"{dst}: is a directory")


def same_file(a, b):
    """True when paths ``a`` and ``b`` name one file (the same path, a hard link, a bind mount)."""
    if Path(a).resolve() == Path(b).resolve():
        return True
    try:
        return os.path.samefile(a, b)  # hard links, bind mounts
    except OSError:
        return False


def process_file(src, dst, chain, settings=Settings(), *, progress=None, inputs=()):
    """Filter ``src`` with ``chain`` into ``dst``; return the number of frames written.

    Nothing appears at ``dst`` until the whole file is written: the work goes to a hidden
    temporary file beside it, renamed over ``dst`` at the end and removed on any failure or
    interrupt. Expected problems raise :class:`CamfxError` naming the file.
    """
    src, dst = Path(src), Path(dst)
    check_target(src, dst, [src, *inputs], settings.overwrite)
    if progress is None:
        with Progress(str(src)) as progress:
            return process_file(src, dst, chain, settings, progress=progress, inputs=inputs)
    with InputVideo(src, background=settings.background, deinterlace=settings.deinterlace) as video:
        for note in video.notes:
            progress.write(f"camfx: {note}")
        progress.set_total(video.frame_count)
        prepare(chain, video, announce=lambda line: progress.write(f"camfx: {line}"), threads=settings.threads)
        parts.sweep(dst.parent, [dst.name])  # left by a run that was killed outright
        temp = parts.create(dst)
        second = None
        try:
            with OutputVideo(temp, video.format, copy=video.others, samples=video.sample_packets,
                             format=output_format(dst), codec=settings.codec, crf=settings.crf, preset=settings.preset,
                             threads=settings.threads or 0, warn=progress.warn) as out:
                second = SecondHalf.begin(video, out, lambda: parts.create(dst), chain, settings, progress)
                encode(video.items(progress.warn, until=second and second.start), chain, out, progress.update,
                       stop=second and second.failed)
                if second is not None and (video.reached_until or second.failed.is_set()):
                    out.append(second.packets(video), video.rest())  # raises the second half's error, if any
                elif second is not None:  # the first half ended early: a damaged file
                    second.close()
            sync_to_disk(temp)  # on disk before it takes the target's name
            check_target(src, dst, [src, *inputs], settings.overwrite)  # nothing appeared meanwhile
            parts.commit(temp, dst)
        except BaseException:
            parts.remove(temp)
            raise
        finally:
            if second is not None:
                second.close()
    return progress.count


def sync_to_disk(path):
    """Flush the file at ``path`` to the disk (``fsync``), so a rename after it cannot leave an
    empty file behind a crash. Raises OSError."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def error_line(error, src):
    """A one-line reason that names the file."""
    if isinstance(error, PluginError):  # about the filter, not the file: say which file it was on
        return f"{src}: {error}"
    if isinstance(error, CamfxError):
        return str(error)
    return f"{src}: {getattr(error, 'strerror', None) or error}"
