"""Batches: ``camfx process`` on worker processes (``--jobs``) and on a real Dask LocalCluster
(processes, no dashboard), resumable through the manifest, with nothing partial left behind.

The clips are a few frames each, so that the run time goes to what is tested (workers
starting, dying, being retried); one cluster serves every test of the module. Outputs are
encoded losslessly (crf 0), so "the same as serial processing" is checked frame for frame.
"""
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from camfx.app.process import expand_inputs
from camfx.errors import CamfxError
from camfx.files import parts
from camfx.files.batch import ChainSpec, process_batch
from camfx.files.cluster import NO_DASHBOARD
from camfx.files.manifest import FILE_NAME, Manifest, Recipe
from camfx.files.process import Settings
from camfx.files.progress import BatchProgress
from test_process import decode, make_clip, x264_options

distributed = pytest.importorskip("distributed")  # the [test] extra installs it; CI must not skip

LOSSLESS = Settings(crf=0, preset="ultrafast")
FRAMES = 8

# Test plugins, loaded by path in every worker (as config.toml's [plugins] would).
PLUGINS = '''
import os, signal, time
from camfx.engine.filter import Filter

class Die(Filter):
    """Kills its own process (SIGKILL) at frame `at` of frames `width` wide, while the file
    `marker` does not exist (it is made first): once, or with marker='' every time."""
    name = "die"

    def __init__(self, *, at: int = 3, width: int = 0, marker: str = ""):
        self.at, self.width, self.marker, self.seen = at, width, marker, 0

    def apply(self, frame):
        if not self.width or frame.shape[1] == self.width:
            self.seen += 1
            if self.seen == self.at and not (self.marker and os.path.exists(self.marker)):
                if self.marker:
                    open(self.marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
        return frame


class Slow(Filter):
    """Sleeps `ms` per frame."""
    name = "slow"
    stateless = True

    def __init__(self, *, ms: float = 100.0):
        self.ms = ms

    def apply(self, frame):
        time.sleep(self.ms / 1000)
        return frame
'''


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    times = [i / 30 for i in range(FRAMES)]
    return [make_clip(folder / f"clip{i}.mkv", times=times, size=(64 + 16 * i, 48), audio=i == 0)
            for i in range(3)]


