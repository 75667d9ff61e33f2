"""Batches of video files: one :func:`~camfx.files.process.process_file` per file, on this
process, on worker processes of this machine (``--jobs N``, :mod:`camfx.files.pool`) or on a
Dask cluster (``--cluster ADDRESS``, :mod:`camfx.files.cluster`), resumable through a manifest
(:mod:`camfx.files.manifest`).

The coordinator (:func:`process_batch`) runs in the ``camfx`` process. It hands out
:class:`Job` s to an executor and takes back events, in its own thread:

- ``("start", index, where)``: a worker began the file;
- ``("frames", index, count, total)``: frames written so far, of about ``total`` (or None);
- ``("say", index, line)``: a warning or notice from the file's work, to print;
- ``("end", index, result)``: the file is done, failed or cancelled (:func:`run_job`'s result);
- ``("lost", index, reason)``: the worker died with the file (killed, out of memory); the
  coordinator retries it elsewhere, up to ``retries`` times.

Every executor has ``submit(job)``, ``poll(timeout)`` (the events since the last call),
``cancel()`` (stop everything, wait for running files to clean up; returns the last events) and
``close()``.
"""
import contextlib
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import av

from ..engine.chain import Chain, parse_chain
from ..engine.registry import Registry
from ..errors import CamfxError
from ..text import plural
from . import parts
from .manifest import FILE_NAME, Manifest, Recipe
from .process import Settings, error_line, plan, process_file, same_file, tune_for_throughput
from .progress import BatchProgress, Progress


@dataclass(frozen=True)
class ChainSpec:
    """A chain as text, with the config's plugins and named kernels: what a worker process on
    any machine needs to build the same chain (a :class:`Chain` holds compiled kernels and
    cannot travel)."""

    spec: object  # a spec string or a list of steps (config.toml's form)
    plugins: dict = field(default_factory=dict)
    kernels: dict = field(default_factory=dict)
    base_dir: str | None = None

    def build(self):
        return parse_chain(self.spec, Registry.discover(self.plugins, self.kernels, self.base_dir))


@dataclass(frozen=True)
class Job:
    """One file of a batch: filter ``src`` into ``dst`` (paths as given; an executor whose
    workers may have another working directory makes them absolute)."""

    index: int
    src: str
    dst: str
    chain: object  # a ChainSpec; a Chain only when run in this process
    settings: Settings
    inputs: tuple = ()  # other inputs that are the same file as ``dst`` (refused)


class WorkerProgress:
    """The progress of one file on a worker, sent to the coordinator as events through
    ``report(kind, *payload)``, at most every ``interval`` seconds; ``cancelled()`` is asked as
    often, and when it says so the work stops (KeyboardInterrupt, cleaned up like Ctrl-C).

    Stands in for :class:`~camfx.files.progress.Progress` in ``process_file``; two threads
    (the halves of a long video) may count into it.
    """

    def __init__(self, index, report, cancelled=lambda: False, *, interval=0.5, clock=time.monotonic):
        self.index, self._report, self._cancelled = index, report, cancelled
        self.interval, self.clock = interval, clock
        self.count, self.total = 0, None
        self._lock = threading.Lock()
        self._last = clock()

    def set_total(self, total):
        self.total = total
        self._send("frames", self.count, total)

    def update(self, n=1):
        with self._lock:
            self.count += n
            due = self.clock() - self._last >= self.interval
            if due:
                self._last = self.clock()
                self._report("frames", self.index, self.count, self.total)
        if due and self._cancelled():
            raise KeyboardInterrupt("cancelled")

    def warn(self, message):
        self.write(f"camfx: warning: {message}")

    def write(self, line):
        self._send("say", line)

    def _send(self, kind, *payload):
        with self._lock:
            self._report(kind, self.index, *payload)


_local = threading.local()  # per worker thread: chains built, so each is tuned and compiled once


