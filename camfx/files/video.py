"""Video files through PyAV (FFmpeg), the one reader and the one writer of camfx: the video
stream decoded to BGR frames, filtered frames encoded to H.264, every other stream's packets
copied untouched. ``camfx process``, live recordings and video files played live all go
through here.

>>> with InputVideo("in.mkv") as video, OutputVideo("out.mp4", video.format, copy=video.others) as out:  # doctest: +SKIP
...     for item in video.items(warn=print):
...         out.write(item)     # a Frame is encoded, a Packet of another stream is remuxed
"""
import heapq
import io
import logging
import re
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.logging
import numpy as np

from ..errors import CamfxError
from ..frame import Frame
from ..text import plural
from . import yuv
from .picture import BT709, DEFAULT_BACKGROUND, FULL, FrameInfo, Picture, parse_background

# --codec name -> FFmpeg encoder. H.264 in yuv420p is what browsers and phones all play.
CODECS = {"h264": "libx264", "hevc": "libx265"}
# x265 logs to stderr by itself; keep it to errors, as libx264 does.
ENCODER_OPTIONS = {"libx265": {"x265-params": "log-level=error"}}
# Output extension -> FFmpeg muxer. The output is written under a temporary name, so the format
# cannot be guessed from the file name and is named explicitly.
FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
PIXEL_FORMAT = "yuv420p"
LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG: 16-235, what yuv420p players expect
# libx264's own defaults: "medium" preset, crf 23.
DEFAULT_PRESET = "medium"
DEFAULT_CRF = 23


@dataclass(frozen=True)
class VideoFormat:
    """What a writer needs to know of the frames it will be given.

    ``rate`` is the nominal frame rate (frames per second, for the encoder's rate control; each
    frame still keeps its own timestamp), ``time_base`` the unit of the frames' ``pts`` in
    seconds, ``colorspace`` FFmpeg's AVColorSpace code of the YUV matrix to write with (1:
    BT.709, 5/6: BT.601, 9: BT.2020), ``name`` how warnings name the source. ``color_range``
    (1 limited, 2 full), ``color_primaries`` and ``color_trc`` (FFmpeg's codes) are written as
    tags; ``sar`` is the sample (pixel) aspect ratio, kept so that DVD, DV and HDV footage is not
    squashed; ``timecode`` (``"01:00:00:00"``) is the first frame's timecode, or None.
    """

    width: int
    height: int
    rate: Fraction
    time_base: Fraction
    colorspace: int = 1
    name: str = ""
    color_range: int = LIMITED_RANGE
    color_primaries: int = 1
    color_trc: int = 1
    sar: Fraction = Fraction(1)
    timecode: str | None = None


