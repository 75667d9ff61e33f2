"""Commands: the one door through which every front end (keys, the web API) steers a live loop.

A front end calls a method from any thread and gets a :class:`concurrent.futures.Future`. What
can be checked at once is checked in the caller's thread: a bad chain spec, an unknown filter or
a bad parameter raises ``ValueError`` right there, with the message the command line gives, and
nothing changes. New filters are built and made ready (tuned, kernels loaded) in the caller's
thread too, so that the loop never waits for a compile. The change itself is queued and made by
the loop between two frames (:meth:`Commands.run_pending`), never in the middle of one; the
future then holds the result, or the ``ValueError`` of a command that no longer fits (say, a
filter index past the end of a chain that changed meanwhile).

The loop is the *target*: it has a ``chain`` and a method ``on_<command>`` per command, called
in the loop's thread with the command's arguments.
"""
import concurrent.futures
import queue

from ..engine.chain import Chain, parse_chain


class Commands:
    """Queue of commands for ``target`` (a live loop), made between frames.

    ``registry`` builds filters from specs (default: the installed plugins); ``prepare(chain)``,
    if given, readies a new chain for the loop's frames before it is swapped in (the loop's
    tune-and-warm).
    """

    def __init__(self, target, registry=None, prepare=None):
        self._target = target
        self._registry = registry
        self._prepare = prepare or (lambda chain: None)
        self._pending = queue.SimpleQueue()
        self.closed = False

    # -- front ends (any thread) ---------------------------------------------------------------

    def toggle(self, index):
        """Switch filter ``index`` (from 0) on or off; the future's result is its new state."""
        return self._submit("toggle", _index(index))

    def replace_chain(self, spec):
        """Replace the whole chain with the filters of ``spec`` (``"blur(ksize=9),edge"``, or a
        list as config.toml has it); the future's result is the new chain. Raises ValueError at
        once for a bad spec."""
        chain = parse_chain(spec, self._registry)
        self._prepare(chain)
        return self._submit("replace_chain", chain)

    def set_parameter(self, index, name, value):
        """Rebuild filter ``index`` with parameter ``name`` set to ``value`` (the others kept);
        the future's result is the new filter. Raises ValueError at once when the index, the
        name or the value is bad."""
        index = _index(index)
        chain = self._target.chain
        if index >= len(chain):
            raise ValueError(f"no filter at position {index}; the chain has {len(chain)}")
        current = chain.filters[index]
        params = {p.name: getattr(current, p.name) for p in current.parameters() if hasattr(current, p.name)}
        params[name] = value
        # The registry refuses an unknown name or a bad value with the command line's own message.
        replacement = self._registry_or_default().create(current.name, params)
        self._prepare(Chain([replacement]))
        return self._submit("set_filter", index, current, replacement)

    def pause(self, paused=None):
        """Pause (True), resume (False) or toggle (None); the future's result is the new state."""
        return self._submit("pause", paused)

    def snapshot(self):
        """Save the newest filtered frame; the future's result is the path written."""
        return self._submit("snapshot")

    def record(self, on=None):
        """Start (True) or stop (False) recording, or toggle (None); the future's result is the
        recording's path (None once stopped)."""
        return self._submit("record", on)

    def quit(self):
        """End the live loop after the current frame."""
        return self._submit("quit")

    # -- the loop (its own thread) ---------------------------------------------------------------

    def run_pending(self):
        """Make every queued change, in order; called by the loop between two frames."""
        while True:
            try:
                name, args, future = self._pending.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(getattr(self._target, f"on_{name}")(*args))
            except Exception as error:  # a command that no longer fits is refused, the loop goes on
                future.set_exception(error)

    def close(self):
        """Refuse commands from now on and fail the ones still queued (the loop has ended)."""
        self.closed = True
        while True:
            try:
                _, _, future = self._pending.get_nowait()
            except queue.Empty:
                return
            if future.set_running_or_notify_cancel():
                future.set_exception(RuntimeError("the live loop has ended"))

    def _submit(self, name, *args):
        future = concurrent.futures.Future()
        if self.closed:
            future.set_exception(RuntimeError("the live loop has ended"))
        else:
            self._pending.put((name, args, future))
            if self.closed:  # closed meanwhile: fail what close() did not see
                self.close()
        return future

    def _registry_or_default(self):
        if self._registry is None:
            from ..engine.registry import Registry
            self._registry = Registry.discover()
        return self._registry


def _index(index):
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ValueError(f"a filter position must be a whole number from 0, got {index!r}")
    return index
