"""Outputs: a slow or failing sink never holds back the caller or the other sinks."""
import threading
import time

import numpy as np
import pytest

from camfx.frame import Frame
from camfx.outputs.sink import Output, Sink


def frames(n):
    return [Frame(np.full((4, 4, 3), i % 256, np.uint8), i, i / 30) for i in range(n)]


class Collect(Sink):
    name = "collect"

    def __init__(self, delay=0.0):
        self.delay = delay
        self.got = []
        self.closed = 0

    def write(self, frame):
        time.sleep(self.delay)
        self.got.append(frame.index)

    def close(self):
        self.closed += 1


class Explode(Collect):
    name = "explode"

    def write(self, frame):
        if frame.index == 3:
            raise OSError(28, "No space left on device")
        super().write(frame)


def test_a_fast_sink_gets_every_frame_in_order():
    sink = Collect()
    with Output(sink, maxsize=100) as output:
        for frame in frames(50):
            output.offer(frame)
    assert sink.got == list(range(50))
    assert (output.written, output.dropped, sink.closed) == (50, 0, 1)


def test_a_slow_sink_drops_old_frames_and_never_blocks_the_caller():
    slow = Collect(delay=0.05)
    fast = Collect()
    outputs = [Output(slow), Output(fast, maxsize=100)]
    start = time.perf_counter()
    for frame in frames(40):
        for output in outputs:
            output.offer(frame)
    offered_in = time.perf_counter() - start
    for output in outputs:
        output.close()
    assert offered_in < 0.05  # 40 offers took less than one slow write
    assert fast.got == list(range(40))
    assert slow.got[-1] == 39  # the newest frame always arrives
    assert slow.got == sorted(slow.got)
    assert outputs[0].dropped == 40 - len(slow.got) > 0
    assert "collect: " in outputs[0].summary() and "dropped" in outputs[0].summary()


def test_a_failing_sink_is_named_once_closed_and_the_others_go_on():
    lines = []
    bad, good = Explode(), Collect()
    outputs = [Output(bad, report=lines.append, maxsize=100), Output(good, maxsize=100)]
    for frame in frames(10):
        for output in outputs:
            output.offer(frame)
    for output in outputs:
        output.close()
    assert bad.got == [0, 1, 2] and bad.closed == 1
    assert good.got == list(range(10))
    assert lines == ["output explode failed and was closed: OSError: [Errno 28] No space left on device"]
    assert outputs[0].failed and "No space left" in outputs[0].summary()


def test_a_sink_run_on_the_callers_thread():
    sink = Collect()
    output = Output(sink, start=False, maxsize=100)
    runner = threading.Thread(target=output.run)  # e.g. a GUI's main thread
    runner.start()
    for frame in frames(5):
        output.offer(frame)
    output.close()
    runner.join(2)
    assert sink.got == list(range(5)) and sink.closed == 1


@pytest.mark.parametrize("error", [RuntimeError("boom"), ValueError("a bad thing")])
def test_a_sink_that_fails_to_close_is_named(error):
    class BadClose(Collect):
        def close(self):
            raise error
    lines = []
    with Output(BadClose(), report=lines.append):
        pass
    assert len(lines) == 1 and "failed while closing" in lines[0] and str(error) in lines[0]
