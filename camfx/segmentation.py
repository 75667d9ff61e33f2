"""Person segmentation: MediaPipe's selfie segmentation model (a small CNN) run through OpenCV's
DNN module, giving for each frame the probability that each pixel shows a person.

The model file comes from :mod:`camfx.models` (``camfx models fetch``); nothing is downloaded
here. OpenCV is already a dependency, and its ``readNetFromTFLite`` runs the model as it is,
without TensorFlow or MediaPipe.
"""
import numpy as np

from . import models
from .errors import CamfxError


class PersonSegmenter:
    """The person probability of a frame, at the model's own resolution.

    Parameters
    ----------
    model : str
        A known model's name (see ``camfx models``) or the path of a local copy of one.
    own_head : bool
        Compute the network's last two layers (a 2x2 transposed convolution and a sigmoid) with
        camfx's kernel, about half the network's time faster than OpenCV, when they have that
        form and give the same result (checked on the first frame); False lets OpenCV run every
        layer (for comparison).

    Raises
    ------
    camfx.models.ModelMissing
        When the model file is not on this machine (the message says how to get it).
    CamfxError
        When the file is no known model, or OpenCV cannot load it.

    Notes
    -----
    Not thread-safe: one OpenCV network runs one frame at a time.
    """

    def __init__(self, model, *, own_head=True):
        import cv2
        self.model, self.path = models.locate(model)
        try:
            # The classic engine: it can stop at an inner layer (see _fast_head).
            self.net = cv2.dnn.readNetFromTFLite(str(self.path), engine=cv2.dnn.ENGINE_CLASSIC)
        except cv2.error as error:
            raise CamfxError(f"OpenCV {cv2.__version__} cannot load model {self.path}: "
                             f"{str(error).strip().splitlines()[-1]}") from None
        self._head = None  # (see _fast_head), found on the first frame: it compiles a kernel
        self._checked = not own_head

    def _fast_head(self):
        """``(inner layer, weights, bias)`` when the network ends in a 2x2 stride-2 transposed
        convolution to one channel and a sigmoid, which :func:`~camfx.kernels.layers.upsample2_sigmoid`
        computes much faster than OpenCV does; None otherwise. Checked here, on a test picture,
        to give what OpenCV's own last two layers give."""
        import cv2
        names = self.net.getLayerNames()
        if len(names) < 3:
            return None
        last, transposed = (self.net.getLayer(self.net.getLayerId(n)) for n in names[-1:-3:-1])
        blobs = transposed.blobs
        if (last.type != "Sigmoid" or transposed.type != "Deconvolution" or len(blobs) != 2
                or blobs[0].ndim != 4 or blobs[0].shape[1:] != (1, 2, 2) or blobs[1].size != 1):
            return None
        head = (names[-3], np.ascontiguousarray(blobs[0][:, 0], np.float32), float(blobs[1].ravel()[0]))
        width, height = self.size
        picture = np.indices((height, width, 3)).sum(axis=0).astype(np.uint8) * 7
        self.net.setInput(cv2.dnn.blobFromImage(picture, 1 / 255, swapRB=True))
        expected = self.net.forward()[0, 0]
        try:
            ours = self._run_head(head, picture)
        except (cv2.error, ValueError):
            return None
        return head if ours.shape == expected.shape and np.abs(ours - expected).max() < 1e-5 else None

    def _run_head(self, head, small):
        import cv2
        from .kernels.layers import upsample2_sigmoid
        inner, weights, bias = head
        self.net.setInput(cv2.dnn.blobFromImage(small, 1 / 255, swapRB=True))
        features = self.net.forward(inner)[0]
        out = np.empty((2 * features.shape[1], 2 * features.shape[2]), np.float32)
        upsample2_sigmoid(features, weights, bias, out)
        return out

    @property
    def runs_own_head(self):
        """True when camfx computes the last two layers (known after the first frame)."""
        return self._head is not None

    @property
    def size(self):
        """The network's input and output ``(width, height)`` in pixels."""
        return self.model.input_size

    def __call__(self, frame):
        """Person probability of ``frame``.

        Parameters
        ----------
        frame : ndarray, uint8, (H, W, 3) BGR or (H, W) gray, C-contiguous

        Returns
        -------
        ndarray, float32, (h, w) = the model's input size
            Values in [0, 1]; the frame is stretched to the model's input, as MediaPipe does
            (its ``ImageToTensor`` keeps no aspect ratio for this model).
        """
        import cv2
        # Linear, as MediaPipe's own ImageToTensor samples (and several times cheaper than an
        # area average at a size the frame's is no multiple of).
        small = cv2.resize(frame, self.size, interpolation=cv2.INTER_LINEAR)
        if small.ndim == 2:
            small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
        if not self._checked:
            self._head, self._checked = self._fast_head(), True
        if self._head is not None:
            return self._run_head(self._head, small)
        # RGB in [0, 1], NCHW: what the model was trained on.
        self.net.setInput(cv2.dnn.blobFromImage(small, 1 / 255, swapRB=True))
        return np.clip(self.net.forward()[0, 0], 0, 1)
