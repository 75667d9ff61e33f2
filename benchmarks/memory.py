"""Memory over a long run: the chain filters N frames and Python-level allocations (tracemalloc)
and the process's resident set (/proc/self/statm) are sampled as it goes.

    python benchmarks/memory.py [--frames 10000] [--size 720p] [--filters SPEC] [--no-out]

With the default ``out=`` path (what a live loop does) a steady stream allocates nothing per
frame; ``--no-out`` shows the other path, where each result is a new array that is freed again.
"""
import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import camfx  # noqa: E402
from camfx.app.bench import SIZES  # noqa: E402
from camfx.live.demo import DemoScene  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--size", choices=SIZES, default="720p")
    parser.add_argument("--filters", default="blur,emboss,edge")
    parser.add_argument("--no-out", action="store_true", help="let the chain allocate each result")
    args = parser.parse_args(argv)

    width, height = SIZES[args.size]
    scene = DemoScene(width, height)
    frames = [scene.frame(i) for i in range(8)]
    chain = camfx.parse_chain(args.filters)
    out = None if args.no_out else np.empty_like(frames[0])
    for frame in frames:  # compile and size every buffer first
        chain(frame, out=out)

    tracemalloc.start()
    base_traced = tracemalloc.get_traced_memory()[0]
    samples = []
    start = time.perf_counter()
    checkpoints = {int(args.frames * k / 10) for k in range(1, 11)}
    for i in range(1, args.frames + 1):
        chain(frames[i % len(frames)], out=out)
        if i in checkpoints:
            traced, peak = tracemalloc.get_traced_memory()
            samples.append((i, traced - base_traced, peak - base_traced, rss_mb()))
    elapsed = time.perf_counter() - start
    tracemalloc.stop()

    print(f"{args.frames} frames of {args.size} through {args.filters!r} "
          f"({'new array per result' if args.no_out else 'out= buffer'}), {elapsed:.1f} s, "
          f"{args.frames / elapsed:.0f} fps")
    print(f"{'frame':>7} {'traced KiB':>11} {'peak KiB':>9} {'RSS MiB':>8}")
    for i, traced, peak, rss in samples:
        print(f"{i:>7} {traced / 1024:>11.1f} {peak / 1024:>9.1f} {rss:>8.1f}")
    growth = samples[-1][3] - samples[0][3]
    print(f"RSS growth from frame {samples[0][0]} to {samples[-1][0]}: {growth:+.1f} MiB; "
          f"Python allocations still held at the end: {samples[-1][1] / 1024:.1f} KiB "
          f"(this script's own list of samples; the peak includes reading /proc/self/statm)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
