"""The plugin's own tests: camfx's filter contract, and what the filter is for."""
import numpy as np

from camfx.testing import check_filter
from camfx_tint import Tint


def test_tint_keeps_the_filter_contract():
    check_filter(Tint)
    check_filter(Tint, color=[0, 128, 255], strength=0.5)


def test_white_is_no_tint():
    frame = np.arange(60, dtype=np.uint8).reshape(4, 5, 3)
    np.testing.assert_array_equal(Tint(color=[255, 255, 255])(frame), frame)
