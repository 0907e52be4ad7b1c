"""``cxrviewer info --decode PATH``: every frame of every file decoded in the isolated decoder,
and per file what fails and why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:pydicom")


@pytest.fixture
def received(tmp_path: Path, make_dicom, ramp16) -> Path:
    """A folder as it might arrive: two good films (one of three frames), one whose last frame is
    cut off, an HTML page named .dcm, and a report that is not an image."""
    folder = tmp_path / "received"
    make_dicom(ramp16, name="received/a_good.dcm")
    make_dicom(np.stack([ramp16] * 3), name="received/b_frames.dcm")
    cut = make_dicom(np.stack([ramp16] * 3), name="received/c_cut.dcm")
    cut.write_bytes(cut.read_bytes()[:-1000])
    (folder / "d_page.dcm").write_bytes(b"<!DOCTYPE html><html><body>Not found</body></html>")
    (folder / "notes.txt").write_text("teaching notes")
    return folder


def test_every_file_is_decoded_and_failures_say_why(received: Path) -> None:
    from cxrviewer.imaging.decode_check import check

    results = {Path(r.path).name: r for r in check(str(received))}
    assert set(results) == {"a_good.dcm", "b_frames.dcm", "c_cut.dcm", "d_page.dcm"}
    assert results["a_good.dcm"].ok and results["a_good.dcm"].frames == 1
    assert results["b_frames.dcm"].ok and (results["b_frames.dcm"].frames, results["b_frames.dcm"].rows) == (3, 64)
    assert not results["c_cut.dcm"].ok
    assert results["c_cut.dcm"].reason == "truncated pixel data: 17,432 of 18,432 bytes"
    assert results["c_cut.dcm"].stage == "decode"
    assert (results["d_page.dcm"].reason, results["d_page.dcm"].stage) == (
        "not a DICOM file (looks like an HTML page)", "header")


def test_info_decode_lists_failures_and_exits_1(received: Path, capsys) -> None:
    from cxrviewer.cli import run

    assert run(["info", "--decode", str(received)]) == 1
    out = capsys.readouterr().out
    assert "4 file(s) checked" in out and "2 decode (4 frame(s)), 2 cannot be shown" in out
    assert "c_cut.dcm: truncated pixel data: 17,432 of 18,432 bytes" in out
    assert "d_page.dcm: not a DICOM file (looks like an HTML page)" in out
    assert run(["info", "--decode", "--json", str(received)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["files"], data["decoded"], data["failed"]) == (4, 2, 2)
    failed = {Path(r["path"]).name: r["reason"] for r in data["results"] if not r["ok"]}
    assert failed == {"c_cut.dcm": "truncated pixel data: 17,432 of 18,432 bytes",
                      "d_page.dcm": "not a DICOM file (looks like an HTML page)"}


def test_info_decode_on_a_sound_folder_exits_0(tmp_path: Path, make_dicom, capsys) -> None:
    from cxrviewer.cli import run

    make_dicom(name="a.dcm")
    make_dicom(name="b.dcm")
    assert run(["info", "--decode", str(tmp_path)]) == 0
    assert "2 decode (2 frame(s)), 0 cannot be shown" in capsys.readouterr().out


def test_compressed_real_films_decode_in_the_isolated_decoder(dicom_dir: Path, tmp_path: Path) -> None:
    from cxrviewer.imaging.decode_check import check

    for name in ("RG3_J2KR.dcm", "emri_small_RLE.dcm", "JLSL_16_15_1_1F.dcm"):
        shutil.copy(dicom_dir / "codecs" / name, tmp_path / name)
    results = {Path(r.path).name: r for r in check(str(tmp_path))}
    assert all(r.ok for r in results.values()), results
    assert results["emri_small_RLE.dcm"].frames == 10
