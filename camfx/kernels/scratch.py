"""Buffers: per-thread scratch arrays, so that a steady stream of frames allocates nothing, and
the checks on the arrays callers pass in (images and ``out``)."""
import threading

import numpy as np

_local = threading.local()


def scratch(key, shape, dtype, store=None):
    """Return a reusable uninitialised array for ``key`` in this thread.

    Buffers are kept per thread because the live loop and the file pipeline run filters from
    several threads at once; a buffer is reallocated only when the frame size changes.
    ``store``, a ``threading.local``, keeps them with their owner (a chain) instead of for the
    life of the process.
    """
    store = _local if store is None else store
    buffers = getattr(store, "buffers", None)
    if buffers is None:
        buffers = store.buffers = {}
    buf = buffers.get(key)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = buffers[key] = np.empty(shape, dtype)
    return buf


def check_out(out, shape, dtype, source):
    """``out`` checked to be a C-contiguous array of ``shape`` and ``dtype`` that does not overlap
    ``source``; a new array when ``out`` is None."""
    if out is None:
        return np.empty(shape, dtype)
    if not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != dtype:
        got = f"{out.shape} {out.dtype}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ValueError(f"out must be an array of shape {shape} and dtype {dtype}, got {got}")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")
    if np.may_share_memory(out, source):
        raise ValueError("out must not overlap the image (in-place filtering is not supported)")
    return out


def check_image(image, name, channels=None):
    """``image`` as an array, checked to be non-empty uint8 gray (H, W) or (H, W, C); with
    ``channels`` 1, gray only; with 3, (H, W, 3) only. The compiled kernels trust these shapes
    (a wrong one would read past the array), so every public entry checks them."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"{name} dtype must be uint8, got {image.dtype}")
    shapes = {None: "(H, W) or (H, W, C)", 1: "(H, W)", 3: "BGR (H, W, 3)"}[channels]
    fits = (image.ndim in (2, 3) if channels is None else
            image.ndim == 2 if channels == 1 else image.ndim == 3 and image.shape[2] == channels)
    if not fits or image.size == 0:
        raise ValueError(f"{name} must be a non-empty {shapes} array, got shape {image.shape}")
    return image

