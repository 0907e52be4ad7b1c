"""What a teaching file holds: collections of cases, each a film with its key-image presentation,
annotations drawn on it and the teacher's fields (MIRC's teaching-file contents).

Plain frozen dataclasses: the store returns them, the GUI shows them, exports and the archive's
manifest write them as JSON (``to_json``/``from_json``, one format everywhere). Annotation points
are in the film's own pixel coordinates, continuous, ``(x, y) = (column, row)`` with ``(0, 0)``
the top-left corner of the top-left pixel (DICOM's PIXEL units in a presentation state), so they
follow zoom, rotation and flips, which are applied only when a film is drawn.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the command line imports this module at start-up: numpy waits until used
    from cxrviewer.imaging.orientation import Orientation

ANNOTATION_KINDS = ("arrow", "ellipse", "freehand", "line", "text")
# kind -> (fewest points, most points); arrow/line: from, to; ellipse: two corners of its box
POINT_COUNTS: dict[str, tuple[int, int | None]] = {
    "arrow": (2, 2), "line": (2, 2), "ellipse": (2, 2), "freehand": (3, None), "text": (1, 1),
}
DIFFICULTIES = ("", "easy", "medium", "hard")
FILM_SOURCES = ("library", "file")
DEFAULT_COLOR = "#ffd400"

Point = tuple[float, float]


class TeachingError(Exception):
    """A teaching-file problem the user can fix (a name taken, a film gone); shown as it is."""


@dataclass(frozen=True)
class Presentation:
    """How the key image is shown: window (modality units; None = the film's default), the
    user's inversion toggle, zoom (1 = the whole film fits) about ``pan`` (the view's centre in
    film coordinates; None = the film's centre), rotation and flips, and the frame."""

    window_center: float | None = None
    window_width: float | None = None
    invert: bool = False
    zoom: float = 1.0
    pan_x: float | None = None
    pan_y: float | None = None
    rotation: int = 0
    flip_h: bool = False
    flip_v: bool = False
    frame: int = 0

    def __post_init__(self) -> None:
        if self.rotation not in (0, 90, 180, 270):
            raise TeachingError(f"rotation must be 0, 90, 180 or 270, not {self.rotation}")
        if not (math.isfinite(self.zoom) and self.zoom > 0):
            raise TeachingError(f"zoom must be a positive number, not {self.zoom}")
        if (self.window_center is None) != (self.window_width is None):
            raise TeachingError("a window needs both its centre and its width")
        if self.window_width is not None and not self.window_width > 0:
            raise TeachingError(f"window width must be positive, not {self.window_width}")
        if self.frame < 0:
            raise TeachingError(f"frame must be 0 or more, not {self.frame}")

    @property
    def orientation(self) -> Orientation:
        from cxrviewer.imaging.orientation import Orientation

        return Orientation(self.rotation, self.flip_h, self.flip_v)

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Presentation:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class Annotation:
    """One mark on a film: an arrow (tail, head), a line, an ellipse (two corners of its box), a
    freehand region (a closed outline) or a text label (its anchor); any mark may carry text."""

    kind: str
    points: tuple[Point, ...]
    text: str = ""
    color: str = DEFAULT_COLOR
    frame: int = 0
    annotation_id: str = ""

    def __post_init__(self) -> None:
        if self.kind not in POINT_COUNTS:
            raise TeachingError(f"unknown annotation kind {self.kind!r}; known: {', '.join(ANNOTATION_KINDS)}")
        points = tuple((float(x), float(y)) for x, y in self.points)
        object.__setattr__(self, "points", points)
        low, high = POINT_COUNTS[self.kind]
        if len(points) < low or (high is not None and len(points) > high):
            wanted = str(low) if low == high else f"at least {low}"
            raise TeachingError(f"a {self.kind} annotation needs {wanted} points, not {len(points)}")
        if not all(math.isfinite(v) for p in points for v in p):
            raise TeachingError("annotation points must be finite numbers")
        if self.kind == "text" and not self.text.strip():
            raise TeachingError("a text annotation needs its text")
        if not _is_hex_color(self.color):
            raise TeachingError(f"colour must be #rrggbb, not {self.color!r}")

    def to_json(self) -> dict[str, Any]:
        return {"annotation_id": self.annotation_id, "kind": self.kind,
                "points": [list(p) for p in self.points], "text": self.text,
                "color": self.color, "frame": self.frame}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Annotation:
        values = _known(cls, data)
        values["points"] = tuple(tuple(p) for p in values.get("points", ()))
        return cls(**values)


@dataclass(frozen=True)
class TeachingFields:
    """What the teacher writes about a case."""

    title: str = ""
    history: str = ""
    findings: str = ""
    diagnosis: str = ""
    teaching_points: str = ""
    difficulty: str = ""
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.difficulty not in DIFFICULTIES:
            raise TeachingError(f"difficulty must be one of {', '.join(d for d in DIFFICULTIES if d)}, "
                                f"not {self.difficulty!r}")
        tags = tuple(dict.fromkeys(t.strip() for t in self.tags if t.strip()))
        object.__setattr__(self, "tags", tags)

    def texts(self) -> tuple[str, ...]:
        """Every free-text field, for search and redaction."""
        return (self.title, self.history, self.findings, self.diagnosis, self.teaching_points, *self.tags)

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["tags"] = list(self.tags)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TeachingFields:
        values = _known(cls, data)
        values["tags"] = tuple(values.get("tags", ()))
        return cls(**values)


@dataclass(frozen=True)
class KnownFinding:
    """One finding of the case's film as its source states it (the library's labels, or the
    labeler's reading of the report): what a quiz answer is scored against."""

    label: str
    status: str  # positive | negative | uncertain
    severity: str | None = None
    laterality: str | None = None
    certainty: str | None = None  # uncertain ones: probable | possible

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KnownFinding:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class Film:
    """Where a case's film is. ``library``: referenced in a case library (``library`` is its
    folder, ``image`` the film's path when added); ``file``: copied into the teaching folder
    (``image`` relative to its ``films/``), so it outlives the study folder it came from."""

    source: str
    image: str
    library: str = ""
    library_case_id: str = ""
    original_name: str = ""
    anonymised: bool = False
    burned_in_annotation: bool = False
    synthetic: bool = False

    def __post_init__(self) -> None:
        if self.source not in FILM_SOURCES:
            raise TeachingError(f"film source must be library or file, not {self.source!r}")

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Film:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class Case:
    """One case of a collection. ``report`` and ``known_findings`` are copied from the source
    when the case is added, so sessions, quizzes and exports never need the source again."""

    case_id: str
    collection_id: int
    position: int
    film: Film
    presentation: Presentation = field(default_factory=Presentation)
    teaching: TeachingFields = field(default_factory=TeachingFields)
    annotations: tuple[Annotation, ...] = ()
    report: str = ""
    known_findings: tuple[KnownFinding, ...] = ()
    created: float = 0.0
    updated: float = 0.0

    def with_teaching(self, **changes: Any) -> Case:
        return replace(self, teaching=replace(self.teaching, **changes))

    def to_json(self, include_source: bool = True) -> dict[str, Any]:
        """The case as JSON; ``include_source=False`` leaves out where the film came from
        (library paths and case ids can carry a patient's ID: never in an export)."""
        out: dict[str, Any] = {
            "case_id": self.case_id, "position": self.position,
            "presentation": self.presentation.to_json(), "teaching": self.teaching.to_json(),
            "annotations": [a.to_json() for a in self.annotations], "report": self.report,
            "known_findings": [k.to_json() for k in self.known_findings],
        }
        if include_source:
            out["film"] = self.film.to_json()
            out["collection_id"] = self.collection_id
        return out


@dataclass(frozen=True)
class Collection:
    """A named, ordered set of cases (the cases are read with ``TeachingStore.cases``)."""

    collection_id: int
    name: str
    description: str = ""
    created: float = 0.0
    updated: float = 0.0
    case_count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def new_id(prefix: str) -> str:
    """A random id that names nothing about the patient (``case-3f9a0c...``)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` restricted to ``cls``'s fields (a newer file's extra keys are ignored)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _is_hex_color(text: str) -> bool:
    if len(text) != 7 or not text.startswith("#"):
        return False
    try:
        int(text[1:], 16)
    except ValueError:
        return False
    return True
