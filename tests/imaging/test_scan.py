"""Folder scanning (streaming, DICOMDIR, issues), the study tree and ``cxrviewer info``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cxrviewer.imaging import scan
from cxrviewer.imaging.records import FileIssue, ImageHeader
from cxrviewer.imaging.scan import iter_folder
from cxrviewer.imaging.study_tree import StudyTree, summarize

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:pydicom")


@pytest.fixture
def study_folder(tmp_path: Path, make_dicom, ramp16) -> Path:
    """Two studies of one patient, a DICOMDIR (pydicom FileSet) over the first, a broken file,
    a PNG study, reports, and the usual litter."""
    from PIL import Image
    from pydicom import dcmread
    from pydicom.fileset import FileSet
    from pydicom.uid import generate_uid

    root = tmp_path / "case"
    study_a, study_b = generate_uid(), generate_uid()
    series_a = generate_uid()
    a_files = [
        make_dicom(ramp16, name=f"staging/a{i}.dcm", study_uid=study_a, series_uid=series_a, instance=n)
        for i, n in enumerate((3, 1, 2))
    ]
    fs = FileSet()
    for path in a_files:
        fs.add(dcmread(path))
    fs.write(root / "cd")  # DICOMDIR + files under cd/PT000000/...
    make_dicom(ramp16, name="case/b/b1.dcm", study_uid=study_b, modality="CR")
    (root / "b" / "report.txt").write_text("FINDINGS: clear lungs.\n")
    (root / "b" / "broken.dcm").write_bytes(b"<html><body>404</body></html>")
    (root / "b" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "b" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (root / "png" / "patient7" / "study1").mkdir(parents=True)
    Image.fromarray((ramp16 // 16).astype(np.uint8)).save(root / "png" / "patient7" / "study1" / "view1.png")
    (root / "png" / "patient7" / "study1" / "view1.txt").write_text("Normal chest.")
    shutil.rmtree(tmp_path / "staging")
    return root


def test_scan_groups_and_reports(study_folder: Path) -> None:
    items = list(iter_folder(study_folder))
    headers = [i for i in items if isinstance(i, ImageHeader)]
    issues = [i for i in items if isinstance(i, FileIssue)]
    assert len(headers) == 5  # 3 from the DICOMDIR, b1, the PNG; nothing twice
    assert len({h.path for h in headers}) == 5
    assert [(Path(i.path).name, i.reason) for i in issues] == [
        ("broken.dcm", "not a DICOM file (looks like an HTML page)")
    ]
    tree = StudyTree()
    tree.add_many(items)
    patients = tree.list_patients()
    assert len(patients) == 2  # Doe^Jane, and the PNG folder's patient
    dicom_patient = next(p for p in patients if p.patient_id == "P1")
    studies = tree.studies(dicom_patient.key)
    assert len(studies) == 2
    series = [s for st in studies for s in tree.series(st.key)]
    three = next(s for s in series if len(s.images) == 3)
    assert [h.instance_number for h in three.images] == [1, 2, 3]
    png_patient = next(p for p in patients if p.patient_id == "")
    assert png_patient.name == "patient7"
    assert tree.first_image() is not None
    summary = summarize(tree)
    assert (summary["patients"], summary["studies"], summary["series"], summary["images"]) == (2, 3, 3, 5)
    assert summary["skipped"][0]["reason"].startswith("not a DICOM file")


def test_dicomdir_files_come_first_and_once(study_folder: Path) -> None:
    items = list(iter_folder(study_folder / "cd"))
    assert len(items) == 3 and all(isinstance(i, ImageHeader) for i in items)


def test_single_file_and_missing_path(study_folder: Path) -> None:
    items = list(iter_folder(study_folder / "b" / "b1.dcm"))
    assert len(items) == 1 and isinstance(items[0], ImageHeader)
    with pytest.raises(FileNotFoundError):
        list(iter_folder(study_folder / "nope"))


def test_scan_streams_and_cancels(tmp_path: Path, make_dicom, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(30):
        make_dicom(name=f"many/{i:03d}.dcm")
    calls: list[str] = []
    real = scan.scan_file
    monkeypatch.setattr(scan, "scan_file", lambda p: calls.append(p) or real(p))
    stream = iter_folder(tmp_path / "many")
    first = next(stream)
    assert isinstance(first, ImageHeader) and len(calls) == 1  # nothing read ahead
    stop = {"now": False}
    items = list(iter_folder(tmp_path / "many", should_cancel=lambda: stop["now"] or len(calls) >= 10))
    assert len(items) < 30


def test_real_folder_summary(dicom_dir: Path) -> None:
    tree = StudyTree()
    tree.add_many(iter_folder(dicom_dir))
    summary = summarize(tree)
    skipped = {Path(s["path"]).name for s in summary["skipped"]}
    assert skipped == {"badVR.dcm", "empty.dcm", "html_named_dcm.dcm", "meta_missing_tsyntax.dcm"}
    assert summary["images"] == 21


def test_info_command(dicom_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cxrviewer.cli import run

    assert run(["info", str(dicom_dir / "chest")]) == 0
    out = capsys.readouterr().out
    assert "images: 3" in out and "MONOCHROME" not in out and "CR (1)" in out
    assert run(["info", str(dicom_dir / "malformed"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("patients", "studies", "series", "images", "modalities", "dimensions",
                "total_size_bytes", "transfer_syntaxes", "skipped", "warnings", "study_list"):
        assert key in data
    assert {Path(s["path"]).name: s["reason"] for s in data["skipped"]}["empty.dcm"] == "empty file (0 bytes)"
    assert run(["info", str(dicom_dir / "does-not-exist")]) == 1
    assert "no such file or folder" in capsys.readouterr().err


def test_info_on_nothing_readable(tmp_path: Path) -> None:
    from cxrviewer.cli import run

    (tmp_path / "x.dcm").write_bytes(b"")
    assert run(["info", str(tmp_path)]) == 1


@pytest.mark.parametrize("cut", [1, 2, 3, 4, 6])
def test_a_walk_can_be_carried_on_where_another_stopped(study_folder: Path, cut: int) -> None:
    """skip=n after n files looked at gives exactly the rest: nothing twice, nothing lost, even
    when the cut falls inside the DICOMDIR's list."""
    whole = [i.path for i in iter_folder(study_folder)]
    looked: list[int] = [0]
    head = []
    for item in iter_folder(study_folder, looked_at=looked):
        head.append(item.path)
        if looked[0] >= cut:
            break
    tail = [i.path for i in iter_folder(study_folder, skip=looked[0])]
    assert head + tail == whole