def run_job(job, progress, where=None):
    """Process one :class:`Job` with ``progress`` (a Progress or WorkerProgress); the worker
    side of a batch, the same in every executor.

    Returns ``{"status": "done" | "failed", "frames", "seconds", "error", "worker"}``.
    Expected problems with the file (and a filter that raises) are a failed result with a
    one-line ``error`` naming the file; KeyboardInterrupt is raised, after ``process_file``
    removed its part file. ``where`` names the worker in messages (None: this process).
    """
    start = time.monotonic()
    result = {"status": "failed", "frames": None, "seconds": None, "error": None, "worker": where}
    try:
        _check_readable(job.src, where)
        chain = job.chain if isinstance(job.chain, Chain) else _chain(job.chain)
        frames = process_file(job.src, job.dst, chain, job.settings, progress=progress, inputs=job.inputs)
    except (ValueError, OSError, av.FFmpegError) as error:  # CamfxError is a ValueError
        result["error"] = error_line(error, job.src)
    except Exception as error:  # a filter's own bug: this file fails, the batch goes on
        result["error"] = f"{job.src}: {type(error).__name__}: {error}"
    else:
        result.update(status="done", frames=frames)
    result["seconds"] = time.monotonic() - start
    return result


def _chain(spec):
    chains = _local.__dict__.setdefault("chains", {})
    key = repr(spec)
    if key not in chains:
        chains[key] = spec.build()
    return chains[key]


def _check_readable(src, where):
    """A clear error when this worker cannot read the input (not on a shared folder, say)."""
    if where is None:
        return  # this process: InputVideo names a missing or unreadable file itself
    try:
        with open(src, "rb") as f:
            f.read(1)
    except OSError as error:
        raise CamfxError(f"{src}: cannot be read on worker {where}: {error.strerror or error} (inputs must be "
                         "on a path every worker can reach)") from None


