"""The demo dataset adapter: reads the generator's index back as cases; a missing image is a problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxrviewer.datasets.case import DatasetProblem
from cxrviewer.datasets.registry import adapter_for, detect
from cxrviewer.demo import INDEX, write_demo


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    write_demo(root, n_cases=12, size=64, seed=3, workers=1)
    return root


def _records(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / INDEX).read_text(encoding="utf-8").splitlines()]


def test_adapter_round_trip_and_missing_images(demo_root: Path, tmp_path: Path) -> None:
    assert detect(demo_root) == "demo" and not adapter_for("demo").detect(tmp_path)
    problems: list[DatasetProblem] = []
    cases = list(adapter_for("demo").iter_cases(demo_root, problems.append))
    assert len(cases) == 12 and not problems
    records = {r["case_id"]: r for r in _records(demo_root)}
    for case in cases:
        assert case.dataset == "demo" and case.findings_source == "generator"
        assert Path(case.image).is_absolute() and Path(case.image).is_file()
        assert dict(case.findings) == records[case.case_id]["findings"]
        assert case.report.findings and case.report.impression
    gone = Path(cases[0].image)
    saved = gone.read_bytes()
    gone.unlink()
    try:
        problems.clear()
        left = list(adapter_for("demo").iter_cases(demo_root, problems.append))
        assert len(left) == 11 and len(problems) == 1 and "missing" in problems[0].reason
    finally:
        gone.write_bytes(saved)
