"""Filter chains: ``"blur(ksize=9),emboss,edge"`` parsed into filters applied in order."""
import ast
import contextlib
import sys
import threading
import time

import numba
import numpy as np

from ..errors import CamfxError, PluginError
from .filter import Filter, apply_into, check_frame, check_result
from .registry import origin_of
from ..kernels.scratch import scratch


def parse_spec(spec):
    """Split a chain spec into ``[(name, params), ...]``.

    ``spec`` is a string such as ``"blur(ksize=9), emboss, kernel(matrix=[[0,1],[1,0]])"``, with
    parameters as Python literals, or a list of such strings or of tables
    ``{"name": "blur", "ksize": 9}`` (the form config.toml may use).
    """
    if isinstance(spec, str):
        return _parse_string(spec)
    if isinstance(spec, (list, tuple)):
        steps = []
        for item in spec:
            if isinstance(item, str):
                steps.extend(_parse_string(item))
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                params = {k: v for k, v in item.items() if k != "name"}
                steps.append((item["name"], params))
            else:
                raise ValueError(f"malformed chain step {item!r}: expected a spec string or a table with a 'name'")
        return steps
    raise ValueError(f"a chain must be a spec string or a list of steps, got {type(spec).__name__}")


def _parse_string(spec):
    if not spec.strip():
        return []
    try:
        tree = ast.parse(spec.strip(), mode="eval").body
    except SyntaxError as error:
        raise ValueError(f"malformed filter chain {spec!r}: {error.msg}") from None
    nodes = tree.elts if isinstance(tree, ast.Tuple) else [tree]
    return [_parse_step(node, spec) for node in nodes]


def _parse_step(node, spec):
    if isinstance(node, ast.Name):
        return node.id, {}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if node.args:
            raise ValueError(f"{name}: parameters must be given by name, e.g. {name}(ksize=9), in {spec!r}")
        params = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise ValueError(f"{name}: '**' is not allowed in a chain spec, in {spec!r}")
            try:
                params[keyword.arg] = ast.literal_eval(keyword.value)
            except ValueError:
                value = ast.get_source_segment(spec.strip(), keyword.value)
                raise ValueError(f"{name}: {keyword.arg}={value} is not a literal (number, string or list)") from None
        return name, params
    text = ast.get_source_segment(spec.strip(), node)
    raise ValueError(f"malformed filter {text!r} in {spec!r}: expected name or name(key=value, ...)")