@pytest.fixture(scope="module")
def plugins(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plugins")
    (folder / "testplugins.py").write_text(PLUGINS)
    return folder


def spec(text, plugins):
    return ChainSpec(text, {"die": "testplugins.py:Die", "slow": "testplugins.py:Slow"}, {}, str(plugins))


@pytest.fixture(scope="module")
def cluster():
    """One real LocalCluster for the module: two single-threaded worker processes, set as
    ``--cluster local`` sets its own (a dead worker fails its task at once, one task per worker)."""
    import dask
    settings = {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(settings):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      silence_logs=50, scheduler_kwargs=NO_DASHBOARD) as local:
            yield local.scheduler_address


@pytest.fixture(params=["jobs", "cluster"])
def where(request):
    """How a test's batch runs: on 2 worker processes, or on the module's Dask cluster."""
    if request.param == "jobs":
        return {"jobs": 2}
    return {"cluster": request.getfixturevalue("cluster")}


def batch(inputs, output, chain, settings=LOSSLESS, **options):
    log = io.StringIO()
    result = process_batch(inputs, output, chain, settings, stream=log, tty=False, **options)
    return result, log.getvalue()


def records(folder):
    return [json.loads(line) for line in (Path(folder) / FILE_NAME).read_text().splitlines()]


def litter(*folders):
    return [name for folder in folders for name in os.listdir(folder) if ".camfx-" in name]


@pytest.fixture(scope="module")
def serial(clips, plugins, tmp_path_factory):
    """The clips processed one after another in this process: the reference."""
    out = tmp_path_factory.mktemp("serial")
    result, log = batch(clips, out, spec("emboss", plugins))
    assert result.done == len(clips) and not result.failures, log
    return {clip.name: decode(out / (clip.stem + ".mp4")) for clip in clips}


def assert_same_as_serial(out, serial):
    for name, (frames, times, _) in serial.items():
        got_frames, got_times, _ = decode(Path(out) / (Path(name).stem + ".mp4"))
        assert got_times == times
        assert len(got_frames) == len(frames) == FRAMES
        assert all((a == b).all() for a, b in zip(got_frames, frames))


def test_outputs_equal_serial_processing_and_every_file_gets_a_manifest_line(clips, plugins, serial, where, tmp_path):
    result, log = batch(clips, tmp_path, spec("emboss", plugins), **where)
    assert result.done == 3 and not result.failures and not result.interrupted, log
    assert_same_as_serial(tmp_path, serial)
    lines = records(tmp_path)
    assert sorted(r["input"] for r in lines) == sorted(str(c) for c in clips)
    for line in lines:
        source = Path(line["input"])
        assert line["status"] == "done" and line["error"] is None and line["frames"] == FRAMES
        assert line["size"] == source.stat().st_size and line["mtime_ns"] == source.stat().st_mtime_ns
        assert line["chain"] == "emboss()" and line["settings"] == {"codec": "h264", "crf": 0, "preset": "ultrafast"}
        assert line["output"] == str(tmp_path / (source.stem + ".mp4")) and line["seconds"] > 0
        assert line["attempts"] == 1 and line["worker"]
    assert litter(tmp_path) == []


def test_each_workers_encoder_gets_its_share_of_the_cores(clips, plugins, tmp_path):
    """Two workers on this machine: each encoder gets its share of the cores (libx264 records
    its thread count in the stream)."""
    batch(clips[:2], tmp_path, spec("emboss", plugins), jobs=2)
    share = max(1, len(os.sched_getaffinity(0)) // 2)
    for clip in clips[:2]:
        assert x264_options(tmp_path / (clip.stem + ".mp4"))["threads"] == str(share)


def test_a_rerun_skips_finished_files_retries_failed_ones_and_force_redoes_all(clips, plugins, where, tmp_path):
    broken = tmp_path / "broken.mkv"
    broken.write_text("not a video yet")
    out = tmp_path / "out"
    out.mkdir()  # several inputs go to a folder
    inputs = [*clips[:2], broken]
    result, log = batch(inputs, out, spec("emboss", plugins), **where)
    assert result.done == 2 and [f.path for f in result.failures] == [broken]
    assert "broken.mkv: not a readable video file" in result.failures[0].reason
    written = {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4")}

    make_clip(broken, times=[i / 30 for i in range(FRAMES)], size=(64, 48))  # mended
    result, log = batch(inputs, out, spec("emboss", plugins), **where)
    assert result.skipped == 2 and result.done == 1 and not result.failures, log
    assert "2 of 3 files done before" in log
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.mp4") if p.name in written} == written
    lines = records(out)  # appended, never rewritten
    assert len(lines) == 4 and [r["status"] for r in lines if r["input"] == str(broken)] == ["failed", "done"]

    # Another chain: every file is due again, and its output is not replaced without being asked.
    result, log = batch(inputs, out, spec("emboss,sharpen", plugins), **where)
    assert result.skipped == 0 and len(result.failures) == 3
    assert all("already exists (use --overwrite" in f.reason for f in result.failures)


def test_force_redoes_finished_files(clips, plugins, tmp_path):
    batch(clips[:2], tmp_path, spec("emboss", plugins))
    result, _ = batch(clips[:2], tmp_path, spec("emboss", plugins))
    assert result.skipped == 2 and result.done == 0
    result, _ = batch(clips[:2], tmp_path, spec("emboss", plugins), force=True)
    assert result.skipped == 0 and result.done == 2
    assert len(records(tmp_path)) == 4


def test_a_task_whose_worker_is_killed_mid_file_is_retried_and_finished(clips, plugins, serial, where, tmp_path):
    marker = tmp_path / "killed-once"
    out = tmp_path / "out"
    out.mkdir()  # several inputs go to a folder
    chain = spec(f"die(at=3, width=80, marker={str(marker)!r}), emboss", plugins)  # clip1 is 80 wide
    result, log = batch(clips, out, chain, retries=2, **where)
    assert marker.exists(), "the worker was not killed"
    assert result.done == 3 and not result.failures, log
    assert "clip1.mkv" in log and "trying again (2 of 3)" in log
    assert_same_as_serial(out, serial)
    attempts = {Path(r["input"]).name: r["attempts"] for r in records(out)}
    assert attempts == {"clip0.mkv": 1, "clip1.mkv": 2, "clip2.mkv": 1}
    assert litter(out) == []


def test_a_file_that_kills_every_worker_is_reported_failed_and_the_others_finish(clips, plugins, where, tmp_path):
    chain = spec("die(at=2, width=96), emboss", plugins)  # clip2, every time
    result, log = batch(clips, tmp_path, chain, retries=1, **where)
    assert result.done == 2 and [f.path.name for f in result.failures] == ["clip2.mkv"], log
    assert "died" in result.failures[0].reason and "(tried 2 times)" in result.failures[0].reason
    failed = [r for r in records(tmp_path) if r["status"] == "failed"]
    assert [(Path(r["input"]).name, r["attempts"]) for r in failed] == [("clip2.mkv", 2)]
    assert sorted(os.listdir(tmp_path)) == sorted(["clip0.mp4", "clip1.mp4", FILE_NAME])  # no part file, no litter


def test_bad_files_are_reported_while_the_others_finish(clips, plugins, where, tmp_path):
    text = tmp_path / "text.mkv"
    text.write_text("this is not a video\n")
    missing = tmp_path / "missing.mkv"
    result, log = batch([clips[0], text, missing, clips[1]], f"{tmp_path}/out/", spec("emboss", plugins), **where)
    assert result.done == 2 and {f.path.name for f in result.failures} == {"text.mkv", "missing.mkv"}
    reasons = {f.path.name: f.reason for f in result.failures}
    assert reasons["text.mkv"].startswith(f"{text}: not a readable video file")
    # Checked on the worker before it starts: it names the worker and says why.
    assert reasons["missing.mkv"].startswith(f"{missing}: cannot be read on worker ")
    assert "No such file" in reasons["missing.mkv"] and "every worker can reach" in reasons["missing.mkv"]
    assert "camfx: 2 of 4 files processed, 2 failed:" in log
    assert sorted(os.listdir(tmp_path / "out")) == sorted(["clip0.mp4", "clip1.mp4", FILE_NAME])


@pytest.mark.parametrize("mode", ["--jobs 2", "--cluster local"])
def test_ctrl_c_cancels_the_batch_leaving_nothing_partial(clips, plugins, tmp_path, mode):
    """Ctrl-C on a terminal: SIGINT to the whole process group, workers included."""
    (tmp_path / "config.toml").write_text('[plugins]\nslow = "testplugins.py:Slow"\n')
    (tmp_path / "testplugins.py").write_text(PLUGINS)
    for i, clip in enumerate(clips):
        os.link(clip, tmp_path / f"again{i}.mkv")
    inputs = [str(c) for c in clips] + [f"again{i}.mkv" for i in range(3)]
    out = tmp_path / "out"
    out.mkdir()  # several inputs go to a folder
    process = subprocess.Popen([sys.executable, "-m", "camfx", "process", *inputs, "-o", str(out), "--filters",
                                "slow(ms=150), emboss", *mode.split()], cwd=tmp_path, start_new_session=True,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / FILE_NAME).exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # until the first file is done
    os.killpg(process.pid, signal.SIGINT)
    stderr = process.communicate(timeout=120)[1]
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    done = records(out)
    assert done and all(r["status"] == "done" for r in done) and len(done) < 6
    assert "camfx: interrupted: " in stderr and f"camfx: {len(done)} of 6 files processed" in stderr
    assert sorted(os.listdir(out)) == sorted([Path(r["output"]).name for r in done] + [FILE_NAME])
    for r in done:  # complete files only
        assert len(decode(r["output"])[0]) == FRAMES


def test_a_part_file_left_by_a_killed_process_is_swept_and_a_live_one_is_not(tmp_path):
    target = tmp_path / "out.mp4"
    killed = subprocess.run([sys.executable, "-c", "import os, signal, sys\nfrom camfx.files import parts\n"
                             f"print(parts.create({str(target)!r}), flush=True)\n"
                             "os.kill(os.getpid(), signal.SIGKILL)"], capture_output=True, text=True)
    abandoned = Path(killed.stdout.strip())
    assert abandoned.exists() and abandoned.name.startswith(".out.") and abandoned.name.endswith(".camfx-part.mp4")
    live = parts.create(target)  # locked by this process
    other = parts.create(tmp_path / "other.mp4")
    os.close(os.open(tmp_path / ".out.1234abcd.camfx-new.mp4", os.O_CREAT))  # being created right now
    assert parts.sweep(tmp_path, ["out.mp4"]) == [abandoned]
    assert live.exists() and other.exists() and (tmp_path / ".out.1234abcd.camfx-new.mp4").exists()
    parts.commit(live, target)
    parts.remove(other)
    assert sorted(os.listdir(tmp_path)) == [".out.1234abcd.camfx-new.mp4", "out.mp4"]


def test_a_run_after_a_killed_one_leaves_no_litter(clips, plugins, tmp_path):
    """SIGKILL leaves a part file behind (nothing can remove it then); the next run does."""
    marker = tmp_path / "killed"
    config = tmp_path / "config.toml"
    config.write_text(f'[plugins]\ndie = "{plugins / "testplugins.py"}:Die"\n')
    command = [sys.executable, "-m", "camfx", "process", str(clips[0]), "-o", str(tmp_path / "o.mp4"), "--config",
               str(config), "--filters", f"die(at=3, marker={str(marker)!r})"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL and litter(tmp_path), result.stderr
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["config.toml", "killed", "o.mp4"]


def test_the_manifest_tolerates_a_line_cut_short_and_matches_exactly(tmp_path, clips):
    recipe = Recipe.of(clips[0], tmp_path / "a.mp4", "emboss()", {"codec": "h264", "crf": 23, "preset": "medium"})
    book = Manifest(tmp_path / "m.jsonl")
    book.append(recipe, status="done", frames=8, seconds=0.5)
    book.close()
    assert Manifest(tmp_path / "m.jsonl").finished(recipe) is None  # its output is not there
    (tmp_path / "a.mp4").write_bytes(b"x")
    assert Manifest(tmp_path / "m.jsonl").finished(recipe)["frames"] == 8
    for changed in [{"chain": "emboss(), edge()"}, {"settings": {"codec": "h264", "crf": 18, "preset": "medium"}},
                    {"size": recipe.size + 1}, {"mtime_ns": recipe.mtime_ns + 1}]:
        assert Manifest(tmp_path / "m.jsonl").finished(Recipe(**{**recipe.__dict__, **changed})) is None
    with open(tmp_path / "m.jsonl", "a") as f:
        f.write('{"input": "/x", "sta')  # a kill while writing
    book = Manifest(tmp_path / "m.jsonl")
    assert book.finished(recipe) is not None
    book.append(recipe, status="failed", error="boom")  # the line cut short goes
    book.close()
    assert Manifest(tmp_path / "m.jsonl").finished(recipe) is None  # the last line counts
    assert [json.loads(line)["status"] for line in (tmp_path / "m.jsonl").read_text().splitlines()] == ["done", "failed"]
    (tmp_path / "bad.jsonl").write_text("garbage\n{}\n")
    with pytest.raises(CamfxError, match=r"bad.jsonl:1: not a manifest line"):
        Manifest(tmp_path / "bad.jsonl")


def test_batch_progress_counts_files_frames_per_second_and_eta():
    now = [0.0]
    out = io.StringIO()
    progress = BatchProgress(4, stream=out, tty=False, interval=5, clock=lambda: now[0])
    now[0] = 2.0
    progress.frames(0, 50, 100)
    progress.frames(1, 50, 100)
    assert progress.status() == "0 done, 0 failed, 4 left, 50.0 fps, ETA 0:00:06"  # 300 frames left at 50 fps
    now[0] = 4.0
    progress.finished(0, True, 100)
    progress.frames(1, 100, 100)
    progress.finished(1, False)
    assert progress.status() == "1 done, 1 failed, 2 left, 50.0 fps, ETA 0:00:04"
    assert out.getvalue() == ""
    now[0] = 6.0
    progress.frames(2, 10, None)
    assert out.getvalue() == "camfx: batch: 1 done, 1 failed, 2 left, 35.0 fps, ETA 0:00:05\n"


def test_inputs_from_a_list_file(tmp_path):
    (tmp_path / "list.txt").write_text("# lecture recordings\na.mkv\n\n  b dir/c.mkv  \n")
    assert expand_inputs(["x.mkv", f"@{tmp_path / 'list.txt'}"]) == ["x.mkv", "a.mkv", "b dir/c.mkv"]
    with pytest.raises(CamfxError, match="nope.txt: cannot read the list of inputs"):
        expand_inputs(["@nope.txt"])


def test_without_dask_cluster_is_one_line_saying_how_to_install_it(clips, tmp_path, monkeypatch, capsys):
    from camfx.app.cli import main
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now fails
    assert main(["process", str(clips[0]), "-o", str(tmp_path), "--cluster", "local"]) == 2
    err = capsys.readouterr().err
    assert err == "camfx: error: --cluster needs Dask's distributed scheduler: pip install 'camfx[cluster]'\n"
    assert os.listdir(tmp_path) == []
