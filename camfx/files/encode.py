"""Filtering and encoding a video's frames: the whole video in one pass, or a long one as two
halves at once.

Two halves, because on 2 cores libx264 keeps only about 1.7 of them busy with one stream (its
frame threads wait on each other's rows). A second encoder working on the second half fills the
gap: 1090 frames at 640x480, preset ``medium``, took 11.65 s in one pass and 10.45 s as two
halves at once (``benchmarks/process_vs_ffmpeg.py --split-from 0``). The second half is decoded
by a decoder of its own, from the keyframe nearest the middle (or from the start, dropping the
first half, in a file with no keyframe there), filtered by the same chain and encoded in a
thread, its packets kept in a hidden file beside the output; when both halves are done, the
first half's output takes them. The joined stream has one keyframe more, where the halves meet;
every frame keeps its timestamp.
"""
import os
import threading

import numpy as np

from . import parts
from .pipeline import Pipeline
from ..frame import Frame
from .video import OutputVideo, number_frames

# Splitting pays for a second decoder and encoder starting up, and one more keyframe: only
# worth it for videos of at least this many frames per half (10 s at 30 fps).
MIN_FRAMES_PER_HALF = 300


def prepare(chain, video, announce, threads=None):
    """Pick the chain's fastest variants for the video's frame size and a budget of ``threads``
    numba threads (default: numba's thread count; timed once, then remembered) and load their
    kernels, before either half starts."""
    if len(chain):
        blank = np.zeros((video.height, video.width, 3), np.uint8)
        chain.tune(blank, threads=threads, announce=announce)
        chain.warm(blank)


def encode(items, chain, out, on_frame, stop=None):
    """Decode, filter and encode ``items`` (Frames and other streams' Packets) into ``out``, in
    three overlapping threads, calling ``on_frame()`` after each frame. ``stop``, an Event, ends
    it early."""
    def filtered(item):
        if not isinstance(item, Frame):
            return item
        return item.with_image(chain(item.image))  # the chain checks each step's shape

    with Pipeline(items, [filtered]) as results:
        for item in results:
            if stop is not None and stop.is_set():
                return
            out.write(item)
            if isinstance(item, Frame):
                on_frame()


class SecondHalf:
    """The second half of a video being filtered and encoded in a thread; see the module's text.

    Use :meth:`begin`, then give ``start`` as ``until`` to the first half's
    :meth:`~camfx.files.video.InputVideo.items`, and :meth:`packets` to its output's
    :meth:`~camfx.files.video.OutputVideo.append`. :meth:`close` stops it and removes its file;
    its frames, counted into ``progress`` as they are encoded, are taken off the count unless
    :meth:`packets` was read.
    """

    def __init__(self, video, start, out, chain, progress):
        self.start = start
        self._video, self._out, self._chain, self._progress = video, out, chain, progress
        self._stop = threading.Event()
        self._error = None
        self.failed = threading.Event()  # the first half may stop early: the file will not be written
        self._frames, self._used, self._closed = 0, False, False
        self._held, self._kinds = [], set()
        self._thread = threading.Thread(target=self._run, name="camfx-second-half", daemon=True)

    @classmethod
    def begin(cls, video, first, make_temp, chain, settings, progress):
        """Start the second half of ``video`` (whose first half goes to the OutputVideo
        ``first``), or return None when splitting does not pay or would not be exact: a short
        video, one core, a filter that is not ``stateless`` (it may remember earlier frames),
        or an encoder whose stream headers differ from the first half's, or deinterlacing. One
        core means fewer than two in ``settings.threads`` (a worker of several on one machine) or
        in the machine."""
        frames = video.frame_count or 0
        if frames < 2 * MIN_FRAMES_PER_HALF or (settings.threads or os.cpu_count() or 1) < 2:
            return None
        if not all(f.stateless for f in chain):
            return None
        if video.deinterlace:
            # bwdif looks at the frames either side of each one: the second half's first frame
            # would lack the one before it, and the first half's last the one after it.
            return None
        second = video.reopen()
        temp = out = None
        try:
            middle = video.start_time + frames / float(video.rate) / 2
            # From the keyframe before the middle; or, in a file with no keyframe but the first
            # (webcam recordings often have just one), from the start, the first half decoded
            # and dropped: decoding costs a few percent of what encoding does.
            start = second.seek_keyframe(middle)
            if start is None:
                start = round(middle / video.time_base)
            temp = make_temp()
            out = OutputVideo(temp, second.format, format=first.format, codec=settings.codec, crf=settings.crf,
                              preset=settings.preset, threads=settings.threads or 0, spool=True)
        except BaseException:
            _discard(second, out, temp)
            raise
        if out.parameter_sets != first.parameter_sets:
            _discard(second, out, temp)
            return None
        half = cls(second, start, out, chain, progress)
        half._thread.start()
        return half

    def _count(self):
        self._frames += 1
        self._progress.update()

    def _hold(self, message):
        """Keep a warning of this half until the first half is done: it is then given unless the
        first half gave one of its kind (a size change or transparency seen in both halves is
        one warning, at its first frame)."""
        kinds = self._video.picture.said - self._kinds
        self._kinds |= kinds
        self._held.append((message, kinds))

    def _run(self):
        try:
            encode(self._video.items(self._hold, start=self.start), self._chain, self._out, self._count,
                   self._stop)
            if not self._stop.is_set():
                self._out.finish()
        except BaseException as error:  # noqa: B036 - raised again in the caller's thread by packets()
            self._error = error
            self.failed.set()

    def packets(self, first):
        """Wait for the second half and return its video packets, an iterator; its error, if
        any, is raised here. Its warnings are given now, less those of a kind the first half
        (the InputVideo ``first``) gave."""
        self._thread.join()
        for message, kinds in self._held:
            if not kinds & first.picture.said:
                self._progress.warn(number_frames(message, first.frames_read))
        if self._error is not None:
            raise self._error
        self._used = True
        return self._out.spool.packets()

    def close(self):
        """Stop the thread if it still runs, and remove the temporary file."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._thread.join()
        _discard(self._video, self._out, self._out.path)
        if not self._used:
            self._progress.update(-self._frames)


def _discard(video, out, temp):
    if out is not None:
        out.close()
    video.close()
    if temp is not None:
        parts.remove(temp)
