"""What every export of a collection shares: its cases with their key images drawn, and every
text passed through the redactor of its film's patient, so no export carries a name or an ID.

Library case ids and file paths never reach an export (a library's case id often holds the
patient's ID); cases are numbered, and their ids are the collection's own random ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from cxrviewer.teaching.deidentify import Redactor
from cxrviewer.teaching.films import film_path, redactor_for
from cxrviewer.teaching.model import Case, Collection, TeachingError
from cxrviewer.teaching.render import film_pixels, png_bytes, render
from cxrviewer.teaching.store import TeachingStore

ANONYMISED_NOTE = ("Anonymised export: patient names, IDs, birth dates, accession numbers, "
                   "institutions and study dates were removed by cxrviewer.")
BURNED_IN_WARNING = ("Warning: this film's header says it has burned-in annotation: text in the "
                     "pixels may identify the patient. Check the image before sharing.")
SYNTHETIC_NOTE = "Synthetic demo film, not a real patient."
EXPORT_FORMATS = ("html", "pptx", "zip")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExportCase:
    """One case ready to write: ``case`` with redacted texts, its key image plain (as the
    student first sees it) and with its annotations burned in."""

    number: int
    case: Case
    path: Path  # the film on disk (read by the archive; never written into an export)
    plain_png: bytes
    annotated_png: bytes
    redactor: Redactor

    @property
    def heading(self) -> str:
        return f"Case {self.number}" + (f": {self.case.teaching.title}" if self.case.teaching.title else "")

    @property
    def warnings(self) -> tuple[str, ...]:
        return (BURNED_IN_WARNING,) if self.case.film.burned_in_annotation else ()


@dataclass(frozen=True)
class ExportPlan:
    collection: Collection  # name and description redacted
    cases: tuple[ExportCase, ...]
    created: str

    @property
    def synthetic(self) -> bool:
        return bool(self.cases) and all(c.case.film.synthetic for c in self.cases)


def prepare(store: TeachingStore, name_or_id: str | int, max_side: int = 1024,
            progress: Progress | None = None) -> ExportPlan:
    """Read, draw and redact every case of a collection (an empty one is refused)."""
    collection = store.collection(name_or_id)
    cases = store.cases(collection.collection_id)
    if not cases:
        raise TeachingError(f"collection {collection.name!r} has no cases to export")
    prepared = []
    everyone = Redactor()
    for number, case in enumerate(cases, 1):
        path = film_path(store, case)
        redactor = redactor_for(case, path)
        everyone = everyone.merged(redactor)
        pixels = film_pixels(path, case.presentation)
        redacted = redact_case(case, redactor)
        prepared.append(ExportCase(number, redacted, path,
                                   png_bytes(render(pixels, case.presentation, (), max_side)),
                                   png_bytes(render(pixels, case.presentation, redacted.annotations, max_side)),
                                   redactor))
        if progress is not None:
            progress(number, len(cases))
    collection = replace(collection, name=everyone(collection.name), description=everyone(collection.description))
    return ExportPlan(collection, tuple(prepared), time.strftime("%Y-%m-%d"))


def redact_case(case: Case, redactor: Redactor) -> Case:
    """The case with every free text passed through ``redactor`` and its film's source dropped."""
    t = case.teaching
    teaching = replace(t, title=redactor(t.title), history=redactor(t.history), findings=redactor(t.findings),
                       diagnosis=redactor(t.diagnosis), teaching_points=redactor(t.teaching_points),
                       tags=tuple(redactor(tag) for tag in t.tags))
    annotations = tuple(replace(a, text=redactor(a.text)) for a in case.annotations)
    film = replace(case.film, image="", library="", library_case_id="", original_name="")
    return replace(case, teaching=teaching, annotations=annotations, report=redactor(case.report), film=film)
