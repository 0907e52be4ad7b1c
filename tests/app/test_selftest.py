"""``cxrviewer --self-test`` in the normal install: every step passes, each printed with its timing;
a failing step is reported in one line (its traceback goes to the log), and the exit status is 1."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from cxrviewer import selftest


def test_self_test_passes_in_this_install(tmp_path):
    env = {**os.environ, "CXRVIEWER_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "cxrviewer", "--self-test"], capture_output=True, text=True,
                          env=env, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("  ")]
    assert len(lines) == len(selftest.STEPS)
    assert all(re.match(r"  ok    .+ \(\d+\.\d\d s\): ", line) for line in lines), done.stdout
    assert "self-test passed" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    # Hermetic: nothing was written to the user folders it was given.
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").rglob("*"))


def test_a_failing_step_prints_its_message_not_a_traceback(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)

    def broken(ctx):
        raise RuntimeError("the decoder is missing")

    def needs_it(ctx):
        return ctx.need("library")

    monkeypatch.setattr(selftest, "STEPS", [("environment", selftest.step_environment), ("broken", broken),
                                            ("dependent", needs_it)])
    assert selftest.main() == 1
    out = capsys.readouterr()
    assert "FAIL  broken" in out.out and "RuntimeError: the decoder is missing" in out.out
    assert "skip  dependent: needs library" in out.out
    assert "Traceback" not in out.out + out.err
    (log,) = tmp_path.glob("cxrviewer-selftest-*/selftest.log")
    assert "Traceback" in log.read_text() and str(log) in out.out


@pytest.mark.parametrize("argv", [["--self-test"]])
def test_self_test_is_a_window_option(argv):
    from cxrviewer.app import build_gui_parser

    assert build_gui_parser().parse_args(argv).self_test
