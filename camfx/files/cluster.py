"""``camfx process --cluster ADDRESS``: one Dask task per file, on a distributed scheduler.

Dask (``pip install camfx[cluster]``) places the tasks, watches the workers and notices one
that dies; camfx adds what is particular to video files (see :mod:`camfx.files.batch`): the
same :func:`~camfx.files.batch.run_job` as every other executor, progress events from the
workers (Dask's structured events, ``Worker.log_event``), and a cooperative stop (a Dask
``Event``), because Dask cannot interrupt a task that is running and a file must not be left
half written.

``--cluster local`` starts a ``LocalCluster`` on this machine: one single-threaded worker
process per core, no dashboard. Any other address is a running scheduler
(``tcp://host:8786``) whose workers have camfx installed and reach the inputs and outputs at
the same paths.
"""
import logging
import subprocess
import sys
import os
import queue
import secrets
from dataclasses import replace

from ..errors import CamfxError

INSTALL = "--cluster needs Dask's distributed scheduler: pip install 'camfx[cluster]'"
# How long to wait for the first worker of a scheduler, and for running files to stop, seconds.
WORKER_TIMEOUT = 60.0
CANCEL_TIMEOUT = 15.0
# No dashboard, and the scheduler's small HTTP server (health checks) on a free port rather than
# 8787, which another cluster on the machine may hold.
NO_DASHBOARD = {"dashboard": False, "dashboard_address": ":0"}


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise CamfxError(INSTALL) from None
    return distributed


