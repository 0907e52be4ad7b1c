"""The shared CSV/label/age helpers every adapter relies on."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from cxrviewer.datasets import _tables as T
from cxrviewer.datasets.case import DatasetError, DatasetProblem


def _rows(path: Path, required: tuple[str, ...] = ("a",)) -> tuple[list[tuple[int, list[str]]], list[DatasetProblem]]:
    problems: list[DatasetProblem] = []
    rows = list(T.Table(path, required, "nih").rows(problems.append))
    return rows, problems


def test_broken_rows_are_reported_with_their_line_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('a,b,c\n1,2,3\n"multi\nline",5,6\n7,8\n9,10,11\n12,13,14,15\n16,17,18,,\n', encoding="utf-8")
    rows, problems = _rows(path)
    assert [line for line, _ in rows] == [2, 3, 6, 8]
    assert rows[1][1][0] == "multi\nline"
    assert rows[3][1] == ["16", "17", "18"]  # trailing empty cells (NIH rows end with ",")
    assert [(p.line, p.reason) for p in problems] == [
        (5, "expected 3 columns, found 2"), (7, "expected 3 columns, found 4")]
    assert str(problems[0]) == f"{path}:5: expected 3 columns, found 2"


def test_gzipped_csv_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\ufeffa,b\nx,y\n")
    assert T.find_table(tmp_path, "t.csv") == path
    rows, problems = _rows(path)
    assert rows == [(2, ["x", "y"])] and not problems


def test_missing_column_names_the_file_and_what_was_expected(tmp_path: Path) -> None:
    path = tmp_path / "Data_Entry_2017.csv"
    path.write_text("x,y\n1,2\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"missing column\(s\) a.*expected Data_Entry_2017.csv"):
        T.Table(path, ("a",), "nih")


@pytest.mark.parametrize(("cell", "status"), [
    ("1.0", "positive"), ("1", "positive"), ("0.0", "negative"), ("0", "negative"),
    ("-1.0", "uncertain"), ("-1", "uncertain"), ("", None), ("  ", None)])
def test_status_mapping(cell: str, status: str | None) -> None:
    assert T.parse_status(cell) == status


@pytest.mark.parametrize("cell", ["2", "yes", "1.5", "nan"])
def test_unparsable_status_is_an_error_not_blank(cell: str) -> None:
    with pytest.raises(T.RowError):
        T.parse_status(cell)


@pytest.mark.parametrize(("cell", "age"), [
    ("58", 58.0), ("060Y", 60.0), ("006M", 0.5), ("", None), ("414", None), (" 81 ", 81.0)])
def test_ages(cell: str, age: float | None) -> None:
    assert T.parse_age(cell) == age


def test_bad_age() -> None:
    with pytest.raises(T.RowError):
        T.parse_age("sixty")
    assert T.lenient_age("sixty") is None


def test_dir_cache_lists_each_folder_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.png").write_bytes(b"x")
    calls: list[str] = []
    real = T.os.listdir
    monkeypatch.setattr(T.os, "listdir", lambda p: calls.append(p) or real(p))
    cache = T.DirCache()
    assert cache.exists(str(tmp_path / "a.png"))
    assert not cache.exists(str(tmp_path / "b.png"))
    assert not cache.exists(str(tmp_path / "nope" / "c.png"))
    assert calls == [str(tmp_path), str(tmp_path / "nope")]


def test_truncated_gzip_is_a_dataset_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mimic-cxr-2.0.0-metadata.csv.gz"
    body = "dicom_id,subject_id,study_id\n" + "".join(f"d{i},1000{i},5000{i}\n" for i in range(20000))
    data = gzip.compress(body.encode())
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match=r"mimic-cxr-2\.0\.0-metadata\.csv\.gz: unreadable after line"):
        _rows(path, ("dicom_id",))
