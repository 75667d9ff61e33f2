"""Time a batch of short clips through `camfx process`: serially, with `--jobs 2`, and with
`--cluster local`; and check a simple model of batch time against the runs.

The clips are cut from the given recordings (each FRAMES frames, re-encoded once, before any
timing). Runs alternate between the modes so that load from elsewhere hits all alike; the
report gives medians (and ranges) of wall time and CPU time (every process of the run,
workers included), and files per minute.

    pip install -e ".[bench,cluster]"
    python benchmarks/batch.py ../shared/data/*.mkv --files 12 --runs 3

The model: a batch of N files on k workers takes

    T(N, k) = S_k + max(ceil(N / k) * w, N * c / P)

that is, each worker works through its share of the files one after another, unless the
machine's P cores run out first; w is one file's wall time when it runs alone, c its CPU time,
S_k the mode's start-up (Python and camfx, plus the worker processes or the cluster). w, c and
S_1 come from the serial runs of 1 and N files, S_k for the other modes from their runs of one
file. It assumes the work per file does not grow with the split (each worker has P / k cores'
worth of threads).
"""
import argparse
import math
import os
import statistics
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import av

from process_vs_ffmpeg import timed

FILTERS = "emboss,sharpen"
MODES = {"serial": [], "jobs 2": ["--jobs", "2"], "cluster local": ["--cluster", "local"]}


def make_clips(sources, count, frames, folder):
    """``count`` clips of ``frames`` frames, cut in turn from the sources at moving offsets."""
    decoded = []
    for source in sources:
        with av.open(str(source)) as container:
            decoded.append([f.to_ndarray(format="bgr24") for f in container.decode(video=0)])
    clips = []
    for i in range(count):
        images = decoded[i % len(decoded)]
        start = (i // len(decoded) * 13) % max(1, len(images) - frames)
        path = folder / f"clip{i:02d}.mkv"
        with av.open(str(path), "w") as out:
            stream = out.add_stream("libx264", rate=30)
            stream.height, stream.width = images[0].shape[:2]
            stream.pix_fmt, stream.time_base = "yuv420p", Fraction(1, 30)
            stream.codec_context.options = {"crf": "18", "preset": "fast"}
            for n, image in enumerate(images[start:start + frames]):
                frame = av.VideoFrame.from_ndarray(image, format="bgr24")
                frame.pts = n
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        clips.append(path)
    return clips


def run(mode, clips, out):
    out.mkdir(exist_ok=True)  # a folder, for one input too
    command = [sys.executable, "-m", "camfx", "process", *map(str, clips), "-o", str(out), "--filters", FILTERS,
               "--force", *MODES[mode]]
    return timed(command)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+", type=Path, help="recordings to cut the clips from")
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--frames", type=int, default=90, help="frames per clip (default: 90, 3 s)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0))
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = make_clips(args.sources, args.files, args.frames, tmp)
        run("serial", clips[:1], tmp / "warm")  # numba's cache and the autotuner, warm for all
        run("jobs 2", clips[:1], tmp / "warm")
        times = {(mode, n): [] for mode in MODES for n in (1, len(clips))}
        for _ in range(args.runs):
            for mode in MODES:
                for n in (1, len(clips)):
                    times[mode, n].append(run(mode, clips[:n], tmp / "out"))
                    load.append(os.getloadavg()[0])

    def median(mode, n, what):
        return statistics.median(t[what] for t in times[mode, n])

    n = len(clips)
    # Per file, from the serial runs: wall time w and CPU time c; start-up S_1.
    w = (median("serial", n, 0) - median("serial", 1, 0)) / (n - 1)
    c = (median("serial", n, 1) - median("serial", 1, 1)) / (n - 1)
    u = c / w
    print(f"{n} clips of {args.frames} frames, {FILTERS}, {cores} cores, medians of {args.runs} runs (range), "
          f"load average {min(load):.1f}-{max(load):.1f} during the runs\n")
    print("| mode | files | wall s | CPU s | files/min | model s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for mode in MODES:
        k = {"serial": 1, "jobs 2": 2, "cluster local": cores}[mode]
        start = median(mode, 1, 0) - w  # this mode's start-up: its one-file run less one file's work
        for count in (1, n):
            walls = [t[0] for t in times[mode, count]]
            model = start + max(math.ceil(count / k) * w, count * c / cores)
            print(f"| {mode} | {count} | {statistics.median(walls):.2f} ({min(walls):.2f}-{max(walls):.2f}) | "
                  f"{median(mode, count, 1):.2f} | {60 * count / statistics.median(walls):.1f} | "
                  f"{model:.2f} |")
    print(f"\nper file: {w:.3f} s wall, {c:.3f} s CPU ({u:.2f} cores busy); start-up: "
          + ", ".join(f"{mode} {median(mode, 1, 0) - w:.2f} s" for mode in MODES))


if __name__ == "__main__":
    main()
