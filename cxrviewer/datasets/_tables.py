"""Shared helpers of the dataset adapters: index CSVs, label cells, ages, file listings.

Datasets are read exactly as distributed, so every adapter meets the same chores: a CSV that
may be gzipped, rows that may be broken (reported with their 1-based line number, never fatal),
CheXpert-style label cells, ages written as ``58`` or ``"060Y"``, and hundreds of thousands of
image paths whose existence must be checked without a ``stat`` per file.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cxrviewer.datasets.case import Case, DatasetError, DatasetProblem, ProblemLog
from cxrviewer.reports.sections import ReportSections

# Report columns (CheXpert Plus) hold whole reports: far above csv's 128 KiB default.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".dcm")

# CheXpert / MIMIC label cells. Blank means "not mentioned": the label is left out of findings.
_STATUS: dict[str, str | None] = {
    "1": "positive", "1.0": "positive",
    "0": "negative", "0.0": "negative", "-0.0": "negative",
    "-1": "uncertain", "-1.0": "uncertain",
    "": None,
}


class RowError(ValueError):
    """A cell that cannot be parsed; the caller reports it with the row's line number."""


# --------------------------------------------------------------------------- adapters


@dataclass(frozen=True)
class Adapter:
    """An adapter made of two functions, so each module stays a plain set of functions."""

    name: str
    detect: Callable[[Path], bool]
    iter_cases: Callable[[Path, ProblemLog], Iterator[Case]]


def expected(name: str) -> str:
    """What a dataset's root must contain (the registry's wording), for DatasetError messages."""
    from cxrviewer.datasets.registry import DATASETS

    spec = DATASETS.get(name)
    return spec.expected if spec else name


def wrong_root(name: str, root: Path, detail: str = "") -> DatasetError:
    """The error for a root that is not this dataset: where we looked and what belongs there."""
    lead = f"{root}: {detail}; " if detail else f"{root}: "
    return DatasetError(f"{lead}expected {expected(name)}")


# --------------------------------------------------------------------------- CSV files


def find_table(folder: Path, name: str) -> Path | None:
    """``name`` or ``name.gz`` in ``folder`` (PhysioNet ships MIMIC's CSVs gzipped)."""
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def open_text(path: Path) -> IO[str]:
    """A CSV or text file, gzipped or not, as text (UTF-8, BOM tolerated, bad bytes replaced)."""
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", errors="replace", newline="")
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


class Table:
    """A CSV read row by row with the csv module (fast on CheXpert's 224k rows).

    Rows come out as lists with their 1-based starting line; ``col`` maps column names to
    positions. Rows with the wrong number of cells are reported and skipped; trailing empty
    cells beyond the header (NIH's rows end with a comma) are tolerated.
    """

    def __init__(self, path: Path, required: tuple[str, ...], dataset: str) -> None:
        self.path = path
        self.dataset = dataset
        try:
            self._fh = open_text(path)
            self._reader = csv.reader(self._fh)
            header = next(self._reader, [])
        except (OSError, EOFError, csv.Error) as exc:
            raise DatasetError(f"{path}: cannot read ({exc}); expected {expected(dataset)}") from exc
        while header and not header[-1].strip():
            header.pop()
        self.header = [h.strip() for h in header]
        self.col = {name: i for i, name in enumerate(self.header)}
        missing = [name for name in required if name not in self.col]
        if missing:
            self._fh.close()
            raise DatasetError(
                f"{path}: missing column(s) {', '.join(missing)}; expected {expected(dataset)}"
            )

    def rows(self, problems: ProblemLog) -> Iterator[tuple[int, list[str]]]:
        """(line, cells) for every well-formed row; broken ones go to ``problems``."""
        width = len(self.header)
        last = self._reader.line_num
        try:
            while True:
                try:
                    cells = next(self._reader)
                except StopIteration:
                    return
                except (OSError, EOFError) as exc:  # a truncated or corrupt .gz
                    raise DatasetError(f"{self.path}: unreadable after line {last} ({exc})") from exc
                except csv.Error as exc:
                    problems(DatasetProblem(str(self.path), f"unreadable row ({exc})", self._reader.line_num))
                    last = self._reader.line_num
                    continue
                line, last = last + 1, self._reader.line_num
                if not cells:
                    continue
                while len(cells) > width and not cells[-1].strip():
                    cells.pop()
                if len(cells) != width:
                    problems(DatasetProblem(
                        str(self.path), f"expected {width} columns, found {len(cells)}", line))
                    continue
                yield line, cells
        finally:
            self._fh.close()

    def dicts(self, problems: ProblemLog) -> Iterator[tuple[int, dict[str, str]]]:
        """Rows as dicts, for small tables where convenience beats speed."""
        for line, cells in self.rows(problems):
            yield line, dict(zip(self.header, cells))


def bad_row(problems: ProblemLog, path: Path, line: int, reason: str) -> None:
    problems(DatasetProblem(str(path), reason, line))


# --------------------------------------------------------------------------- cell values


def parse_status(cell: str) -> str | None:
    """``1``/``0``/``-1``/blank (also ``1.0`` ...) -> positive/negative/uncertain/None.

    Raises
    ------
    RowError
        For anything else, so a corrupt label never passes as "not mentioned".
    """
    try:
        return _STATUS[cell]
    except KeyError:
        pass
    try:
        return _STATUS[cell.strip()]
    except KeyError:
        raise RowError(f"unparsable label value {cell!r}") from None


