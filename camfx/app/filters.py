"""``camfx filters`` (list the installed filters) and ``camfx warmup`` (compile a chain now)."""
import numpy as np

from ..errors import CamfxError
from ..text import chain_label, plain_text
from .common import add_config_option, build_chain, build_registry, load_config


def add_parser(commands):
    filters = commands.add_parser("filters", help="list every filter with its parameters and origin")
    add_config_option(filters)
    filters.set_defaults(run=cmd_filters)
    warmup = commands.add_parser("warmup", help="compile the chain's filters now, so the first frame is fast")
    warmup.add_argument("--filters", metavar="SPEC", help="filters to compile (default: the config's chain)")
    add_config_option(warmup)
    warmup.set_defaults(run=cmd_warmup)


# The headings of `camfx filters`, in order; a filter names its own (``Filter.group``), and one
# that names none, or another, is listed under "other".
GROUPS = ("blur and sharpen", "edges", "colour", "stylise", "composite")
OTHER = "other"


def cmd_filters(args):
    config = load_config(args.config)
    registry = build_registry(config)
    groups = {group: [] for group in (*GROUPS, OTHER)}
    failed = 0
    for name in registry.names():
        try:
            cls = registry.get(name)
        except CamfxError as error:
            failed += 1
            groups[OTHER].append([f"{name:<12} FAILED: {error}"])
            continue
        params = ", ".join(_describe(p) for p in cls.parameters()) or "no parameters"
        summary = plain_text(" ".join((cls.__doc__ or "").strip().split("\n\n")[0].split()))
        group = cls.group if cls.group in GROUPS else OTHER
        groups[group].append([f"{name:<12} {params}", f"{'':<12} {summary}", f"{'':<12} from {registry.origin(name)}"])
    first = True
    for group, entries in groups.items():
        if not entries:
            continue
        print(("" if first else "\n") + f"{group}:")
        first = False
        for lines in entries:
            for line in lines:
                print(f"  {line}")
    return 1 if failed else 0


def _describe(parameter):
    kind = getattr(parameter.annotation, "__name__", "")
    default = "required" if parameter.default is parameter.empty else repr(parameter.default)
    return f"{parameter.name}: {kind} = {default}"


def cmd_warmup(args):
    """Compile (or load from numba's cache) every kernel the chain can use, variants included."""
    from ..engine.chain import announce_compilation
    config = load_config(args.config)
    chain = build_chain(args, config)
    announce_compilation(chain)
    frame = np.zeros((8, 8, 3), np.uint8)
    for f in chain:
        for variant in f.variants or [None]:
            if variant is not None:
                f.use(variant)
            f(frame)
    print(f"camfx: ready ({chain_label(chain) if len(chain) else 'no filters'})")
    return 0
