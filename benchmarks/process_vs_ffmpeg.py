"""Time `camfx process` against the ffmpeg binary of imageio-ffmpeg doing the same work.

Both read the same file, apply emboss then sharpen (ffmpeg: its `convolution` filter with the
same two 3x3 kernels), encode H.264 yuv420p with libx264 at the same preset and crf, with
FFmpeg's automatic thread counts on both sides (decoder, filters, x264), and copy the audio.
Runs alternate between the two tools so that load from elsewhere hits both alike; the report
gives medians of wall time and of CPU time, and throughput as frames per wall-clock second.

    pip install -e ".[bench]"
    python benchmarks/process_vs_ffmpeg.py ../shared/data/book.mkv --loops 10 --runs 5

``--loops N`` first makes a longer clip by copying the input's packets N times over (no
re-encoding), so start-up costs (Python, numba's cache) weigh less than on a 3-second clip.
The work is not identical to the last operation: ffmpeg filters the Y, U and V planes of the
yuv420p frames as they are decoded (1.5 bytes per pixel); camfx filters BGR frames (3 bytes per
pixel) and converts to and from them, which is what its filters are defined on.
"""
import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import imageio_ffmpeg

EMBOSS = "-2 -1 0 -1 1 1 0 1 2"
SHARPEN = "0 -1 0 -1 5 -1 0 -1 0"


def convolution(kernel):
    """ffmpeg's convolution filter with the same 3x3 kernel on all three planes."""
    return "convolution=" + ":".join(f"{plane}m='{kernel}'" for plane in range(3))


def commands(clip, out_dir, preset, crf):
    ffmpeg = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-i", str(clip),
              "-vf", f"{convolution(EMBOSS)},{convolution(SHARPEN)}",
              "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p", "-c:a", "copy",
              str(out_dir / "ffmpeg.mp4")]
    camfx = [sys.executable, "-m", "camfx.cli", "process", str(clip), "-o", str(out_dir / "camfx.mp4"),
             "--filters", "emboss,sharpen", "--preset", preset, "--crf", str(crf), "--overwrite"]
    return {"ffmpeg": ffmpeg, "camfx": camfx}


def timed(command):
    """(wall seconds, CPU seconds of the child) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def frame_count(path):
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("--loops", type=int, default=1, help="copy the input this many times over first")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each tool (after one warm-up)")
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--crf", type=int, default=23)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="camfx-bench-") as folder:
        folder = Path(folder)
        clip = args.input
        if args.loops > 1:
            clip = folder / f"looped{args.input.suffix}"
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-stream_loop",
                            str(args.loops - 1), "-i", str(args.input), "-c", "copy", str(clip)], check=True)
        runs = commands(clip, folder, args.preset, args.crf)
        for command in runs.values():  # warm-up: numba's on-disk cache, the page cache
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        frames = {name: frame_count(folder / f"{name}.mp4") for name in runs}
        if frames["camfx"] != frames["ffmpeg"]:
            print(f"note: frame counts differ: {frames}", file=sys.stderr)
        times = {name: [] for name in runs}
        for _ in range(args.runs):
            for name, command in runs.items():
                times[name].append(timed(command))

    print(f"input: {args.input} x{args.loops} = {frames['camfx']} frames; preset {args.preset}, crf {args.crf}; "
          f"{args.runs} runs each")
    for name, command in runs.items():
        print(f"{name}: {' '.join(command)}")
    print()
    print("| tool | median wall s | median CPU s | frames/s (wall) |")
    print("| --- | --- | --- | --- |")
    fps = {}
    for name, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        fps[name] = frames[name] / wall
        spread = f"{min(w for w, _ in samples):.2f}-{max(w for w, _ in samples):.2f}"
        print(f"| {name} | {wall:.2f} ({spread}) | {cpu:.2f} | {fps[name]:.1f} |")
    print()
    print(f"throughput ratio camfx/ffmpeg: {fps['camfx'] / fps['ffmpeg']:.2f} (above 1: camfx faster)")


if __name__ == "__main__":
    main()
