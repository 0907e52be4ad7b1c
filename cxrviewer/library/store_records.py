"""The records the library's database stores and gives back, and how findings and embeddings are
encoded in it: plain data shared by the store, the builds and the search routes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cxrviewer.datasets.case import Case
from cxrviewer.reports.labels import ALL_LABELS
from cxrviewer.reports.sections import ReportSections

VECTOR_DTYPE = np.dtype("<f2")

# One character per label in ALL_LABELS order: the finding "pattern" of a case. Cases that
# share a pattern score the same on the label route, so the route scores patterns, not rows.
STATUS_CODES = {"positive": "p", "negative": "n", "uncertain": "u"}
CODE_STATUS = {v: k for k, v in STATUS_CODES.items()}
NOT_MENTIONED = "-"

def pattern_of(findings: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    statuses = dict(findings)
    return "".join(STATUS_CODES.get(statuses.get(label, ""), NOT_MENTIONED) for label in ALL_LABELS)


def findings_of_pattern(pattern: str) -> dict[str, str]:
    return {label: CODE_STATUS[c] for label, c in zip(ALL_LABELS, pattern) if c != NOT_MENTIONED}


def encode_vector(vector: np.ndarray) -> bytes:
    """An embedding as stored: little-endian float16."""
    return np.ascontiguousarray(vector, VECTOR_DTYPE).tobytes()


def decode_vector(blob: bytes, dim: int) -> np.ndarray:
    """A stored embedding as float32, from float16 (2 bytes a value) or an older float32 blob."""
    width = len(blob) // max(dim, 1)
    if width * dim != len(blob) or width not in (2, 4):
        raise ValueError(f"a stored embedding of {len(blob)} bytes is not {dim} float16 or float32 values")
    return np.frombuffer(blob, VECTOR_DTYPE if width == 2 else np.dtype("<f4")).astype(np.float32)


@dataclass(frozen=True)
class FindingDetail:
    """Severity and laterality of one finding, from the report, when it gives them."""

    severity: str | None = None
    laterality: str | None = None


@dataclass(frozen=True)
class PreparedCase:
    """A case ready to be stored: its record, finding details and thumbnail (JPEG)."""

    case: Case
    details: dict[str, FindingDetail]
    thumb_jpeg: bytes
    thumb_size: tuple[int, int]
    embedding: bytes | None = None
    model_input: Any = None  # the encoder's input, dropped once embedded


@dataclass(frozen=True)
class CaseRow:
    """A case as the library returns it (plain data, safe to send across threads)."""

    row: int
    case_id: str
    patient_id: str
    study_id: str
    image: str
    frame: int
    dataset: str
    view: str
    sex: str
    age: float | None
    split: str
    findings_source: str
    report: ReportSections
    findings: dict[str, str]
    details: dict[str, FindingDetail]

    @property
    def impression(self) -> str:
        return self.report.impression or self.report.findings
