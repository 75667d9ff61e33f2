"""Per-thread scratch buffers, so that a steady stream of frames allocates nothing."""
import threading

import numpy as np

_local = threading.local()


def scratch(key, shape, dtype):
    """Return a reusable uninitialised array for ``key`` in this thread.

    Buffers are kept per thread because the live loop and the file pipeline run filters from
    several threads at once; a buffer is reallocated only when the frame size changes.
    """
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    buf = buffers.get(key)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = buffers[key] = np.empty(shape, dtype)
    return buf
