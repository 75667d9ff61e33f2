"""camfx: real-time webcam filters with numba-compiled convolutions."""
import os

# numba's OpenMP workers otherwise spin for a while after each parallel call, taking the CPU
# from OpenCV's capture, display and codec threads; sleeping costs the filters next to nothing
# (measured with `camfx bench`). Set before numba starts its thread pool; a user's choice wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .chain import Chain, parse_chain
from .filter import Filter
from .kernels import convolve2d

__version__ = "0.1.0"

__all__ = ["Chain", "Filter", "convolve2d", "parse_chain"]
