"""Building a library: contents, resume after kill -9, extending, and refusing foreign folders."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cxrviewer.library.build import BuildCancelled, BuildOptions, build_library
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.library import Library
from cxrviewer.library.manifest import MANIFEST_NAME, read_manifest


def _case_ids(folder: Path) -> list[str]:
    with sqlite3.connect(folder / "library.sqlite") as db:
        return [r[0] for r in db.execute("SELECT case_id FROM cases")]


def test_demo_library_holds_every_case_with_findings_reports_and_thumbnails(demo_dataset, demo_library):
    manifest = read_manifest(demo_library)
    assert manifest.state == "ready" and manifest.synthetic and manifest.route == "labels"
    lines = (demo_dataset / "demo_cases.jsonl").read_text().splitlines()
    with Library.open(demo_library) as library:
        assert library.count == len(lines) == manifest.counts["cases"]
        first = json.loads(lines[0])
        case = library.case(first["case_id"])
        assert case.findings == first["findings"]
        assert case.report.impression
        jpeg = library.thumbnail(first["case_id"])
        assert jpeg[:2] == b"\xff\xd8"
        info = library.info()
        assert set(info["splits"]) <= {"train", "valid", "test"}


def test_killed_build_resumes_without_duplicates(demo_dataset, tmp_path):
    out = tmp_path / "lib"
    cmd = [sys.executable, "-m", "cxrviewer", "library", "build", "--dataset", "demo",
           "--root", str(demo_dataset), "--out", str(out), "--workers", "1", "--batch-size", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stored = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            stored = len(_case_ids(out))
        except sqlite3.Error:
            stored = 0
        if stored >= 2:
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    total = len((demo_dataset / "demo_cases.jsonl").read_text().splitlines())
    assert 2 <= stored < total, "the build should have been stopped part-way"
    assert read_manifest(out).state == "building"
    with pytest.raises(LibraryError, match="did not finish"):
        Library.open(out)
    result = build_library(BuildOptions("demo", demo_dataset, out, workers=1))
    assert result.resumed
    ids = _case_ids(out)
    assert len(ids) == len(set(ids)) == total
    assert result.added <= total - 2
    assert 0 < result.images_span < result.seconds  # first image to last, inside the whole build
    assert read_manifest(out).state == "ready"


def test_cancel_keeps_what_was_stored_and_a_rerun_finishes(demo_dataset, tmp_path):
    out = tmp_path / "lib"
    calls = iter(range(10_000))
    with pytest.raises(BuildCancelled):
        build_library(BuildOptions("demo", demo_dataset, out, workers=1, batch_size=4),
                      should_cancel=lambda: next(calls) >= 5)
    partial = len(_case_ids(out))
    assert 0 < partial < 48
    result = build_library(BuildOptions("demo", demo_dataset, out, workers=1))
    assert result.added == 48 - partial and result.total == 48


def test_building_again_adds_only_new_cases(demo_dataset, tmp_path):
    out = tmp_path / "lib"
    first = build_library(BuildOptions("demo", demo_dataset, out, workers=1, limit=20))
    assert first.total == 20
    second = build_library(BuildOptions("demo", demo_dataset, out, workers=1))
    assert second.added == 28 and second.total == 48 and not second.resumed


def test_unusable_images_are_listed_and_the_rest_is_built(demo_dataset, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_dataset, data)
    records = [json.loads(line) for line in (data / "demo_cases.jsonl").read_text().splitlines()]
    broken = data / records[0]["image"]
    broken.write_bytes(broken.read_bytes()[:400])
    missing = data / records[1]["image"]
    missing.unlink()
    result = build_library(BuildOptions("demo", data, tmp_path / "lib", workers=1))
    assert result.total == 46 and result.skipped == 1
    reasons = {p.path: p.reason for p in result.problems}
    assert any("not found" in r or "missing" in r for r in reasons.values())
    with Library.open(tmp_path / "lib") as library:
        listed = {p.path for p in library.store.problems()}
    assert str(broken) in listed and str(missing) in listed


def test_foreign_folder_and_other_versions_are_never_overwritten(demo_dataset, demo_library, tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"not ours")
    with pytest.raises(LibraryError, match="not empty"):
        build_library(BuildOptions("demo", demo_dataset, foreign, workers=1))
    assert (foreign / "holiday.jpg").read_bytes() == b"not ours"

    newer = tmp_path / "newer"
    shutil.copytree(demo_library, newer)
    manifest = json.loads((newer / MANIFEST_NAME).read_text())
    manifest["format_version"] = 99
    (newer / MANIFEST_NAME).write_text(json.dumps(manifest))
    before = (newer / "library.sqlite").read_bytes()
    for attempt in (lambda: Library.open(newer),
                    lambda: build_library(BuildOptions("demo", demo_dataset, newer, workers=1))):
        with pytest.raises(LibraryError, match="format version 99") as err:
            attempt()
        assert MANIFEST_NAME in str(err.value)
    assert (newer / "library.sqlite").read_bytes() == before


def test_wrong_dataset_root_names_what_was_expected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LibraryError, match="Data_Entry_2017"):
        build_library(BuildOptions("nih", tmp_path / "empty", tmp_path / "lib", workers=1))
    with pytest.raises(LibraryError, match="no such folder"):
        build_library(BuildOptions("demo", tmp_path / "nowhere", tmp_path / "lib2", workers=1))