def output_format(path):
    """The FFmpeg muxer for an output path, from its extension; ValueError for an unknown one."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise CamfxError(f"{path}: unsupported output extension {suffix!r}; use one of {', '.join(FORMATS)}")
    return FORMATS[suffix]


def describe_stream(stream):
    """``"stream #1 (subtitle, subrip)"``: how warnings name a stream."""
    if stream.codec_context is not None:
        kind = stream.codec_context.name
    else:
        kind = "timecode" if "timecode" in stream.metadata else stream.metadata.get("handler_name", "?")
    return f"stream #{stream.index} ({stream.type}, {kind})"


def is_sequence(path):
    """Whether ``path`` is an image sequence pattern such as ``img_%04d.png`` (FFmpeg's image2)."""
    return re.search(r"%0?\d*d", Path(path).name) is not None


def is_timecode(stream):
    """Whether ``stream`` is a timecode track (a QuickTime ``tmcd``): it becomes the output
    video's timecode rather than a copied stream."""
    return stream.type == "data" and "timecode" in stream.metadata


# Marks a frame number counted from the start of a file's second part (see InputVideo.items).
SECOND_PART = "\0+"


def number_frames(message, first_part):
    """A warning about a file's second part, with its frame numbers counted from the file's
    start, given the number of frames in the first part."""
    return re.sub(re.escape(SECOND_PART) + r"(\d+)", lambda match: str(first_part + int(match[1])), message)


class InputVideo:
    """A video file (or an image sequence ``img_%04d.png``, or a still image) opened for reading.

    ``items()`` yields, in file order, a :class:`Frame` for every decoded frame of the main video
    stream (the first that is not an attached picture such as cover art) and the ``av.Packet`` of
    every other stream, untouched but for their timestamps. Frames are the pictures of
    :class:`camfx.files.picture.Picture`: upright, at the first frame's size, SDR, opaque (over
    ``background``), deinterlaced when ``deinterlace`` (FFmpeg's bwdif). Timestamps of every
    stream are moved by one amount so that the earliest starts at 0 (a recording cut from a
    broadcast keeps its clock, which may be hours in), keeping them in sync.

    ``notes`` has one line for each way the pictures differ from the stored frames (turned,
    tone-mapped, composited, interlaced), for the user. Opening a missing, unreadable or
    non-video file raises :class:`CamfxError` naming it.
    """

    # How many packets the first look into the file may read to find the first frame and one
    # packet of each other stream (to try copying it into the output before encoding starts).
    PROBE_PACKETS = 500

    def __init__(self, path, *, background=DEFAULT_BACKGROUND, deinterlace=False):
        self.path = Path(path)
        self.options = {"background": background, "deinterlace": deinterlace}
        self._open_options = _check_input(self.path)
        try:
            self._container = av.open(str(self.path), **self._open_options)
        except av.FFmpegError as error:
            raise CamfxError(f"{self.path}: not a readable video file ({_reason(error)})") from None
        try:
            self._setup(parse_background(background), background, deinterlace)
        except BaseException:
            self._container.close()
            raise

    def _setup(self, background, background_name, deinterlace):
        self.video = _main_video(self._container, self.path)
        self.others = [s for s in self._container.streams if s is not self.video]
        self.time_base = self.video.time_base or Fraction(1, 90000)
        self.rate = self.video.average_rate or self.video.guessed_rate or self.video.base_rate or Fraction(30)
        self._decoder = _decoder_for(self.video)
        first, samples = self._probe()
        sar = self.video.sample_aspect_ratio or self.video.codec_context.sample_aspect_ratio
        self.picture = Picture(first, name=str(self.path), sar=sar, background=background,
                               background_name=background_name)
        self.notes = list(self.picture.notes)
        self.sample_packets = {self._container.streams[i]: packet for i, packet in samples.items()}
        self.width, self.height = self.picture.size
        self.interlaced = first.interlaced or self.video.codec_context.field_order not in (0, 1)
        self._deinterlacer = Deinterlacer(self.video) if deinterlace else None
        if deinterlace:
            self.notes.append(f"{self.path}: deinterlaced with FFmpeg's bwdif (one frame per frame)")
        elif self.interlaced:
            self.notes.append(f"{self.path}: interlaced video, filtered as whole frames (moving edges comb); "
                              "camfx process --deinterlace deinterlaces it first")
        self.timecode = self.video.metadata.get("timecode") or next(
            (s.metadata["timecode"] for s in self.others if is_timecode(s)), None)
        # One shift for every stream, so that the earliest starts at 0 and sync is kept.
        starts = [s.start_time * s.time_base for s in [self.video, *self.others]
                  if s.start_time is not None and s.time_base and not _is_picture(s)]
        self.offset = max(Fraction(0), min(starts, default=Fraction(0)))
        self._shift = round(self.offset / self.time_base)

    def reopen(self):
        """The same file opened again with the same options (a second reader for the second half)."""
        return InputVideo(self.path, **self.options)

    def _probe(self):
        """The video's first decoded frame (its size, colours, orientation and pixel format
        decide how every frame is read), as a FrameInfo, and the first packet of each other
        stream met on the way (the writer tries them in the output container before encoding
        starts). Read from a container of its own, so that reading proper starts at the
        beginning."""
        try:
            with av.open(str(self.path), **self._open_options) as container:
                first, samples = _scan(container, self.video.index, {s.index for s in self.others},
                                       self.PROBE_PACKETS)
        except av.FFmpegError as error:
            raise CamfxError(f"{self.path}: no video frame could be decoded ({_reason(error)})") from None
        if first is None:
            raise CamfxError(f"{self.path}: no video frame could be decoded")
        return first, samples

    @property
    def format(self):
        """The frames' :class:`VideoFormat`, for a writer."""
        colours = self.picture.colours
        return VideoFormat(self.width, self.height, self.rate, self.time_base, colours.matrix, str(self.path),
                           colours.range, colours.primaries, colours.transfer, self.picture.sar, self.timecode)

    @property
    def deinterlace(self):
        return self._deinterlacer is not None

    @property
    def declared_duration(self):
        """The video's duration in seconds as the file's header says, or None."""
        if self.video.duration:
            return float(self.video.duration * self.time_base)
        tag = self.video.metadata.get("DURATION")  # Matroska keeps it as a tag: 00:00:03.666000000
        if tag:
            try:
                h, m, s = tag.split(":")
                return int(h) * 3600 + int(m) * 60 + float(s)
            except ValueError:
                pass
        if self._container.duration:
            return self._container.duration / av.time_base
        return None

    @property
    def start_time(self):
        return float(self.video.start_time * self.time_base) if self.video.start_time is not None else 0.0

    @property
    def frame_count(self):
        """How many frames the header promises (exact when the container counts them), or None."""
        if self.video.frames:
            return self.video.frames
        duration = self.declared_duration
        return round(duration * self.rate) if duration else None

    def seconds(self, pts):
        return float(pts * self.time_base)

    def items(self, warn, *, start=None, until=None, others=True):
        """Yield Frames of the video stream and Packets of the other streams, in file order
        (Frames only, the other streams left unread, with ``others=False``: a live source).

        Decoding that fails part-way ends the stream with a warning naming the frame and the time
        where it broke; the frames before it are kept. Damaged data that FFmpeg skips over (and
        the frames in it with it) is named in a warning too. No frame at all raises CamfxError.
        ``warn`` is called with a message.

        Two parts of one file can be read at once (see :mod:`camfx.files.encode`): ``until`` (a pts)
        ends the first part before the first frame at or past it, leaving the other streams'
        later packets to :meth:`rest`; ``start``, after :meth:`seek_keyframe`, makes this the
        second part: frames from that pts on, and no packets of other streams. Frames of the
        second part are named "frame" + ``SECOND_PART`` + their number in the part, which
        :func:`number_frames` makes a number in the file once the first part's count is known.
        """
        index, last_pts, nudged = 0, None, False
        where = self._where if start is None else (lambda i, pts: f"frame {SECOND_PART}{i} (t={self._time(pts):.3f} s)")
        self.frames_read = 0
        step = max(1, round(1 / (self.rate * self.time_base)))  # one frame in time-base units
        self.reached_until = False
        damage = _Damage(warn, self.path, max_reports=3)
        try:
            demuxed = self._container.demux() if others else self._container.demux(self.video)
            for packet in damage.watch(demuxed):
                if packet.stream is not self.video:
                    if packet.dts is not None and start is None:  # demuxers end each stream with an empty packet
                        yield self._shifted(packet)
                    continue
                for frame in self._decode(packet):
                    pts = frame.pts if frame.pts is not None else (last_pts + step if last_pts is not None else 0)
                    if until is not None and pts >= until:
                        self.reached_until = True
                        return
                    if start is not None and pts < start:  # the first part's (skipped, or an open GOP's lead)
                        damage.forget()
                        continue
                    damage.report(f"after {where(index - 1, last_pts)}" if index else "before the first frame")
                    if last_pts is not None and pts <= last_pts:  # an encoder needs increasing timestamps
                        if not nudged:
                            warn(f"{self.path}: {where(index, pts)} repeats the time of the one before it; "
                                 "such frames are moved one time-base tick later")
                        pts, nudged = last_pts + 1, True
                    image = self.picture(frame, lambda: where(index, pts), warn)
                    yield Frame(image, index, self._time(pts), pts - self._shift)
                    index, last_pts = index + 1, pts
                    self.frames_read = index
        except av.FFmpegError as error:
            if index == 0 and start is None:
                raise CamfxError(f"{self.path}: no video frame could be decoded ({_reason(error)})") from None
            after = f"after {where(index - 1, last_pts)}" if index else f"at t={self._time(start):.3f} s"
            kept = f"the {plural(index, 'frame')}" if start is None else "the frames"
            warn(f"{self.path}: decoding stopped {after}: {_reason(error)}; keeping {kept} before it")
            return
        if index == 0 and start is None:
            raise CamfxError(f"{self.path}: no video frame could be decoded")
        if index == 0:
            return
        end = self.seconds(last_pts) + float(1 / self.rate)
        declared = self.declared_duration
        if declared is not None and self.start_time + declared - end > max(0.1, 2 / float(self.rate)):
            kept = f"the {plural(index, 'frame')}" if start is None else "the frames"
            warn(f"{self.path}: the video ends after {where(index - 1, last_pts)}, before the {declared:.3f} s the "
                 f"file declares: it looks truncated or damaged; keeping {kept} that decode")

    def _decode(self, packet):
        """The frames a video packet completes (all that are left, for the empty packet that ends
        the stream), deinterlaced when asked."""
        frames = self._decoder.decode(packet)
        if self._deinterlacer is not None:
            frames = self._deinterlacer(frames, end=not packet.size)
        return frames

    def _time(self, pts):
        """A frame's time in the output, in seconds (from the earliest stream's start)."""
        return float((pts - self._shift) * self.time_base)

    def _shifted(self, packet):
        """A packet of another stream, moved by the same amount as the video (see the class)."""
        if self.offset and not _is_picture(packet.stream):
            shift = round(self.offset / packet.time_base)
            if packet.pts is not None:
                packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
        return packet

    def _where(self, index, pts):
        return f"frame {index} (t={self._time(pts):.3f} s)"

    def rest(self):
        """After ``items(until=...)`` stopped there: the other streams' packets not yet read, in
        file order (the video's are skipped undecoded)."""
        try:
            for packet in self._container.demux():
                if packet.stream is not self.video and packet.dts is not None:
                    yield self._shifted(packet)
        except av.FFmpegError:
            return  # a damaged end: the packets before it are kept, as for the video

    def seek_keyframe(self, seconds):
        """Position the file at the last video keyframe at or before ``seconds`` (stream time)
        and return that keyframe's pts; None, with the file where it was, when there is no
        such keyframe after the first one or the file cannot seek."""
        target = round(seconds / self.time_base)
        first = self.video.start_time or 0
        try:
            self._container.seek(target, stream=self.video, backward=True)
            keyframe = next((frame for frame in self._container.decode(self.video)), None)
            if keyframe is not None and keyframe.key_frame and keyframe.pts is not None and keyframe.pts > first:
                self._container.seek(target, stream=self.video, backward=True)
                return keyframe.pts
            self._container.seek(first, stream=self.video, backward=True)
        except av.FFmpegError:
            pass
        return None

    def close(self):
        self._container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _check_input(path):
    """Refuse a path that cannot be read, naming it; return ``av.open``'s options for it (an
    image sequence pattern is opened with FFmpeg's image2 demuxer, at its default 25 fps)."""
    if is_sequence(path):
        # image2 looks for the first number from 0 to 4 (its start_number_range).
        if not any(Path(str(path) % n).is_file() for n in range(5)):
            raise CamfxError(f"{path}: no image matches the pattern (looked for {Path(str(path) % 0).name} to "
                             f"{Path(str(path) % 4).name})")
        return {"format": "image2"}
    if not path.exists():
        raise CamfxError(f"{path}: no such file")
    if path.is_dir():
        raise CamfxError(f"{path}: is a directory, not a video file")
    return {}


def _is_picture(stream):
    """Whether ``stream`` is an attached picture (cover art), not a video."""
    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _main_video(container, path):
    """The video stream to filter: the first that is not an attached picture (cover art, which
    MP4, MKV and MP3 files may carry before the video)."""
    videos = [s for s in container.streams.video if not _is_picture(s)]
    if not videos:
        covers = " (only a cover picture)" if container.streams.video else ""
        raise CamfxError(f"{path}: has no video stream{covers}")
    return videos[0]


# FFmpeg's own VP8/VP9 decoders ignore a WebM's alpha channel (kept beside the frames); libvpx's
# decode it.
_ALPHA_DECODERS = {"vp8": "libvpx", "vp9": "libvpx-vp9"}


def _decoder_for(stream, threads="AUTO"):
    """The codec context that decodes ``stream``: its own, or libvpx's for a VP8/VP9 stream that
    carries transparency; ``threads`` is its thread type ("AUTO": frame and slice threads, as
    the ffmpeg command has them)."""
    context = stream.codec_context
    name = _ALPHA_DECODERS.get(context.name)
    if name and stream.metadata.get("alpha_mode") == "1" and name in av.codecs_available:
        alpha = av.CodecContext.create(name, "r")
        alpha.width, alpha.height = context.width, context.height
        if context.extradata:
            alpha.extradata = context.extradata
        context = alpha
    context.thread_type = threads
    return context


def _scan(container, video, wanted, limit):
    """(FrameInfo of the first frame of stream ``video`` or None, {stream index: first packet}
    of the streams in ``wanted``), reading at most ``limit`` packets past the first frame."""
    samples, first = {}, None
    stream = container.streams[video]
    # Slice threads only: closing a frame-threaded decoder part-way through the stream while
    # FFmpeg's log goes to Python (see _Damage) was seen to hang the process.
    decoder = _decoder_for(stream, threads="SLICE")
    for n, packet in enumerate(container.demux()):
        index = packet.stream.index
        if index != video:
            if packet.dts is not None and packet.size and index not in samples and index in wanted:
                samples[index] = _copy_packet(packet)
        elif first is None:
            first = _first_info(decoder.decode(packet))
        if first is not None and (set(samples) >= wanted or n >= limit):
            break
    if first is None:
        first = _first_info(decoder.decode(None))
    return first, samples


def _first_info(frames):
    """The FrameInfo of the first of ``frames``, or None."""
    return FrameInfo.of(frames[0]) if frames else None


def _copy_packet(packet):
    """A packet that outlives its container."""
    copy = av.Packet(bytes(packet))
    copy.pts, copy.dts, copy.duration = packet.pts, packet.dts, packet.duration
    copy.time_base, copy.is_keyframe = packet.time_base, packet.is_keyframe
    return copy


class Deinterlacer:
    """FFmpeg's bwdif on a stream's decoded frames, one frame out per frame in (fields are not
    doubled, so the frame rate and every timestamp stay), only frames flagged interlaced."""

    def __init__(self, stream):
        self.stream = stream
        self._graph = None

    def _build(self, frame):
        graph = av.filter.Graph()
        source = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format,
                                  time_base=frame.time_base or self.stream.time_base)
        bwdif = graph.add("bwdif", "mode=send_frame:parity=auto:deint=interlaced")
        sink = graph.add("buffersink")
        source.link_to(bwdif)
        bwdif.link_to(sink)
        graph.configure()
        self._graph, self._size = graph, (frame.width, frame.height, frame.format.name)

    def __call__(self, frames, end=False):
        out = []
        for frame in frames:
            if self._graph is None or (frame.width, frame.height, frame.format.name) != self._size:
                if self._graph is not None:  # a new size: what the old graph holds comes out first
                    out += self._drain(flush=True)
                self._build(frame)
            self._graph.vpush(frame)
            out += self._drain()
        if end and self._graph is not None:
            out += self._drain(flush=True)
        return out

    def _drain(self, flush=False):
        if flush:
            self._graph.vpush(None)
        frames = []
        while True:
            try:
                frames.append(self._graph.vpull())
            except (av.BlockingIOError, av.EOFError):
                return frames


class OutputVideo:
    """A video file being written: Frames are encoded, Packets of the streams in ``copy`` (an
    input's other streams) are remuxed into copies of those streams.

    ``video`` is the :class:`VideoFormat` of the frames to come. The video stream keeps their
    size, time base and every frame's timestamp, so a variable frame rate stays as it was.
    What becomes of each stream in ``copy`` is decided here, before the first frame: a stream
    the container cannot hold (a SubRip subtitle in MP4, a QuickTime data track that MOV's muxer
    refuses at its end) is left out with a warning naming it, found by writing the stream's
    header, its first packet (from ``samples``, a dict stream -> packet, when given) and a
    trailer into memory; a timecode track is not copied but becomes the video's timecode, which
    MP4, MOV and MKV each write their own way. The frames are converted to yuv420p with the
    matrix and range of ``video``, which are written as tags with its primaries, transfer and
    sample aspect ratio. Frames of odd width or height are padded by repeating the last column
    or row, because yuv420p needs even sizes (``padded`` says so). ``threads`` is the encoder's
    thread count (0: FFmpeg's automatic count, one per core and more). Raises CamfxError for an
    unknown codec or extension, ``av.FFmpegError``/``OSError`` when the file cannot be made.
    """

    def __init__(self, path, video, *, copy=(), format=None, codec="h264", crf=DEFAULT_CRF, preset=DEFAULT_PRESET,
                 threads=0, warn=None, spool=False, samples=None):
        self.path = Path(path)
        self.format = format = format or output_format(self.path)
        if codec not in CODECS:
            raise CamfxError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
        if CODECS[codec] not in av.codecs_available:
            raise CamfxError(f"codec {codec!r} needs the FFmpeg encoder {CODECS[codec]}, which this PyAV lacks")
        warn = warn or (lambda message: None)
        copied = {}
        for stream in [] if spool else copy:
            if is_timecode(stream):
                warn(f"{video.name}: {describe_stream(stream)} is not copied: its timecode {video.timecode} is written "
                     "as the output video's")
            elif can_copy(stream, format, (samples or {}).get(stream)):
                copied[stream] = None
            else:
                warn(f"{video.name}: {describe_stream(stream)} cannot be copied into {format} and is left out")
        self.padded = (video.width + video.width % 2, video.height + video.height % 2)
        if self.padded != (video.width, video.height):
            warn(f"{video.name}: {video.width}x{video.height} is odd; yuv420p needs even sizes, so the output is "
                 f"{self.padded[0]}x{self.padded[1]} (last column/row repeated)")
        # A spool keeps the encoder's packets as they are; the container then only hosts the
        # encoder, with the flags (global headers) the format asks of it.
        self.spool = None
        self._container = av.open(io.BytesIO() if spool else str(self.path), "w", format=format)
        try:
            if spool:
                self.spool = PacketSpool(self.path)
            self.stream = self._container.add_stream(CODECS[codec], rate=video.rate)
            self.stream.width, self.stream.height = self.padded
            self.stream.pix_fmt = PIXEL_FORMAT
            self.stream.time_base = video.time_base
            context = self.stream.codec_context
            context.time_base = video.time_base
            # FFmpeg's automatic thread count (threads=0) and both kinds of threading, as the ffmpeg
            # command has them. PyAV's own default is slice threads only, which libx264 obeys by
            # cutting every frame into slices: less efficient, and not the same encoding as ffmpeg's.
            context.thread_count, context.thread_type = threads, "AUTO"
            context.options = {"crf": str(crf), "preset": preset, **ENCODER_OPTIONS.get(CODECS[codec], {})}
            if codec == "hevc" and format in ("mp4", "mov"):
                self.stream.codec_tag = "hvc1"  # the tag Apple's players require for HEVC
            matrix = video.colorspace if video.colorspace in yuv.LUMA_WEIGHTS else BT709
            context.colorspace, context.color_range = matrix, video.color_range
            context.color_primaries, context.color_trc = video.color_primaries, video.color_trc
            if video.sar != 1:
                context.sample_aspect_ratio = video.sar
            if video.timecode:
                self.stream.metadata["timecode"] = video.timecode
            for stream in copied:
                copied[stream] = self._container.add_stream_from_template(stream)
            context.open()  # now, so that its parameter sets can be compared (camfx.files.encode)
        except BaseException:
            self.close()
            raise
        self._copies = copied
        self._video = video
        self._flushed = False
        # The matrix the YUV is made with; one camfx.files.yuv lacks (none that a reader passes
        # on) is written as BT.709 and tagged so.
        self._matrix = video.colorspace if video.colorspace in yuv.LUMA_WEIGHTS else BT709

    def write(self, item):
        """Encode a Frame, or remux a Packet of one of the input's other streams."""
        if isinstance(item, Frame):
            self.write_frame(item)
        else:
            self.write_packet(item)

    def write_frame(self, frame):
        image = frame.image
        if image.shape[:2] != (self._video.height, self._video.width):
            raise CamfxError(f"{self._video.name}: frame {frame.index} is {image.shape[1]}x{image.shape[0]} but the "
                             f"video began at {self._video.width}x{self._video.height}; size changes are not supported")
        if image.shape[1::-1] != self.padded:  # the last row and column repeated
            image = np.pad(image, ((0, self.padded[1] - image.shape[0]), (0, self.padded[0] - image.shape[1]), (0, 0)),
                           mode="edge")
        planes = yuv.to_yuv420(image, self._matrix, self._video.color_range == FULL)
        picture = av.VideoFrame.from_ndarray(planes, format=PIXEL_FORMAT)
        picture.pts, picture.time_base = frame.pts, self._video.time_base
        self._emit(self.stream.encode(picture))

    def _emit(self, packets):
        if self.spool is not None:
            self.spool.write(packets)
        else:
            self._container.mux(packets)

    def write_packet(self, packet):
        copy = self._copies.get(packet.stream)
        if copy is not None:
            packet.stream = copy
            self._container.mux(packet)

    @property
    def parameter_sets(self):
        """The encoder's stream headers (H.264's SPS and PPS): two encoders whose packets are to
        be joined in one stream must have the same."""
        return bytes(self.stream.codec_context.extradata or b"")

    def flush(self):
        """Encode the frames the encoder still holds; no frame may be written after this."""
        if not self._flushed:
            self._flushed = True
            self._emit(self.stream.encode(None))

    def append(self, video_packets, other_packets):
        """After :meth:`flush`: add another encoder's video packets (same parameter sets, later
        timestamps) and the input's remaining packets of other streams, interleaved by time."""
        self.flush()
        ours = ((packet, True) for packet in video_packets)
        theirs = ((packet, False) for packet in other_packets)
        for packet, is_ours in heapq.merge(ours, theirs, key=lambda item: _packet_time(item[0])):
            if is_ours:
                packet.stream = self.stream
                self._container.mux(packet)
            else:
                self.write_packet(packet)

    def finish(self):
        """Flush the encoder and write the file's trailer. A muxer that fails at its end raises
        CamfxError naming the streams copied into it (the likely cause, since the video stream
        is the muxer's everyday fare)."""
        self.flush()
        if self.spool is not None:
            self.spool.close()
        try:
            self._container.close()
        except av.FFmpegError as error:
            copies = ", ".join(describe_stream(s) for s in self._copies)
            held = f"; it held {copies} copied from the input: write .mkv to keep them" if copies else ""
            raise CamfxError(f"{self._video.name}: the {self.format} output could not be finished "
                             f"({_reason(error)}){held}") from None

    def close(self):
        """Close without flushing (after an error); the file is then incomplete."""
        if self.spool is not None:
            self.spool.close()
        try:
            self._container.close()
        except av.FFmpegError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.finish()
        else:
            self.close()


