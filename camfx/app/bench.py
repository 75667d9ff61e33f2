"""``camfx bench``: camfx's filters against OpenCV's fastest route to the same result, in one
process, on the same frames of the built-in demo scene.

Runs are interleaved in short batches (camfx, then OpenCV, then camfx, ...) so that both see the
same machine load; the figures are medians with p10-p90 spreads, and ratios are ratios of
medians. The frame copy (``np.copyto``) is shown as the memory floor of one pass.
"""
import json
import math
import os
import statistics
import sys
import tempfile
import time

import numba
import numpy as np

from ..engine.chain import Chain, parse_chain
from ..errors import CamfxError
from ..text import filter_label
from .common import add_config_option, build_registry, load_config

SIZES = {"480p": (640, 480), "720p": (1280, 720), "1080p": (1920, 1080), "4k": (3840, 2160)}
# The built-in filters, with a user kernel of the kind people write (a vertical relief).
DEFAULT_FILTERS = ("blur,box,emboss,sharpen,edge,"
                   "kernel(matrix=[[1,2,1],[0,0,0],[-1,-2,-1]],scale=0.5,offset=128)")
DEFAULT_CHAIN = "blur,emboss,edge"
# What `--all` adds: the looks of issue 14 (``{cube}`` is a .cube file bench writes for the run).
LOOKS = ("flip,gray,invert,adjust(brightness=10,contrast=1.2,saturation=0.8),gamma(gamma=2.2),sepia,"
         "lut(path={cube}),vignette,pixelate,posterize,unsharp,laplacian,scharr,prewitt,motion_blur,"
         "motion_blur(angle=30),median,bilateral,chroma_key,cartoon")
BATCH = 5


def _percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _timed(fn, frames, out, count, clock):
    times = []
    for k in range(count):
        frame = frames[k % len(frames)]
        start = clock()
        fn(frame, out)
        times.append(clock() - start)
    return times


