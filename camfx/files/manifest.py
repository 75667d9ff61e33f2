"""The batch manifest: one JSON line per finished file, so that a batch can be run again and
skip what is done.

A line (a "record") says what was done to which file and how it went::

    {"input": "/data/a.mkv", "size": 1048576, "mtime_ns": 1730000000000000000,
     "chain": "emboss()", "settings": {"codec": "h264", "crf": 23, "preset": "medium"},
     "output": "/out/a.mp4", "frames": 109, "seconds": 1.62, "status": "done", "error": null,
     "attempts": 1, "worker": "pid 4242", "finished": "2026-11-02T10:00:00+00:00"}

``status`` is ``"done"`` or ``"failed"`` (then ``error`` is the one-line reason). Lines are only
ever appended, each flushed to disk as its file finishes, so a batch that is interrupted or
killed keeps every line it wrote; the last line about an input is the one that counts.
"""
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import CamfxError

FILE_NAME = "camfx-manifest.jsonl"


@dataclass(frozen=True)
class Recipe:
    """What makes an output what it is: the input file as it was, the chain, the encoding."""

    input: str  # absolute path
    size: int | None  # bytes, None when the input could not be read
    mtime_ns: int | None
    chain: str  # the chain's canonical spec, every parameter spelled out
    settings: dict  # codec, crf, preset
    output: str  # absolute path

    @classmethod
    def of(cls, src, dst, chain, settings):
        """The recipe for filtering the file ``src`` into ``dst`` now (its size and time as
        they are on this machine; None if it cannot be read here)."""
        try:
            stat = os.stat(src)
            size, mtime_ns = stat.st_size, stat.st_mtime_ns
        except OSError:
            size = mtime_ns = None
        return cls(os.path.abspath(src), size, mtime_ns, chain, dict(settings), os.path.abspath(dst))


class Manifest:
    """A JSON Lines file of records; see the module's text.

    Reading it tolerates a last line cut short (a batch killed while writing it) and lines of
    other shapes; other damage is one error naming the file and line.
    """

    def __init__(self, path):
        self.path = Path(path)
        self._last = {}  # input path -> its last record
        self._file = None
        if self.path.exists():
            self._read()

    def _read(self):
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise CamfxError(f"{self.path}: cannot read the manifest ({getattr(error, 'strerror', None) or error})") \
                from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):
                    continue  # the last line, cut short by a kill
                raise CamfxError(f"{self.path}:{number}: not a manifest line (JSON expected)") from None
            if isinstance(record, dict) and isinstance(record.get("input"), str):
                self._last[record["input"]] = record

    def finished(self, recipe):
        """The record of ``recipe`` done before, with its output still in place; else None
        (never done, failed, or done to a different input, chain, settings or output)."""
        record = self._last.get(recipe.input)
        if record is None or record.get("status") != "done" or recipe.size is None:
            return None
        same = all(record.get(key) == getattr(recipe, key)
                   for key in ("size", "mtime_ns", "chain", "settings", "output"))
        return record if same and os.path.isfile(recipe.output) else None

    def append(self, recipe, *, status, frames=None, seconds=None, error=None, attempts=1, worker=None):
        """Write one record, and put it on disk before returning."""
        record = {"input": recipe.input, "size": recipe.size, "mtime_ns": recipe.mtime_ns, "chain": recipe.chain,
                  "settings": recipe.settings, "output": recipe.output, "frames": frames,
                  "seconds": None if seconds is None else round(seconds, 3), "status": status, "error": error,
                  "attempts": attempts, "worker": worker,
                  "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._drop_line_cut_short()
            self._file = open(self.path, "a", encoding="utf-8")
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._last[recipe.input] = record
        return record

    def _drop_line_cut_short(self):
        """A last line without its newline is a record a kill cut short: it goes."""
        try:
            with open(self.path, "rb+") as f:
                data = f.read()
                if data and not data.endswith(b"\n"):
                    f.truncate(data.rfind(b"\n") + 1)
        except FileNotFoundError:
            pass

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
