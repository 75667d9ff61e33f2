"""The heads-up display drawn over the preview (FPS, timings, drops, latency, chain and state),
and the small "reconnecting" mark on frames repeated while the source is away. Both are drawn
from the loop's status (:meth:`camfx.live.loop.LiveLoop.status`), by the sinks that want them,
on their own copy of the frame."""
import cv2

FONT = cv2.FONT_HERSHEY_SIMPLEX


def hud_lines(status):
    """The HUD's text, one string per line, from a status dict of the live loop."""
    lines = [f"{status['fps']:5.1f} fps  {status['frame_ms']:5.1f} ms/frame  "
             f"latency {status['latency_ms']:4.0f} ms  dropped {status['dropped']}"]
    steps = [f"{i}:{f['name']} {f['ms']:.1f}ms" if f["enabled"] else f"{i}:{f['name']} off"
             for i, f in enumerate(status["filters"], start=1)]
    lines.append("  ".join(steps) or "no filters")
    words = []
    if status["state"] == "reconnecting":
        words.append(f"RECONNECTING to {status['source']}...")
    if status["paused"]:
        words.append("PAUSED")
    if status["recording"]:
        words.append(f"REC {status['recording']}")
    if status["governor"]:
        words.append(status["governor"])
    if words:
        lines.append("  ".join(words))
    return lines


def draw_hud(image, lines):
    """Draw ``lines`` in the top-left corner of a BGR ``image``, in place, on a darkened panel so
    they read on bright and dark frames alike."""
    height = image.shape[0]
    scale = max(0.4, height / 1400)
    thickness = 1 if scale < 0.8 else 2
    (_, text_h), baseline = cv2.getTextSize("Ag", FONT, scale, thickness)
    step = text_h + baseline + 4
    width = max(cv2.getTextSize(line, FONT, scale, thickness)[0][0] for line in lines) + 12
    panel = image[:min(height, step * len(lines) + 8), :min(image.shape[1], width)]
    panel >>= 2  # darken what lies under the text to a quarter
    for i, line in enumerate(lines):
        cv2.putText(image, line, (6, 4 + text_h + i * step), FONT, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return image


def draw_mark(image, text="reconnecting"):
    """Draw a small red dot and ``text`` in the bottom-left corner of a BGR ``image``, in place:
    enough for a viewer to see that the picture is standing still on purpose."""
    height = image.shape[0]
    scale = max(0.35, height / 1800)
    (text_w, text_h), baseline = cv2.getTextSize(text, FONT, scale, 1)
    pad = max(3, text_h // 2)
    top = max(0, height - text_h - baseline - 2 * pad)
    panel = image[top:, :min(image.shape[1], text_w + 3 * pad + text_h)]
    panel >>= 1
    radius = max(2, text_h // 2)
    cv2.circle(image, (pad + radius, height - pad - radius), radius, (0, 0, 255), -1, cv2.LINE_AA)
    cv2.putText(image, text, (2 * pad + 2 * radius, height - pad - baseline // 2), FONT, scale, (255, 255, 255), 1,
                cv2.LINE_AA)
    return image
