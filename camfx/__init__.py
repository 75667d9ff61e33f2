"""camfx: real-time webcam filters with numba-compiled convolutions.

The package face: build chains, write filters, convolve. Importing it changes nothing
process-wide (thread policies, log levels and malloc settings belong to the command line).
"""
from .engine.chain import Chain, parse_chain
from .engine.filter import Filter
from .frame import Frame
from .kernels import convolve2d

__version__ = "0.2.0"

__all__ = ["Chain", "Filter", "Frame", "convolve2d", "parse_chain"]
