"""``cxrviewer library info``: what a library holds, and how many problems its build met."""

from __future__ import annotations

import json
from pathlib import Path

from dataset_trees import nih_tree

from cxrviewer.cli import run
from cxrviewer.library.build import BuildOptions, build_library


def test_info_counts_every_problem_though_it_lists_only_some(tmp_path: Path, capsys) -> None:
    """A real dataset can log hundreds of thousands of problems: the count must be the true
    one, not the length of the capped list that is shown."""
    root = nih_tree(tmp_path / "nih", missing=1234)  # 1234 rows whose PNG is not there
    result = build_library(BuildOptions("nih", root, tmp_path / "lib", workers=1))
    assert result.total == 3 and len(result.problems) == 1234

    assert run(["library", "info", str(tmp_path / "lib")]) == 0
    out = capsys.readouterr().out
    assert "1,234 problems" in out, out
    assert out.count("image file not found") == 20  # the first ones, not all of them

    assert run(["library", "info", str(tmp_path / "lib"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["problem_count"] == 1234
    assert 20 <= len(data["problems"]) <= 1000
