"""The built-in demo scene: an animated, textured test picture that needs no camera or file."""
import os

import cv2
import numpy as np

from ..errors import CamfxError

# Building the backdrop peaks at about this many bytes per frame pixel (a backdrop twice the
# frame's width and height, its int64 coordinate grids and temporaries; measured with tracemalloc).
BUILD_BYTES_PER_PIXEL = 272


class DemoScene:
    """Deterministic frames of a scrolling textured backdrop with moving shapes and a counter.

    ``scene.frame(i)`` is the same picture for the same ``i`` on every machine, so tests can use
    it as a recorded clip.
    """

    def __init__(self, width=1280, height=720, seed=7):
        self.width, self.height = width, height
        needed, memory = BUILD_BYTES_PER_PIXEL * width * height, physical_memory()
        if memory is not None and needed > memory:
            raise CamfxError(f"demo scene {width}x{height}: needs about {needed / 2**30:.0f} GiB to build, more than "
                             f"this machine's {memory / 2**30:.0f} GiB; ask for a smaller --width and --height")
        try:
            self._build(seed)
        except (MemoryError, cv2.error) as error:  # other processes hold the memory it needs
            raise CamfxError(f"demo scene {width}x{height}: not enough memory to build it "
                             f"({type(error).__name__}); ask for a smaller --width and --height") from None

    def _build(self, seed):
        rng = np.random.default_rng(seed)
        # Twice the frame size so a moving window over it never wraps; blurred noise for texture,
        # a checkerboard for hard edges, colour gradients for smooth regions.
        h, w = 2 * self.height, 2 * self.width
        noise = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), np.uint8), (0, 0), 1.2)
        yy, xx = np.mgrid[0:h, 0:w]
        checker = (((yy // 48) + (xx // 48)) % 2 * 60).astype(np.uint8)[..., None]
        gradient = np.dstack([xx * 255 // w, yy * 255 // h, (xx + yy) * 255 // (w + h)]).astype(np.uint8)
        self._backdrop = cv2.addWeighted(noise, 0.7, gradient, 0.3, 0) // 2 + checker + 40

    def frame(self, index):
        t = index / 30.0
        x0 = int((np.sin(t * 0.7) * 0.5 + 0.5) * self.width)
        y0 = int((np.cos(t * 0.5) * 0.5 + 0.5) * self.height)
        frame = self._backdrop[y0:y0 + self.height, x0:x0 + self.width].copy()
        w, h = self.width, self.height
        cx = int(w / 2 + np.cos(t * 2.0) * w / 3)
        cy = int(h / 2 + np.sin(t * 3.0) * h / 4)
        cv2.circle(frame, (cx, cy), max(4, h // 8), (40, 200, 255), -1, cv2.LINE_AA)
        box = cv2.boxPoints(((w * 0.3, h * 0.6), (w * 0.18, h * 0.12), np.degrees(t)))
        cv2.fillPoly(frame, [box.astype(np.int32)], (255, 80, 60), cv2.LINE_AA)
        scale = max(h / 400, 0.3)
        cv2.putText(frame, f"camfx demo {index:05d}", (w // 20, h - h // 12), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (255, 255, 255), max(1, int(scale * 2)), cv2.LINE_AA)
        return frame


def physical_memory():
    """This machine's physical memory in bytes, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