class PacketSpool:
    """Encoded packets kept in a file exactly as the encoder made them, to be read back in order
    and muxed elsewhere (a container would rewrite H.264's start codes as length prefixes, which
    a muxer given the encoder's headers no longer parses)."""

    _HEADER = struct.Struct("<qqqiiBI")  # pts, dts, duration, time base (2), keyframe, size
    _NONE = -(2 ** 63)

    def __init__(self, path):
        self.path = Path(path)
        self._file = open(self.path, "wb")

    def write(self, packets):
        for packet in packets:
            pts, dts = (self._NONE if t is None else t for t in (packet.pts, packet.dts))
            data = bytes(packet)
            base = packet.time_base
            self._file.write(self._HEADER.pack(pts, dts, packet.duration or 0, base.numerator, base.denominator,
                                               packet.is_keyframe, len(data)))
            self._file.write(data)

    def close(self):
        self._file.close()

    def packets(self):
        """The packets written, in order."""
        with open(self.path, "rb") as spool:
            while header := spool.read(self._HEADER.size):
                pts, dts, duration, numerator, denominator, keyframe, size = self._HEADER.unpack(header)
                packet = av.Packet(spool.read(size))
                packet.time_base = Fraction(numerator, denominator)
                packet.pts, packet.dts = (None if t == self._NONE else t for t in (pts, dts))
                packet.duration, packet.is_keyframe = duration, bool(keyframe)
                yield packet


