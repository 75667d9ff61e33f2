"""Filter chains: ``"blur(ksize=9),emboss,edge"`` parsed into filters applied in order."""
import ast
import time

from .filter import check_frame


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
    """Filters applied in order; each can be switched off without rebuilding the chain."""

    def __init__(self, filters):
        self.filters = list(filters)
        self.enabled = [True] * len(self.filters)

    def __call__(self, frame, timings=None):
        """Filter one uint8 frame. With a ``timings`` list, append each filter's seconds (0 when off)."""
        frame = check_frame(frame)
        for f, on in zip(self.filters, self.enabled):
            if timings is None:
                frame = f.apply(frame) if on else frame
            else:
                start = time.perf_counter()
                frame = f.apply(frame) if on else frame
                timings.append(time.perf_counter() - start)
        return frame

    def toggle(self, index):
        """Switch the filter at ``index`` on or off; return its new state."""
        self.enabled[index] = not self.enabled[index]
        return self.enabled[index]

    def __len__(self):
        return len(self.filters)

    def __iter__(self):
        return iter(self.filters)

    def __repr__(self):
        return ",".join(repr(f) for f in self.filters) or "(no filters)"


def parse_chain(spec, registry=None):
    """Build a callable :class:`Chain` from a spec such as ``"blur(ksize=9),emboss,edge"``.

    Filters come from ``registry`` (default: the installed ``camfx.filters`` entry points).
    Unknown filters, unknown or ill-typed parameters and malformed specs raise ValueError.
    """
    if registry is None:
        from .registry import Registry
        registry = Registry.discover()
    return Chain(registry.create(name, params) for name, params in parse_spec(spec))
