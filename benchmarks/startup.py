"""Start-up: seconds from a new ``python`` process to its first filtered 1080p frame.

    python benchmarks/startup.py [--runs 5] [--filters SPEC]

Each run is a fresh interpreter (``python -c``) that imports camfx, builds the chain and filters
one 1080p BGR frame; the time runs from launching the interpreter to the
first frame done. Run it twice after a change:
the first run may compile (and says so on stderr), later ones load numba's on-disk cache.
"""
import argparse
import statistics
import subprocess
import sys
import time

CODE = """
import time; start = time.perf_counter()
import numpy as np, camfx
frame = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), np.uint8)
chain = camfx.parse_chain({spec!r})
imported = time.perf_counter()
chain(frame)
done = time.perf_counter()
print(f"{{imported - start:.3f}} {{done - imported:.3f}} {{time.time():.6f}}")
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--filters", default="blur,emboss,edge")
    args = parser.parse_args(argv)
    walls = []
    for _ in range(args.runs):
        start = time.time()
        result = subprocess.run([sys.executable, "-c", CODE.format(spec=args.filters)],
                                capture_output=True, text=True, check=True)
        imports, first, done = result.stdout.split()
        walls.append(float(done) - start)
        note = f"  stderr: {result.stderr.strip()}" if result.stderr.strip() else ""
        print(f"{walls[-1]:.2f} s to the first frame (of which imports + chain {imports} s, "
              f"first frame {first} s){note}")
    print(f"median {statistics.median(walls):.2f} s from starting python to the first filtered 1080p frame "
          f"({args.filters!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
