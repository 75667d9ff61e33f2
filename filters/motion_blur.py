import math

import numpy as np

from camfx.engine.filter import number, odd_ksize
from camfx_filters.kernel import Kernel


def line_kernel(length, angle):
    """A ``length x length`` kernel averaging ``length`` points on a line through its centre.

    The points are one pixel apart along the line's major axis (x for angles nearer 0 or 180
    degrees, y otherwise); each is shared linearly between the two pixels nearest to it across
    that axis, so the weights sum to 1. ``angle`` is in degrees, clockwise on the screen from the
    horizontal (image rows grow downwards): 0 gives the middle row of ``1 / length``, 45 the
    diagonal, 90 the middle column and 135 the anti-diagonal.
    """
    radians = math.radians(angle)
    dx, dy = math.cos(radians), math.sin(radians)
    major = max(abs(dx), abs(dy))
    dx, dy = dx / major, dy / major
    centre = length // 2
    kernel = np.zeros((length, length))
    for i in range(-centre, centre + 1):
        x, y = _snap(centre + i * dx), _snap(centre + i * dy)
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        for yy, wy in ((y0, 1 - fy), (y0 + 1, fy)):
            for xx, wx in ((x0, 1 - fx), (x0 + 1, fx)):
                if wx * wy > 0:
                    kernel[yy, xx] += wx * wy / length
    return kernel


def _snap(v):
    """``v`` rounded when it is an integer but for floating-point error (cos 90 is 6e-17)."""
    return round(v) if abs(v - round(v)) < 1e-9 else v


class MotionBlur(Kernel):
    """The frame averaged along a line of ``length`` pixels (odd) through each pixel, at
    ``angle`` degrees clockwise from the horizontal; at 0, 45, 90 and 135 degrees exactly
    ``cv2.filter2D`` with the row, diagonal, column and anti-diagonal of ones over ``length``
    (other angles: see :func:`line_kernel`)."""

    name = "motion_blur"
    group = "blur and sharpen"

    def __init__(self, *, length: int = 9, angle: float = 0.0):
        self.length = odd_ksize(length, "length")
        self.angle = number(angle, "angle", -360, 360)
        super().__init__(matrix=line_kernel(self.length, self.angle))
