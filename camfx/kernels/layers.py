"""Network layers that OpenCV's DNN module runs slowly, in numba.

MediaPipe's selfie segmentation ends in a 2x2 transposed convolution of stride 2 (16 channels to
one) and a sigmoid. OpenCV 5.0 spends about half of the whole network's time in that one layer
(4.9 of 9.8 ms on one core, by ``Net.getPerfProfile``); written out, it is four dot products of
16 values per input pixel.
"""
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def upsample2_sigmoid(features, weights, bias, out):
    """``out = sigmoid(conv_transpose(features, weights, stride=2) + bias)`` for a 2x2 kernel,
    where the output pixels do not overlap: ``out[2y + i, 2x + j] = sigmoid(bias + sum_c
    features[c, y, x] * weights[c, i, j])``.

    features : (C, h, w) float32; weights : (C, 2, 2) float32 (TensorFlow's and OpenCV's
    ``(C_in, C_out = 1, 2, 2)`` blob without its output axis); bias : float; out : (2h, 2w) float32.
    """
    channels, height, width = features.shape
    one = np.float32(1.0)
    for y in prange(height):
        for i in range(2):
            o = out[2 * y + i]
            for x in range(width):
                for j in range(2):
                    acc = np.float32(bias)
                    for c in range(channels):
                        acc += features[c, y, x] * weights[c, i, j]
                    o[2 * x + j] = one / (one + np.exp(-acc))
