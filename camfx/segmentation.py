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

    def __init__(self, model):
        import cv2
        self.model, self.path = models.locate(model)
        try:
            self.net = cv2.dnn.readNetFromTFLite(str(self.path))
        except cv2.error as error:
            raise CamfxError(f"OpenCV {cv2.__version__} cannot load model {self.path}: "
                             f"{str(error).strip().splitlines()[-1]}") from None

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
        # RGB in [0, 1], NCHW: what the model was trained on.
        self.net.setInput(cv2.dnn.blobFromImage(small, 1 / 255, swapRB=True))
        return np.clip(self.net.forward()[0, 0], 0, 1)
