import json

import numpy as np
import pytest

import camfx
# machine_busy imported at collection: the real one (conftest's quiet_machine patches the module's)
from camfx.engine.autotune import autotune, choice_key, machine_busy
from conftest import assert_close
from test_chain import opencv_chain


class CountingClock:
    """A fake clock: every reading advances by a cost that depends on what is being timed."""

    def __init__(self):
        self.readings = 0

    def __call__(self):
        self.readings += 1
        return float(self.readings)


def test_choice_is_timed_once_then_reused_from_disk(tmp_path, recorded_frames):
    cache = tmp_path / "autotune.json"
    frame = recorded_frames[0]
    clock = CountingClock()
    first = autotune(camfx.parse_chain("blur(ksize=9),emboss,edge"), frame, clock=clock, runs=2, cache_path=cache)
    assert first["timed"] and clock.readings > 0
    assert len(first["steps"]) == 3
    stored = json.loads(cache.read_text())
    assert list(stored) == [choice_key(camfx.parse_chain("blur(ksize=9),emboss,edge"), frame.shape,
                                       _threads())]

    chain = camfx.parse_chain("blur(ksize=9),emboss,edge")
    clock = CountingClock()
    second = chain.tune(frame, clock=clock, cache_path=cache)
    assert not second["timed"] and clock.readings == 0  # no timing at all on the second start
    assert second["steps"] == first["steps"]
    assert [f.variant for f in chain] == [s["variant"] for s in first["steps"]]
    assert chain.threads == [s["threads"] for s in first["steps"]]
    assert_close(chain(frame), opencv_chain(frame))  # a tuned chain still computes the same


def _threads():
    import numba
    return numba.get_num_threads()


def test_the_fastest_variant_wins(tmp_path, recorded_frames, monkeypatch):
    """With a clock that makes the 'generic' emboss look fastest, the tuner picks it."""
    import camfx.engine.autotune as tuner
    chain = camfx.parse_chain("emboss")
    emboss = chain.filters[0]

    def fake_time(f, frame, out, candidate, clock):
        variant, threads = candidate
        return {"direct": 2.0, "generic": 1.0}[variant] + threads / 100
    monkeypatch.setattr(tuner, "_time_once", fake_time)
    choice = autotune(chain, recorded_frames[0], threads=2, cache_path=tmp_path / "a.json")
    assert choice["steps"] == [{"variant": "generic", "threads": 1}]
    assert emboss.variant == "generic" and chain.threads == [1]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"KEY": {"steps": [{"variant": "warp", "threads": 2}]}}'])
def test_an_invalid_cache_file_is_replaced(tmp_path, recorded_frames, content, capsys):
    cache = tmp_path / "autotune.json"
    chain = camfx.parse_chain("emboss")
    frame = recorded_frames[0]
    cache.write_text(content.replace("KEY", choice_key(chain, frame.shape, _threads())))
    choice = autotune(chain, frame, clock=CountingClock(), runs=1, cache_path=cache)
    assert choice["timed"]
    assert json.loads(cache.read_text())[choice_key(chain, frame.shape, _threads())]["steps"] == choice["steps"]
    if content.startswith("{not"):
        assert "ignoring unreadable autotune cache" in capsys.readouterr().err


def test_cache_folder_follows_camfx_cache_dir(tmp_path, monkeypatch, recorded_frames):
    monkeypatch.setenv("CAMFX_CACHE_DIR", str(tmp_path))
    autotune(camfx.parse_chain("emboss"), recorded_frames[0], clock=CountingClock(), runs=1)
    assert (tmp_path / "autotune.json").exists()


def test_third_party_filters_without_variants_are_timed_for_threads_only(tmp_path, recorded_frames):
    class Invert(camfx.Filter):
        name = "invert"
        stateless = True

        def apply(self, frame):
            return 255 - frame
    chain = camfx.Chain([Invert()])
    choice = autotune(chain, recorded_frames[0], clock=CountingClock(), runs=1, cache_path=tmp_path / "a.json")
    assert choice["steps"][0]["variant"] is None
    np.testing.assert_array_equal(chain(recorded_frames[0]), 255 - recorded_frames[0])


