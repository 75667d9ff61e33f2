"""`camfx serve` as a user runs it: the real loop on a recorded clip, served on a free port."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

import camfx
from serve_doubles import mad

ADDRESS = re.compile(r"serving on (http://\S+?:(\d+)/)(\?token=(\S+))?")


class Served:
    """``camfx serve ARGS`` in a subprocess, until :meth:`stop`."""

    def __init__(self, *args, cwd=None):
        self.process = subprocess.Popen([sys.executable, "-m", "camfx", "serve", "--port", "0", *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
        self.lines = []
        deadline = time.monotonic() + 60
        while not (match := ADDRESS.search("".join(self.lines))):
            line = self.process.stderr.readline()
            assert line or self.process.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, "".join(self.lines)
            self.lines.append(line)
        self.port, self.token = int(match.group(2)), match.group(4)
        self.base = f"http://127.0.0.1:{self.port}"

    def get(self, path, method="GET", body=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def json(self, path, method="GET", body=None, headers=None):
        status, data = self.get(path, method, body, headers)
        return status, json.loads(data)

    def stop(self, signum=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(signum)
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, out, "".join(self.lines) + err


def wait_for(condition, timeout=20):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return result


def test_serve_runs_the_live_loop_and_a_signal_ends_it_with_the_summary(clip_path, recorded_frames, tmp_path):
    served = Served("--source", str(clip_path), "--loop", "--filters", "box(ksize=9)", cwd=tmp_path)
    try:
        status, stats = wait_for(lambda: (s := served.json("/api/stats"))[1]["frames"] > 5 and s)
        assert status == 200 and stats["state"] == "live" and stats["source"] == str(clip_path)
        assert [f["spec"] for f in stats["filters"]] == ["box(ksize=9)"]
        status, data = served.get("/snapshot.jpg")
        shown = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        box = camfx.parse_chain("box(ksize=9)")
        assert min(mad(shown, box(f)) for f in recorded_frames) < 4  # one of the clip's frames, filtered
        status, chain = served.json("/api/chain", "PUT", {"filters": "box(ksize=9),edge"})
        assert status == 200 and chain["filters"] == "box(ksize=9),edge()"
        status, error = served.json("/api/chain", "PUT", {"filters": "box(ksize=4)"})
        assert status == 400 and error == {"error": "box: ksize must be an odd positive integer, got 4"}
        status, saved = served.json("/api/snapshot", "POST")
        assert status == 200 and (tmp_path / saved["path"]).is_file()
    finally:
        code, out, err = served.stop()
    assert code == 0, err
    assert re.match(r"\d+ frames shown, \d+ dropped, .*; stream: \d+ frames, \d+ dropped$", out.strip()), out
    assert "Traceback" not in err


def test_serve_on_the_network_makes_up_a_token_and_checks_it(clip_path):
    served = Served("--source", str(clip_path), "--loop", "--host", "0.0.0.0")
    try:
        assert served.token and len(served.token) >= 32
        assert served.get("/api/chain")[0] == 401
        assert served.get("/stream.mjpg?token=wrong")[0] == 401
        assert served.get(f"/api/chain?token={served.token}")[0] == 200
        assert served.get("/api/chain", headers={"Authorization": f"Bearer {served.token}"})[0] == 200
    finally:
        code, _, err = served.stop(signal.SIGINT)
    assert code == 0, err


def test_serve_stops_when_a_clip_ends(clip_path):
    served = Served("--source", str(clip_path), "--filters", "edge")
    code = served.process.wait(60)
    out, err = served.process.communicate()
    assert code == 0, err
    assert re.match(r"\d+ frames shown, \d+ dropped", out), out


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "--port must be from 0 to 65535, got 70000"),
    (["--filters", "blurr"], "unknown filter 'blurr'"),
    (["--host", "0.0.0.0", "--token", "has space"], "the token must be printable ASCII without spaces"),
    (["--source", "/no/such/clip.mkv"], "/no/such/clip.mkv"),
])
def test_bad_settings_are_one_line_and_exit_2(args, message):
    result = subprocess.run([sys.executable, "-m", "camfx", "serve", *args], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("camfx: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_busy_port_is_one_line(clip_path):
    served = Served("--source", str(clip_path), "--loop")
    try:
        result = subprocess.run([sys.executable, "-m", "camfx", "serve", "--source", str(clip_path),
                                 "--port", str(served.port)], capture_output=True, text=True, timeout=60)
    finally:
        served.stop()
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{served.port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_settings_come_from_config_toml(clip_path, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[serve]\nmax_viewers = 1\nport = 0\n[chain]\nfilters = "emboss"\n')
    served = Served("--source", str(clip_path), "--loop", "--config", str(config))
    try:
        assert served.json("/api/chain")[1]["filters"] == "emboss()"
        assert served.json("/api/stats")[1]["viewers"]["max"] == 1
    finally:
        served.stop()
    config.write_text("[serve]\nmax_viewer = 2\n")
    result = subprocess.run([sys.executable, "-m", "camfx", "serve", "--config", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown key 'serve.max_viewer'" in result.stderr
