"""The records every dataset adapter produces: one ``Case`` per image, and the problems met.

A case is one radiograph with what the library needs to search and show it. Adapters read a
dataset exactly as distributed and yield cases; they never convert or copy images.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from cxrviewer.reports.sections import ReportSections
from cxrviewer.splits import split_for_patient as split_for_patient  # the adapters' import

Status = Literal["positive", "negative", "uncertain"]
View = Literal["PA", "AP", "LATERAL", ""]
FindingsSource = Literal["dataset", "labeler", "generator", ""]

VIEWS: tuple[str, ...] = ("PA", "AP", "LATERAL")
SPLITS: tuple[str, ...] = ("train", "valid", "test")


@dataclass(frozen=True)
class Case:
    """One image of a dataset, with its study's report and findings.

    ``image`` is an absolute path (a DICOM, PNG or JPEG file); ``frame`` picks a frame of a
    multi-frame DICOM. ``findings`` maps our label names (``reports.labels.ALL_LABELS``) to
    a status; a label that is absent was not mentioned. ``findings_source`` says whether the
    dataset coded them, the labeler read them from the report, or the demo generator drew them.
    """

    case_id: str
    patient_id: str
    study_id: str
    image: str
    dataset: str
    view: str = ""
    sex: str = ""  # "M", "F" or "" when unknown
    age: float | None = None
    report: ReportSections = field(default_factory=ReportSections)
    findings: Mapping[str, str] = field(default_factory=dict)
    findings_source: str = ""
    split: str = "train"
    frame: int = 0

    def positives(self, include_uncertain: bool = False) -> list[str]:
        wanted = ("positive", "uncertain") if include_uncertain else ("positive",)
        return [label for label, status in self.findings.items() if status in wanted]


@dataclass(frozen=True)
class DatasetProblem:
    """A part of a dataset that could not be used: a missing image, a broken CSV row.

    ``line`` is the 1-based line number in ``path`` when the problem is a row of a text file.
    """

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


class DatasetError(Exception):
    """The dataset cannot be read at all (wrong root, missing index CSV); the message says what
    was expected where."""


class ProblemLog(Protocol):
    def __call__(self, problem: DatasetProblem, /) -> None: ...


class DatasetAdapter(Protocol):
    """What every adapter module provides (see ``datasets.registry``)."""

    name: str

    def detect(self, root: Path) -> bool:
        """True when ``root`` looks like this dataset as distributed."""

    def iter_cases(self, root: Path, problems: ProblemLog) -> Iterator[Case]:
        """Every usable case under ``root``; unusable rows and files go to ``problems``."""


def normalise_view(value: object) -> str:
    """'PA', 'AP', 'LATERAL' or '' from the spellings datasets use (Frontal/Lateral, LL, ...)."""
    text = str(value or "").strip().upper().replace(" ", "")
    if text in ("PA", "POSTEROANTERIOR"):
        return "PA"
    if text in ("AP", "ANTEROPOSTERIOR", "APSUPINE", "APERECT", "APAXIAL"):
        return "AP"
    if text in ("LATERAL", "LL", "RL", "LAT", "LATERALLEFT", "LATERALRIGHT", "LAO", "RAO"):
        return "LATERAL"
    return ""


def normalise_sex(value: object) -> str:
    text = str(value or "").strip().upper()
    if text in ("M", "MALE"):
        return "M"
    if text in ("F", "FEMALE"):
        return "F"
    return ""
