"""Border rules: where a tap that falls outside the image reads from.

The codes and the reflection rule follow OpenCV's ``borderInterpolate`` so that results match
``cv2.filter2D`` and friends pixel for pixel, borders included.
"""
from numba import njit

REFLECT101 = 0  # gfedcb|abcdefgh|gfedcba  (OpenCV's BORDER_DEFAULT)
REPLICATE = 1   # aaaaaa|abcdefgh|hhhhhhh
REFLECT = 2     # fedcba|abcdefgh|hgfedcb
CONSTANT = 3    # 000000|abcdefgh|0000000

BORDERS = {"reflect101": REFLECT101, "replicate": REPLICATE, "reflect": REFLECT, "constant": CONSTANT}


def border_code(border):
    """Return the numeric code of a border name, or raise a ValueError listing the names."""
    try:
        return BORDERS[border]
    except (KeyError, TypeError):
        raise ValueError(f"border must be one of {', '.join(BORDERS)}, got {border!r}") from None


@njit(cache=True, inline="always")
def border_index(p, n, border):
    """Index in ``range(n)`` that position ``p`` reads from, or -1 for a constant (zero) border."""
    if 0 <= p < n:
        return p
    if border == CONSTANT:
        return -1
    if border == REPLICATE:
        return 0 if p < 0 else n - 1
    if n == 1:
        return 0
    delta = 1 if border == REFLECT101 else 0
    while p < 0 or p >= n:  # kernels wider than the image reflect more than once
        if p < 0:
            p = -p - 1 + delta
        else:
            p = n - 1 - (p - n) - delta
    return p


@njit(cache=True)
def border_index_call(p, n, border):
    """:func:`border_index` as an ordinary call, for generated kernels that pick a row or a few
    edge columns with it: numba's IR-level ``inline="always"`` at each call site doubled their
    compile time, for no measurable gain outside the hot loops."""
    return border_index(p, n, border)