def status_reader(columns: Mapping[str, int], labels: Mapping[str, str]) -> Callable[[list[str]], dict[str, str]]:
    """A function from a row's cells to its findings; ``labels`` maps column name -> our label.

    Column positions are resolved once per table, because this runs for every one of
    CheXpert's 224k rows.
    """
    pairs = [(columns[column], label) for column, label in labels.items() if column in columns]

    def read(cells: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for index, label in pairs:
            cell = cells[index]
            if cell:
                status = parse_status(cell)
                if status is not None:
                    found[label] = status
        return found

    return read


def statuses(cells: list[str], columns: Mapping[str, int], labels: Mapping[str, str]) -> dict[str, str]:
    """Findings from label columns (one row; see ``status_reader`` for many)."""
    return status_reader(columns, labels)(cells)


_AGE_RE = re.compile(r"^\s*(\d{1,3}(?:\.\d+)?)\s*([YMWD]?)\s*$", re.IGNORECASE)
_AGE_UNIT = {"": 1.0, "Y": 1.0, "M": 1 / 12, "W": 7 / 365.25, "D": 1 / 365.25}


def parse_age(cell: object) -> float | None:
    """Years from ``58``, ``"060Y"``, ``"006M"`` (DICOM AS) or blank (None).

    Ages beyond 120 years exist in NIH's table (data-entry errors); they become None rather
    than a broken row, because the image and labels are still good.

    Raises
    ------
    RowError
        For text that is not an age at all.
    """
    text = str(cell if cell is not None else "").strip()
    if text.isdigit() and len(text) <= 3:
        years = float(text)
        return years if years <= 120 else None
    if not text:
        return None
    match = _AGE_RE.match(text)
    if not match:
        raise RowError(f"unparsable age {text!r}")
    years = float(match.group(1)) * _AGE_UNIT[match.group(2).upper()]
    return round(years, 2) if years <= 120 else None


def lenient_age(cell: object) -> float | None:
    """``parse_age`` for header values that are not worth a problem (DICOM PatientAge)."""
    try:
        return parse_age(cell)
    except RowError:
        return None


# --------------------------------------------------------------------------- files


class DirCache:
    """Which files exist, from one ``os.listdir`` per folder instead of a ``stat`` per file.

    Datasets keep all views of a study in one folder, so the listing is reused; folders are
    forgotten in insertion order beyond ``limit`` to bound memory on 65k-folder datasets.
    """

    def __init__(self, limit: int = 4096) -> None:
        self._names: dict[str, frozenset[str]] = {}
        self._limit = limit

    def listing(self, folder: str) -> frozenset[str]:
        names = self._names.get(folder)
        if names is None:
            try:
                names = frozenset(os.listdir(folder))
            except OSError:
                names = frozenset()
            if len(self._names) >= self._limit:
                self._names.pop(next(iter(self._names)))
            self._names[folder] = names
        return names

    def exists(self, path: str) -> bool:
        folder, name = os.path.split(path)
        return name in self.listing(folder)


def inside(folder: str | Path, relative: str) -> str:
    """``relative`` (a path from a dataset's table) joined to ``folder``, the dataset's.

    A table is data, and a path in it must not lead a reader outside the dataset: absolute
    paths and ``..`` parts are refused. The check is on the text, not on resolved links, so a
    dataset whose folders are symbolic links to another disk still reads.

    Raises
    ------
    RowError
        When the path is absolute or has a ``..`` part.
    """
    text = relative.strip().replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if (not parts or text.startswith("/") or re.match(r"^[A-Za-z]:", text) or ".." in parts
            or "\0" in text):
        raise RowError(f"path {relative!r} leads outside the dataset folder")
    return os.path.join(folder, *parts)


def plain_name(cell: str, column: str) -> str:
    """A cell that names one file or folder (no separators, not ``.`` or ``..``).

    Raises
    ------
    RowError
        Otherwise: joined to a folder it could lead outside the dataset.
    """
    name = cell.strip()
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise RowError(f"{column} {cell!r} is not a plain file name (it would lead outside the dataset folder)")
    return name


def missing_image(problems: ProblemLog, path: str | Path) -> None:
    problems(DatasetProblem(str(path), "image file not found"))


def read_report_file(path: str) -> str | None:
    """A report text file's contents, or None when it is absent or unreadable."""
    from cxrviewer.imaging.study import read_text_file

    try:
        text = read_text_file(path)
    except OSError:
        return None
    return text if text.strip() else None


# --------------------------------------------------------------------------- findings


def labeled_findings(report: ReportSections) -> dict[str, str]:
    """Findings the labeler reads from a report's findings and impression (empty when none).

    The sections are rejoined under their headings so the labeler skips indication and
    comparison text exactly as it does for a whole report.
    """
    from cxrviewer.reports.labeler import label_text

    parts = [f"{head.upper()}:\n{text}" for head, text in
             (("findings", report.findings), ("impression", report.impression)) if text.strip()]
    if not parts:
        return {}
    return {f.label: f.status for f in label_text("\n\n".join(parts)).findings}
