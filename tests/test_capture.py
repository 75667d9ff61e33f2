"""The capture thread on recorded clips played as a camera, and on cameras that fail."""
import os
import re
import threading
import time

import cv2
import numpy as np
import pytest

from camfx.live.capture import ENDED, FAILED, LIVE, RECONNECTING, Capture, Pacer
from camfx.errors import CamfxError
from camfx.live.sources import Camera, VideoFile, open_source
from conftest import CLIP_FRAMES
from doubles import ClipCamera, Gate, ManualClock, VirtualClock


def camera_opener(*cameras):
    """An ``open_source`` that hands out the given ClipCameras one per (re)connect, then fails."""
    queue = list(cameras)

    def open_():
        if not queue:
            raise CamfxError("camera 0: not found (no such video device)")
        return Camera(0, width=None, height=None, fps=None, capture_factory=lambda _: queue.pop(0))
    return open_


def drain(capture, until, timeout=5.0, took=None):
    """Take frames until ``until(frames)`` holds; return them. ``took`` is called after each
    frame taken (a :class:`Gate`'s, to let the next one through)."""
    frames = []
    deadline = time.monotonic() + timeout
    while not until(frames) and time.monotonic() < deadline:
        frame = capture.get(timeout=0.05)
        if frame is not None:
            frames.append(frame)
            if took is not None:
                took()
        elif capture.state in (ENDED, FAILED):
            break
    return frames


def file_times(path):
    """Each frame's own time in a video file, seconds from its first (Matroska keeps
    milliseconds: 0.033, 0.067, ...)."""
    with VideoFile(path) as video:
        return [video.time for _ in video]


def never_early(frames, times):
    """Whether each frame was handed out no earlier than its own time (``times[frame.index]``,
    seconds from the first) after every frame before it: the pacing, which a busy machine can
    only make late."""
    due = np.array([times[f.index] for f in frames])
    shown = np.array([f.time for f in frames])
    late = (shown - shown[0]) - (due - due[0])
    return late.min() >= -0.002  # Event.wait may return a hair early


def test_pacer_releases_frames_at_their_time_and_never_waits_when_late():
    now = [10.0]
    waits = []

    def wait(seconds):
        waits.append(round(seconds, 6))
        now[0] += seconds
        return False

    pacer = Pacer(clock=lambda: now[0], wait=wait)
    for at in (0.0, 0.04, 0.3):  # a variable frame rate: due at the file's own times
        assert pacer.wait_until(at)
    assert waits == [0.04, 0.26] and now[0] == pytest.approx(10.3)
    now[0] += 1.0  # processing fell a second behind: frames are due at once, no waiting
    assert pacer.wait_until(0.34) and waits == [0.04, 0.26]


def test_a_file_is_paced_by_its_own_timestamps(tmp_path):
    from test_process import VFR_TIMES, make_clip

    clip = make_clip(tmp_path / "vfr.mkv", times=VFR_TIMES, audio=False)
    with VideoFile(clip) as video:
        images = list(video)
        assert video.time == pytest.approx(VFR_TIMES[-1], abs=1e-6)
    # In the capture's own time (a clock that moves only while it waits for a frame to be due),
    # to a consumer that takes each frame before the next is let through.
    clock, gate = VirtualClock(), Gate()
    with Capture(gate.source(lambda: VideoFile(clip)), clock=clock, wait=clock.wait) as capture:
        frames = drain(capture, lambda f: False, timeout=10, took=gate.took)
        gate.open()
    assert len(frames) == len(images) == len(VFR_TIMES) and capture.dropped == 0
    assert capture.state == ENDED
    shown = np.array([f.time for f in frames]) - frames[0].time
    # Each frame appears at its own time, not at 1/30 s intervals: the gaps range from 10 ms
    # to 250 ms.
    assert shown == pytest.approx(VFR_TIMES, abs=1e-6)
    # And in real time, none comes before its time.
    gate = Gate()
    with Capture(gate.source(lambda: VideoFile(clip))) as capture:
        frames = drain(capture, lambda f: False, timeout=10, took=gate.took)
        gate.open()
    assert len(frames) == len(VFR_TIMES) and never_early(frames, VFR_TIMES)


