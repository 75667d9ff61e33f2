"""``camfx explain``: the convolution at camfx's heart, drawn as the convolution article draws it.

Three panels per convolution, "Input Matrix", "Kernel" and "Convolution Result", each cell
shaded in gray with its value written in it: saved as a PNG (matplotlib, the optional extra
``camfx[plot]``) and printed as text matrices on the terminal. With no filter it is the
article's own example; with one (``camfx explain "blur(ksize=5)"``) it is a patch of a real
frame, the filter's kernel and the patch it makes, both passes for a separable filter.
"""
from dataclasses import dataclass

import numpy as np

from ..errors import CamfxError
from ..kernels import convolve2d
from .common import add_config_option, build_registry, load_config

TITLES = ("Input Matrix", "Kernel", "Convolution Result")
# The article's example: a 3x3 input, a 2x2 kernel, the 2x2 'valid' result.
SEED_INPUT = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
SEED_KERNEL = [[0, 1], [1, 0]]
DEFAULT_OUTPUT = "camfx-explain.png"
INSTALL_HINT = 'pip install "camfx[plot]"'


@dataclass
class Row:
    """One convolution: its input patch, kernel and result patch (2-D arrays). ``caption``
    says how the kernel is scaled; a row with only ``result`` shows the filter's output."""

    label: str
    input: np.ndarray | None
    kernel: np.ndarray | None
    result: np.ndarray
    caption: str = ""


def seed_rows():
    """The article's figure: ``convolve2d(SEED_INPUT, SEED_KERNEL, mode="valid")``."""
    result = convolve2d(SEED_INPUT, SEED_KERNEL, mode="valid")
    return [Row("", np.array(SEED_INPUT), np.array(SEED_KERNEL), result)]