def test_scan_job_hands_a_big_folder_to_a_process(study_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cxrviewer.imaging import scan_process
    from cxrviewer.services.executor import Executor
    from cxrviewer.services.study import ScanBatch, scan_folder

    started = []
    real = scan_process.iter_batches_in_process
    monkeypatch.setattr(scan_process, "iter_batches_in_process",
                        lambda *a, **k: started.append(a[1]) or real(*a, **k))
    whole = [i.path for i in iter_folder(study_folder)]
    for handover, process_used in ((2, True), (1000, False)):
        started.clear()
        events = []
        executor = Executor("scan-test", listener=events.append)
        try:
            job = executor.submit(scan_folder, str(study_folder), handover, channel="scan")
            assert job.result(60) == len(whole)
        finally:
            executor.shutdown()
        paths = [i.path for e in events if e.kind == "partial" and isinstance(e.payload, ScanBatch)
                 for i in e.payload.items]
        assert paths == whole
        assert bool(started) == process_used and (not started or started[0] >= 2)


def test_scan_job_carries_on_in_its_thread_without_a_process(study_folder: Path, monkeypatch) -> None:
    from cxrviewer.imaging import scan_process
    from cxrviewer.services.executor import Executor
    from cxrviewer.services.study import ScanBatch, scan_folder

    real = scan_process.iter_batches_in_process

    def dies_after_one_batch(root, skip, **kwargs):
        for items, looked in real(root, skip, **{**kwargs, "batch_max": 1}):
            yield items, looked
            raise scan_process.ScanProcessError("the scan process stopped (exit code -9)")

    def no_process(*args, **kwargs):
        raise scan_process.ScanProcessError("no processes here")
        yield  # pragma: no cover - a generator, like the real one

    for broken in (no_process, dies_after_one_batch):
        monkeypatch.setattr(scan_process, "iter_batches_in_process", broken)
        events = []
        executor = Executor("scan-test", listener=events.append)
        try:
            assert executor.submit(scan_folder, str(study_folder), 2, channel="scan").result(60) == 6
        finally:
            executor.shutdown()
        paths = [i.path for e in events if e.kind == "partial" and isinstance(e.payload, ScanBatch)
                 for i in e.payload.items]
        assert paths == [i.path for i in iter_folder(study_folder)], broken.__name__
