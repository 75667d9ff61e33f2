import math
from pathlib import Path

import numpy as np

from camfx.engine.filter import Filter
from camfx.kernels import lut3d, pointwise


def read_cube(path):
    """A 3-D LUT from an Adobe/Resolve ``.cube`` file: ``(table, domain_min, domain_max)``.

    ``table`` is (N, N, N, 3) float64 indexed [blue][green][red] (the file lists red fastest,
    then green, then blue) and holds (R, G, B) outputs, 0 to 1 for the usual range; the domain
    maps input values 0-1 onto the lattice (``DOMAIN_MIN``/``DOMAIN_MAX``, or Resolve's
    ``LUT_3D_INPUT_RANGE``; 0 and 1 by default). ``TITLE`` and ``#`` comments are skipped.

    Raises ValueError, one line naming the file and the line, for anything else.
    """
    def fail(number, why):
        where = f", line {number}" if number else ""
        raise ValueError(f"path {str(path)!r}{where}: {why}")

    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        fail(0, error.strerror or str(error))
    size, low, high, rows = None, [0.0] * 3, [1.0] * 3, []
    last = 0
    for number, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        last = number
        keyword = words[0].upper()
        if keyword == "TITLE":
            continue
        if keyword == "LUT_3D_SIZE":
            size = _integer(words[1:], 2, 256) or fail(number, f"LUT_3D_SIZE must be an integer from 2 to 256, "
                                                               f"got {' '.join(words[1:])!r}")
        elif keyword == "LUT_1D_SIZE":
            fail(number, "a 1-D LUT; lut reads 3-D LUTs (LUT_3D_SIZE)")
        elif keyword in ("DOMAIN_MIN", "DOMAIN_MAX"):
            values = _numbers(words[1:], 3) or fail(number, f"{keyword} needs three numbers, got {line.strip()!r}")
            low, high = (values, high) if keyword == "DOMAIN_MIN" else (low, values)
        elif keyword == "LUT_3D_INPUT_RANGE":
            values = _numbers(words[1:], 2) or fail(number, f"{keyword} needs two numbers, got {line.strip()!r}")
            low, high = [values[0]] * 3, [values[1]] * 3
        elif _numbers(words, 3):
            if size is None:
                fail(number, "a table row before LUT_3D_SIZE")
            rows.append(_numbers(words, 3))
        else:
            fail(number, f"expected three numbers or a keyword, got {line.strip()!r}")
    if size is None:
        fail(last, "no LUT_3D_SIZE")
    if len(rows) != size ** 3:
        fail(last, f"LUT_3D_SIZE {size} needs {size ** 3} table rows, got {len(rows)}")
    if any(a >= b for a, b in zip(low, high)):
        fail(0, f"DOMAIN_MIN {low} must be below DOMAIN_MAX {high} in every channel")
    return np.array(rows).reshape(size, size, size, 3), low, high


def write_cube(path, table, title="camfx"):
    """Write ``table`` (N, N, N, 3), indexed [blue][green][red] and holding (R, G, B) outputs
    from 0 to 1, as a .cube file (the inverse of :func:`read_cube`, domain 0 to 1)."""
    rows = np.asarray(table, np.float64).reshape(-1, 3)
    lines = [f'TITLE "{title}"', f"LUT_3D_SIZE {len(table)}"] + [f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in rows]
    Path(path).write_text("\n".join(lines) + "\n")


def _numbers(words, count):
    """``count`` finite numbers from ``words``, or None."""
    try:
        values = [float(w) for w in words]
    except ValueError:
        return None
    return values if len(values) == count and all(math.isfinite(v) for v in values) else None


def _integer(words, low, high):
    try:
        value = int(words[0]) if len(words) == 1 else None
    except ValueError:
        return None
    return value if value is not None and low <= value <= high else None


def trilinear(table, low, high, bgr):
    """The LUT at float BGR pixels ``bgr`` (..., 3) in levels, by trilinear interpolation, as
    float64 (R, G, B) outputs in levels: the definition, in NumPy."""
    size = table.shape[0]
    rgb = bgr[..., ::-1] / 255.0
    t = np.clip((rgb - np.array(low)) / (np.array(high) - np.array(low)) * (size - 1), 0, size - 1)
    i0 = np.minimum(np.floor(t).astype(int), size - 2)
    f = t - i0
    result = 0.0
    for corner in range(8):
        bits = [(corner >> axis) & 1 for axis in range(3)]  # red, green, blue
        weight = np.prod([f[..., a] if bit else 1 - f[..., a] for a, bit in enumerate(bits)], axis=0)
        value = table[i0[..., 2] + bits[2], i0[..., 1] + bits[1], i0[..., 0] + bits[0]]
        result = result + weight[..., None] * value
    return result * 255


class Lut(Filter):
    """A colour look from a 3-D LUT file in Adobe/Resolve ``.cube`` format (any size, with its
    DOMAIN_MIN/DOMAIN_MAX), interpolated trilinearly; a gray frame shows the gray of its looked
    picture. ``path`` is relative to the working folder."""

    name = "lut"
    group = "colour"
    stateless = True
    counterpart = False  # OpenCV has no 3-D LUT: the reference is the definition, in NumPy

    def __init__(self, *, path: str):
        if not isinstance(path, str) or not path:
            raise ValueError(f"path must name a .cube file, got {path!r}")
        self.path = path
        self._table, self._low, self._high = read_cube(path)
        self._lower, self._frac = lut3d.axis_tables(self._table.shape[0], self._low, self._high)
        self._rows = lut3d.red_interpolated(self._table * 255, self._lower, self._frac)

    def reference(self):
        import cv2

        def lut(frame, dst=None):
            bgr = frame if frame.ndim == 3 else cv2.merge([frame] * 3)
            rgb = trilinear(self._table, self._low, self._high, bgr.astype(np.float64))
            result = np.clip(np.rint(rgb[..., ::-1]), 0, 255).astype(np.uint8)
            if frame.ndim == 2:
                result = cv2.cvtColor(result, cv2.COLOR_BGR2GRAY)
            if dst is None:
                return result
            np.copyto(dst, result)
            return dst
        return lut

    def apply(self, frame, out=None):
        frame, out, src, dst, channels, nblocks = pointwise.rows(frame, out)
        lut3d.trilinear(src, channels, self._rows, self._lower, self._frac, nblocks, dst)
        return out

    def compiled(self):
        return [lut3d.trilinear]
