"""The virtual camera sink, through a pyvirtualcam backend registered by the test (these machines
have no video4linux, as most CI has none), and the checks made before any camera is opened."""
import glob
import os

import numpy as np
import pytest

pyvirtualcam = pytest.importorskip("pyvirtualcam")

from camfx.frame import Frame  # noqa: E402
from camfx.outputs.vcam import MODPROBE, VirtualCamera, check_virtual_camera, loopback_devices  # noqa: E402
from doubles import backend  # noqa: E402
from yuv_reference import reference  # noqa: E402


def fourcc_name(code):
    return pyvirtualcam.PixelFormat(pyvirtualcam.util.decode_fourcc(code)).name


def filtered_frames(recorded_frames, width, height):
    import camfx
    chain = camfx.parse_chain("blur(ksize=5),emboss")
    return [Frame(chain(np.ascontiguousarray(np.tile(f, (2, 2, 1))[:height, :width])), i, i / 25)
            for i, f in enumerate(recorded_frames[:5])]


@pytest.mark.parametrize("native,pyvirtualcam_name", [(None, "I420"), ("NV12", "NV12"), ("UYVY", "UYVY"),
                                                      ("YUY2", "YUYV")])
def test_the_camera_gets_the_source_size_rate_and_native_format_and_the_filtered_pixels(
        recorded_frames, native, pyvirtualcam_name):
    cls = backend(f"camfx-test-{native}", NATIVE=native)
    frames = filtered_frames(recorded_frames, 320, 240)
    with VirtualCamera(320, 240, 25.0, backend=cls.__name__) as sink:
        for frame in frames:
            sink.write(frame)
    camera = cls.opened[-1]
    assert (camera.width, camera.height, camera.fps) == (320, 240, 25.0)
    assert fourcc_name(camera.fourcc) == pyvirtualcam_name == sink.format
    assert sink.device == "test0" and sink.name == "vcam:test0" and camera.closed
    assert len(camera.frames) == len(frames)
    for sent, frame in zip(camera.frames, frames):
        assert np.abs(sent.astype(np.int16) - reference(frame.image, sink.format)).max() <= 1
    # A backend that would convert again was opened first in I420, then reopened once.
    assert len(cls.opened) == (1 if native is None else 2) and all(c.closed for c in cls.opened)


def test_odd_sizes_are_padded_to_even(recorded_frames):
    cls = backend("camfx-test-odd")
    frames = filtered_frames(recorded_frames, 321, 239)
    with VirtualCamera(321, 239, 30, backend=cls.__name__) as sink:
        sink.write(frames[0])
    camera = cls.opened[-1]
    assert (camera.width, camera.height) == (322, 240) == sink.size
    assert np.abs(camera.frames[0].astype(np.int16) - reference(frames[0].image, "I420")).max() <= 1


def test_rgba_backends_get_rgba(recorded_frames):
    cls = backend("camfx-test-rgba", NATIVE="ABGR")  # Unity Capture: libyuv ABGR is RGBA in memory
    frames = filtered_frames(recorded_frames, 64, 48)
    with VirtualCamera(64, 48, 30, backend=cls.__name__) as sink:
        sink.write(frames[0])
    sent = cls.opened[-1].frames[0].reshape(48, 64, 4)
    np.testing.assert_array_equal(sent[..., :3], frames[0].image[..., ::-1])
    assert (sent[..., 3] == 255).all() and sink.format == "RGBA"


def test_a_device_in_use_is_one_line_naming_it():
    cls = backend("camfx-test-busy", REFUSE="Device /dev/video4 is already in use.")
    with pytest.raises(ValueError) as error:
        VirtualCamera(640, 480, 30, device="/dev/video4", backend=cls.__name__)
    message = str(error.value)
    assert "\n" not in message
    assert message == ("cannot open the virtual camera /dev/video4 at 640x480 I420 30 fps: "
                       "'camfx-test-busy' backend: Device /dev/video4 is already in use.")


def test_a_device_another_program_sends_to_says_so():
    cls = backend("camfx-test-taken", REFUSE="Device /dev/video2 is not a video output device.")
    with pytest.raises(ValueError, match=r"^cannot open the virtual camera /dev/video2 at 1280x720 I420 30 fps: .* "
                                         r"\(another program is probably sending to it"):
        VirtualCamera(1279, 720, 30, device="/dev/video2", backend=cls.__name__)


def fake_sysfs(root, devices):
    """A /sys/class/video4linux with ``devices``: name -> (label, virtual?)."""
    cls = root / "class" / "video4linux"
    cls.mkdir(parents=True)
    for name, (label, virtual) in devices.items():
        real = root / "devices" / ("virtual" if virtual else "pci0000:00/usb1") / "video4linux" / name
        real.mkdir(parents=True)
        (real / "name").write_text(label + "\n")
        os.symlink(real, cls / name)
    return cls


def test_no_loopback_device_says_how_to_make_one(tmp_path):
    sysfs = fake_sysfs(tmp_path, {"video0": ("Integrated Camera", False)})
    with pytest.raises(ValueError) as error:
        check_virtual_camera(system="Linux", sysfs=sysfs)
    message = str(error.value)
    assert message.startswith("no v4l2loopback device for the virtual camera; make one with: ")
    assert MODPROBE in message and "exclusive_caps=1" in message and "Chrome" in message and "\n" not in message
    with pytest.raises(ValueError, match="/dev/video0 is not a v4l2loopback device"):
        check_virtual_camera("/dev/video0", system="Linux", sysfs=sysfs)


def test_loopback_devices_are_found_and_named(tmp_path):
    sysfs = fake_sysfs(tmp_path, {"video0": ("Integrated Camera", False), "video10": ("camfx", True),
                                  "video2": ("OBS Cam", True)})
    assert loopback_devices(sysfs) == {"/dev/video2": "OBS Cam", "/dev/video10": "camfx"}
    assert check_virtual_camera(system="Linux", sysfs=sysfs) == "/dev/video2 (OBS Cam)"
    assert check_virtual_camera("/dev/video10", system="Linux", sysfs=sysfs) == "/dev/video10 (camfx)"
    with pytest.raises(ValueError, match=r"/dev/video7: no such device; the v4l2loopback devices here are "
                                         r"/dev/video2, /dev/video10"):
        check_virtual_camera("/dev/video7", system="Linux", sysfs=sysfs)


def test_this_machine_is_checked_the_same_way():
    """On this machine: either a loopback device is found or the same one-line advice is given."""
    if loopback_devices():
        assert check_virtual_camera().startswith("/dev/video")
    else:
        with pytest.raises(ValueError, match="no v4l2loopback device"):
            check_virtual_camera()


@pytest.mark.v4l2loopback
def test_a_real_loopback_device_shows_the_frames(recorded_frames):
    """Needs a v4l2loopback device (``sudo modprobe v4l2loopback exclusive_caps=1``): what a
    reader of the device captures is what camfx sent."""
    import cv2
    devices = loopback_devices()
    if not devices:
        pytest.skip("no v4l2loopback device on this machine")
    device = next(iter(devices))
    frames = filtered_frames(recorded_frames, 320, 240)
    with VirtualCamera(320, 240, 30, device=device) as sink:
        sink.write(frames[0])
        capture = cv2.VideoCapture(device, cv2.CAP_V4L2)
        try:
            for _ in range(5):
                sink.write(frames[0])
                ok, seen = capture.read()
        finally:
            capture.release()
    assert ok and seen.shape == (240, 320, 3)
    assert np.abs(seen.astype(np.int16) - frames[0].image).mean() < 4
    assert glob.glob(device)
