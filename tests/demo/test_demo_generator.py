"""The demo generator: real DICOM files, reports the labeler agrees with, masks, patients."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import pydicom
import pytest

import cxrviewer.demo as D
from cxrviewer.imaging.dicom import load_image
from cxrviewer.imaging.display import default_preset, mapping_for, render_uint8
from cxrviewer.reports.labeler import label_text
from cxrviewer.splits import split_for_patient

SIZE = 128


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    seen: list[tuple[int, int]] = []
    summary = D.write_demo(root, n_cases=12, size=SIZE, seed=3, workers=1,
                           progress=lambda done, total: seen.append((done, total)))
    assert summary.n_cases == 12 and seen[-1] == (12, 12)
    return root


def _records(root: Path) -> list[dict]:
    return [json.loads(line) for line in (root / D.INDEX).read_text(encoding="utf-8").splitlines()]


def test_layout_and_labels_of_synthetic_data(demo_root: Path) -> None:
    assert "not real patients" in (demo_root / "README.txt").read_text()
    records = _records(demo_root)
    assert len(records) == 12
    for r in records:
        folder = demo_root / r["patient_id"] / r["study_id"]
        assert (folder / "image.dcm").is_file() and (folder / "report.txt").is_file()
        report = (folder / "report.txt").read_text()
        assert "FINDINGS:" in report and "IMPRESSION:" in report and "not a real patient" in report
        with np.load(folder / "masks.npz") as masks:
            assert sorted(masks.files) == sorted(d["kind"] for d in r["drawn"])
            for d in r["drawn"]:
                assert masks[d["kind"]].dtype == bool and masks[d["kind"]].shape == (SIZE, SIZE)
                assert len(d["bbox"]) == 4 and d["status"] in ("positive", "uncertain")


def test_dicom_tags_read_back_with_pydicom(demo_root: Path) -> None:
    r = _records(demo_root)[0]
    ds = pydicom.dcmread(demo_root / r["image"])
    assert str(ds.PatientName).startswith("Synthetic^Demo") and ds.PatientID == r["patient_id"]
    assert ds.InstitutionName == "SYNTHETIC DEMO DATA" and "not a real patient" in ds.ImageComments
    assert "not a real patient" in ds.StudyDescription and ds.ViewPosition == r["view"]
    assert ds.PatientAge == f"{r['age']:03d}Y" and ds.PatientSex == r["sex"]
    assert ds.BitsStored == 12 and ds.pixel_array.shape == (SIZE, SIZE)
    assert float(ds.PixelSpacing[0]) == pytest.approx(0.7 * 512 / SIZE)
    assert ds.PhotometricInterpretation == r["photometric"]


def test_monochrome1_displays_like_monochrome2(tmp_path: Path) -> None:
    plan = D.plan_cases(1, seed=5)[0]
    shown = []
    for photometric in ("MONOCHROME1", "MONOCHROME2"):
        root = tmp_path / photometric
        D.make_case(replace(plan, photometric=photometric), root, SIZE)
        image = load_image(root / plan.patient_id / plan.study_id / "image.dcm")
        assert image.invert == (photometric == "MONOCHROME1")
        shown.append(render_uint8(image, 0, mapping_for(image, default_preset(image), image.invert)))
    assert np.abs(shown[0].astype(int) - shown[1].astype(int)).max() <= 1


def test_reports_agree_with_the_labeler() -> None:
    """>= 95% of (case, label) decisions, over every label either side mentions."""
    total = agree = 0
    mismatches: list[str] = []
    for plan in D.plan_cases(100, seed=11):
        details = {f[0]: {"size_mm": 14, "rib": 6} for f in plan.findings}
        sections, truth = D.write_report(plan, details, np.random.default_rng(plan.seed))
        got = {f.label: f.status for f in label_text(D.report_text(sections)).findings}
        for label in set(truth) | set(got):
            total += 1
            ok = truth.get(label) == got.get(label)
            agree += ok
            if not ok:
                mismatches.append(f"{label}: {truth.get(label)} vs {got.get(label)}: {sections.body}")
    assert agree / total >= 0.95, "\n".join(mismatches[:10])


def test_uncertain_findings_are_uncertain_in_truth() -> None:
    plans = [p for p in D.plan_cases(200, seed=2) if any(f[4] == "uncertain" for f in p.findings)]
    assert plans
    for plan in plans[:20]:
        _, truth = D.write_report(plan, {}, np.random.default_rng(0))
        assert "uncertain" in truth.values()


def test_follow_ups_share_a_patient_and_splits_are_patient_disjoint() -> None:
    plans = D.plan_cases(300, seed=0)
    by_patient: dict[str, list[D.Plan]] = defaultdict(list)
    for p in plans:
        by_patient[p.patient_id].append(p)
    assert any(len(v) == 2 for v in by_patient.values())
    assert 0.2 < sum(not p.findings for p in plans) / len(plans) < 0.4
    splits: dict[str, set[str]] = defaultdict(set)
    for p in plans:
        splits[split_for_patient(p.patient_id)].add(p.patient_id)
    names = list(splits)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not splits[a] & splits[b]


def test_parallel_run_writes_the_same_index(tmp_path: Path) -> None:
    one = D.write_demo(tmp_path / "one", n_cases=4, size=64, seed=1, workers=1)
    two = D.write_demo(tmp_path / "two", n_cases=4, size=64, seed=1, workers=2)
    assert one.n_cases == two.n_cases == 4
    assert _records(tmp_path / "one") == _records(tmp_path / "two")


def test_downsample_mask_keeps_small_findings() -> None:
    mask = np.zeros((512, 512), bool)
    mask[100, 200] = True
    small = D.downsample_mask(mask)
    assert small.shape == (D.MASK_SIZE, D.MASK_SIZE) and small.sum() == 1
