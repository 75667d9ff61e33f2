"""Output specs: what ``--output SPEC`` and ``[live] outputs = [...]`` name.

``window``, ``record:PATH``, ``vcam``, ``vcam:/dev/videoN`` (or a camera's name), ``y4m:PATH``.
:func:`parse_outputs` turns them into :class:`OutputSpec` values, refusing a bad one in one line;
:func:`availability` says which kinds can work on this machine (``camfx outputs``).
"""
from dataclasses import dataclass

from ..errors import CamfxError

# kind -> (what follows the colon, or None for nothing, what it does)
KINDS = {
    "window": (None, "the preview window (the default unless --headless)"),
    "record": ("PATH", "an H.264 recording (.mp4, .m4v, .mov, .mkv), as --record"),
    "vcam": ("[DEVICE]", "a virtual camera that video-call apps can pick"),
    "y4m": ("PATH", "YUV4MPEG2 to a file or a named pipe (Chromium, ffmpeg, GStreamer, mpv read it)"),
}
FORMS = "window, record:PATH, vcam, vcam:/dev/videoN, y4m:PATH"


@dataclass(frozen=True)
class OutputSpec:
    """One output: ``kind`` (a key of :data:`KINDS`) and its ``target`` (a path, a device, or
    None)."""

    kind: str
    target: str | None = None

    def __str__(self):
        return self.kind if self.target is None else f"{self.kind}:{self.target}"


def parse_output(text):
    """One spec such as ``"y4m:/tmp/camfx.y4m"`` as an :class:`OutputSpec`.

    Raises CamfxError naming the spec and listing the forms when it is not one of them.
    """
    if not isinstance(text, str):
        raise CamfxError(f"an output must be a string such as 'vcam', got {text!r}")
    kind, colon, target = text.strip().partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise CamfxError(f"unknown output {text!r}; the outputs are {FORMS}")
    takes = KINDS[kind][0]
    if takes is None and colon:
        raise CamfxError(f"output {text!r}: {kind} takes nothing after it; write {kind}")
    if takes == "PATH" and not target.strip():
        raise CamfxError(f"output {text!r}: {kind} needs a path, as in {kind}:PATH")
    if takes == "[DEVICE]" and colon and not target.strip():
        raise CamfxError(f"output {text!r}: name a device after the colon (vcam:/dev/video2), or write vcam")
    return OutputSpec(kind, target.strip() or None)


def parse_outputs(texts):
    """Specs (strings) as a list of :class:`OutputSpec`, in order, each kind's repeats refused
    where they cannot work: one window, one recording (the ``r`` key stops and starts it), no
    two outputs to the same path or device."""
    specs = []
    for text in texts:
        spec = parse_output(text)
        if spec in specs:
            raise CamfxError(f"output {spec} is given twice")
        if spec.kind in ("window", "record") and any(s.kind == spec.kind for s in specs):
            raise CamfxError(f"only one {spec.kind} output can run, got {spec} and "
                             f"{next(s for s in specs if s.kind == spec.kind)}")
        if spec.target is not None and any(s.target == spec.target for s in specs):
            raise CamfxError(f"two outputs write to {spec.target}")
        specs.append(spec)
    return specs


def availability():
    """For each kind, ``(kind, works, detail)``: what it would use here, or why it cannot work
    and the command that would make it work."""
    from .vcam import check_virtual_camera
    from .window import check_display
    rows = []
    try:
        check_display()
        rows.append(("window", True, "a window on this display"))
    except CamfxError as error:
        rows.append(("window", False, str(error)))
    try:
        import av
        if "libx264" in av.codecs_available:
            rows.append(("record", True, "H.264 through PyAV's FFmpeg (libx264)"))
        else:
            rows.append(("record", False, "this PyAV has no libx264 encoder; pip install --force-reinstall av"))
    except ImportError as error:
        rows.append(("record", False, f"PyAV cannot be imported ({error}); pip install av"))
    try:
        rows.append(("vcam", True, f"virtual camera {check_virtual_camera()}"))
    except CamfxError as error:
        rows.append(("vcam", False, str(error)))
    rows.append(("y4m", True, "to a file, or a named pipe made with mkfifo PATH"))
    return rows
