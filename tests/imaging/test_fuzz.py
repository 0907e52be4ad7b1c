"""Keep it true: seeded mutants of real DICOM files through everything the app does with a file.

Each mutant (bits flipped, the end cut, chunks duplicated or deleted, element headers damaged)
goes through the scan, the header read, the decode (the isolated decoder for compressed data, as
in the app), every preset's display mapping, the thumbnail and the tag tree, in a watched
process. Only the app's own ImageReadError may come out, with a reason nobody had to foresee as
"unexpected"; no mutant may hang or kill the process. ``python -m cxrviewer.bench fuzz --n 10000``
is the long run.
"""

from __future__ import annotations

import json

import pytest

from cxrviewer.bench._mutants import load_seeds, mutant, seed_files
from cxrviewer.bench.fuzz import SHARED_DICOM, format_report, run_fuzz

MUTANTS = 500
SEED = 16  # the number; any fixed seed makes the same mutants on every run


def test_mutants_are_the_same_every_time() -> None:
    seeds = load_seeds(seed_files(SHARED_DICOM)[:20])
    first = [mutant(seeds, SEED, i) for i in range(50)]
    again = [mutant(seeds, SEED, i) for i in range(50)]
    assert [(m.source, m.operations, m.data) for m in first] == [(m.source, m.operations, m.data) for m in again]
    assert len({m.data for m in first}) == 50  # and they differ from one another
    assert all(m.data != next(s.data for s in seeds if s.name == m.source) for m in first)


@pytest.mark.timeout(240)
def test_damaged_files_meet_only_the_apps_own_errors() -> None:
    """Real files in ../shared/data/dicom (when present) and pydicom's own test files."""
    report = run_fuzz(MUTANTS, SEED, decode_timeout_s=10.0, hang_s=40.0)
    bad = report.outcomes["foreign"] + report.outcomes["hang"] + report.outcomes["signal"]
    assert bad == 0, "\n" + format_report(report) + "\n" + json.dumps(report.failures, indent=1)[:4000]
    assert sum(report.outcomes.values()) == MUTANTS
    # The mutants reach every stage: many decode (so display, thumbnail and tags run), many do not.
    assert report.outcomes["ok"] > MUTANTS // 5 and report.outcomes["app_error"] > MUTANTS // 5
    assert len(report.reasons) > 10  # and the damage is told apart, not lumped under one reason


def test_a_harness_that_cannot_import_the_app_says_so(tmp_path, monkeypatch) -> None:
    """After a module move the fuzz child died on an ImportError, counted as 500 "signals"."""
    from cxrviewer.bench._fuzz_child import check_file
    from cxrviewer.imaging import study_tree

    monkeypatch.delattr(study_tree, "summarize")
    path = tmp_path / "any.dcm"
    path.write_bytes(b"\0" * 200)
    result = check_file(str(path))
    assert result["outcome"] == "foreign" and result["stage"] == "imports"
    assert "ImportError" in result["exception"] and "summarize" in result["exception"]