def batches(repeat):
    """Batches of ``BATCH`` runs that make at least ``repeat`` runs."""
    return -(-repeat // BATCH)


def compare(camfx_fn, opencv_fn, frames, repeat, clock=time.perf_counter):
    """Time ``camfx_fn(frame, out)`` and ``opencv_fn(frame, out)`` interleaved in batches; return
    a dict of medians and spreads in milliseconds."""
    out = np.empty_like(frames[0])
    for fn in (camfx_fn, opencv_fn):  # warm up: compile, first-touch the buffers
        if fn is not None:
            _timed(fn, frames, out, 3, clock)
    ours, theirs, ratios = [], [], []
    for _ in range(batches(repeat)):
        a = _timed(camfx_fn, frames, out, BATCH, clock)
        ours += a
        if opencv_fn is not None:
            b = _timed(opencv_fn, frames, out, BATCH, clock)
            theirs += b
            ratios.append(statistics.median(a) / statistics.median(b))
    row = {"camfx_ms": statistics.median(ours) * 1e3,
           "camfx_p10_ms": _percentile(ours, 0.1) * 1e3, "camfx_p90_ms": _percentile(ours, 0.9) * 1e3}
    if theirs:
        row.update(opencv_ms=statistics.median(theirs) * 1e3,
                   opencv_p10_ms=_percentile(theirs, 0.1) * 1e3, opencv_p90_ms=_percentile(theirs, 0.9) * 1e3,
                   ratio=statistics.median(ours) / statistics.median(theirs),
                   ratio_p10=_percentile(ratios, 0.1), ratio_p90=_percentile(ratios, 0.9))
    return row


def profile_stages(f, frames, repeat, clock=time.perf_counter):
    """The median milliseconds of each stage of a filter that times its own stages
    (``f.profile(frame, out, clock)``, as the background filter does), over ``repeat`` frames;
    and of OpenCV's way to a stage's result where the filter names one
    (``f.stage_references()``), timed in between on the same frames.

    Returns ``[{"name": stage, "camfx_ms": ..., "opencv_ms": ...}, ...]`` and a ``"total"`` row.
    """
    references = f.stage_references() if hasattr(f, "stage_references") else {}
    out = np.empty_like(frames[0])
    stages, theirs = {}, {name: [] for name in references}
    totals = []
    for k in range(repeat + 3):
        frame = frames[k % len(frames)]
        _, times = f.profile(frame, out, clock)
        for name, reference in references.items():
            start = clock()
            reference(frame)
            theirs[name].append(clock() - start)
        if k >= 3:  # the first runs load kernels and warm the network up
            for name, seconds in times:
                stages.setdefault(name, []).append(seconds)
            totals.append(sum(seconds for _, seconds in times))
    rows = []
    for name, seconds in stages.items():
        row = {"name": name, "camfx_ms": statistics.median(seconds) * 1e3}
        if name in theirs:
            row["opencv_ms"] = statistics.median(theirs[name][3:]) * 1e3
        rows.append(row)
    rows.append({"name": "total", "camfx_ms": statistics.median(totals) * 1e3,
                 "camfx_p90_ms": _percentile(totals, 0.9) * 1e3})
    return rows


def run_bench(size="1080p", filters=DEFAULT_FILTERS, chain=DEFAULT_CHAIN, repeat=100, tune=True,
              registry=None, progress=None):
    """Measure every filter of ``filters`` alone and ``chain`` as a whole (either may be empty,
    not both); return a dict (the ``--json`` output). ``repeat``: at least that many timed runs
    per row, in whole batches. Raises CamfxError for nothing to time or ``repeat`` below 1."""
    import cv2  # only for this command: camfx process never loads OpenCV
    if repeat < 1:
        raise CamfxError(f"--repeat must be at least 1, got {repeat}")
    width, height = SIZES[size]
    from ..live.demo import DemoScene
    scene = DemoScene(width, height)
    frames = [scene.frame(i * 7) for i in range(4)]
    copy = compare(lambda f, o: np.copyto(o, f), None, frames, repeat)
    rows = []
    steps = [(filter_label(f), Chain([f])) for f in parse_chain(filters, registry)]
    if chain:
        whole = parse_chain(chain, registry)
        steps.append((f"chain {chain}", whole))
    if not steps:
        raise CamfxError("nothing to time: --filters and --chain name no filter")
    for label, c in steps:
        if progress:
            progress(label)
        if tune:  # timed afresh: a choice remembered from a busy moment would skew the figures
            c.tune(frames[0], retune=True)
        # What each filter states as its OpenCV counterpart (a NumPy definition is not timed).
        reference = c.reference() if all(f.counterpart for f in c) else None
        row = compare(lambda f, o: c(f, out=o), reference, frames, repeat)
        row.update(name=label, chain=label.startswith("chain "),
                   variants=[f.variant for f in c], threads=[t or numba.get_num_threads() for t in c.threads])
        if len(c) == 1 and hasattr(c.filters[0], "profile"):
            row["stages"] = profile_stages(c.filters[0], frames, repeat)
        rows.append(row)
    single = [r["ratio"] for r in rows if not r["chain"] and "ratio" in r]
    return {
        "size": size, "shape": list(frames[0].shape), "repeat": batches(repeat) * BATCH,
        "threads": numba.get_num_threads(),
        "threading_layer": numba.config.THREADING_LAYER, "numba": numba.__version__, "opencv": cv2.__version__,
        "numpy": np.__version__, "copy_ms": copy["camfx_ms"], "copy_p10_ms": copy["camfx_p10_ms"],
        "copy_p90_ms": copy["camfx_p90_ms"], "rows": rows,
        "geomean_ratio": math.exp(statistics.fmean(math.log(r) for r in single)) if single else None,
    }


def format_table(result):
    """The bench result as a Markdown table (what the README shows)."""
    lines = [f"{result['size']} BGR {result['shape'][1]}x{result['shape'][0]}, {result['threads']} threads, "
             f"median of {result['repeat']} runs (p10-p90), numba {result['numba']}, OpenCV {result['opencv']}",
             "",
             "| filter | camfx ms | OpenCV ms | ratio (p10-p90) |",
             "| --- | --- | --- | --- |"]
    for r in result["rows"]:
        ours = f"{r['camfx_ms']:.2f} ({r['camfx_p10_ms']:.2f}-{r['camfx_p90_ms']:.2f})"
        if "ratio" in r:
            theirs = f"{r['opencv_ms']:.2f} ({r['opencv_p10_ms']:.2f}-{r['opencv_p90_ms']:.2f})"
            ratio = f"**{r['ratio']:.2f}x** ({r['ratio_p10']:.2f}-{r['ratio_p90']:.2f})"
        else:
            theirs, ratio = "-", "-"
        lines.append(f"| `{r['name']}` | {ours} | {theirs} | {ratio} |")
    if result["geomean_ratio"] is not None:
        lines.append(f"| geometric mean of the filters | | | **{result['geomean_ratio']:.2f}x** |")
    lines.append(f"| memory floor: `np.copyto` of one frame | {result['copy_ms']:.2f} "
                 f"({result['copy_p10_ms']:.2f}-{result['copy_p90_ms']:.2f}) | | |")
    for r in result["rows"]:
        if "stages" in r:
            lines += ["", f"`{r['name']}` by stage, median of {result['repeat']} frames", "",
                      "| stage | camfx ms | OpenCV ms (the same result, whole frame) |", "| --- | --- | --- |"]
            for stage in r["stages"]:
                ours = f"{stage['camfx_ms']:.2f}" + (f" (p90 {stage['camfx_p90_ms']:.2f})" if "camfx_p90_ms" in stage else "")
                theirs = f"{stage['opencv_ms']:.2f}" if "opencv_ms" in stage else ""
                lines.append(f"| {stage['name']} | {ours} | {theirs} |")
    return "\n".join(lines)


def main(size="1080p", filters=None, chain=DEFAULT_CHAIN, repeat=100, as_json=False, tune=True,
         registry=None, stream=None, every=False):
    stream = stream or sys.stdout
    progress = None if as_json else (lambda label: print(f"camfx bench: {label}...", file=sys.stderr, flush=True))
    filters = DEFAULT_FILTERS if filters is None else filters
    with tempfile.TemporaryDirectory(prefix="camfx-bench-") as folder:
        if every:
            filters = ",".join(part for part in (filters, LOOKS.format(cube=repr(warm_look(folder)))) if part)
        result = run_bench(size, filters, chain, repeat, tune, registry, progress)
    print(json.dumps(result, indent=1) if as_json else format_table(result), file=stream)
    return result


def warm_look(folder):
    """A 33-point .cube file of a warm, slightly faded look, for timing ``lut``."""
    from camfx_filters.lut import write_cube
    steps = np.linspace(0, 1, 33)
    b, g, r = np.meshgrid(steps, steps, steps, indexing="ij")
    table = np.stack([0.05 + 0.93 * r ** 0.9, 0.03 + 0.94 * g, 0.02 + 0.9 * b ** 1.1], axis=-1)
    path = os.path.join(folder, "warm.cube")
    write_cube(path, table, "camfx bench warm look")
    return path


def add_parser(commands):
    bench = commands.add_parser("bench", help="time the filters and a chain against OpenCV on this machine")
    bench.add_argument("--size", choices=list(SIZES), default="1080p", help="frame size (default 1080p)")
    bench.add_argument("--filters", metavar="SPEC",
                       help='filters to time one by one (default: the built-ins; "": none)')
    bench.add_argument("--chain", metavar="SPEC", default="blur,emboss,edge",
                       help='chain to time as a whole (default: blur,emboss,edge; "": none)')
    bench.add_argument("--repeat", type=int, default=100, metavar="N",
                       help="timed runs per filter, at least (in batches of 5; default 100)")
    bench.add_argument("--json", action="store_true", help="machine-readable output")
    bench.add_argument("--no-tune", action="store_true", help="default variants, no autotuning")
    bench.add_argument("--all", action="store_true",
                       help="also time every look (flip ... cartoon), after the filters; a few minutes at 1080p")
    add_config_option(bench)
    bench.set_defaults(run=cmd_bench)


def cmd_bench(args):
    config = load_config(args.config)
    main(args.size, args.filters, args.chain, args.repeat, args.json, not args.no_tune, build_registry(config),
         every=args.all)
    return 0