def test_recorded_clip_as_a_camera_gives_every_frame_in_order_to_a_fast_consumer(recorded_frames):
    gate = Gate()  # a consumer that is always fast enough, however busy the machine
    with Capture(gate.source(camera_opener(ClipCamera(recorded_frames, fps=60, vanish_after=len(recorded_frames)))),
                 give_up_after=0.2) as capture:
        frames = drain(capture, lambda f: capture.state == FAILED, took=gate.took)
        gate.open()
    assert capture.dropped == 0
    assert [f.index for f in frames] == list(range(len(recorded_frames)))
    for got, recorded in zip(frames, recorded_frames):
        np.testing.assert_array_equal(got.image, recorded)


def test_slow_consumer_gets_only_the_newest_frame_and_drops_are_counted(recorded_frames):
    with Capture(camera_opener(ClipCamera(recorded_frames * 3, fps=200))) as capture:
        taken = []
        for _ in range(8):
            time.sleep(0.04)  # processing much slower than the camera
            with capture._cond:  # no frame can come between the two reads
                frame = capture.get(timeout=0.5)
                newest = capture._latest
            taken.append(frame)
            assert frame is newest  # never a stale frame
        indexes = [f.index for f in taken]
        assert indexes == sorted(set(indexes))  # never a frame twice
        assert capture.dropped >= indexes[-1] + 1 - len(taken) > 0


def test_no_frame_is_handed_out_twice(recorded_frames):
    with Capture(camera_opener(ClipCamera(recorded_frames, fps=20))) as capture:
        first = capture.get(timeout=1.0)
        assert capture.get(timeout=0) is None or capture._latest.index != first.index


def test_file_is_paced_at_its_own_rate_and_ends(clip_path):
    gate = Gate()  # a consumer that is always fast enough, however busy the machine
    start = time.monotonic()
    with Capture(gate.source(lambda: VideoFile(clip_path))) as capture:
        frames = drain(capture, lambda f: False, timeout=10, took=gate.took)
        gate.open()
    elapsed = time.monotonic() - start
    assert capture.state == ENDED
    assert len(frames) == CLIP_FRAMES and capture.dropped == 0
    assert [f.index for f in frames] == list(range(CLIP_FRAMES))
    # 36 frames at 30 fps: the last is due 35/30 s after the first, and none comes early.
    assert elapsed >= 35 / 30 - 0.02
    times = file_times(clip_path)
    assert times == pytest.approx(np.arange(CLIP_FRAMES) / 30, abs=0.001)  # the clip is 30 fps
    assert never_early(frames, times)
    # In the capture's own time (a clock that moves only while it waits for a frame to be
    # due), each frame comes exactly at its time.
    clock, gate = VirtualClock(), Gate()
    with Capture(gate.source(lambda: VideoFile(clip_path)), clock=clock, wait=clock.wait) as capture:
        frames = drain(capture, lambda f: False, timeout=10, took=gate.took)
        gate.open()
    assert len(frames) == CLIP_FRAMES and capture.state == ENDED
    assert [f.time - frames[0].time for f in frames] == pytest.approx(times, abs=1e-9)


def test_file_drops_frames_rather_than_slowing_down_when_processing_falls_behind(clip_path):
    with Capture(lambda: VideoFile(clip_path)) as capture:
        start = time.monotonic()
        taken = 0
        while capture.state != ENDED or capture._has_new():
            if capture.get(timeout=0.05) is not None:
                taken += 1
                time.sleep(0.1)  # a chain three times slower than the clip
    elapsed = time.monotonic() - start
    assert taken + capture.dropped == CLIP_FRAMES
    assert capture.dropped > CLIP_FRAMES / 2
    assert elapsed < 35 / 30 + 0.5  # the clip kept its pace


