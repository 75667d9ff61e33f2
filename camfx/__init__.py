"""camfx: real-time webcam filters with numba-compiled convolutions."""
from .chain import Chain, parse_chain
from .filter import Filter
from .kernels import convolve2d

__version__ = "0.1.0"

__all__ = ["Chain", "Filter", "convolve2d", "parse_chain"]
