"""The frame-rate governor, driven by synthetic frame times."""
import numpy as np
import pytest

from camfx.live.governor import SCALES, Governor

TARGET_FPS = 30
BUDGET = 0.8 / TARGET_FPS


def simulate(governor, full_cost, frames, noise=0.1, seed=0):
    """Feed the governor the times of a chain that costs ``full_cost(i)`` s at full size for frame
    ``i`` (time grows with the pixel count); return the scale used for every frame."""
    rng = np.random.default_rng(seed)
    used = []
    for i in range(frames):
        used.append(governor.scale)
        cost = full_cost(i) * governor.scale ** 2 * (1 + noise * rng.standard_normal())
        governor.update(max(cost, 0.0))
    return used


def test_a_chain_within_budget_stays_at_full_size():
    used = simulate(Governor(TARGET_FPS), lambda i: 0.5 * BUDGET, 500)
    assert set(used) == {1.0}


def test_over_budget_steps_down_to_the_largest_scale_that_fits_and_stays_there():
    cost = 1.6 * BUDGET  # fits at 0.7x (0.78 of the budget), not at 0.85x (1.16)
    used = simulate(Governor(TARGET_FPS), lambda i: cost, 2000)
    assert used[-1] == 0.7
    changes = sum(a != b for a, b in zip(used, used[1:]))
    assert changes == 2  # 1.0 -> 0.85 -> 0.7, then no flicker
    assert used.index(0.7) < 100  # within a few seconds at 30 fps


def test_it_never_goes_below_the_smallest_scale():
    used = simulate(Governor(TARGET_FPS), lambda i: 50 * BUDGET, 500)
    assert used[-1] == SCALES[-1] and min(used) == SCALES[-1]


def test_it_steps_back_up_when_the_load_goes_away():
    used = simulate(Governor(TARGET_FPS), lambda i: 2.5 * BUDGET if i < 300 else 0.3 * BUDGET, 1000)
    assert min(used[:300]) <= 0.6
    assert used[-1] == 1.0


def test_a_cost_near_the_threshold_does_not_flicker():
    # At full size this chain takes its whole budget, give or take the noise: it may step down
    # once, but must then settle, not bounce between 0.85x and 1.0x.
    used = simulate(Governor(TARGET_FPS), lambda i: BUDGET, 3000, noise=0.05)
    changes = sum(a != b for a, b in zip(used, used[1:]))
    assert changes <= 1 and used[-1] in (1.0, 0.85)


def test_strict_keeps_full_size():
    governor = Governor(TARGET_FPS, strict=True)
    assert set(simulate(governor, lambda i: 10 * BUDGET, 300)) == {1.0}
    assert "strict" in governor.state


def test_target_must_be_positive():
    with pytest.raises(ValueError, match="target_fps must be positive, got 0"):
        Governor(0)


def simulate_economy(governor, cost, saving, frames, seed=0):
    """A chain costing ``cost(i)`` s at full work and size, whose one economy takes ``saving``
    (a share) off its time; return (economy level, scale) for every frame."""
    rng = np.random.default_rng(seed)
    used = []
    for i in range(frames):
        used.append((governor.economy, governor.scale))
        seconds = cost(i) * (1 - saving * governor.economy) * governor.scale ** 2
        governor.update(seconds * (1 + 0.05 * rng.standard_normal()))
    return used


def test_a_filter_economises_before_the_frame_shrinks_and_it_says_so():
    governor = Governor(TARGET_FPS, economies=["background: mask every other frame"])
    used = simulate_economy(governor, lambda i: 1.3 * BUDGET, 0.4, 1000)  # 0.78 of the budget economising
    assert used[-1] == (1, 1.0)  # the economy was enough: full size
    assert sum(a != b for a, b in zip(used, used[1:])) == 1
    assert governor.state == "background: mask every other frame to hold the frame rate"


def test_it_shrinks_the_frame_when_the_economy_is_not_enough_and_undoes_both_when_the_load_goes():
    governor = Governor(TARGET_FPS, economies=["background: mask every other frame"])
    used = simulate_economy(governor, lambda i: 2.0 * BUDGET if i < 400 else 0.3 * BUDGET, 0.4, 2000)
    rungs = [rung for rung, before in zip(used, [None] + used) if rung != before]
    assert rungs[:3] == [(0, 1.0), (1, 1.0), (1, 0.85)]  # economy first, then a smaller frame
    assert used[-1] == (0, 1.0)  # back to the full work, predicted from the economy's measured effect