def test_loop_restarts_a_file(clip_path):
    clock, gate = VirtualClock(), Gate()
    with Capture(gate.source(lambda: VideoFile(clip_path)), loop=True, clock=clock, wait=clock.wait) as capture:
        frames = drain(capture, lambda f: len(f) >= CLIP_FRAMES + 5, took=gate.took)
        gate.open()
    assert len(frames) == CLIP_FRAMES + 5 and capture.dropped == 0
    np.testing.assert_array_equal(frames[CLIP_FRAMES].image, frames[0].image)


@pytest.mark.parametrize("fault", [{"vanish_after": 5}, {"freeze_after": 5}, {"block_after": 5}],
                         ids=["read-fails", "same-buffer", "read-blocks"])
def test_lost_camera_is_detected_within_a_second_and_resumes_when_back(recorded_frames, fault):
    broken = ClipCamera(recorded_frames, fps=50, **fault)
    healthy = ClipCamera(recorded_frames, fps=50)
    clock = ManualClock()  # the capture's seconds pass when the test says, whatever the load
    with Capture(camera_opener(broken, healthy), backoff=(0.05, 0.2), clock=clock) as capture:
        before = drain(capture, lambda f: len(f) >= 5)  # the device's last frames before the fault
        if "vanish_after" not in fault:  # a device that stalls is lost once the default 1 s passed ...
            clock.advance(0.9)
            time.sleep(0.3)  # (the watcher looks every 50 ms)
            assert capture.state == LIVE and capture.history == []  # ... not before
            clock.advance(0.15)
        after = drain(capture, lambda f: len(f) >= 5)
        broken.unblock()
    (noticed_at, state), (back_at, back) = capture.history
    assert (state, back) == (RECONNECTING, LIVE)
    assert noticed_at - before[-1].time <= 1.0 + 0.15
    assert capture.state == LIVE and capture.reconnects == 1
    assert len(after) == 5 and after[0].index > before[-1].index
    assert broken.wait_released()  # the lost device was let go (a stuck read lets go once it returns)


def test_camera_that_stays_away_fails_after_the_timeout(recorded_frames):
    with Capture(camera_opener(ClipCamera(recorded_frames, vanish_after=3)),
                 stall_after=0.2, give_up_after=0.5, backoff=(0.05, 0.1)) as capture:
        drain(capture, lambda f: False, timeout=3.0)
        assert capture.state == FAILED
    assert "camera 0: lost, and not back within 0.5 s" in capture.error
    assert "not found" in capture.error


