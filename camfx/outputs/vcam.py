"""The virtual camera: filtered frames as a camera that video-call apps (Zoom, Meet, Teams,
Discord, OBS, a browser) can pick.

It goes through `pyvirtualcam <https://github.com/letmaik/pyvirtualcam>`_, which writes to a
v4l2loopback device on Linux, to OBS Studio's virtual camera on Windows and macOS, and to Unity
Capture on Windows. The camera has the source's size (padded to even) and rate; frames are
converted once, by camfx, to the pixel format the backend hands on without converting again
(I420 for v4l2loopback, NV12 for OBS on Windows, UYVY on macOS, RGBA for Unity Capture).

On Linux, :func:`check_virtual_camera` finds out before anything is opened whether a
v4l2loopback device exists, and says how to make one when none does.
"""
import platform
from pathlib import Path

from ..errors import CamfxError
from .pixels import FORMATS, PixelConverter, padded_size
from .sink import Sink

MODPROBE = "sudo modprobe v4l2loopback exclusive_caps=1 card_label=camfx"
HOW_TO_GET_ONE = (f"make one with: {MODPROBE} (Debian/Ubuntu package v4l2loopback-dkms; Chrome lists only "
                  f"devices made with exclusive_caps=1)")
SYSFS = Path("/sys/class/video4linux")
# The first format camfx asks for; then the backend's native one if that differs (see VirtualCamera).
FIRST_FORMAT = "I420"


def loopback_devices(sysfs=SYSFS):
    """The v4l2loopback devices of this machine, as ``{"/dev/videoN": card label}``.

    Read from sysfs without opening anything: loopback devices are the video4linux devices that
    belong to no hardware (``/sys/devices/virtual/video4linux/videoN``).
    """
    devices = {}
    if not sysfs.is_dir():
        return devices
    for entry in sorted(sysfs.glob("video*"), key=lambda p: (len(p.name), p.name)):
        if "/devices/virtual/" not in entry.resolve().as_posix():
            continue
        try:
            label = (entry / "name").read_text().strip()
        except OSError:
            label = ""
        devices[f"/dev/{entry.name}"] = label
    return devices


def check_virtual_camera(device=None, *, system=None, sysfs=SYSFS):
    """Check, before any camera is opened, that a virtual camera can work here.

    Parameters
    ----------
    device : str, optional
        ``/dev/videoN`` on Linux, a camera name elsewhere; None for the first one found.
    system : str, optional
        ``platform.system()`` (for tests).
    sysfs : Path
        Where Linux lists video devices (for tests).

    Returns
    -------
    str
        What will be used, for the user: ``"/dev/video2 (camfx)"``, or the backend's name
        where it cannot be known before opening (OBS, Unity Capture).

    Raises
    ------
    CamfxError
        One line saying what is missing and how to get it: pyvirtualcam not installed, no
        v4l2loopback device, ``device`` absent or not a loopback device, no backend for this
        system.
    """
    try:
        import pyvirtualcam  # noqa: F401 (installed with camfx; a broken install is named here)
    except ImportError as error:
        raise CamfxError(f"the virtual camera needs pyvirtualcam, which cannot be imported ({error}); "
                         f"pip install pyvirtualcam") from None
    system = system or platform.system()
    if system == "Linux":
        devices = loopback_devices(sysfs)
        if device is None:
            if not devices:
                raise CamfxError(f"no v4l2loopback device for the virtual camera; {HOW_TO_GET_ONE}")
            device = next(iter(devices))
        elif device not in devices:
            others = f"the v4l2loopback devices here are {', '.join(devices)}" if devices else HOW_TO_GET_ONE
            known = {f"/dev/{entry.name}" for entry in sysfs.glob("video*")} if sysfs.is_dir() else set()
            if device not in known and not Path(device).exists():
                raise CamfxError(f"{device}: no such device; {others}")
            raise CamfxError(f"{device} is not a v4l2loopback device; {others}")
        return f"{device} ({devices[device]})" if devices[device] else device
    if system == "Windows":
        return device or "OBS Virtual Camera or Unity Capture (OBS Studio 26+ or Unity Capture must be installed)"
    if system == "Darwin":
        return device or "OBS Virtual Camera (OBS Studio 28+ must be installed, its virtual camera started once)"
    raise CamfxError(f"no virtual camera backend for {system}; pyvirtualcam supports Linux, Windows and macOS")


class VirtualCamera(Sink):
    """A virtual camera showing the frames written to it.

    Parameters
    ----------
    width, height : int
        The frames' size; the camera's is that, rounded up to even (last column/row repeated).
    fps : float
        The source's frame rate, announced to the camera's readers.
    device : str, optional
        ``/dev/videoN``, or a camera name; None: the first free one.
    backend : str, optional
        A pyvirtualcam backend name (``v4l2loopback``, ``obs``, ``unitycapture``, or one a
        test registered); None tries the system's.

    Attributes
    ----------
    device : str
        The device in use.
    format : str
        The pixel format sent (one of :data:`camfx.outputs.pixels.FORMATS`).
    size : tuple of int
        ``(width, height)`` of the camera.

    Raises
    ------
    CamfxError
        One line naming the device and the reason when the camera cannot be opened (in use by
        another program, size refused, no device).

    Notes
    -----
    ``keepalive``: the live loop sends the last frame again while the source is reconnecting or
    paused, so that a call app does not decide the camera is gone.
    """

    keepalive = True

    def __init__(self, width, height, fps, *, device=None, backend=None):
        import pyvirtualcam
        self.size = padded_size(width, height)
        self.fps = fps
        self._where = device or "(first free device)"
        self._camera = self._open(pyvirtualcam, FIRST_FORMAT, device, backend)
        native = self._camera.native_fmt
        if native is not None and native.name in FORMATS and native.name != FIRST_FORMAT:
            # The backend would convert again: reopen in the format it takes as it is.
            self._camera.close()
            self._camera = self._open(pyvirtualcam, native.name, device, backend)
        self.format = self._camera.fmt.name
        self.device = self._camera.device
        self.name = f"vcam:{self.device}"
        self._convert = PixelConverter(self.format, width, height)

    def _open(self, pyvirtualcam, fmt, device, backend):
        width, height = self.size
        try:
            return pyvirtualcam.Camera(width, height, self.fps, fmt=pyvirtualcam.PixelFormat[fmt],
                                       device=device, backend=backend)
        except Exception as error:  # the backends raise RuntimeError, ValueError, or their own
            reasons = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
            if "not a video output device" in reasons:  # v4l2loopback with exclusive_caps=1 and a writer already
                reasons += " (another program is probably sending to it: with exclusive_caps=1 a device takes one " \
                           "sender at a time; pick another with vcam:/dev/videoN)"
            raise CamfxError(f"cannot open the virtual camera {self._where} at {width}x{height} {fmt} "
                             f"{self.fps:g} fps: {reasons or type(error).__name__}") from None

    def write(self, frame):
        self._camera.send(self._convert(frame.image))

    def close(self):
        if self._camera is not None:
            self._camera.close()
            self._camera = None
