"""Camera discovery on each platform, run through cv2-enumerate-cameras and linuxpy with test
doubles for the platform calls: V4L2's ioctls and sysfs on Linux, Media Foundation on Windows,
AVFoundation on macOS."""
import errno
import subprocess
import sys
import types

import pytest

from camfx.live import cameras, sources
from camfx.live.cameras import Mode, describe, list_cameras

# A fake V4L2 driver: pixel format -> {(width, height): [frame rates]}.
DRIVER = {"MJPG": {(1280, 720): [30, 15], (640, 480): [30]}, "YUYV": {(640, 480): [30, 5]}}


def fourcc_code(text):
    return int.from_bytes(text.encode(), "little")


def fake_v4l2_ioctl(fd, request, struct):
    """VIDIOC_ENUM_FMT, _ENUM_FRAMESIZES and _ENUM_FRAMEINTERVALS answered from DRIVER, as the
    kernel does: the index-th entry, or EINVAL past the last."""
    from linuxpy.video.device import IOC
    formats = list(DRIVER)
    if request == IOC.ENUM_FMT:
        if struct.index >= len(formats):
            raise OSError(errno.EINVAL, "Invalid argument")
        struct.pixelformat = fourcc_code(formats[struct.index])
        struct.description = formats[struct.index].encode()
    elif request == IOC.ENUM_FRAMESIZES:
        sizes = list(DRIVER[struct.pixel_format.to_bytes(4, "little").decode()])
        if struct.index >= len(sizes):
            raise OSError(errno.EINVAL, "Invalid argument")
        struct.type = 1  # V4L2_FRMSIZE_TYPE_DISCRETE
        struct.m1.discrete.width, struct.m1.discrete.height = sizes[struct.index]
    elif request == IOC.ENUM_FRAMEINTERVALS:
        rates = DRIVER[struct.pixel_format.to_bytes(4, "little").decode()][(struct.width, struct.height)]
        if struct.index >= len(rates):
            raise OSError(errno.EINVAL, "Invalid argument")
        struct.type = 1  # V4L2_FRMIVAL_TYPE_DISCRETE
        struct.m1.discrete.numerator, struct.m1.discrete.denominator = 1, rates[struct.index]
    else:
        raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")
    return struct


@pytest.fixture
def linux(tmp_path, monkeypatch):
    """/dev/video0 a webcam, /dev/video1 its metadata node (no capture), /dev/video2 a capture
    card that cannot be asked for its modes."""
    from cv2_enumerate_cameras import linux_backend
    import linuxpy.video.device as v4l2
    nodes = {name: tmp_path / name for name in ("video0", "video1", "video2")}
    for path in nodes.values():
        path.write_bytes(b"")
    names = {"video0": "HD Pro Webcam C920", "video1": "HD Pro Webcam C920", "video2": "USB Capture HDMI"}
    real_exists = linux_backend.os.path.exists
    monkeypatch.setattr(linux_backend.glob, "glob", lambda pattern: [str(p) for p in nodes.values()])
    monkeypatch.setattr(linux_backend, "device_can_capture_video", lambda path: not path.endswith("video1"))
    monkeypatch.setattr(linux_backend.os.path, "exists", lambda p: p.startswith("/sys/class/video4linux/")
                        and p.endswith("/name") or real_exists(p))
    monkeypatch.setattr(linux_backend, "read_line", lambda *parts: names[parts[0].split("/")[-2]])

    def ioctl(fd, request, struct):
        if fd.name == str(nodes["video2"]):
            raise OSError(errno.EBUSY, "Device or resource busy")
        return fake_v4l2_ioctl(fd, request, struct)
    monkeypatch.setattr(v4l2, "ioctl", ioctl)
    return nodes