class _Damage:
    """FFmpeg's error messages about the file, collected while it is read in this thread (a
    demuxer that skips damaged data says so only in its log), and reported as warnings."""

    def __init__(self, warn, path, max_reports):
        self.warn, self.path, self.left = warn, path, max_reports
        self.messages = []

    def watch(self, packets):
        """``packets``, iterated with FFmpeg's errors in this thread captured."""
        _listen_to_ffmpeg_errors()
        with av.logging.Capture(local=True) as log:
            self.messages = log
            yield from packets

    def forget(self):
        self.messages.clear()

    def report(self, where):
        """Warn about errors captured since the last report, saying ``where`` they came."""
        errors = [message.strip() for level, _, message in self.messages if level <= av.logging.ERROR]
        self.messages.clear()
        if errors and self.left > 0:
            self.left -= 1
            more = "" if self.left else " (further damage is not reported)"
            self.warn(f"{self.path}: damaged data {where}: {errors[0]}; frames in it are lost{more}")


def _listen_to_ffmpeg_errors():
    """Have PyAV pass FFmpeg's errors on (it drops its whole log by default); those no capture
    takes go to the ``libav`` logger, kept off the terminal unless the application logs them."""
    if av.logging.get_level() is None or av.logging.get_level() < av.logging.ERROR:
        av.logging.set_level(av.logging.ERROR)
        logging.getLogger("libav").addHandler(logging.NullHandler())


def _packet_time(packet):
    """A packet's decoding time in seconds, for interleaving streams of different time bases."""
    ts = packet.dts if packet.dts is not None else packet.pts
    return float(ts * packet.time_base) if ts is not None else 0.0


def can_copy(stream, format, sample=None):
    """Whether ``stream``'s packets can be copied into a new ``format`` container, found by writing
    a header with it, its packet ``sample`` (when given) and a trailer into memory: the muxer's
    own rules, not a list kept here. (MOV's muxer takes a QuickTime data track's header, then
    refuses the file at its end.)"""
    probe = av.open(io.BytesIO(), "w", format=format)
    try:
        copy = probe.add_stream_from_template(stream)
        probe.start_encoding()
        if sample is not None:
            packet = _copy_packet(sample)
            packet.stream = copy
            probe.mux(packet)
        probe.close()
        return True
    except (av.FFmpegError, ValueError, TypeError):
        return False
    finally:
        try:
            probe.close()
        except av.FFmpegError:
            pass


def _reason(error):
    """FFmpeg's message without the errno prefix and the file name PyAV appends."""
    return getattr(error, "strerror", None) or str(error)
