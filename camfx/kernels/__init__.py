"""The numba engine: 2-D cross-correlation, separable filters and the Sobel magnitude.

Knows nothing about filters' names; filters call these functions with their kernels.
"""
import numba
import numpy as np

from . import correlate, separable, sobel
from .borders import BORDERS, border_code
from .rows import row_blocks
from .scratch import check_image, check_out, scratch

__all__ = ["BORDERS", "convolve2d", "separable_filter", "to_gray", "sobel_magnitude"]

MODES = ("same", "valid")


def convolve2d(image, kernel, *, mode="same", border="reflect101", out=None, delta=0):
    """2-D cross-correlation of an image with a kernel (numba-compiled).

    This is the operation OpenCV's ``filter2D`` and CNN "convolution" layers compute: the kernel
    slides over the image unflipped, and each output is the sum of the element-wise products.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, C)
        The image. Channels are filtered independently.
    kernel : array_like, shape (kh, kw)
        Any 2-D kernel, odd or even sized. Its anchor is ``(kh // 2, kw // 2)``, as in OpenCV.
    mode : {"same", "valid"}
        ``"same"`` returns an image of the input's shape, with positions outside the image read
        through ``border``; it matches ``cv2.filter2D(image, -1, kernel, borderType=...)``.
        ``"valid"`` returns only the ``(H - kh + 1, W - kw + 1)`` fully covered positions.
    border : {"reflect101", "replicate", "reflect", "constant"}
        How ``"same"`` mode reads outside the image (``constant`` reads zeros).
    out : ndarray, optional
        C-contiguous array of the result's shape and dtype to write into; nothing is allocated
        per call when given.
    delta : number
        Added to every output before rounding, like ``filter2D``'s ``delta``.

    Returns
    -------
    ndarray
        uint8 images give uint8 (computed in float32, rounded and saturated like OpenCV);
        float32 and float64 images keep their dtype; other integer images give int64 with an
        integer kernel and delta, float64 otherwise.

    Examples
    --------
    >>> convolve2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[0, 1], [1, 0]], mode="valid")
    array([[ 6,  8],
           [12, 14]])
    """
    image = np.asarray(image)
    kernel = np.asarray(kernel)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    border_id = border_code(border)
    if image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f"image must be a non-empty 2-D or 3-D (H, W, C) array, got shape {image.shape}")
    if kernel.ndim != 2 or kernel.size == 0:
        raise ValueError(f"kernel must be a non-empty 2-D array, got shape {kernel.shape}")
    if not (np.issubdtype(kernel.dtype, np.number) or kernel.dtype == bool) or not np.all(np.isfinite(kernel)):
        raise ValueError("kernel must hold finite numbers")
    out_dtype, work_dtype = _dtypes(image.dtype, kernel.dtype, delta)

    height, width = image.shape[:2]
    channels = image.shape[2] if image.ndim == 3 else 1
    kh, kw = kernel.shape
    if mode == "valid":
        if kh > height or kw > width:
            raise ValueError(f"kernel {kernel.shape} is larger than the image {image.shape[:2]} in 'valid' mode")
        out_shape = (height - kh + 1, width - kw + 1) + image.shape[2:]
    else:
        out_shape = image.shape
    out = check_out(out, out_shape, out_dtype, image)

    src = np.ascontiguousarray(image, dtype=image.dtype if out_dtype == np.uint8 else work_dtype)
    src = src.reshape(height, width * channels)
    weights = np.ascontiguousarray(kernel, dtype=work_dtype)
    delta = work_dtype.type(delta)
    rows = out.reshape(out_shape[0], -1)
    nblocks = row_blocks(out_shape[0], numba.get_num_threads())
    if out_dtype == np.uint8:
        acc = scratch("convolve2d", (nblocks, rows.shape[1]), work_dtype)
        if mode == "same":
            correlate.same_to_u8(src, weights, channels, border_id, delta, acc, rows)
        else:
            correlate.valid_to_u8(src, weights, channels, delta, acc, rows)
    elif mode == "same":
        correlate.same_direct(src, weights, channels, border_id, delta, nblocks, rows)
    else:
        correlate.valid_direct(src, weights, channels, delta, nblocks, rows)
    return out


def _dtypes(image_dtype, kernel_dtype, delta):
    """(result dtype, accumulator dtype) for an image, a kernel and a delta."""
    if image_dtype == np.uint8:
        return np.dtype(np.uint8), np.dtype(np.float32)
    if image_dtype in (np.float32, np.float64):
        return image_dtype, image_dtype
    if not (np.issubdtype(image_dtype, np.integer) or image_dtype == bool):
        raise ValueError(f"image dtype must be numeric, got {image_dtype}")
    integral = (np.issubdtype(kernel_dtype, np.integer) or kernel_dtype == bool) and float(delta).is_integer()
    dtype = np.dtype(np.int64 if integral else np.float64)
    return dtype, dtype


def separable_filter(frame, column, row, *, border="reflect101", fraction_bits=None, out=None):
    """Correlate a uint8 frame with ``column`` (vertical taps) and then ``row`` (horizontal taps).

    Equal to :func:`convolve2d` with the kernel ``np.outer(column, row)``, at a fraction of the
    work: both passes run per row from a per-block buffer, rounded once at the end.

    With ``fraction_bits=None`` the weights are float32. With ``fraction_bits=b`` they are
    integers holding ``b`` fractional bits each (``round(w * 2**b)`` is done by the caller), the
    sums are exact in int32 and the result is rounded half up: OpenCV's bit-exact scheme.
    """
    frame = np.ascontiguousarray(check_image(frame, "frame"))
    column, row = _taps(column, "column"), _taps(row, "row")
    if fraction_bits is not None and (isinstance(fraction_bits, bool) or not isinstance(fraction_bits, int)
                                      or not 0 <= fraction_bits <= 15):
        raise ValueError(f"fraction_bits must be None or an integer from 0 to 15, got {fraction_bits!r}")
    height, width = frame.shape[:2]
    channels = frame.shape[2] if frame.ndim == 3 else 1
    out = check_out(out, frame.shape, np.dtype(np.uint8), frame)
    nblocks = row_blocks(height, numba.get_num_threads())
    rows = (frame.reshape(height, -1), out.reshape(height, -1))
    border_id = border_code(border)
    if fraction_bits is None:
        acc = scratch("separable", (nblocks, 2, width * channels), np.dtype(np.float32))
        separable.separable_to_u8(rows[0], np.asarray(column, np.float32),
                                  np.asarray(row, np.float32).reshape(1, -1), channels,
                                  border_id, acc, rows[1])
    else:
        acc = scratch("separable_fixed", (nblocks, 2, width * channels), np.dtype(np.int32))
        separable.separable_fixed_to_u8(rows[0], np.asarray(column, np.int32),
                                        np.asarray(row, np.int32).reshape(1, -1), channels,
                                        border_id, 2 * fraction_bits, acc, rows[1])
    return out


def to_gray(frame, *, out=None):
    """BGR uint8 (H, W, 3) to gray (H, W), bit-exact with ``cv2.cvtColor(frame, COLOR_BGR2GRAY)``.

    Raises ValueError for anything but a non-empty uint8 (H, W, 3) array, or a bad ``out``.
    """
    frame = np.ascontiguousarray(check_image(frame, "frame", channels=3))
    height, width = frame.shape[:2]
    out = check_out(out, (height, width), np.dtype(np.uint8), frame)
    sobel.bgr_to_gray(frame.reshape(height, -1), row_blocks(height, numba.get_num_threads()), out)
    return out


def sobel_magnitude(gray, channels=1, *, out=None):
    """Rounded, saturated 3x3 Sobel gradient magnitude of a gray uint8 image (reflect101 borders),
    repeated over ``channels`` output channels.

    Raises ValueError for anything but a non-empty uint8 (H, W) array, a ``channels`` that is not
    a positive integer, or a bad ``out``.
    """
    gray = np.ascontiguousarray(check_image(gray, "gray", channels=1))
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
        raise ValueError(f"channels must be a positive integer, got {channels!r}")
    height, width = gray.shape
    shape = (height, width) if channels == 1 else (height, width, channels)
    out = check_out(out, shape, np.dtype(np.uint8), gray)
    sobel.sobel_magnitude(gray, channels, row_blocks(height, numba.get_num_threads()),
                          out.reshape(height, -1))
    return out


def _taps(taps, name):
    """1-D non-empty array of finite numbers."""
    taps = np.asarray(taps)
    if taps.ndim != 1 or taps.size == 0 or not np.issubdtype(taps.dtype, np.number) or not np.all(np.isfinite(taps)):
        raise ValueError(f"{name} must be a non-empty 1-D array of finite numbers, got {taps!r}")
    return taps