def test_linux_cameras_come_with_their_formats_sizes_and_rates(linux):
    found = list_cameras("Linux")
    assert [(c.index, c.name, c.path) for c in found] == [
        (0, "HD Pro Webcam C920", str(linux["video0"])), (2, "USB Capture HDMI", str(linux["video2"]))]
    assert found[0].modes == [Mode("MJPG", 1280, 720, (30.0, 15.0)), Mode("MJPG", 640, 480, (30.0,)),
                              Mode("YUYV", 640, 480, (30.0, 5.0))]
    assert found[1].modes is None  # busy: it could not be asked
    assert describe(found, "Linux").splitlines() == [
        f"0   HD Pro Webcam C920  {linux['video0']}",
        "    MJPG  1280x720 at 30, 15 fps; 640x480 at 30 fps",
        "    YUYV  640x480 at 30, 5 fps",
        f"2   USB Capture HDMI  {linux['video2']}",
        "    sizes, rates and formats: not reported on Linux; camfx live says what the camera gave",
    ]


@pytest.fixture
def windows(monkeypatch):
    """Media Foundation's device list, as cv2-enumerate-cameras' native module returns it."""
    native = types.ModuleType("cv2_enumerate_cameras._windows_backend")
    native.MSMF_enumerate_cameras = lambda: [
        ("Integrated Camera", r"\\?\usb#vid_04f2&pid_b6dd&mi_00#6&1a2b3c&0&0000#{e5323777-f976-4f5b-9b55-b94699c46e44}\global"),
        ("OBS Virtual Camera", None)]
    native.DSHOW_enumerate_cameras = lambda: []
    monkeypatch.setitem(sys.modules, "cv2_enumerate_cameras._windows_backend", native)
    monkeypatch.delitem(sys.modules, "cv2_enumerate_cameras.windows_backend", raising=False)
    for module in (cameras.platform, sources.platform):
        monkeypatch.setattr(module, "system", lambda: "Windows")


def test_windows_cameras_are_numbered_as_opencv_opens_them(windows):
    found = list_cameras()
    assert [(c.index, c.name, c.vid, c.pid, c.modes) for c in found] == [
        (0, "Integrated Camera", 0x04F2, 0xB6DD, None), (1, "OBS Virtual Camera", None, None, None)]
    text = describe(found)
    assert text.startswith("0   Integrated Camera (04F2:B6DD)  \\\\?\\usb#vid_04f2")
    assert "not reported on Windows" in text
    # camfx live --source 1 finds it, where it once looked for /dev/video1.
    assert sources.camera_exists(1) and not sources.camera_exists(2) and sources.any_camera()


def test_macos_cameras_come_from_avfoundation(monkeypatch):
    class Device:
        def __init__(self, name, unique_id, model):
            self._name, self._id, self._model = name, unique_id, model

        def localizedName(self):
            return self._name

        def uniqueID(self):
            return self._id

        def modelID(self):
            return self._model

    class Devices(list):
        def arrayByAddingObjectsFromArray_(self, other):
            return Devices(self + other)

    video = [Device("FaceTime HD Camera", "0x8020000005ac8514", "Apple Camera VendorID_1452 ProductID_34068"),
             Device("Logitech BRIO", "0x1400000046d085e", "UVC Camera VendorID_1133 ProductID_2142")]
    avfoundation = types.SimpleNamespace(
        NSRunLoop=types.SimpleNamespace(currentRunLoop=lambda: types.SimpleNamespace(runUntilDate_=lambda date: None)),
        NSDate=types.SimpleNamespace(dateWithTimeIntervalSinceNow_=lambda seconds: seconds),
        AVMediaTypeVideo="vide", AVMediaTypeMuxed="muxx",
        AVCaptureDevice=types.SimpleNamespace(
            devicesWithMediaType_=lambda kind: Devices(video if kind == "vide" else [])))
    monkeypatch.setitem(sys.modules, "AVFoundation", avfoundation)
    monkeypatch.delitem(sys.modules, "cv2_enumerate_cameras.macos_backend", raising=False)
    found = list_cameras("Darwin")
    # AVFoundation's devices sorted by unique ID: OpenCV's order.
    assert [(c.index, c.name, c.vid, c.pid) for c in found] == [
        (0, "Logitech BRIO", 1133, 2142), (1, "FaceTime HD Camera", 1452, 34068)]


def test_camfx_cameras_on_this_machine():
    """This machine has no camera (no V4L2 here): the command says so in one line."""
    result = subprocess.run([sys.executable, "-m", "camfx", "cameras"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    expected = describe(list_cameras())
    assert result.stdout.strip() == expected
