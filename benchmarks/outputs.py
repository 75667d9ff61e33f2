"""What each output adds per frame, next to the chain's own time, at 720p and 1080p.

For every output, the sink's ``write`` is timed as its thread runs it: the pixel conversion and
the write. The anchor, in the same run, is OpenCV's ``cvtColor(BGR2YUV_I420)`` (which takes each
2x2 block's chroma from one pixel, so does less than camfx's conversion). Runs are interleaved,
times are medians (p10-p90) in ms.

- ``vcam <FORMAT>``: the virtual camera sink in each format a backend may take natively, through
  pyvirtualcam to a backend that discards the frame (no v4l2loopback here; on a real device the
  write is one copy into the kernel, about a ``np.copyto`` of the converted frame).
- ``y4m file``: to a file (the page cache); ``y4m pipe``: to a named pipe drained by ``cat``.

    python benchmarks/outputs.py [--frames 300] [--sizes 720p,1080p] [--filters SPEC]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the camfx command sets it

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pyvirtualcam  # noqa: E402

import camfx  # noqa: E402
from camfx.frame import Frame  # noqa: E402
from camfx.live.demo import DemoScene  # noqa: E402
from camfx.outputs.vcam import VirtualCamera  # noqa: E402
from camfx.outputs.y4m import Y4mWriter  # noqa: E402

SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}


class Discard:
    """A pyvirtualcam backend that takes frames and drops them, claiming ``NATIVE`` natively."""

    NATIVE = "I420"

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.fourcc = fourcc

    def send(self, frame):
        pass

    def close(self):
        pass

    def device(self):
        return "discard"

    def native_fourcc(self):
        return pyvirtualcam.util.encode_fourcc(self.NATIVE)


def discard_backend(native):
    name = f"discard-{native}"
    pyvirtualcam.register_backend(name, type(name, (Discard,), {"NATIVE": native}))
    return name


def spread(times):
    ms = np.asarray(times) * 1e3
    return f"{np.median(ms):.3f} ({np.percentile(ms, 10):.3f}-{np.percentile(ms, 90):.3f})"


def run(size, frames, spec, folder):
    width, height = SIZES[size]
    scene = DemoScene(width, height)
    images = [scene.frame(i) for i in range(8)]
    chain = camfx.parse_chain(spec)
    chain.tune(images[0])
    out = np.empty_like(images[0])
    chain(images[0], out=out)
    fifo = Path(folder) / f"bench-{size}.y4m"
    os.mkfifo(fifo)
    drain = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.DEVNULL)
    sinks = {f"vcam {name}": VirtualCamera(width, height, 30, backend=discard_backend(native))
             for name, native in (("I420", "I420"), ("NV12", "NV12"), ("YUYV", "YUY2"), ("UYVY", "UYVY"),
                                  ("RGBA", "ABGR"))}
    sinks["y4m file"] = Y4mWriter(Path(folder) / f"bench-{size}-file.y4m", width, height, 30)
    sinks["y4m pipe"] = Y4mWriter(fifo, width, height, 30)
    while sinks["y4m pipe"].write(Frame(images[0], 0, 0)) is False:  # until cat opens it
        time.sleep(0.01)
    i420 = np.empty((height * 3 // 2, width), np.uint8)
    times = {name: [] for name in ["chain", "cv2.cvtColor I420 (anchor)", *sinks]}
    for i in range(frames):
        image = images[i % len(images)]
        start = time.perf_counter()
        filtered = chain(image, out=out)
        times["chain"].append(time.perf_counter() - start)
        frame = Frame(filtered, i, i / 30)
        start = time.perf_counter()
        cv2.cvtColor(filtered, cv2.COLOR_BGR2YUV_I420, dst=i420)
        times["cv2.cvtColor I420 (anchor)"].append(time.perf_counter() - start)
        for name, sink in sinks.items():
            start = time.perf_counter()
            sink.write(frame)
            times[name].append(time.perf_counter() - start)
        if i % 50 == 0:  # keep the file from filling the disk: start it again
            sinks["y4m file"].close()
            sinks["y4m file"] = Y4mWriter(Path(folder) / f"bench-{size}-file.y4m", width, height, 30,
                                          overwrite=True)
    for sink in sinks.values():
        sink.close()
    drain.wait(10)
    anchor = np.median(times["cv2.cvtColor I420 (anchor)"])
    print(f"\n{size} BGR {width}x{height}, chain {chain!r}, {frames} frames, median (p10-p90) ms\n")
    print("| output | ms per frame | / anchor |")
    print("| --- | --- | --- |")
    for name, samples in times.items():
        ratio = "" if name == "chain" else f"{np.median(samples) / anchor:.2f}x"
        print(f"| {name} | {spread(samples)} | {ratio} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--sizes", default="720p,1080p", help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--filters", default="blur(ksize=5),edge", help="the chain timed beside the outputs")
    args = parser.parse_args(argv)
    sizes = [size.strip() for size in args.sizes.split(",")]
    unknown = [size for size in sizes if size not in SIZES]
    if unknown:
        parser.error(f"--sizes: unknown size {unknown[0]!r}; choose from {', '.join(SIZES)}")
    import numba
    print(f"numba {numba.__version__} ({numba.get_num_threads()} threads), OpenCV {cv2.__version__}, "
          f"pyvirtualcam {pyvirtualcam.__version__}")
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            run(size, args.frames, args.filters, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