def filter_rows(f, gray, at, size):
    """The rows for filter ``f`` on the gray image ``gray`` (H, W) uint8: for each of its
    kernel passes, the input patch its ``size x size`` result at ``at`` (x, y of the result's
    centre) needs, the kernel and that result, computed with :func:`camfx.convolve2d` (the
    filter's engine, exact in float64); then the filter's own output there, as it runs."""
    passes = f.kernel_passes()
    if not passes:
        raise CamfxError(f"{f.name} has no kernel: it is not a convolution (camfx explain shows the filters "
                         "that are, such as blur, box, emboss, sharpen, edge, kernel, motion_blur, laplacian)")
    x, y = at
    top, left = y - size // 2, x - size // 2
    rows, previous = [], gray.astype(np.float64)
    for p in passes:
        source = gray.astype(np.float64) if p.source == "input" else previous
        weights = np.asarray(p.matrix, np.float64) * p.scale
        result = convolve2d(source, weights, delta=p.offset)
        kh, kw = weights.shape
        rows.append(Row(p.label, _patch(source, top - kh // 2, left - kw // 2, size + kh - 1, size + kw - 1),
                        np.asarray(p.matrix), _patch(result, top, left, size, size), _caption(p)))
        previous = result
    output = f(gray)
    rows.append(Row(f"{f.name}'s output ({f.kernel_note})", None, None, _patch(output, top, left, size, size)))
    return rows


def _patch(image, top, left, height, width):
    """``image[top:top + height, left:left + width]``, read through reflect101 borders outside."""
    ys = _reflect101(np.arange(top, top + height), image.shape[0])
    xs = _reflect101(np.arange(left, left + width), image.shape[1])
    return image[np.ix_(ys, xs)]


def _reflect101(positions, n):
    if n == 1:
        return np.zeros_like(positions)
    period = 2 * (n - 1)
    folded = np.mod(positions, period)
    return np.where(folded < n, folded, period - folded)


def _caption(p):
    parts = []
    if p.scale != 1:
        inverse = 1 / p.scale
        parts.append(f"x 1/{round(inverse)}" if abs(inverse - round(inverse)) < 1e-9 else f"x {p.scale:.6g}")
    if p.offset:
        parts.append(f"+ {p.offset:g}")
    return " ".join(parts)


def format_value(value, kernel=False):
    """A matrix cell as text: integers as integers, other pixel values with one decimal, other
    kernel weights with three significant digits."""
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return f"{value:.3g}" if kernel else f"{value:.1f}"


def _block(title, matrix, kernel=False):
    """A titled text block, the numbers right-aligned in columns."""
    if matrix is None:
        return []
    cells = [[format_value(v, kernel) for v in row] for row in np.atleast_2d(matrix)]
    width = max(len(c) for row in cells for c in row)
    return [title] + [" ".join(c.rjust(width) for c in row) for row in cells]


def text(rows, heading=""):
    """The rows as text: the three matrices side by side under their titles."""
    lines = [heading, ""] if heading else []
    for row in rows:
        if row.label:
            lines.append(row.label)
        kernel_title = f"{TITLES[1]} {row.caption}".strip()
        result_title = TITLES[2] if row.input is not None else "Result"
        blocks = [b for b in (_block(TITLES[0], row.input), _block(kernel_title, row.kernel, kernel=True),
                              _block(result_title, row.result)) if b]
        widths = [max(len(line) for line in b) for b in blocks]
        for i in range(max(len(b) for b in blocks)):
            lines.append("   ".join((b[i] if i < len(b) else "").ljust(w) for b, w in zip(blocks, widths)).rstrip())
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def draw(rows, heading=""):
    """The rows as a matplotlib Figure: per row three panels (one for an output row), each cell
    shaded in gray by its value, its value written in it. Raises CamfxError naming the extra to
    install when matplotlib is missing."""
    try:
        from matplotlib.figure import Figure  # the object API: no global state, no display needed
    except ImportError:
        raise CamfxError(f"drawing the figure needs matplotlib: {INSTALL_HINT} (or use --text)") from None
    import textwrap
    grid_rows = [[(TITLES[0], row.input), (f"{TITLES[1]} {row.caption}".strip(), row.kernel),
                  (TITLES[2] if row.input is not None else row.label, row.result)] for row in rows]
    matrices = [[None if m is None else np.atleast_2d(np.asarray(m, np.float64)) for _, m in panels]
                for panels in grid_rows]
    # Cells of a fixed size in inches, wide enough for their numbers: columns as wide as their
    # widest matrix, rows as tall as their tallest.
    cell = 0.55 if any(not float(v).is_integer() for ms in matrices for m in ms if m is not None for v in m.flat) \
        else 0.42
    widths = [max((m.shape[1] for ms in matrices if (m := ms[c]) is not None), default=1) * cell + 0.3
              for c in range(3)]
    heights = [max(m.shape[0] for m in ms if m is not None) * cell + 0.7 for ms in matrices]
    figure = Figure(figsize=(sum(widths) + 0.4, sum(heights) + (0.5 if heading else 0.1)), layout="constrained")
    grid = figure.add_gridspec(len(rows), 3, width_ratios=widths, height_ratios=heights)
    for r, (row, panels) in enumerate(zip(rows, grid_rows)):
        for c, ((title, _), matrix) in enumerate(zip(panels, matrices[r])):
            if matrix is None:
                continue
            if c == 0 and row.label:
                title = f"{row.label}\n{title}"
            _panel(figure.add_subplot(grid[r, c]), textwrap.fill(title, 36), matrix, kernel=c == 1)
    if heading:
        figure.suptitle(textwrap.fill(heading, 90), fontsize=10)
    return figure


def _panel(axes, title, matrix, kernel=False):
    low, high = matrix.min(), matrix.max()
    axes.imshow(matrix, cmap="gray", vmin=low, vmax=high if high > low else low + 1)
    for (i, j), value in np.ndenumerate(matrix):
        shade = (value - low) / (high - low) if high > low else 0.0
        axes.text(j, i, format_value(value, kernel), ha="center", va="center", fontsize=8,
                  color="black" if shade > 0.5 else "white")
    axes.set_title(title, fontsize=9)
    axes.set_xticks([])
    axes.set_yticks([])


def add_parser(commands):
    explain = commands.add_parser(
        "explain", help="draw a convolution: the article's example, or a filter's kernel on a real frame")
    explain.add_argument("spec", nargs="?", metavar="SPEC", help="one filter with a kernel, e.g. 'blur(ksize=5)'")
    explain.add_argument("--image", metavar="PATH", help="picture to take the patch from (default: the demo scene)")
    explain.add_argument("--at", metavar="X,Y", help="centre of the patch, in pixels (default: the picture's centre)")
    explain.add_argument("--size", type=int, default=5, metavar="N", help="the result patch is N x N (default 5, 1-15)")
    explain.add_argument("-o", "--output", default=DEFAULT_OUTPUT, metavar="PATH",
                         help=f"the PNG to write (default {DEFAULT_OUTPUT})")
    explain.add_argument("--text", action="store_true", help="only print the matrices, draw no PNG")
    add_config_option(explain)
    explain.set_defaults(run=cmd_explain)


def cmd_explain(args):
    if args.spec is None:
        rows, heading = seed_rows(), ""
    else:
        rows, heading = _rows_for_spec(args)
    print(text(rows, heading), end="")
    if args.text:
        return 0
    figure = draw(rows, heading)
    figure.savefig(args.output, dpi=120)
    print(f"camfx: wrote {args.output}")
    return 0


def _rows_for_spec(args):
    from ..engine.chain import parse_chain
    chain = parse_chain(args.spec, build_registry(load_config(args.config)))
    if len(chain) != 1:
        raise CamfxError(f"camfx explain shows one filter at a time, got {len(chain)} in {args.spec!r}")
    if isinstance(args.size, bool) or not 1 <= args.size <= 15:
        raise CamfxError(f"--size must be from 1 to 15, got {args.size}")
    gray, source = _picture(args.image)
    at = _position(args.at, gray.shape)
    f = chain.filters[0]
    heading = f"{f!r} on {source} (gray), result {args.size}x{args.size} around x={at[0]}, y={at[1]}"
    return filter_rows(f, gray, at, args.size), heading


def _picture(path):
    import cv2
    if path is None:
        from ..live.demo import DemoScene
        return cv2.cvtColor(DemoScene(640, 480).frame(0), cv2.COLOR_BGR2GRAY), "the demo scene"
    picture = cv2.imread(path, cv2.IMREAD_GRAYSCALE) if _is_file(path) else None
    if picture is None:
        raise CamfxError(f"--image {path}: no such picture, or not one OpenCV can read")
    return picture, path


def _is_file(path):
    import os
    return os.path.isfile(path)


def _position(text_, shape):
    height, width = shape
    if text_ is None:
        return width // 2, height // 2
    try:
        x, y = (int(v) for v in text_.split(","))
    except ValueError:
        raise CamfxError(f"--at must be X,Y in pixels, e.g. 320,240, got {text_!r}") from None
    if not (0 <= x < width and 0 <= y < height):
        raise CamfxError(f"--at {x},{y} is outside the {width}x{height} picture")
    return x, y