class Chain:
    """Filters applied in order; each can be switched off without rebuilding the chain.

    The chain owns one buffer per step and frame shape (per calling thread) for the intermediate
    results, so a steady stream of frames allocates nothing but the final result, and nothing at
    all when the caller passes ``out``. ``variants`` and ``threads`` per step are what
    :meth:`tune` chose (``None``: the filter's default, numba's thread count).
    """

    def __init__(self, filters):
        self.filters = list(filters)
        self.enabled = [True] * len(self.filters)
        self.threads = [None] * len(self.filters)
        self._local = threading.local()
        self._checked_shapes = set()

    def __call__(self, frame, timings=None, *, out=None):
        """Filter one uint8 frame. With a ``timings`` list, append each filter's seconds (0 when off).

        The result is a new array, or ``out`` (a C-contiguous uint8 array of the frame's shape)
        when given; intermediate results live in buffers the chain reuses.
        """
        frame = check_frame(frame)
        if frame.shape not in self._checked_shapes:
            self._checked_shapes.add(frame.shape)
            announce_compilation(self)
        last = max((i for i, on in enumerate(self.enabled) if on), default=None)
        for i, (f, on) in enumerate(zip(self.filters, self.enabled)):
            start = time.perf_counter()
            if on:
                frame = self._step(i, f, frame, out if i == last else self._buffer(i, frame))
            if timings is not None:
                timings.append(time.perf_counter() - start)
        if out is not None and last is None:
            np.copyto(out, frame)
            return out
        return frame

    def _step(self, i, f, frame, target):
        try:
            with numba_threads(self.threads[i]):
                if target is None:
                    return check_result(f, frame, f.apply(frame))
                return apply_into(f, frame, target)
        except CamfxError:
            raise
        except Exception as error:  # a plugin's bug: one line naming it, not a traceback
            raise PluginError(f"filter {f.name!r} from {origin_of(f)} failed on a {frame.shape} frame: "
                              f"{type(error).__name__}: {error}") from error

    def _buffer(self, i, frame):
        return scratch(i, frame.shape, np.dtype(np.uint8), store=self._local)

    def warm(self, frame):
        """Run each filter once on ``frame`` (a blank one of the right size will do), so that the
        first real frame does not wait for kernels to load. A filter that is not ``stateless``
        is run only if it can :meth:`~camfx.Filter.reset` afterwards (what it remembers must
        start with the first real frame); otherwise it is left out."""
        for f in self.filters:
            if f.stateless:
                f(frame)
            elif type(f).reset is not Filter.reset:
                f(frame)
                f.reset()

    @property
    def economies(self):
        """The cheaper ways of working the chain's filters offer, in chain order, each as
        ``"filter: what"`` (see :attr:`camfx.Filter.economies`)."""
        return [f"{f.name}: {what}" for f in self.filters for what in f.economies]

    def economize(self, level):
        """Apply the first ``level`` of :attr:`economies` (and undo the rest)."""
        for f in self.filters:
            take = min(level, len(f.economies))
            if f.economies and f.economy != take:
                f.economize(take)
            level -= take

    def toggle(self, index):
        """Switch the filter at ``index`` on or off; return its new state."""
        self.enabled[index] = not self.enabled[index]
        return self.enabled[index]

    def tune(self, frame, **options):
        """Pick the fastest variant and thread count of each filter for frames like ``frame``
        (timed now, or reused from the on-disk cache); see :func:`camfx.engine.autotune.autotune`."""
        from .autotune import autotune
        return autotune(self, frame, **options)

    def reference(self):
        """The chain done with its filters' own references (:meth:`Filter.reference`), step by
        step, as ``ref(frame) -> frame``; None when a filter that is on states none."""
        references = [f.reference() for f, on in zip(self.filters, self.enabled) if on]
        if any(r is None for r in references):
            return None

        def run(frame, dst=None):
            for reference in references:
                frame = reference(frame)
            return frame
        return run

    def __len__(self):
        return len(self.filters)

    def __iter__(self):
        return iter(self.filters)

    def __repr__(self):
        return ",".join(repr(f) for f in self.filters) or "(no filters)"


@contextlib.contextmanager
def numba_threads(count):
    """Run the block with numba's parallel kernels on ``count`` threads (in this thread only;
    None leaves the count as it is)."""
    if count is None:
        yield
        return
    before = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def announce_compilation(chain, stream=None):
    """Say on stderr, in one line, that numba is about to compile the chain's kernels (a cold
    start takes seconds), when any of them has no on-disk cache yet. Returns how many."""
    from ..kernels.codegen import is_cached
    missing = {id(d): d for f in chain.filters for d in getattr(f, "compiled", lambda: [])()
               if not is_cached(d)}
    if missing:
        seconds = max(1, round(2.5 * len(missing)))  # ~2.5 s per parallel kernel on 2 cores
        print(f"camfx: compiling filters (first run, ~{seconds} s)...", file=stream or sys.stderr, flush=True)
    return len(missing)


def parse_chain(spec, registry=None):
    """Build a callable :class:`Chain` from a spec such as ``"blur(ksize=9),emboss,edge"``.

    Filters come from ``registry`` (default: the installed ``camfx.filters`` entry points).
    Unknown filters, unknown or ill-typed parameters and malformed specs raise ValueError.
    """
    if registry is None:
        from .registry import Registry
        registry = Registry.discover()
    return Chain(registry.create(name, params) for name, params in parse_spec(spec))
