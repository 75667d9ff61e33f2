"""Output specs (--output SPEC, [live] outputs) and ``camfx outputs``."""
import os
import subprocess
import sys

import pytest

from camfx.outputs.specs import OutputSpec, parse_output, parse_outputs


@pytest.mark.parametrize("text,spec", [
    ("window", OutputSpec("window")),
    ("record:out.mp4", OutputSpec("record", "out.mp4")),
    ("vcam", OutputSpec("vcam")),
    ("vcam:/dev/video7", OutputSpec("vcam", "/dev/video7")),
    ("VCAM:OBS Virtual Camera", OutputSpec("vcam", "OBS Virtual Camera")),
    ("y4m:/tmp/a:b.y4m", OutputSpec("y4m", "/tmp/a:b.y4m")),  # only the first colon separates
])
def test_specs_parse_and_print_back(text, spec):
    assert parse_output(text) == spec
    assert parse_output(str(spec)) == spec


@pytest.mark.parametrize("text,message", [
    ("screen", "unknown output 'screen'; the outputs are window, record:PATH, vcam, vcam:/dev/videoN, y4m:PATH"),
    ("window:big", "output 'window:big': window takes nothing after it; write window"),
    ("record", "output 'record': record needs a path, as in record:PATH"),
    ("y4m:", "output 'y4m:': y4m needs a path, as in y4m:PATH"),
    ("vcam:", "output 'vcam:': name a device after the colon"),
    ("", "unknown output ''"),
])
def test_bad_specs_are_one_line_naming_them(text, message):
    with pytest.raises(ValueError) as error:
        parse_output(text)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_repeats_that_cannot_work_are_refused():
    assert parse_outputs(["window", "vcam", "record:a.mp4", "y4m:p"]) == [
        OutputSpec("window"), OutputSpec("vcam"), OutputSpec("record", "a.mp4"), OutputSpec("y4m", "p")]
    with pytest.raises(ValueError, match="output vcam is given twice"):
        parse_outputs(["vcam", "vcam"])
    with pytest.raises(ValueError, match="only one record output can run, got record:b.mp4 and record:a.mp4"):
        parse_outputs(["record:a.mp4", "record:b.mp4"])
    with pytest.raises(ValueError, match="two outputs write to same"):
        parse_outputs(["record:same", "y4m:same"])
    with pytest.raises(ValueError, match="must be a string"):
        parse_outputs([3])


def test_camfx_outputs_lists_every_kind_and_says_how_to_enable_the_missing_ones():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-m", "camfx", "outputs"], capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = {line.split()[0]: line.split()[1] for line in lines[::2]}
    assert rows == {"window": "no", "record:PATH": "yes", "vcam[:DEVICE]": rows["vcam[:DEVICE]"], "y4m:PATH": "yes"}
    assert "DISPLAY is not set" in lines[1]
    from camfx.outputs.vcam import loopback_devices
    if loopback_devices():
        assert rows["vcam[:DEVICE]"] == "yes"
    else:  # as on these machines: the command that would make one
        assert rows["vcam[:DEVICE]"] == "no"
        assert "sudo modprobe v4l2loopback exclusive_caps=1 card_label=camfx" in lines[5]
