import numpy as np
import pytest

import camfx
from camfx.governor import Governor, process_scaled


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def run(governor, clock, frame_time_at_full, frames, fps=30):
    """Feed ``frames`` frames whose chain time is ``frame_time_at_full * scale**2``; return the
    scales chosen, one per frame."""
    scales = []
    for _ in range(frames):
        clock.now += 1 / fps
        scales.append(governor.update(frame_time_at_full * governor.scale ** 2))
    return scales


def test_under_budget_stays_at_full_quality():
    clock = FakeClock()
    g = Governor(30, clock=clock)
    assert set(run(g, clock, 0.020, 300)) == {1.0} and g.state == "full"


def test_sustained_overload_steps_down_until_it_fits():
    clock = FakeClock()
    g = Governor(30, clock=clock)
    scales = run(g, clock, 0.060, 300)  # twice the 33 ms budget at full size
    assert scales[0] == 1.0
    assert g.scale == 0.5 and g.state == "0.5x"  # 0.75 (34 ms) is still over, 0.5 (15 ms) fits
    assert 0.060 * g.scale ** 2 <= g.budget
    assert scales[:30] == [1.0] * 30  # holds for a second after start: no reaction to one burst


def test_a_single_slow_frame_does_not_step_down():
    clock = FakeClock()
    g = Governor(30, clock=clock, hold=0)
    run(g, clock, 0.015, 60)
    clock.now += 1 / 30
    assert g.update(0.090) == 1.0  # one spike: the smoothed time stays under budget
    assert set(run(g, clock, 0.015, 60)) == {1.0}


def test_steps_back_up_when_there_is_headroom():
    clock = FakeClock()
    g = Governor(30, clock=clock)
    run(g, clock, 0.060, 300)
    assert g.scale == 0.5
    run(g, clock, 0.010, 300)  # the scene got cheap: 10 ms at full size
    assert g.scale == 1.0 and g.state == "full"


def test_no_flicker_near_the_threshold():
    """Frame times that would fit at 0.75 but not leave headroom at 1.0 settle at 0.75 for good."""
    clock = FakeClock()
    g = Governor(30, clock=clock)
    rng = np.random.default_rng(1)
    scales = []
    for _ in range(3000):  # 100 s of noisy frame times around 1.15x the budget at full size
        clock.now += 1 / 30
        scales.append(g.update(0.038 * g.scale ** 2 * rng.uniform(0.9, 1.1)))
    changes = sum(a != b for a, b in zip(scales, scales[1:]))
    assert changes == 1 and scales[-1] == 0.75


def test_strict_never_changes_the_scale():
    clock = FakeClock()
    g = Governor(30, strict=True, clock=clock)
    assert set(run(g, clock, 0.200, 300)) == {1.0} and g.state == "strict"


@pytest.mark.parametrize("kwargs, message", [
    ({"target_fps": 0}, "target_fps must be a positive number, got 0"),
    ({"target_fps": "30"}, "target_fps must be a positive number"),
    ({"target_fps": 30, "scales": (0.5, 0.25)}, "scales must start at 1.0"),
    ({"target_fps": 30, "headroom": 1.5}, "headroom"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Governor(**kwargs)


def test_process_scaled_keeps_the_frame_size(recorded_frames):
    chain = camfx.parse_chain("blur")
    frame = recorded_frames[0]
    assert process_scaled(chain, frame, 1.0).shape == frame.shape
    half = process_scaled(chain, frame, 0.5)
    assert half.shape == frame.shape and half.dtype == np.uint8
    assert np.abs(half.astype(int) - chain(frame)).mean() < 8  # a softer version of the same picture