def test_camera_settings_are_requested_and_refusals_reported(recorded_frames):
    device = ClipCamera(recorded_frames, honours=(cv2.CAP_PROP_FPS,))
    camera = Camera(0, width=1280, height=720, fps=30, fourcc="auto", capture_factory=lambda _: device)
    assert device.requested[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")  # MJPG at 720p
    assert device.requested[cv2.CAP_PROP_BUFFERSIZE] == 1
    assert camera.size == (320, 240) and camera.fps == 30
    assert camera.warnings == ["camera 0: asked for 1280x720, got 320x240", "camera 0: asked for MJPG, got YUYV"]
    assert camera.report == "camera 0: 320x240 at 30 fps, YUYV"


def test_camera_below_720p_keeps_its_default_format(recorded_frames):
    device = ClipCamera(recorded_frames)
    camera = Camera(0, width=320, height=240, fps=100, capture_factory=lambda _: device)
    assert cv2.CAP_PROP_FOURCC not in device.requested and camera.warnings == []


@pytest.mark.parametrize("spec, message", [
    (7, "camera 7: not found"),
    ("/dev/video42", "camera /dev/video42: not found"),
    ("rtsp://127.0.0.1:9/none", "rtsp://127.0.0.1:9/none: cannot open"),
    ("missing.mp4", "missing.mp4: no such file"),
])
def test_missing_sources_fail_at_once_naming_the_source(spec, message):
    start = time.monotonic()
    with pytest.raises(CamfxError, match=message):
        Capture(lambda: open_source(spec)).start()
    assert time.monotonic() - start < 5


def test_a_source_opened_but_never_started_is_released(recorded_frames):
    device = ClipCamera(recorded_frames)
    capture = Capture(camera_opener(device))
    assert capture.open().size == (320, 240) and device.reads == 0  # opened, not read
    capture.close()
    assert device.released


@pytest.mark.parametrize("error", [RuntimeError("device busy"), cv2.error("OpenCV(5.0) bad device"),
                                   OSError(19, "No such device")], ids=["RuntimeError", "cv2.error", "OSError"])
def test_any_error_while_reopening_is_a_failed_attempt_and_the_camera_comes_back(recorded_frames, error):
    devices = [ClipCamera(recorded_frames, fps=50, vanish_after=5), error, ClipCamera(recorded_frames, fps=50)]

    def open_():
        device = devices.pop(0)
        if isinstance(device, Exception):
            raise device
        return Camera(0, width=None, height=None, fps=None, capture_factory=lambda _: device)

    with Capture(open_, backoff=(0.05, 0.1)) as capture:
        before = drain(capture, lambda f: len(f) >= 5)
        after = drain(capture, lambda f: len(f) >= 5)
    assert len(after) == 5 and after[0].index > before[-1].index
    assert capture.state == LIVE and capture.reconnects == 1 and devices == []
    assert type(error).__name__ in capture.error


def test_an_error_that_persists_while_reopening_ends_in_failed_naming_it(recorded_frames):
    def open_():
        if not hasattr(open_, "opened"):
            open_.opened = True
            return Camera(0, width=None, height=None, fps=None,
                          capture_factory=lambda _: ClipCamera(recorded_frames, vanish_after=3))
        raise RuntimeError("device busy")

    with Capture(open_, give_up_after=0.3, backoff=(0.05, 0.1)) as capture:
        drain(capture, lambda f: False, timeout=3.0)
        assert capture.state == FAILED
    assert "lost, and not back within 0.3 s (RuntimeError: device busy)" in capture.error


def test_opening_a_camera_leaves_the_process_stderr_alone(recorded_frames, capfd):
    """Other threads keep their error output while a device is being opened."""
    opening, written = threading.Event(), threading.Event()

    def slow_device(_):
        opening.set()
        assert written.wait(5)
        return ClipCamera(recorded_frames)

    def other_thread():
        opening.wait(5)
        os.write(2, b"a message from another thread\n")
        written.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    Camera(0, capture_factory=slow_device).close()
    thread.join()
    assert "a message from another thread" in capfd.readouterr().err


@pytest.mark.parametrize("timestamps", [True, False], ids=["with-timestamps", "without"])
def test_a_still_scene_is_a_healthy_stream(recorded_frames, timestamps):
    """The same picture at 25 fps for 2.5 s (slides, a test card, an empty room): every frame
    is news, nothing is taken for a stall, whether or not the device gives timestamps."""
    still = ClipCamera([recorded_frames[0]] * 200, fps=25, timestamps=timestamps)
    lines = []
    with Capture(camera_opener(still), stall_after=0.5, report=lines.append) as capture:
        start = time.monotonic()
        frames = drain(capture, lambda f: time.monotonic() - start > 2.5, timeout=4)
        with capture._cond:
            arrived, read = capture._count, still.reads
    assert capture.history == [] and capture.reconnects == 0 and lines == []
    assert len(frames) > 25 and arrived >= read - 1  # every frame read arrived (one may be on its way)
    assert all(np.array_equal(f.image, recorded_frames[0]) for f in frames)


@pytest.mark.parametrize("fault", [{"vanish_after": 5}, {"freeze_after": 5}, {"block_after": 5}],
                         ids=["read-fails", "same-buffer", "read-blocks"])
def test_an_outage_is_one_line_when_lost_and_one_when_back(recorded_frames, fault):
    broken = ClipCamera(recorded_frames, fps=50, **fault)
    devices = [broken, ClipCamera(recorded_frames, fps=50)]
    clock = ManualClock()  # the capture's seconds pass when the test says, whatever the load

    def open_():
        if len(devices) == 1:
            clock.advance(0.5)  # the device takes half a second to come back
        device = devices.pop(0)
        return Camera(0, width=None, height=None, fps=None, capture_factory=lambda _: device)

    lines = []
    with Capture(open_, stall_after=0.3, backoff=(0.05, 0.2), report=lines.append, clock=clock) as capture:
        drain(capture, lambda f: len(f) >= 5)
        if "vanish_after" not in fault:
            clock.advance(0.4)  # no new frame for longer than stall_after
        drain(capture, lambda f: capture.reconnects == 1 and len(f) >= 2)
        broken.unblock()
    silent = 0.0 if "vanish_after" in fault else 0.4
    why = "a read failed" if "vanish_after" in fault else f"no new frame for {silent:.1f} s"
    # Gone from the last frame to the first one back, not from noticing it to reopening.
    assert lines == [f"camera 0: lost ({why}); reconnecting", f"camera 0: back after {silent + 0.5:.1f} s"]
    (lost_at, _), (back_at, _) = capture.history
    assert back_at - lost_at == pytest.approx(0.5)


@pytest.fixture
def served(clip_path):
    """The recorded clip served over HTTP on 127.0.0.1, as a link to a video file (and beside
    it, ``damaged.mkv``: the clip with 4 kB garbled a third of the way in)."""
    damaged = clip_path.parent / "damaged.mkv"
    if not damaged.exists():
        data = bytearray(clip_path.read_bytes())
        third = len(data) // 3
        data[third:third + 4000] = bytes((b * 7 + 13) & 255 for b in data[third:third + 4000])
        damaged.write_bytes(data)
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=clip_path.parent))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{clip_path.name}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_link_to_a_video_file_plays_at_its_own_rate_and_ends(served, clip_path):
    source = open_source(served)
    assert not source.live and source.frame_count == CLIP_FRAMES
    assert source.report.endswith(f"a file of {CLIP_FRAMES} frames")
    lines = []
    gate = Gate()  # a consumer that is always fast enough, however busy the machine
    start = time.monotonic()
    with Capture(gate.source(lambda: source), report=lines.append) as capture:
        frames = drain(capture, lambda f: False, timeout=10, took=gate.took)
        gate.open()
    elapsed = time.monotonic() - start
    assert capture.state == ENDED and lines == [] and capture.reconnects == 0
    assert len(frames) == CLIP_FRAMES and capture.dropped == 0
    assert elapsed >= 35 / 30 - 0.05  # paced at 30 fps, not as fast as it downloads ...
    assert never_early(frames, file_times(clip_path))  # ... each frame at its time


def test_a_link_to_a_video_file_loops_on_request(served):
    clock, gate = VirtualClock(), Gate()
    with Capture(gate.source(lambda: open_source(served)), loop=True, clock=clock, wait=clock.wait) as capture:
        frames = drain(capture, lambda f: len(f) >= CLIP_FRAMES + 3, took=gate.took)
        gate.open()
    assert len(frames) == CLIP_FRAMES + 3 and capture.reconnects == 0 and capture.dropped == 0
    np.testing.assert_array_equal(frames[CLIP_FRAMES].image, frames[0].image)


def test_ffmpegs_own_messages_stay_out_of_the_log(served):
    """A headless run's stderr is camfx's lines only, even on a stream FFmpeg complains about."""
    import subprocess
    import sys
    url = served.rsplit("/", 1)[0] + "/damaged.mkv"
    result = subprocess.run([sys.executable, "-m", "camfx", "live", "--headless", "--source", url, "--filters", "edge"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d+ frames? shown, .*", result.stdout.strip())
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("camfx: ") for line in lines), lines
