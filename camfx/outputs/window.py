"""The preview window: an OpenCV window titled ``camfx`` (no toolbar) that shows frames and
reports the keys pressed and whether the user closed it."""
import os
import sys

import cv2

from ..errors import CamfxError

TITLE = "camfx"


def check_display():
    """Raise a CamfxError suggesting ``--headless`` when there is no display to open a window on."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise CamfxError("no display to show the preview on (DISPLAY is not set); use --headless")


class Window:
    """The preview window. ``show`` displays a frame and returns the key pressed meanwhile, if any."""

    visible = True

    def __init__(self, title=TITLE):
        check_display()
        self.title = title
        # GUI_NORMAL: no toolbar; NORMAL + KEEPRATIO: the user may resize it without distortion.
        cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        self._size = None

    def show(self, image):
        """Display ``image``; return the key pressed (a str such as "q", "space", "esc") or None."""
        if image.shape[:2] != self._size:
            self._size = image.shape[:2]
            cv2.resizeWindow(self.title, image.shape[1], image.shape[0])
        cv2.imshow(self.title, image)
        return self.poll()

    def poll(self, wait_ms=1):
        """Let the window process events for ``wait_ms``; return the key pressed or None."""
        code = cv2.waitKey(wait_ms)
        if code < 0:
            return None
        code &= 0xFF
        return {27: "esc", 32: "space", 13: "enter"}.get(code, chr(code))

    @property
    def closed(self):
        """True once the user closed the window (with the window manager's close button)."""
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:  # Qt forgets the window once it is closed
            return True

    def close(self):
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class NoWindow:
    """``--headless``: the same interface, nothing shown, no keys."""

    closed = False
    visible = False

    def show(self, image):
        return None

    def poll(self, wait_ms=1):
        return None

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass
