"""Live statistics: FPS, percentiles and latency against direct computations."""
import numpy as np

from camfx.live.stats import FpsMeter, LiveStats


def fake_clock(step):
    ticks = iter(np.arange(0, 1e6, step))
    return lambda: float(next(ticks))


def test_percentiles_match_numpy_within_a_bin_and_memory_stays_put():
    rng = np.random.default_rng(0)
    times = rng.gamma(2.0, 0.003, 20_000)  # a long tail, like real frame times
    stats = LiveStats(clock=fake_clock(0.01))
    size = stats._histogram.nbytes
    for t in times:
        stats.record(t, 2 * t)
    for q in (50, 99):
        assert abs(stats.frame_time_percentile(q) - np.percentile(times, q)) <= LiveStats.BIN
    assert stats._histogram.nbytes == size
    assert f"latency mean {2 * times.mean() * 1000:.1f} ms" in stats.summary(0)


def test_fps_is_smoothed_over_the_last_second():
    meter = FpsMeter(clock=fake_clock(0.04))  # 25 fps
    for _ in range(100):
        meter.tick()
    assert abs(meter.fps - 25) < 0.01
