"""`cxrviewer` on the command line: help that lists the commands, a mistyped command that says so
(never a window), and a study path that still opens the window."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxrviewer import cli
from cxrviewer.app import build_gui_parser, main


@pytest.fixture
def window_starts(monkeypatch: pytest.MonkeyPatch) -> list:
    """The arguments of every window start (the window itself is not opened)."""
    from cxrviewer.gui import launch

    started: list = []
    monkeypatch.setattr(launch, "launch", lambda args: started.append(args) or 0)
    return started


def test_help_lists_every_command_with_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`cxrviewer --help` said "Commands ...: info, labels, eval, ..." and hid the rest."""
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for name in ("search", "info", "library build", "models import", "models verify", "train text-tower"):
        assert f"\n  {name} " in text
    summaries = cli.command_summaries()
    assert {"search", "info", "library build", "models import", "train text-tower"} <= {n for n, _ in summaries}
    for name, summary in summaries:
        line = next((row for row in text.splitlines() if row.strip().startswith(name + " ")), None)
        assert line is not None, f"{name} missing from --help"
        assert summary.split()[0] in line
    assert "eval, ..." not in text
    assert "--screenshot" in text  # the window's own options are still there


def test_a_mistyped_command_names_the_nearest_and_opens_no_window(
        window_starts: list, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`cxrviewer serach x` said "unrecognized arguments"; `cxrviewer serach` opened the window."""
    monkeypatch.chdir(tmp_path)
    assert main(["serach", "x"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'serach'; did you mean 'search'?" in err
    assert "library build" in err and "train text-tower" in err  # the command list follows
    assert main(["serach"]) == 2
    assert main(["biuld", "--dataset", "x"]) == 2
    assert "did you mean 'library build'?" in capsys.readouterr().err
    assert main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'frobnicate'" in err and "did you mean" not in err
    assert window_starts == []


def test_an_existing_path_opens_the_window_even_when_it_looks_like_a_command(
        window_starts: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "serach").mkdir()  # a study folder that happens to be named like a typo
    assert main(["serach"]) == 0
    assert main(["missing/study", "--anonymise"]) == 0  # path-like: the window says "Not found"
    assert [args.path for args in window_starts] == ["serach", "missing/study"]


def test_the_log_gets_the_options_not_the_paths_or_the_query() -> None:
    """The log line of a start held the whole command line: folder names and typed impressions."""
    from cxrviewer.gui.launch import describe_options

    args = build_gui_parser().parse_args(
        ["/studies/Doe_Jane", "--query", "Jane Doe, mild effusion", "--library", "/data/ward-7",
         "--screenshot", "/home/x/Doe.png", "--saliency", "--size", "800x600"])
    line = describe_options(args)
    assert line == ("<path> --screenshot <file> --query <query: 23 chars> --saliency "
                    "--library <library> --size 800x600")
    assert describe_options(build_gui_parser().parse_args([])) == "(no arguments)"
