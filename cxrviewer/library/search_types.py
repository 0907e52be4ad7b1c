"""What a library search is asked and answers: plain frozen data, so a result can cross threads
as it is (``Library.search``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cxrviewer.library.filters import Filters
from cxrviewer.library.manifest import LABEL_ROUTE
from cxrviewer.library.store import CaseRow


@dataclass(frozen=True)
class SearchRequest:
    """What to search for: text, a library case, a film's pixels, or pixels and text combined
    (``image_weight`` of the image, the rest of the text; embedding routes only)."""

    text: str = ""
    case_id: str = ""
    k: int = 10
    filters: Filters = field(default_factory=Filters)
    route: str = LABEL_ROUTE
    image: Any = field(default=None, compare=False, repr=False)  # 2-D/3-D array, ideally windowed uint8
    image_weight: float = 0.5
    label_model: str = ""  # label route from pixels: the finding model that reads the film
    image_synthetic: bool = False  # the query film carries the synthetic demo mark (see models.card)
    image_generated: bool = False  # the query film was made by cxrviewer synthesize (no model reads it)


@dataclass(frozen=True)
class Hit:
    """One result. ``agreement`` and ``overlap`` are the tie-breakers of the label route."""

    rank: int
    score: float
    case: CaseRow
    agreement: float = 0.0
    overlap: float = 0.0

    def to_json(self) -> dict[str, Any]:
        c = self.case
        return {
            "rank": self.rank, "case_id": c.case_id, "score": round(self.score, 6),
            "findings": c.findings, "impression": c.impression,
            "view": c.view, "sex": c.sex, "age": c.age, "split": c.split, "dataset": c.dataset,
            "patient_id": c.patient_id, "study_id": c.study_id, "image": c.image,
            "tie_break": {"detail_agreement": round(self.agreement, 6),
                          "text_overlap": round(self.overlap, 6)},
        }


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[Hit, ...]
    route: str
    query_findings: dict[str, str]
    seconds: float
    candidates: int = 0
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage (embedding route)

    def to_json(self) -> dict[str, Any]:
        return {"route": self.route, "query_findings": self.query_findings,
                "seconds": round(self.seconds, 6), "candidates": self.candidates,
                "message": self.message, "hits": [h.to_json() for h in self.hits]}
