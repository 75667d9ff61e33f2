"""Cameras on this machine, numbered the way OpenCV's backend for the platform numbers them (so
that ``--source N`` opens camera N of the list), with names, and what each offers where the
platform says.

Finding them is cv2-enumerate-cameras' job: it asks V4L2 on Linux, Media Foundation on Windows
and AVFoundation on macOS, the backends ``cv2.VideoCapture(N)`` opens by default. On Linux the
sizes, frame rates and pixel formats come from V4L2's own enumeration (``VIDIOC_ENUM_FMT``,
``VIDIOC_ENUM_FRAMESIZES``, ``VIDIOC_ENUM_FRAMEINTERVALS``) through linuxpy; Windows' and macOS'
backends in OpenCV do not say, and camfx reports what a camera gave once it is opened.
"""
import importlib
import platform
from dataclasses import dataclass, field

# The library's backend module and OpenCV's backend id (cv2.CAP_*) for each platform.
BACKENDS = {"Linux": ("linux_backend", 200), "Windows": ("windows_backend", 1400),
            "Darwin": ("macos_backend", 1200)}


@dataclass(frozen=True)
class Mode:
    """One pixel format at one size, with the frame rates the camera offers for it (fps)."""

    fourcc: str
    width: int
    height: int
    rates: tuple = ()

    def __str__(self):
        rates = ", ".join(f"{r:g}" for r in self.rates)
        return f"{self.width}x{self.height}" + (f" at {rates} fps" if rates else "")


@dataclass
class CameraInfo:
    """A camera: ``index`` for ``--source``, its ``name``, the platform's ``path`` (a device
    file, a Windows symbolic link, a macOS unique ID) and ``modes`` (None: not known here)."""

    index: int
    name: str
    path: str | None = None
    vid: int | None = None
    pid: int | None = None
    modes: list | None = field(default=None)


def list_cameras(system=None, *, modes=True):
    """The cameras of this machine, in OpenCV's order for ``system`` (default: this one's
    ``platform.system()``). ``modes=False`` skips asking each camera what it offers."""
    system = system or platform.system()
    module, backend = BACKENDS.get(system, ("opencv_backend", 0))
    library = importlib.import_module(f"cv2_enumerate_cameras.{module}")
    if system not in BACKENDS:  # another platform: the library opens indexes to see which work
        backend = library.supported_backends[0] if library.supported_backends else 0
    found = []
    for info in library.cameras_generator(backend):
        camera = CameraInfo(info.index, info.name, info.path, info.vid, info.pid)
        if modes and system == "Linux" and info.path:
            camera.modes = v4l2_modes(info.path)
        found.append(camera)
    return sorted(found, key=lambda c: c.index)


def v4l2_modes(path):
    """Every pixel format, size and frame rate a V4L2 capture device offers, as :class:`Mode`
    (a size range is given by its smallest and largest sizes); None when the device cannot be
    asked (busy, gone, or not V4L2)."""
    from linuxpy.video.device import (BufferType, FrameSizeType, iter_read_formats, iter_read_frame_intervals,
                                      iter_read_frame_sizes)
    found = []
    try:
        with open(path, "rb", buffering=0) as device:
            for fmt in iter_read_formats(device, BufferType.VIDEO_CAPTURE):
                fourcc = fmt.pixel_format.to_bytes(4, "little").decode("ascii", "replace").strip()
                for size in iter_read_frame_sizes(device, fmt.pixel_format):
                    if size.type == FrameSizeType.DISCRETE:
                        sizes = [(size.info.width, size.info.height)]
                    else:
                        sizes = [(size.info.min_width, size.info.min_height), (size.info.max_width, size.info.max_height)]
                    for width, height in sizes:
                        rates = sorted({float(t.max_fps) for t in iter_read_frame_intervals(device, fmt.pixel_format,
                                                                                            width, height)
                                        if t.max_fps}, reverse=True)
                        found.append(Mode(fourcc, width, height, tuple(rates)))
    except (OSError, ValueError):
        return None
    return found


def describe(cameras, system=None):
    """The ``camfx cameras`` listing: one line per camera, then one per pixel format."""
    if not cameras:
        return "no camera found"
    lines = []
    for camera in cameras:
        ids = f" ({camera.vid:04X}:{camera.pid:04X})" if camera.vid is not None and camera.pid is not None else ""
        lines.append(f"{camera.index:<3} {camera.name}{ids}" + (f"  {camera.path}" if camera.path else ""))
        if camera.modes is None:
            lines.append(f"{'':<4}sizes, rates and formats: not reported on {system or platform.system()}; "
                         "camfx live says what the camera gave")
            continue
        by_format = {}
        for mode in camera.modes:
            by_format.setdefault(mode.fourcc, []).append(str(mode))
        for fourcc, modes in by_format.items():
            lines.append(f"{'':<4}{fourcc:<5} " + "; ".join(modes))
    return "\n".join(lines)
