"""How camfx words things for people: counts, near misses and long values."""
import difflib
import re


def plural(count, word, plural_form=None):
    """``"1 frame"``, ``"2 frames"``, ``"0 frames"``.

    >>> plural(1, "frame"), plural(3, "frame"), plural(2, "matrix", "matrices")
    ('1 frame', '3 frames', '2 matrices')
    """
    return f"{count} {word if count == 1 else plural_form or word + 's'}"


def did_you_mean(word, choices):
    """``" (did you mean 'blur'?)"`` when ``word`` is close to one of ``choices`` (difflib's
    ratio of at least 0.6), else ``""``: a suffix for an error message.

    >>> did_you_mean("blurr", ["blur", "box"]), did_you_mean("zoom", ["blur", "box"])
    (" (did you mean 'blur'?)", '')
    """
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def short_repr(value, limit=60):
    """``repr(value)``, or for a long list (a kernel matrix) its first items and its shape:
    ``[[1.0, 2.0, 1.0, ...], ...] (9x9)``.

    >>> short_repr([[1, 2], [3, 4]])
    '[[1, 2], [3, 4]]'
    >>> short_repr([[0.5] * 9] * 9)
    '[[0.5, 0.5, 0.5, ...], ...] (9x9)'
    """
    text = repr(value)
    if len(text) <= limit or not isinstance(value, (list, tuple)) or not value:
        return text
    rows = value if all(isinstance(row, (list, tuple)) for row in value) else None
    if rows is None:
        return f"[{', '.join(map(repr, value[:3]))}, ...] ({len(value)})"
    width = max(len(row) for row in rows)
    head = ", ".join(map(repr, rows[0][:3])) + (", ..." if len(rows[0]) > 3 else "")
    return f"[[{head}]{', ...' if len(rows) > 1 else ''}] ({len(rows)}x{width})"


def filter_label(f):
    """A filter as people read it: ``blur(ksize=9, sigma=0.0)``, long values shortened (a 9x9
    matrix). Not for keys: ``repr(f)`` is the exact one."""
    params = ", ".join(f"{p.name}={short_repr(getattr(f, p.name, p.default))}" for p in f.parameters())
    return f"{f.name}({params})"


def chain_label(chain):
    """A chain as people read it: its filters' labels joined by commas."""
    return ",".join(filter_label(f) for f in chain) or "(no filters)"


def plain_text(docstring_text):
    """reStructuredText inline markup taken out for a terminal: ````x```` and ``:role:`x``` become x.

    >>> plain_text("equal to ``cv2.blur(f)``, see :func:`camfx.convolve2d`")
    'equal to cv2.blur(f), see camfx.convolve2d'
    """
    text = re.sub(r":[\w:.-]+:`~?([^`]*)`", r"\1", docstring_text)
    return re.sub(r"``([^`]*)``", r"\1", text)
