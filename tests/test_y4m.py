"""YUV4MPEG2 output to a file and to a named pipe: what FFmpeg reads back is what camfx wrote,
every frame in order; no reader and a reader that leaves are notes, never a stall or a crash."""
import fcntl
import os
import subprocess
import threading
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from camfx.frame import Frame
from camfx.outputs.sink import Output
from camfx.outputs.y4m import Y4mWriter, y4m_header
from yuv_reference import reference

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="the bench extra brings FFmpeg's binary")


def as_frames(images):
    return [Frame(image, i, i / 30) for i, image in enumerate(images)]


def read_y4m(data):
    """(header fields, [frame payloads]) of a YUV4MPEG2 stream."""
    header, _, rest = data.partition(b"\n")
    fields = dict((f[:1].decode(), f[1:].decode()) for f in header.split()[1:])
    size = int(fields["W"]) * int(fields["H"]) * 3 // 2
    frames = []
    while rest:
        assert rest.startswith(b"FRAME\n")
        frames.append(np.frombuffer(rest[6:6 + size], np.uint8))
        rest = rest[6 + size:]
    return header, fields, frames


def test_a_file_holds_every_frame_in_limited_range_420(tmp_path, recorded_frames):
    path = tmp_path / "out.y4m"
    images = [np.ascontiguousarray(f[:239, :319]) for f in recorded_frames[:8]]  # odd: padded to 320x240
    with Y4mWriter(path, 319, 239, 29.97) as sink:
        for frame in as_frames(images):
            assert sink.write(frame) is not False
    header, fields, frames = read_y4m(path.read_bytes())
    assert header.startswith(b"YUV4MPEG2 ") and (fields["W"], fields["H"], fields["F"]) == ("320", "240", "30000:1001")
    assert fields["C"] == "420jpeg" and b"XCOLORRANGE=LIMITED" in header
    assert len(frames) == len(images)
    for got, image in zip(frames, images):
        assert np.abs(got.astype(np.int16) - reference(image, "I420")).max() <= 1
    # FFmpeg's own y4m reader agrees on size, rate, range and the frames' count.
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = list(container.decode(stream))
    assert (stream.width, stream.height, stream.average_rate) == (320, 240, Fraction(30000, 1001))
    assert len(decoded) == len(images) and decoded[0].format.name == "yuv420p"
    np.testing.assert_array_equal(decoded[3].to_ndarray().ravel(), frames[3])


def test_existing_files_are_kept_unless_overwrite(tmp_path):
    path = tmp_path / "taken.y4m"
    path.write_bytes(b"precious")
    with pytest.raises(ValueError, match="already exists; not overwriting"):
        Y4mWriter(path, 4, 4, 30)
    assert path.read_bytes() == b"precious"
    with Y4mWriter(path, 4, 4, 30, overwrite=True):
        pass
    assert path.read_bytes() == y4m_header(4, 4, 30)
    with pytest.raises(ValueError, match="no such folder"):
        Y4mWriter(tmp_path / "missing" / "x.y4m", 4, 4, 30)


def test_ffmpeg_reading_the_pipe_gets_every_frame_in_order(tmp_path, recorded_frames):
    fifo = tmp_path / "camfx.y4m"
    os.mkfifo(fifo)
    images = recorded_frames[:30]
    notes = []
    output = Output(Y4mWriter(fifo, 320, 240, 30, report=notes.append), maxsize=len(images))  # no drops here
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "yuv4mpegpipe", "-i", str(fifo),
               "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]
    with subprocess.Popen(command, stdout=subprocess.PIPE) as ffmpeg:
        got = []
        reader = threading.Thread(target=lambda: got.append(ffmpeg.stdout.read()))
        reader.start()
        blank = Frame(np.zeros((240, 320, 3), np.uint8), -1, 0)
        while output.sink.readers == 0:  # until FFmpeg opens the pipe, frames are dropped and counted
            output.offer(blank)
            time.sleep(0.01)
        for frame in as_frames(images):
            output.offer(frame)
        output.close()
        reader.join(30)
        assert ffmpeg.wait(30) == 0
    assert output.dropped >= 1 and any("waiting for a reader" in n for n in notes)
    raw = np.frombuffer(got[0], np.uint8).reshape(-1, 320 * 240 * 3 // 2)
    assert len(raw) == output.written  # blanks the sink took after FFmpeg came, then every image
    blanks, received = raw[:len(raw) - len(images)], raw[len(raw) - len(images):]
    assert (blanks[:, :320 * 240] == 16).all()
    for frame, image in zip(received, images, strict=True):
        assert np.abs(frame.astype(np.int16) - reference(image, "I420")).max() <= 1


class PipeReader:
    """A program reading the pipe in a thread of its own: takes ``nbytes`` then closes its end."""

    def __init__(self, path, nbytes):
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # opened now, so the writer sees a reader
        os.set_blocking(self.fd, True)
        self.data = b""
        self.thread = threading.Thread(target=self._read, args=(nbytes,))
        self.thread.start()

    def _read(self, nbytes):
        while len(self.data) < nbytes:
            self.data += os.read(self.fd, nbytes - len(self.data))
        os.close(self.fd)

    def join(self):
        self.thread.join(10)
        return self.data


def test_without_a_reader_frames_are_dropped_at_once_and_a_leaving_reader_is_a_note(tmp_path, recorded_frames):
    fifo = tmp_path / "pipe.y4m"
    os.mkfifo(fifo)
    notes = []
    frames = as_frames(recorded_frames[:6])
    header = y4m_header(320, 240, 30)
    one_frame = len(header) + 6 + 320 * 240 * 3 // 2
    with Y4mWriter(fifo, 320, 240, 30, report=notes.append) as sink:
        start = time.perf_counter()
        assert [sink.write(f) for f in frames[:3]] == [False] * 3
        assert time.perf_counter() - start < 5  # would block for ever if it waited for a reader
        assert sink.waiting == 3 and notes == [f"y4m:{fifo}: waiting for a reader (frames are dropped until one "
                                               f"opens the pipe)"]
        viewer = PipeReader(fifo, one_frame)  # reads one frame and quits
        assert sink.write(frames[3]) is True
        if hasattr(fcntl, "F_GETPIPE_SZ"):  # Linux: the pipe holds a whole frame (or 1 MiB, a user's limit)
            assert fcntl.fcntl(sink._fd, fcntl.F_GETPIPE_SZ) >= min(one_frame - len(header), 1 << 20)
        first = viewer.join()
        assert sink.write(frames[4]) is False
        assert "the reader went away after 1 frame; waiting for another" in notes[-1]
        viewer = PipeReader(fifo, 9)  # another one comes: a stream of its own, header first
        sink.write(frames[5])
        assert viewer.join() == b"YUV4MPEG2" and sink.readers == 2
    assert first.startswith(header + b"FRAME\n")
    assert np.abs(np.frombuffer(first[len(header) + 6:], np.uint8).astype(np.int16)
                  - reference(recorded_frames[3], "I420")).max() <= 1


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a device every write to fails)")
def test_a_file_that_cannot_be_written_is_one_line_naming_it():
    from camfx.errors import CamfxError
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(CamfxError, match=r"^/dev/full: cannot write \(No space left on device\)$"):
        Y4mWriter("/dev/full", 320, 240, 30, overwrite=True)
    assert set(os.listdir("/proc/self/fd")) == before  # nothing left open