def setup_worker():
    """Process-wide settings of a worker process, as the ``camfx`` command makes for itself:
    numba's OpenMP threads sleep between calls, malloc keeps frame-sized blocks."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    tune_for_throughput()


def cores():
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class Inline:
    """The executor for ``--jobs 1``: each file in this process, in turn (what ``camfx process``
    always did). ``progress(job)`` makes the progress object of a job."""

    def __init__(self, progress):
        self._queue = []
        self._progress = progress
        self._events = []

    def submit(self, job):
        self._queue.append(job)

    def poll(self, timeout):
        if not self._queue:
            return []
        job = self._queue.pop(0)
        self._events.append(("start", job.index, f"pid {os.getpid()}"))
        progress = self._progress(job)
        result = None
        try:
            result = run_job(job, progress)
        finally:
            if isinstance(progress, Progress):
                progress.close(ok=result is not None and result["status"] == "done")
        events, self._events = self._events + [("end", job.index, result)], []
        return events

    def cancel(self):
        self._queue.clear()
        events, self._events = self._events, []
        return events

    def close(self):
        pass


@dataclass
class Failure:
    path: Path
    reason: str


@dataclass
class BatchResult:
    """What a batch did: ``failures`` (a :class:`Failure` per file), files ``done``,
    ``skipped`` (done before, by the manifest) and whether it was ``interrupted``."""

    done: int = 0
    skipped: int = 0
    failures: list = field(default_factory=list)
    interrupted: bool = False

    @property
    def exit_code(self):
        return 130 if self.interrupted else 1 if self.failures else 0


def process_batch(inputs, output, chain, settings=Settings(), *, jobs=1, cluster=None, retries=2, manifest=None,
                  force=False, stream=None, tty=None):
    """Filter every input into ``output`` (see :func:`~camfx.files.process.plan`); a file that
    fails does not stop the others.

    Parameters
    ----------
    chain : ChainSpec or Chain
        A Chain object runs only in this process (``jobs=1``, no cluster).
    jobs : int
        Worker processes on this machine; each gets an equal share of its cores.
    cluster : str, optional
        A Dask scheduler's address, or ``"local"`` for a LocalCluster sized to this machine.
    retries : int
        How many times a file whose worker died is tried again, elsewhere.
    manifest : path, optional
        The JSON Lines record of finished files (default: ``camfx-manifest.jsonl`` in the output
        folder; none for a single output file). Files done before with the same input, chain,
        settings and output are skipped, unless ``force``, which also replaces outputs.

    Returns a :class:`BatchResult`. Prints per-file results, progress and, for several inputs,
    a summary to ``stream`` (default stderr). Ctrl-C (or SIGTERM) cancels the files not yet
    done; running ones stop and leave no partial file.
    """
    stream = stream if stream is not None else sys.stderr
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise CamfxError(f"--jobs must be a positive number of worker processes, got {jobs!r}")
    if not isinstance(retries, int) or retries < 0:
        raise CamfxError(f"--retries must be 0 or more, got {retries!r}")
    if isinstance(chain, Chain) and (jobs > 1 or cluster):
        raise ValueError("worker processes need the chain as a ChainSpec, not a built Chain")
    pairs = plan(inputs, output)
    into_folder = pairs[0][1] != Path(output)
    if into_folder:
        Path(output).mkdir(parents=True, exist_ok=True)
    built = chain if isinstance(chain, Chain) else chain.build()  # a bad spec fails here, before any work
    if force:
        settings = replace(settings, overwrite=True)
    encoding = {"codec": settings.codec, "crf": settings.crf, "preset": settings.preset}
    # What else changes the pictures, when not the default (so that older records still match).
    encoding.update({key: getattr(settings, key) for key in ("background", "deinterlace")
                     if getattr(settings, key) != getattr(Settings, key)})
    manifest_path = manifest if manifest is not None else Path(output) / FILE_NAME if into_folder else None

    clashes = _inputs_at_outputs(pairs)
    todo, recipes, result = [], {}, BatchResult()
    book = Manifest(manifest_path) if manifest_path is not None else None
    for index, (src, dst) in enumerate(pairs):
        recipe = Recipe.of(src, dst, repr(built), encoding)
        if book is not None and not force and book.finished(recipe):
            result.skipped += 1
            continue
        recipes[index] = recipe
        todo.append(Job(index, str(src), str(dst), built if isinstance(chain, Chain) else chain, settings,
                        tuple(clashes.get(dst, ()))))
    for folder, names in _by_folder(pairs).items():
        parts.sweep(folder, names)  # part files of an earlier run that was killed outright
    if result.skipped:
        print(f"camfx: {result.skipped} of {plural(len(pairs), 'file')} done before (as {manifest_path} says), skipped; "
              "--force redoes them", file=stream, flush=True)
    if not todo:
        if book is not None:
            book.close()
        return result
    coordinator = _Coordinator(todo, recipes, book, retries, len(pairs), stream, tty)
    try:
        coordinator.run(lambda: _executor(jobs, cluster, settings, coordinator), result)
    finally:
        if book is not None:
            book.close()
    return result


def _executor(jobs, cluster, settings, coordinator):
    if cluster:
        from .cluster import DaskExecutor
        return DaskExecutor(cluster)
    if jobs > 1:
        from .pool import WorkerPool
        return WorkerPool(jobs, threads=max(1, cores() // jobs))
    return Inline(coordinator.progress_for)


def _inputs_at_outputs(pairs):
    """For each output that is one of the inputs (same path, other spelling, a hard link), those
    inputs; found in one pass over the inputs, not one per output."""
    by_identity = {}
    for src, _ in pairs:
        try:
            stat = os.stat(src)
            by_identity.setdefault((stat.st_dev, stat.st_ino), []).append(str(src))
        except OSError:
            pass
    clashes = {}
    for _, dst in pairs:
        try:
            stat = os.stat(dst)
        except OSError:
            continue
        same = by_identity.get((stat.st_dev, stat.st_ino), [])
        if same:
            clashes[dst] = [s for s in same if same_file(s, dst)]
    return clashes


def _by_folder(pairs):
    folders = {}
    for _, dst in pairs:
        folders.setdefault(dst.parent, []).append(dst.name)
    return folders


class _Interrupts:
    """Ctrl-C and SIGTERM as KeyboardInterrupt, but only inside ``allowed()`` blocks (waiting for
    events, or running a file in this process); one that comes while the books are being kept
    (a manifest line written, a count not yet raised) waits for the next such block, so that
    what the summary says and what the manifest holds agree. Outside the main thread: no change."""

    def __init__(self):
        self._allowed = False
        self._pending = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def _handle(self, signum, frame):
        if self._allowed:
            raise KeyboardInterrupt(f"signal {signum}")
        self._pending = signum

    @contextlib.contextmanager
    def allowed(self):
        if self._pending is not None:
            raise KeyboardInterrupt(f"signal {self._pending}")
        self._allowed = True
        try:
            yield
        finally:
            self._allowed = False


class _Coordinator:
    """Hands the jobs to an executor and keeps the books: retries, the manifest, the progress
    display, the per-file lines and the summary."""

    def __init__(self, jobs, recipes, book, retries, planned, stream, tty):
        self.jobs = {job.index: job for job in jobs}
        self.recipes, self.book, self.retries = recipes, book, retries
        self.planned, self.stream, self.tty = planned, stream, tty
        self.attempts = {index: 0 for index in self.jobs}
        self.where = {}
        self.open = set(self.jobs)  # not finished yet
        self.single = planned == 1
        self.display = None if self.single else BatchProgress(len(jobs), stream=stream, tty=tty)

    def progress_for(self, job):
        """The progress object of a job run in this process."""
        if self.single:
            return Progress(job.src, stream=self.stream, tty=self.tty)
        return WorkerProgress(job.index, lambda kind, *payload: self.handle((kind, *payload)))

    def say(self, line):
        if self.display is not None:
            self.display.write(line)
        else:
            print(line, file=self.stream, flush=True)

    def run(self, make_executor, result):
        self.result = result
        executor = None
        interrupts = _Interrupts()
        try:
            with interrupts:
                with interrupts.allowed():
                    executor = make_executor()
                for job in self.jobs.values():
                    self._submit(executor, job)
                while self.open:
                    with interrupts.allowed():
                        events = executor.poll(0.2)
                    for event in events:
                        self.handle(event, executor)
                    if self.display is not None:
                        self.display.tick()
        except KeyboardInterrupt:
            result.interrupted = True
            if executor is not None:
                for event in executor.cancel():
                    self.handle(event, executor)
        finally:
            if executor is not None:
                executor.close()
            for folder, names in _by_folder([(None, Path(self.jobs[i].dst)) for i in self.open]).items():
                parts.sweep(folder, names)  # files whose worker was killed, or never came back
            if self.display is not None:
                self.display.close()
        self._summary()

    def _submit(self, executor, job):
        self.attempts[job.index] += 1
        executor.submit(job)

    def handle(self, event, executor=None):
        kind, index, *payload = event
        job = self.jobs[index]
        if index not in self.open:
            return  # a late event of a finished file
        if kind == "start":
            self.where[index] = payload[0]
        elif kind == "frames":
            if self.display is not None:
                self.display.frames(index, *payload)
        elif kind == "say":
            self.say(payload[0])
        elif kind == "end" and payload[0]["status"] == "cancelled" and not self.result.interrupted:
            self.handle(("lost", index, "its worker was interrupted"), executor)  # by a signal of its own
        elif kind == "end":
            self._end(job, payload[0])
        elif kind == "lost":
            if self.display is not None:
                self.display.lost(index)
            parts.sweep(Path(job.dst).parent, [Path(job.dst).name])  # its worker's part file
            if self.result.interrupted:
                return  # not written, as the files that were cancelled
            tries = self.attempts[index]
            if tries <= self.retries:
                self.say(f"camfx: warning: {job.src}: {payload[0]}; trying again ({tries + 1} of {self.retries + 1})")
                self._submit(executor, job)
            else:
                self._end(job, {"status": "failed", "error": f"{job.src}: {payload[0]}"
                                + (f" (tried {tries} times)" if tries > 1 else "")})

    def _end(self, job, outcome):
        status = outcome.get("status")
        if status == "cancelled":
            return  # interrupted: not finished, no line in the manifest
        self.open.discard(job.index)
        frames, seconds = outcome.get("frames"), outcome.get("seconds")
        if self.book is not None:
            self.book.append(self.recipes[job.index], status=status, frames=frames, seconds=seconds,
                             error=outcome.get("error"), attempts=self.attempts[job.index],
                             worker=outcome.get("worker") or self.where.get(job.index))
        if self.display is not None:
            self.display.finished(job.index, status == "done", frames)
        if status == "done":
            self.result.done += 1
            self.say(f"camfx: wrote {job.dst} ({plural(frames, 'frame')} in {seconds:.1f} s)")
        else:
            self.result.failures.append(Failure(Path(job.src), outcome["error"]))
            self.say(f"camfx: error: {outcome['error']}")

    def _summary(self):
        result, out = self.result, self.stream
        if result.interrupted:
            left = [self.jobs[i].dst for i in sorted(self.open)]
            if len(left) == 1:
                print(f"camfx: interrupted: {left[0]} not written", file=out, flush=True)
            elif left:
                print(f"camfx: interrupted: {plural(len(left), 'file')} not written", file=out, flush=True)
        if self.planned > 1:
            failed = len(result.failures)
            line = f"camfx: {result.done + result.skipped} of {plural(self.planned, 'file')} processed"
            if result.skipped:
                line += f" ({result.skipped} before)"
            print(line + (f", {failed} failed:" if failed else ""), file=out, flush=True)
            for failure in result.failures:
                print(f"camfx:   {failure.reason}", file=out, flush=True)