class Trail(camfx.Filter):
    """Each frame averaged with the one before: a filter that remembers (not ``stateless``)."""
    name = "trail"

    def __init__(self):
        self.seen = []

    def apply(self, frame):
        out = frame if not self.seen else ((frame.astype(np.uint16) + self.seen[-1]) // 2).astype(np.uint8)
        self.seen.append(frame.copy())
        return out


def test_a_filter_that_remembers_frames_is_never_run_by_tuning_or_warming(tmp_path, recorded_frames):
    trail, frame = Trail(), recorded_frames[0]
    chain = camfx.Chain([camfx.parse_chain("emboss").filters[0], trail])
    choice = autotune(chain, frame, clock=CountingClock(), runs=1, cache_path=tmp_path / "a.json")
    chain.warm(frame)
    assert trail.seen == [] and choice["steps"][1]["variant"] is None
    assert choice["timed"] and autotune(chain, frame, cache_path=tmp_path / "a.json")["timed"] is False
    np.testing.assert_array_equal(chain(frame), camfx.parse_chain("emboss")(frame))  # its first frame is its own


@pytest.mark.parametrize("two_thread_cost, chosen", [(0.95, 1), (0.6, 2)])
def test_more_threads_must_be_clearly_faster(tmp_path, recorded_frames, monkeypatch, two_thread_cost, chosen):
    import camfx.engine.autotune as tuner
    chain = camfx.parse_chain("emboss")

    def fake_time(f, frame, out, candidate, clock):
        variant, threads = candidate
        return (1.0 if variant == "direct" else 3.0) * (two_thread_cost if threads == 2 else 1.0)
    monkeypatch.setattr(tuner, "_time_once", fake_time)
    choice = autotune(chain, recorded_frames[0], threads=2, cache_path=tmp_path / "a.json")
    assert choice["steps"] == [{"variant": "direct", "threads": chosen}]


def test_a_first_tuning_is_announced_and_a_remembered_one_is_not(tmp_path, recorded_frames):
    said = []
    frame = recorded_frames[0]
    for _ in range(2):
        autotune(camfx.parse_chain("blur, emboss"), frame, clock=CountingClock(), runs=1,
                 cache_path=tmp_path / "a.json", announce=said.append)
    assert said == ["tuning the chain for 320x240 frames (first run: compiles and times each variant, a few seconds)..."]


def test_a_filter_that_has_gained_variants_since_its_choice_was_remembered_is_timed_again(tmp_path, recorded_frames):
    chain = camfx.parse_chain("emboss")
    frame = recorded_frames[0]
    cache = tmp_path / "a.json"
    cache.write_text(json.dumps({choice_key(chain, frame.shape, _threads()): {"steps": [{"variant": None, "threads": 1}],
                                                                             "seconds": [0.0]}}))
    choice = autotune(chain, frame, clock=CountingClock(), runs=1, cache_path=cache)
    assert choice["timed"] and choice["steps"][0]["variant"] in ("direct", "generic")


def test_a_choice_timed_on_a_busy_machine_is_used_but_not_remembered(tmp_path, recorded_frames, monkeypatch):
    import camfx.engine.autotune as tuner
    monkeypatch.setattr(tuner, "machine_busy", lambda: True)
    cache, said = tmp_path / "autotune.json", []
    chain = camfx.parse_chain("emboss,edge")
    choice = chain.tune(recorded_frames[0], runs=1, cache_path=cache, announce=said.append)
    assert choice["timed"] and chain.threads == [s["threads"] for s in choice["steps"]]  # in use
    assert not cache.exists()  # a later, quieter start times the chain again
    assert "other work is keeping this machine's cores busy" in said[0]
    monkeypatch.setattr(tuner, "machine_busy", lambda: False)
    assert chain.tune(recorded_frames[0], runs=1, cache_path=cache)["timed"] and cache.exists()


@pytest.mark.parametrize("load, cores, busy", [(0.3, 2, False), (1.9, 2, False), (2.0, 2, True), (7.5, 8, False)])
def test_the_machine_is_busy_when_the_load_average_reaches_the_core_count(monkeypatch, load, cores, busy):
    import os

    monkeypatch.setattr(os, "getloadavg", lambda: (load, 0.0, 0.0))
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert machine_busy() is busy


def test_a_machine_without_a_load_average_is_not_busy(monkeypatch):
    import os

    monkeypatch.delattr(os, "getloadavg")
    assert machine_busy() is False
