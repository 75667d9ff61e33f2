"""Part files: an output written under a hidden temporary name beside its target, renamed over
it only when complete.

Each part file is locked (``flock``) by the process writing it, for as long as it writes. A
process that is killed outright (SIGKILL, out of memory) cannot remove its part file, but the
kernel releases its lock; :func:`sweep` removes exactly those parts whose lock is free, so a
later run (or a retry on another worker) cleans up after a dead one without touching a part
that another live process, on this machine or, over NFS v4, another one, is still writing.
"""
import contextlib
import os
import re
import secrets
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: parts are not locked, and sweep() removes none
    fcntl = None

SUFFIX = ".camfx-part"
_NEW_SUFFIX = ".camfx-new"  # a part file in the instant before it is locked
_NEW_GRACE = 60.0  # seconds

# Part file -> the descriptor holding its lock, while this process writes it.
_held = {}
_held_lock = threading.Lock()


def create(target):
    """Create a new, empty, locked part file beside ``target`` and return its path.

    The name is hidden and keeps the extension, so the file is recognisable:
    ``out.mp4`` -> ``.out.1f2e3d4c.camfx-part.mp4``. Permissions follow the umask.
    """
    target = Path(target)
    for _ in range(100):
        token = secrets.token_hex(4)
        part = target.with_name(f".{target.stem}.{token}{SUFFIX}{target.suffix}")
        # Made under a name that sweep() leaves alone for a minute, locked, then given the
        # part's name: a part file is locked from the moment it appears.
        new = target.with_name(f".{target.stem}.{token}{_NEW_SUFFIX}{target.suffix}")
        try:
            fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            taken = os.path.lexists(part)
            if not taken:
                os.rename(new, part)
        except BaseException:
            _close_and_unlink(fd, new)
            raise
        if taken:
            _close_and_unlink(fd, new)
            continue
        with _held_lock:
            _held[part] = fd
        return part
    raise FileExistsError(f"{target.parent}: cannot create a temporary file")


def _close_and_unlink(fd, path):
    os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def commit(part, target):
    """Rename the finished ``part`` over ``target`` and release its lock."""
    try:
        os.replace(part, target)
    finally:
        _release(part)


def remove(part):
    """Remove ``part`` (if it is still there) and release its lock."""
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
    finally:
        _release(part)


def _release(part):
    with _held_lock:
        fd = _held.pop(Path(part), None)
    if fd is not None:
        os.close(fd)


def sweep(folder, targets=None):
    """Remove the part files in ``folder`` that no live process holds; return their paths.

    ``targets``: only the parts of these output names (e.g. ``["a.mp4"]``); default: all.
    A part that cannot be opened or is locked is left alone.
    """
    if fcntl is None:
        return []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    wanted = None if targets is None else {Path(t).name for t in targets}
    removed = []
    for name in names:
        target = _target_of(name)
        if target is None or (wanted is not None and target not in wanted):
            continue
        part = Path(folder) / name
        if _is_abandoned(part):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part)
                removed.append(part)
    return removed


_PART_NAME = re.compile(r"\.(?P<stem>.*)\.[0-9a-f]{8}(?P<kind>\.camfx-part|\.camfx-new)(?P<suffix>.*)", re.DOTALL)


def _target_of(name):
    """The output name a part file name belongs to, or None if it is not a part file."""
    match = _PART_NAME.fullmatch(name)
    return match and match["stem"] + match["suffix"]


def _is_abandoned(part):
    try:
        fd = os.open(part, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        if _NEW_SUFFIX in part.name and time.time() - os.fstat(fd).st_mtime < _NEW_GRACE:
            return False  # perhaps about to be locked

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live writer holds it
    else:
        return True
    finally:
        os.close(fd)  # also drops our lock
