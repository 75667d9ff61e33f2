"""The preview window: an OpenCV window titled ``camfx`` (no toolbar), and the sink that shows
the filtered frames in it with the HUD and turns the keys pressed into commands.

OpenCV's windows (Qt here) belong to the thread that made them, so the window sink's
:class:`~camfx.outputs.sink.Output` runs on the program's main thread (``Output(start=False)``
and ``run()``) while the live loop runs on a thread of its own.
"""
import ctypes
import os
import sys

import cv2

from ..errors import CamfxError
from ..live.hud import draw_hud, hud_lines
from .sink import Sink

TITLE = "camfx"
KEYS_HELP = "keys: 1-9 toggle a filter, space pause, s snapshot, r record, h HUD, q quit"


def check_display():
    """Raise a CamfxError suggesting ``--headless`` when no window can be opened: DISPLAY (and
    WAYLAND_DISPLAY) unset, or DISPLAY naming an X server that cannot be reached. OpenCV's Qt
    aborts the whole process in that case, so it is found out first, with a test connection
    through libxcb, the library Qt itself connects with."""
    if not sys.platform.startswith("linux"):
        return
    display = os.environ.get("DISPLAY")
    if not display:
        if os.environ.get("WAYLAND_DISPLAY"):
            return
        raise CamfxError("no display to show the preview on (DISPLAY is not set); use --headless")
    reason = x_connection_error(display)
    if reason:
        raise CamfxError(f"cannot open the display {display!r} ({reason}); use --headless")


def x_connection_error(display):
    """Why the X display ``display`` cannot be opened, or None when it can (or when libxcb is
    missing, so that Qt, which needs it too, gives its own message)."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return None
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        code = xcb.xcb_connection_has_error(connection)
    finally:
        xcb.xcb_disconnect(connection)  # also frees the error object xcb returns on failure
    # xcb.h's XCB_CONN_ERROR codes.
    return {0: None, 1: "no X server answers there", 2: "the X server lacks an extension Qt needs",
            3: "out of memory", 4: "the X server refused a request", 5: "malformed DISPLAY",
            6: "no such screen"}.get(code, f"X connection error {code}")


class Window:
    """The OpenCV preview window. ``show`` displays a frame and returns the key pressed meanwhile,
    if any; ``poll`` only processes events. Must be made and used on one thread."""

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


# What each key does: the name of a Commands method (a toggle key gives its filter's position).
KEY_COMMANDS = {"space": "pause", "s": "snapshot", "r": "record", "q": "quit", "esc": "quit"}
TOGGLE_KEYS = {str(n): n - 1 for n in range(1, 10)}  # ASCII digits only: "²".isdigit() is True too


class WindowSink(Sink):
    """Shows filtered frames in ``window`` (a :class:`Window`) and steers the loop by keys.

    The HUD is drawn from ``status()`` (the loop's :meth:`~camfx.live.loop.LiveLoop.status`)
    on a copy of the frame, never on the frame the other sinks get; ``mirror`` flips the
    picture left to right (a self-view), for this window only. While no frame comes (paused,
    reconnecting, a slow chain) the window keeps processing its events and redraws the last
    frame with a fresh HUD about 25 times a second. Keys call ``commands``
    (:class:`~camfx.live.commands.Commands`): 1-9 toggle a filter, space pauses, s saves a
    snapshot, r starts or stops recording, q or Esc quits; h hides the HUD (this window's own
    setting). Closing the window quits too. Unknown keys do nothing.
    """

    name = "window"
    idle_interval = 0.04

    def __init__(self, window, commands, status, *, hud=True, mirror=False):
        self.window, self.commands, self.status = window, commands, status
        self.show_hud, self.mirror = hud, mirror
        self._last = None
        self._quit_sent = False

    def write(self, frame):
        self._last = frame.image
        self._show()

    def idle(self):
        if self._last is not None and self.show_hud and not self._quit_sent:
            self._show()
        elif not self._quit_sent:
            self._key(self.window.poll(1))

    def _show(self):
        if self._quit_sent:
            return
        image = self._last
        if self.mirror or (self.show_hud and self.window.visible):
            image = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            # A copy: the frame is shared with the other sinks (and the recording).
            image = cv2.flip(image, 1) if self.mirror else image.copy()
            if self.show_hud:
                draw_hud(image, hud_lines(self.status()))
        self._key(self.window.show(image))

    def _key(self, key):
        if key is None:
            if self.window.closed:
                self._quit()
            return
        if key == "h":
            self.show_hud = not self.show_hud
        elif key in TOGGLE_KEYS:
            index = TOGGLE_KEYS[key]
            if index < len(self.status()["filters"]):
                self.commands.toggle(index)
        elif key in KEY_COMMANDS:
            if KEY_COMMANDS[key] == "quit":
                self._quit()
            else:
                getattr(self.commands, KEY_COMMANDS[key])()
        if self.window.closed:
            self._quit()

    def _quit(self):
        if not self._quit_sent:
            self._quit_sent = True
            self.commands.quit()

    def close(self):
        self.window.close()
