"""An independent reference for the YUV conversions: the BT.601 studio-range matrix in floating
point (Rec. 601: Y' = 16 + (65.481 R' + 128.553 G' + 24.966 B') / 255, ...), chroma averaged
over the pixels it covers, odd sizes padded by repeating the last column and row."""
import numpy as np


def bt601(bgr):
    """(Y, U, V) float planes of a float BGR image."""
    b, g, r = bgr[..., 0], bgr[..., 1], bgr[..., 2]
    return (16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255,
            128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255,
            128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255)


def _u8(plane):
    return np.clip(np.floor(plane + 0.5), 0, 255).astype(np.uint8)


def reference(image, fmt):
    """``image`` (BGR uint8) in ``fmt`` (I420, NV12, YUYV, UYVY) as a flat uint8 array."""
    height, width = image.shape[:2]
    f = np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge").astype(np.float64)
    y = _u8(bt601(f)[0])
    if fmt in ("I420", "NV12"):
        _, u, v = bt601((f[0::2, 0::2] + f[1::2, 0::2] + f[0::2, 1::2] + f[1::2, 1::2]) / 4)
        if fmt == "I420":
            return np.concatenate([y.ravel(), _u8(u).ravel(), _u8(v).ravel()])
        return np.concatenate([y.ravel(), np.stack([_u8(u), _u8(v)], -1).ravel()])
    _, u, v = bt601((f[:, 0::2] + f[:, 1::2]) / 2)
    u, v = _u8(u), _u8(v)
    words = [y[:, 0::2], u, y[:, 1::2], v] if fmt == "YUYV" else [u, y[:, 0::2], v, y[:, 1::2]]
    return np.stack(words, -1).ravel()


def i420_planes(data, width, height):
    """The Y, U and V planes of an I420 frame of ``width`` x ``height`` (even)."""
    luma, quarter = width * height, (width // 2) * (height // 2)
    return (data[:luma].reshape(height, width), data[luma:luma + quarter].reshape(height // 2, width // 2),
            data[luma + quarter:luma + 2 * quarter].reshape(height // 2, width // 2))
