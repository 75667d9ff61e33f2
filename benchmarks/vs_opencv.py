"""camfx against OpenCV at 1080p and 4K: a thin wrapper over ``camfx bench``.

    python benchmarks/vs_opencv.py [--repeat N] [--json]

Prints the ``camfx bench`` table for each size (the README's Performance section is made with
it) and exits non-zero if a goal of issue 5 is missed: every built-in filter at or under 1.0x
OpenCV's time, their geometric mean at or under 0.7x, the chain blur,emboss,edge at or under 0.7x.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from camfx.app.bench import format_table, run_bench  # noqa: E402


def goals(result):
    """The goals missed by one bench result, as text lines."""
    missed = []
    for row in result["rows"]:
        limit = 0.7 if row["chain"] else 1.0
        if row.get("ratio", 0) > limit:
            missed.append(f"{result['size']}: {row['name']} at {row['ratio']:.2f}x (goal {limit}x)")
    if result["geomean_ratio"] and result["geomean_ratio"] > 0.7:
        missed.append(f"{result['size']}: geometric mean {result['geomean_ratio']:.2f}x (goal 0.7x)")
    return missed


def main(argv=None):
    parser = argparse.ArgumentParser(description="camfx vs OpenCV at 1080p and 4K")
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--sizes", default="1080p,4k")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results, missed = [], []
    for size in args.sizes.split(","):
        result = run_bench(size, repeat=args.repeat)
        results.append(result)
        missed += goals(result)
        if not args.json:
            print(format_table(result), end="\n\n", flush=True)
    if args.json:
        print(json.dumps(results, indent=1))
    for line in missed:
        print(f"goal missed: {line}", file=sys.stderr)
    if not missed:
        print("all goals met", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