class DaskExecutor:
    """Files as Dask tasks; see :mod:`camfx.files.batch` for the executor's methods and events.

    A worker that dies with a file makes Dask give up on that task at once (its own retries are
    off for a local cluster, ``allowed-failures = 0``), and camfx retries the file itself, so
    ``--retries`` counts every try. A scheduler of your own keeps its own setting: each of
    camfx's tries is then up to ``1 + allowed-failures`` of Dask's.
    """

    def __init__(self, address, *, workers=None):
        distributed = _import_distributed()
        self._distributed = distributed
        self._cluster = self.client = None
        try:
            self._connect(address, workers)
        except BaseException:
            self.close()
            raise

    def _connect(self, address, workers):
        distributed = self._distributed
        if address == "local":
            self._cluster = LocalCluster(workers)
            address = self._cluster.address
            self.client = distributed.Client(address)
        else:
            try:
                self.client = distributed.Client(address, timeout=10)
            except (OSError, TimeoutError, ValueError) as error:
                raise CamfxError(f"{address}: cannot reach a Dask scheduler ({error})") from None
            try:
                self.client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
            except TimeoutError:
                raise CamfxError(f"{address}: the scheduler has no workers (waited {WORKER_TIMEOUT:.0f} s)") from None
        self.address = address if self._cluster is None else "the local cluster"
        self._id = secrets.token_hex(4)
        self._topic = f"camfx-{self._id}"
        self._stop = distributed.Event(f"camfx-stop-{self._id}", client=self.client)
        self._events = queue.Queue()
        self._taken = []
        self._futures = {}  # index -> the current Future
        self._where = {}  # index -> the worker that started it
        self._budgets = self._thread_budgets()
        self.client.subscribe_topic(self._topic, lambda event: self._events.put(tuple(event[1])))

    def _thread_budgets(self):
        """Cores per task on each host: its cores shared by all the task threads of its workers."""
        try:
            facts = self.client.run(_worker_facts)
        except Exception as error:  # e.g. camfx is not installed on the workers
            raise CamfxError(f"{self.address}: the Dask workers cannot run camfx ({type(error).__name__}: {error}); "
                             "install camfx, the same version, on every worker") from None
        threads, host_cores = {}, {}
        for address, info in self.client.scheduler_info()["workers"].items():
            host = info.get("host")
            threads[host] = threads.get(host, 0) + info.get("nthreads", 1)
            host_cores[host] = facts.get(address, {}).get("cores", 1)
        return {host: max(1, host_cores[host] // threads[host]) for host in threads}

    def submit(self, job):
        job = replace(job, src=os.path.abspath(job.src), dst=os.path.abspath(job.dst))
        future = self.client.submit(run_task, job, self._budgets, self._topic, self._stop.name,
                                    key=f"camfx-{job.index}-{secrets.token_hex(4)}", pure=False)
        self._futures[job.index] = future
        future.add_done_callback(lambda f, index=job.index: self._events.put(("done", index, f)))

    def poll(self, timeout):
        # Items taken off the queue wait in _taken until translated, so that a Ctrl-C in between
        # loses none of them (cancel() returns them).
        try:
            self._taken.append(self._events.get(timeout=timeout))
            while True:
                self._taken.append(self._events.get_nowait())
        except queue.Empty:
            pass
        taken, self._taken = self._taken, []
        return [e for e in map(self._translate, taken) if e is not None]

    def _translate(self, event):
        kind, index, *payload = event
        if kind == "start":
            self._where[index] = payload[0]
        if kind == "end":
            future = self._futures.pop(index, None)
            if future is not None:
                future.cancel()  # the result is in: Dask need not keep it (nor compute it again)
        if kind != "done":
            return event
        future = payload[0]
        if future is not self._futures.get(index):
            return None  # an earlier try
        del self._futures[index]
        if future.status == "finished":
            return ("end", index, future.result())
        if future.status == "cancelled":
            return ("end", index, {"status": "cancelled"})
        error = future.exception()
        if isinstance(error, self._distributed.KilledWorker):
            where = self._where.get(index)
            return ("lost", index, f"its Dask worker{', ' + where + ',' if where else ''} died")
        return ("end", index, {"status": "failed", "error": f"{type(error).__name__}: {error}"})

    def cancel(self):
        """Tell running files to stop, cancel the rest, wait for the running ones to clean up."""
        self._stop.set()
        waiting = {i: f for i, f in self._futures.items() if i not in self._where}
        self.client.cancel(list(waiting.values()))
        running = [f for i, f in self._futures.items() if i in self._where]
        try:
            self._distributed.wait(running, timeout=CANCEL_TIMEOUT)
        except (TimeoutError, KeyboardInterrupt):
            pass
        return self.poll(0.1)

    def close(self):
        if self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def run_task(job, budgets, topic, stop_name):
    """One file, as a task on a Dask worker: :func:`~camfx.files.batch.run_job` with this
    worker's share of its host's cores, progress sent as events under ``topic``, stopping when
    the Event ``stop_name`` is set."""
    import distributed

    from .batch import WorkerProgress, cores, run_job, setup_worker

    worker = distributed.get_worker()
    host = worker.address.split("://")[-1].rsplit(":", 1)[0]
    threads = budgets.get(host) or max(1, cores() // worker.state.nthreads)
    job = replace(job, settings=replace(job.settings, threads=threads))
    stop = distributed.Event(stop_name)
    if stop.is_set():
        return {"status": "cancelled"}
    setup_worker()

    def report(kind, *payload):
        worker.log_event(topic, [kind, *payload])

    report("start", job.index, worker.address)
    try:
        result = run_job(job, WorkerProgress(job.index, report, stop.is_set), worker.address)
    except KeyboardInterrupt:
        return {"status": "cancelled"}
    # Also as an event, which reaches the coordinator even if this worker dies before the
    # coordinator fetched the task's result (Dask would then run the task again).
    report("end", job.index, result)
    return result


def _worker_facts():
    from .batch import cores
    return {"cores": cores()}


class LocalCluster:
    """``--cluster local``: a Dask ``LocalCluster`` sized to this machine (a single-threaded
    worker process per core, no dashboard), run by a helper process in a session of its own.

    In a session of its own, because Ctrl-C on the terminal reaches every process of the
    terminal's group: a worker that takes it while it starts or in its event loop prints a
    traceback and drops its file. The workers of a real cluster never see the user's Ctrl-C
    either; the coordinator stops the files itself. The helper stops its cluster when its
    standard input closes, so the cluster also goes when this process dies.
    """

    def __init__(self, workers=None):
        from .batch import cores
        self._helper = subprocess.Popen([sys.executable, "-m", __name__, str(workers or cores())],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
                                        text=True)
        try:
            self.address = self._helper.stdout.readline().strip()
        except BaseException:
            self.close()
            raise
        if not self.address:
            self.close()
            raise CamfxError("the local Dask cluster failed to start")

    def close(self):
        if self._helper.poll() is None:
            self._helper.stdin.close()  # the helper closes its cluster and exits
            try:
                self._helper.wait(CANCEL_TIMEOUT)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                self._helper.kill()  # its workers exit with it (they watch their parent)
                self._helper.wait()
        self._helper.stdout.close()


def _serve_local_cluster(workers):
    """The helper of :class:`LocalCluster`: start it, print the scheduler's address, keep it
    until standard input closes."""
    import dask
    import distributed
    # A worker that dies fails its task at once (camfx retries the file itself), and each worker
    # holds one task at a time, so that a worker that dies takes only its own file with it.
    settings = {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(settings):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.CRITICAL,
                                           scheduler_kwargs=NO_DASHBOARD)
    with cluster:
        print(cluster.scheduler_address, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    _serve_local_cluster(int(sys.argv[1]))
