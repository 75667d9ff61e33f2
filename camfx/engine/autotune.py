"""The autotuner: for a chain, a frame shape and a thread count, time each filter's variants and
thread counts on a real frame, keep the fastest, and remember the choice on disk so the next
start reuses it without timing anything.

Choices live in ``autotune.json`` in the cache folder (:func:`camfx.paths.cache_dir`), keyed by
the chain, the frame shape, the thread count and the versions of camfx, numba and the machine's
CPU count. When that folder cannot be written, the chain is timed on every start and nothing is
remembered.
"""
import contextlib
import json
import os
import platform
import statistics
import sys
import time

import numba
import numpy as np

from ..paths import writable_cache_dir
from .chain import numba_threads
from .filter import check_frame

CACHE_NAME = "autotune.json"
PARALLEL_MARGIN = 0.9  # several threads are chosen only if at least 10 % faster than one


def choice_key(chain, shape, threads):
    """The cache key of a chain on frames of ``shape`` with ``threads`` numba threads."""
    from .. import __version__
    return (f"{chain!r} | shape={tuple(shape)} | threads={threads} | camfx {__version__} | "
            f"numba {numba.__version__} | {platform.machine()} x{os.cpu_count()}")


def machine_busy():
    """True when other work is keeping this machine's cores busy: the 1-minute load average at
    or above the number of cores (POSIX ``getloadavg``; False where there is none)."""
    try:
        return os.getloadavg()[0] >= (os.cpu_count() or 1)
    except (AttributeError, OSError):  # Windows has no load average
        return False


def autotune(chain, frame, *, threads=None, runs=7, clock=time.perf_counter, cache_path=None,
             retune=False, stream=None, announce=None):
    """Choose, for each step of ``chain``, the fastest ``(variant, threads)`` on frames like
    ``frame`` and apply it to the chain; return the choice.

    Parameters
    ----------
    chain : camfx.Chain
    frame : ndarray
        A representative uint8 frame (its shape is part of the key; its content is timed).
    threads : int, optional
        The thread budget (default: numba's current thread count). Each step may use fewer.
    runs : int
        Timed runs per candidate; the median counts.
    clock : callable
        Returns seconds; injectable for tests.
    cache_path : path, optional
        The JSON file of remembered choices (default: ``autotune.json`` in the cache folder;
        none when that folder cannot be written).
    retune : bool
        Time again even when a remembered choice exists. A choice timed while the machine is
        busy (:func:`machine_busy`) is applied but not remembered.
    announce : callable, optional
        Called with a line for the user before timing starts (a first run also compiles the
        variants not used yet, which takes seconds).

    Returns
    -------
    dict
        ``{"steps": [{"variant": ..., "threads": ...}, ...], "timed": bool, "seconds": [...]}``;
        ``timed`` is False when the choice came from the cache.
    """
    frame = check_frame(frame)
    threads = int(threads or numba.get_num_threads())
    if cache_path is None:
        folder = writable_cache_dir(stream)
        path = folder / CACHE_NAME if folder is not None else None
    else:
        path = cache_path
    key = choice_key(chain, frame.shape, threads)
    store = _read(path, stream)
    remembered = store.get(key)
    if not retune and _fits(remembered, chain):
        _apply(chain, remembered["steps"])
        return {**remembered, "timed": False}
    busy = machine_busy()
    if announce is not None and any(f.stateless for f in chain.filters):  # others are not timed
        announce(f"tuning the chain for {frame.shape[1]}x{frame.shape[0]} frames "
                 "(first run: compiles and times each variant, a few seconds)"
                 + ("; other work is keeping this machine's cores busy, so the choice is used now "
                    "and timed again next start" if busy else "") + "...")
    choice = _time_steps(chain, frame, threads, runs, clock)
    _apply(chain, choice["steps"])
    # Timed while other work held the cores, one thread can look as fast as two: such a choice
    # is used now but not remembered, or it would slow every later start.
    if path is not None and not busy:
        store = _read(path, stream)  # another process may have written meanwhile
        store[key] = choice
        _write(path, store, stream)
    return {**choice, "timed": True}


def _time_steps(chain, frame, threads, runs, clock):
    """Greedy, step by step: each filter is timed on the output of the steps before it. The
    candidates of a step are timed in interleaved rounds, so a burst of load from elsewhere on
    the machine hits them all alike. Filters that are not ``stateless`` are not run at all."""
    steps, seconds = [], []
    thread_options = sorted({1, threads}, reverse=True)
    for f in chain.filters:
        if not f.stateless:  # timing runs would be frames it remembers: it keeps its defaults
            steps.append({"variant": None, "threads": threads})
            seconds.append(0.0)
            continue
        candidates = [(variant, count) for variant in (list(f.variants) or [None]) for count in thread_options]
        out = np.empty_like(frame)
        for candidate in candidates:  # compile or warm up outside the timing
            _time_once(f, frame, out, candidate, clock)
        times = {candidate: [] for candidate in candidates}
        for _ in range(runs):
            for candidate in candidates:
                times[candidate].append(_time_once(f, frame, out, candidate, clock))

        def cost(candidate):  # more threads must clearly pay: they also wait on a busy machine
            return statistics.median(times[candidate]) / (PARALLEL_MARGIN if candidate[1] > 1 else 1)
        variant, count = min(candidates, key=cost)
        if variant is not None:
            f.use(variant)
        steps.append({"variant": variant, "threads": count})
        seconds.append(statistics.median(times[(variant, count)]))
        frame = _run(f, frame, out, count).copy()
    return {"steps": steps, "seconds": seconds}


def _run(f, frame, out, threads):
    with numba_threads(threads):
        return f(frame, out=out)


def _time_once(f, frame, out, candidate, clock):
    """Seconds for one run of filter ``f`` as ``(variant, threads)``."""
    variant, threads = candidate
    if variant is not None:
        f.use(variant)
    start = clock()
    _run(f, frame, out, threads)
    return clock() - start


def _fits(entry, chain):
    """True when a remembered entry names a valid variant for every step of ``chain``."""
    try:
        steps = entry["steps"]
        return len(steps) == len(chain.filters) and all(
            # (no variant is remembered only for a filter that has none to choose, or is not
            # timed: a filter that has gained variants since is timed again)
            ((s["variant"] is None and (not f.variants or not f.stateless)) or s["variant"] in f.variants)
            and isinstance(s["threads"], int) and 1 <= s["threads"] <= numba.config.NUMBA_NUM_THREADS
            for s, f in zip(steps, chain.filters))
    except (TypeError, KeyError):
        return False


def _apply(chain, steps):
    for i, (f, step) in enumerate(zip(chain.filters, steps)):
        if step["variant"] is not None:
            f.use(step["variant"])
        chain.threads[i] = step["threads"]


def _read(path, stream):
    if path is None:
        return {}
    try:
        with open(path, encoding="utf-8") as file:
            store = json.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        print(f"camfx: ignoring unreadable autotune cache {path} ({error})", file=stream or sys.stderr)
        return {}
    if not isinstance(store, dict):
        print(f"camfx: ignoring autotune cache {path} (not a JSON object)", file=stream or sys.stderr)
        return {}
    return store


def _write(path, store, stream):
    """Write atomically, so a crash or a concurrent reader never sees half a file. A failure
    (a full disk) costs only the memory of this choice: it is said, not raised."""
    path = os.fspath(path)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(store, file, indent=1, sort_keys=True)
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        print(f"camfx: warning: could not remember the tuning in {path} ({error.strerror or error})",
              file=stream or sys.stderr, flush=True)
