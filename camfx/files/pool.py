"""``camfx process --jobs N``: N worker processes on this machine, one file at a time each.

Why not ``concurrent.futures.ProcessPoolExecutor``: when one of its workers dies (killed, out of
memory), it fails every file in progress and shuts the others down (``BrokenProcessPool``), so
one bad file would cost the work of all the others. Here each worker has a pipe of its own: the
file a dead worker held is known exactly, only that file is retried (by a fresh worker), and the
same pipe carries the file's progress and a request to stop. For many machines, use Dask
(:mod:`camfx.files.cluster`).

Workers are started with ``spawn`` (a fresh interpreter: forking a process that runs threads
is unsafe), and each gets ``threads`` cores' worth of numba and encoder threads.
"""
import multiprocessing
import os
import signal
import time
from dataclasses import replace
from multiprocessing.connection import wait

# How long cancel() waits for running files to clean up before it kills their workers, seconds.
CANCEL_TIMEOUT = 10.0


class WorkerPool:
    """Up to ``workers`` processes running :func:`camfx.files.batch.run_job`; see the module's
    text and :mod:`camfx.files.batch` for the events."""

    def __init__(self, workers, threads):
        self.size, self.threads = workers, threads
        self._context = multiprocessing.get_context("spawn")
        self._queue = []
        self._workers = []  # _Worker
        self._events = []

    def submit(self, job):
        self._queue.append(replace(job, settings=replace(job.settings, threads=self.threads)))

    def poll(self, timeout):
        self._dispatch()
        workers = list(self._workers)
        if workers:
            ready = wait([w.conn for w in workers] + [w.process.sentinel for w in workers], timeout)
            for worker in workers:
                if worker.conn in ready or worker.process.sentinel in ready:
                    self._read(worker)
        else:
            time.sleep(timeout)
        events, self._events = self._events, []
        return events

    def _dispatch(self):
        while self._queue:
            idle = next((w for w in self._workers if w.job is None), None)
            if idle is None and len(self._workers) < self.size:
                idle = _Worker(self._context)
                self._workers.append(idle)
            if idle is None:
                return
            idle.give(self._queue.pop(0))

    def _read(self, worker):
        try:
            while worker.conn.poll():
                event = worker.conn.recv()
                self._events.append(event)  # first: a Ctrl-C from here on loses no event
                if event[0] == "end":
                    worker.job = None
        except (EOFError, OSError):
            pass
        if not worker.process.is_alive():
            self._bury(worker)

    def _bury(self, worker):
        worker.process.join()
        worker.conn.close()
        self._workers.remove(worker)
        if worker.job is not None:
            self._events.append(("lost", worker.job.index, f"its worker, {worker.name}, died ({_death(worker.process.exitcode)})"))

    def cancel(self):
        """Drop the queue, ask the running files to stop, wait for them to clean up (killing a
        worker that does not answer in ``CANCEL_TIMEOUT``); return the last events."""
        self._queue.clear()
        for worker in self._workers:
            if worker.job is not None:
                worker.ask("cancel")
        deadline = time.monotonic() + CANCEL_TIMEOUT
        while any(w.job is not None for w in self._workers) and time.monotonic() < deadline:
            try:
                self.poll(0.1)
            except KeyboardInterrupt:
                break  # a second Ctrl-C: stop waiting
        for worker in list(self._workers):
            if worker.job is not None:
                worker.process.kill()  # its part file is swept once the lock is released
                self._bury(worker)
        events, self._events = self._events, []
        return events

    def close(self):
        """Stop every worker and wait for them."""
        for worker in self._workers:
            worker.ask(None)
        for worker in self._workers:
            worker.process.join(CANCEL_TIMEOUT)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers.clear()


class _Worker:
    def __init__(self, context):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_work, args=(child,), name="camfx-worker", daemon=True)
        self.process.start()
        child.close()
        self.name = f"pid {self.process.pid}"
        self.job = None

    def give(self, job):
        self.job = job
        self.ask(job)

    def ask(self, message):
        try:
            self.conn.send(message)
        except (BrokenPipeError, OSError):
            pass  # it died: poll() finds out


def _work(conn):
    """A worker process: jobs in, events out, until told to stop (None) or interrupted."""
    interrupt = _Once()
    signal.signal(signal.SIGINT, interrupt)  # Ctrl-C on the terminal reaches every worker too
    signal.signal(signal.SIGTERM, interrupt)
    from .batch import WorkerProgress, run_job, setup_worker

    where = f"pid {os.getpid()}"
    try:
        setup_worker()
        while (job := conn.recv()) is not None:
            if job == "cancel":
                continue  # for a file that had just finished
            conn.send(("start", job.index, where))
            progress = WorkerProgress(job.index, lambda *event: conn.send(event), lambda: _asked_to_stop(conn))
            try:
                result = run_job(job, progress, where)
            except KeyboardInterrupt:
                conn.send(("end", job.index, {"status": "cancelled"}))
                if interrupt.fired:
                    return  # a signal, not the coordinator's request: this process is going away
                continue
            conn.send(("end", job.index, result))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return  # interrupted while waiting, or the coordinator is gone


def _asked_to_stop(conn):
    return conn.poll() and conn.recv() == "cancel"


class _Once:
    """A signal handler that raises KeyboardInterrupt the first time only, so that a second
    signal (Ctrl-C on the terminal and the coordinator's SIGTERM) cannot cut the clean-up short."""

    def __init__(self):
        self.fired = False

    def __call__(self, signum, frame):
        if not self.fired:
            self.fired = True
            raise KeyboardInterrupt(f"signal {signum}")


def _death(exitcode):
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"
