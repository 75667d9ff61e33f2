"""The heads-up display drawn over the preview: FPS, timings, drops, latency, chain and state."""
import cv2

FONT = cv2.FONT_HERSHEY_SIMPLEX


def hud_lines(stats, dropped, chain, filter_times, status=()):
    """The HUD's text, one string per line.

    ``filter_times`` holds each filter's seconds for the last frame; ``status`` holds short words
    such as "PAUSED" or "REC" shown on the last line.
    """
    lines = [f"{stats.fps.fps:5.1f} fps  {stats.last_frame_time * 1000:5.1f} ms/frame  "
             f"latency {stats.last_latency * 1000:4.0f} ms  dropped {dropped}"]
    steps = []
    for i, (f, on) in enumerate(zip(chain.filters, chain.enabled), start=1):
        seconds = filter_times[i - 1] if i - 1 < len(filter_times) else 0.0
        steps.append(f"{i}:{f.name} {seconds * 1000:.1f}ms" if on else f"{i}:{f.name} off")
    lines.append("  ".join(steps) or "no filters")
    if status:
        lines.append("  ".join(status))
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
