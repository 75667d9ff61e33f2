"""Commands: checked in the caller's thread, made between frames by the loop."""
import threading

import pytest

from camfx import parse_chain
from camfx.live.commands import Commands


class Target:
    """The loop's side: a chain and a handler per command."""

    def __init__(self, spec="blur(ksize=3),edge"):
        self.chain = parse_chain(spec)
        self.paused = False
        self.calls = []

    def on_toggle(self, index):
        if index >= len(self.chain):
            raise ValueError(f"no filter at position {index}")
        return self.chain.toggle(index)

    def on_replace_chain(self, chain):
        self.chain = chain
        return chain

    def on_set_filter(self, index, old, new, threads):
        assert self.chain.filters[index] is old
        self.chain.filters[index] = new
        self.chain.threads[index] = threads
        return new

    def on_pause(self, paused):
        self.paused = (not self.paused) if paused is None else paused
        return self.paused

    def on_quit(self):
        self.calls.append("quit")


def test_nothing_changes_until_the_loop_runs_the_commands():
    target = Target()
    commands = Commands(target)
    toggled = commands.toggle(1)
    replaced = commands.replace_chain("box(ksize=5)")
    assert not toggled.done() and repr(target.chain).startswith("blur")
    commands.run_pending()
    assert toggled.result() is False
    assert replaced.result() is target.chain and repr(target.chain) == "box(ksize=5)"


def test_bad_commands_raise_at_once_with_the_command_lines_message_and_change_nothing():
    target = Target()
    commands = Commands(target)
    with pytest.raises(ValueError, match="unknown filter 'blurr'"):
        commands.replace_chain("blurr")
    with pytest.raises(ValueError, match="ksize must be an odd positive integer, got 4"):
        commands.set_parameter(0, "ksize", 4)
    with pytest.raises(ValueError, match="blur has no parameter 'size'"):
        commands.set_parameter(0, "size", 3)
    with pytest.raises(ValueError, match="no filter at position 5"):
        commands.set_parameter(5, "ksize", 3)
    with pytest.raises(ValueError, match="whole number"):
        commands.toggle(-1)
    commands.run_pending()
    assert repr(target.chain) == "blur(ksize=3, sigma=0.0),edge()"


def test_set_parameter_keeps_the_other_parameters():
    target = Target("blur(ksize=3, sigma=1.5)")
    commands = Commands(target)
    future = commands.set_parameter(0, "ksize", 7)
    commands.run_pending()
    assert repr(future.result()) == "blur(ksize=7, sigma=1.5)" and target.chain.filters[0] is future.result()


def test_a_command_that_no_longer_fits_fails_its_future_only():
    target = Target()
    commands = Commands(target)
    shrink = commands.replace_chain("edge")
    late = commands.toggle(1)  # valid when sent, past the end once the chain shrank
    after = commands.pause()
    commands.run_pending()
    assert shrink.result() is target.chain
    with pytest.raises(ValueError, match="no filter at position 1"):
        late.result()
    assert after.result() is True


def test_commands_from_many_threads_all_arrive_in_order_per_thread():
    target = Target()
    commands = Commands(target)
    futures = []
    threads = [threading.Thread(target=lambda: futures.extend(commands.pause() for _ in range(100)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    commands.run_pending()
    assert len(futures) == 400 and all(f.done() for f in futures)
    assert target.paused is False  # 400 toggles


def test_after_close_commands_fail_instead_of_waiting_forever():
    commands = Commands(Target())
    queued = commands.pause()
    commands.close()
    with pytest.raises(RuntimeError, match="ended"):
        queued.result(timeout=1)
    with pytest.raises(RuntimeError, match="ended"):
        commands.quit().result(timeout=1)
