"""Stages in threads joined by bounded queues, so that decoding, filtering and encoding overlap.

>>> with Pipeline(range(5), [lambda x: x * 10]) as results:
...     list(results)
[0, 10, 20, 30, 40]

The source is iterated in one thread, each stage runs in its own thread, and the caller consumes
the results in its thread. An exception in any thread (KeyboardInterrupt included) ends the
pipeline and is raised to the caller; leaving the ``with`` block, normally or not, stops and
joins every thread.
"""
import queue
import threading

_END = object()
# How often a blocked thread looks at the stop flag, in seconds.
_POLL = 0.05


class _Failed:
    """An exception travelling downstream from the thread it was raised in."""

    def __init__(self, error):
        self.error = error


class Pipeline:
    """Run ``source`` and ``stages`` (functions of one item) in threads; iterate to get the results.

    ``maxsize`` bounds each queue, so a fast stage waits for a slow one instead of filling memory.
    """

    def __init__(self, source, stages, *, maxsize=4, join_timeout=10.0):
        self._stop = threading.Event()
        self._join_timeout = join_timeout
        queues = [queue.Queue(maxsize) for _ in range(len(stages) + 1)]
        self._threads = [threading.Thread(target=self._pump, args=(source, queues[0]), name="camfx-source",
                                          daemon=True)]
        for i, stage in enumerate(stages):
            items = self._drain(queues[i])
            self._threads.append(threading.Thread(target=self._pump, args=(map(stage, items), queues[i + 1]),
                                                  name=f"camfx-stage-{i + 1}", daemon=True))
        self._results = self._drain(queues[-1])

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self._results

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """Tell every thread to stop and wait for them (threads are daemons should one hang in C)."""
        self._stop.set()
        for thread in self._threads:
            if thread.ident is not None:
                thread.join(self._join_timeout)

    def _pump(self, items, out):
        try:
            for item in items:
                if not self._put(out, item):
                    return
            self._put(out, _END)
        except BaseException as error:  # noqa: B036 - carried to the consumer, which raises it
            self._put(out, _Failed(error))
        finally:
            close = getattr(items, "close", None)
            if close is not None:  # finish a generator source in its own thread (its files close here)
                close()

    def _put(self, q, item):
        while not self._stop.is_set():
            try:
                q.put(item, timeout=_POLL)
                return True
            except queue.Full:
                pass
        return False

    def _drain(self, q):
        while True:
            try:
                item = q.get(timeout=_POLL)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
