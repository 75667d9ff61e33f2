"""Time `camfx process` against the ffmpeg binary of imageio-ffmpeg doing the same work.

All read the same file, apply emboss then sharpen (ffmpeg: its `convolution` filter with the
same two 3x3 kernels), encode H.264 yuv420p with libx264 at the same preset and crf, with
FFmpeg's automatic thread counts everywhere (decoder, filters, x264), and copy the audio.
Runs alternate between the tools so that load from elsewhere hits all alike; the report gives
medians of wall time and of CPU time, throughput as frames per wall-clock second, and camfx's
throughput over each ffmpeg command's.

    pip install -e ".[bench]"
    python benchmarks/process_vs_ffmpeg.py ../shared/data/book.mkv --loops 10 --runs 5

ffmpeg runs two ways, because "the same work" can be read two ways:

- ``ffmpeg``: the command one would write, filtering the Y, U and V planes as decoded. Cheaper to
  filter (1.5 bytes per pixel), but not camfx's picture: the colour planes are sharpened at half
  resolution, which leaves more detail for x264 to encode (54 % more bytes here).
- ``ffmpeg-rgb``: the same picture as camfx's: converted to planar RGB, filtered, converted back
  to limited-range yuv420p, as camfx does with BGR frames.

``--loops N`` first makes a longer clip by copying the input's packets N times over (no
re-encoding), so start-up costs (Python, numba's cache) weigh less than on a 3-second clip;
``--one-keyframe`` re-encodes that clip with a keyframe at the start only, as webcam recordings
often are. ``--split-from 0 50`` also times camfx encoding in one pass (0) and splitting videos
from 50 frames per half, to show what encoding two halves at once gains.
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


# camfx with the two-halves threshold (camfx.files.encode.MIN_FRAMES_PER_HALF) set to argv[1].
CAMFX_SPLITTING_FROM = ("import sys, camfx.files.encode, camfx.app.cli; camfx.files.encode.MIN_FRAMES_PER_HALF = int(sys.argv.pop(1)); "
                        "sys.exit(camfx.app.cli.main(sys.argv[1:]))")


def commands(clip, out_dir, preset, crf, split_from=()):
    """The ffmpeg and camfx commands, by name; ``split_from`` adds camfx runs with other
    two-halves thresholds (frames per half; 0: never split)."""
    def ffmpeg(name, filters):
        return [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-y", "-i", str(clip), "-vf", filters,
                "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p", "-c:a", "copy",
                str(out_dir / f"{name}.mp4")]

    def camfx(name, launch):
        return [sys.executable, *launch, "process", str(clip), "-o", str(out_dir / f"{name}.mp4"),
                "--filters", "emboss,sharpen", "--preset", preset, "--crf", str(crf), "--overwrite"]

    planes = f"{convolution(EMBOSS)},{convolution(SHARPEN)}"
    runs = {"ffmpeg": ffmpeg("ffmpeg", planes),
            "ffmpeg-rgb": ffmpeg("ffmpeg-rgb", f"format=gbrp,{planes},scale=out_range=tv,format=yuv420p"),
            "camfx": camfx("camfx", ["-m", "camfx"])}
    for n in split_from:
        name = "camfx-one-pass" if n == 0 else f"camfx-split-from-{n}"
        runs[name] = camfx(name, ["-c", CAMFX_SPLITTING_FROM, str(n or 2 ** 62)])
    return runs


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
    parser.add_argument("--one-keyframe", action="store_true", help="re-encode the clip with one keyframe first")
    parser.add_argument("--split-from", type=int, nargs="*", default=[], metavar="N",
                        help="also time camfx splitting from N frames per half (0: never), e.g. 0 50")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="camfx-bench-") as folder:
        folder = Path(folder)
        clip = args.input
        if args.loops > 1:
            clip = folder / f"looped{args.input.suffix}"
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-stream_loop",
                            str(args.loops - 1), "-i", str(args.input), "-c", "copy", str(clip)], check=True)
        if args.one_keyframe:
            source, clip = clip, folder / f"one-keyframe{args.input.suffix}"
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(source), "-c:v",
                            "libx264", "-g", "1000000", "-preset", "veryfast", "-crf", "18", "-c:a", "copy",
                            str(clip)], check=True)
        runs = commands(clip, folder, args.preset, args.crf, args.split_from)
        for command in runs.values():  # warm-up: numba's on-disk cache, the page cache
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        frames = {name: frame_count(folder / f"{name}.mp4") for name in runs}
        sizes = {name: (folder / f"{name}.mp4").stat().st_size / 1e6 for name in runs}
        if len(set(frames.values())) > 1:
            print(f"note: frame counts differ: {frames}", file=sys.stderr)
        times = {name: [] for name in runs}
        for _ in range(args.runs):
            for name, command in runs.items():
                times[name].append(timed(command))

    print(f"input: {args.input} x{args.loops}{' (one keyframe)' if args.one_keyframe else ''} = {frames['camfx']} "
          f"frames; preset {args.preset}, crf {args.crf}; {args.runs} runs each")
    for name, command in runs.items():
        print(f"{name}: {' '.join(command)}")
    print()
    print("| tool | median wall s | median CPU s | frames/s (wall) | output MB |")
    print("| --- | --- | --- | --- | --- |")
    fps = {}
    for name, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        fps[name] = frames[name] / wall
        spread = f"{min(w for w, _ in samples):.2f}-{max(w for w, _ in samples):.2f}"
        print(f"| {name} | {wall:.2f} ({spread}) | {cpu:.2f} | {fps[name]:.1f} | {sizes[name]:.2f} |")
    print()
    for ours in (name for name in runs if name.startswith("camfx")):
        for theirs in ("ffmpeg", "ffmpeg-rgb"):
            print(f"throughput ratio {ours}/{theirs}: {fps[ours] / fps[theirs]:.2f} (above 1: camfx faster)")


if __name__ == "__main__":
    main()
