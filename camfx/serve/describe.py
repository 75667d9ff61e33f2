"""Filters and chains as JSON for the web API: what the control page builds its inputs from."""
import inspect
import math
import typing

import numpy as np

from ..errors import CamfxError
from ..text import plain_text

# How a parameter's annotation is called in the API (and which input the page draws for it).
TYPE_NAMES = {int: "int", float: "float", bool: "bool", str: "str", list: "list"}


def describe_parameter(parameter):
    """``{"name", "type", "default"?, "required", "choices"?}`` for one ``inspect.Parameter``.

    ``type`` is ``int``, ``float``, ``bool``, ``str``, ``list``, ``choice`` (a ``Literal[...]``
    annotation, with its ``choices``) or ``any``.
    """
    annotation = parameter.annotation
    info = {"name": parameter.name, "type": TYPE_NAMES.get(annotation, "any"),
            "required": parameter.default is parameter.empty}
    if typing.get_origin(annotation) is typing.Literal:
        info.update(type="choice", choices=list(typing.get_args(annotation)))
    if parameter.default is not parameter.empty:
        info["default"] = jsonable(parameter.default)
    return info


def describe_filters(registry):
    """Every installed filter: name, first paragraph of its docstring, origin, parameters. A
    plugin that fails to load is listed with its ``error`` instead of taking the list down."""
    filters = []
    for name in registry.names():
        entry = {"name": name, "origin": registry.origin(name)}
        try:
            cls = registry.get(name)
        except CamfxError as error:
            entry["error"] = str(error)
        else:
            entry["doc"] = plain_text(" ".join(inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].split()))
            entry["parameters"] = [describe_parameter(p) for p in cls.parameters()]
        filters.append(entry)
    return filters


def describe_chain(chain):
    """The running chain: its spec (as the command line takes it) and each step with its name,
    whether it is on, its parameters and, for kernel filters (those with a ``matrix``), the
    kernel the page draws as a grid."""
    steps = []
    for f, on in zip(chain.filters, chain.enabled):
        step = {"name": f.name, "enabled": on, "spec": repr(f),
                "params": {p.name: jsonable(getattr(f, p.name, p.default)) for p in f.parameters()}}
        matrix = getattr(f, "matrix", None)
        if matrix is not None:
            step["kernel"] = {"matrix": jsonable(matrix), "scale": jsonable(getattr(f, "scale", 1.0)),
                              "offset": jsonable(getattr(f, "offset", 0.0))}
        steps.append(step)
    return {"filters": ",".join(s["spec"] for s in steps), "steps": steps}


def jsonable(value):
    """``value`` with NumPy arrays and scalars turned into lists and numbers, and numbers that
    JSON cannot hold (NaN, infinities) into None, for ``json``."""
    if isinstance(value, (np.ndarray, np.generic)):
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is inspect.Parameter.empty:
        return None
    return value
