"""The demo dataset adapter: reads a folder written by ``cxrviewer.demo.write_demo``.

The generator writes ``demo_cases.jsonl`` last and atomically, so a folder with the index is
complete; each line is one case with its report sections and the findings the report states.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from cxrviewer.datasets import _tables as T
from cxrviewer.datasets.case import Case, DatasetProblem, ProblemLog
from cxrviewer.demo import INDEX
from cxrviewer.reports.sections import ReportSections


class DemoAdapter:
    """Reads a folder written by ``write_demo``."""

    name = "demo"

    def detect(self, root: Path) -> bool:
        return (Path(root) / INDEX).is_file()

    def iter_cases(self, root: Path, problems: ProblemLog) -> Iterator[Case]:
        root = Path(root).resolve()
        index = root / INDEX
        with open(index, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                case = self._case(root, index, line_no, line, problems)
                if case is not None:
                    yield case

    @staticmethod
    def _case(root: Path, index: Path, line_no: int, line: str, problems: ProblemLog) -> Case | None:
        try:
            r = json.loads(line)
            image = Path(T.inside(root, str(r["image"])))  # a record must not lead outside the dataset
            sections = r.get("report_sections", {})
            case = Case(
                case_id=str(r["case_id"]), patient_id=str(r["patient_id"]),
                study_id=str(r["study_id"]), image=str(image), dataset="demo",
                view=str(r.get("view", "")), sex=str(r.get("sex", "")),
                age=float(r["age"]) if r.get("age") is not None else None,
                report=ReportSections(**{k: str(sections.get(k, "")) for k in ("indication", "findings", "impression")},
                                      order=("indication", "findings", "impression")),
                findings=dict(r.get("findings", {})), findings_source="generator",
                split=str(r.get("split", "train")))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            problems(DatasetProblem(str(index), f"unreadable case record: {exc}", line_no))
            return None
        if not image.is_file():
            problems(DatasetProblem(str(image), "image file missing", line_no))
            return None
        return case


ADAPTER = DemoAdapter()
