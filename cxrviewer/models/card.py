"""A model's card: what it was trained and validated on, and so which films it may read.

A finding probability shown to students is only worth what the model's validation says, so every
model carries a card (``card.json`` in its folder, or ``cards/<name>.json`` under the models
folder for a folder the user owns): its *domain* (the films it was made for), its training data,
and per-finding validation figures with where they came from (``here``: measured by cxrviewer on
a patient-disjoint split or a library; ``published``: as its publisher states them, shown as
such). The app shows a model's numbers only on films of its domain (:meth:`ModelCard.refusal`),
greys findings validated below :data:`LOW_AUROC`, and names the model and its data wherever its
numbers appear. Standard library only: the GUI and the CLI read cards without torch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cxrviewer.fileio import atomic_write_text
from cxrviewer.models.errors import ModelError

CARD_FILE = "card.json"
CARDS_DIR = "cards"
LOW_AUROC = 0.7

SYNTHETIC_DEMO = "synthetic-demo"  # cxrviewer's procedural phantom films
CHEST_RADIOGRAPH = "chest-radiograph"  # real chest films (CR, DX, and their PNG/JPEG exports)
DOMAINS = {
    SYNTHETIC_DEMO: "synthetic demo films",
    CHEST_RADIOGRAPH: "real chest radiographs",
}
# Films of no model's domain: made by cxrviewer synthesize from a text (imaging.generated). A
# generator trained on real films draws films that look real, but no model was validated on them.
GENERATED_FILM = "generated-film"
FILM_KINDS = {**DOMAINS, GENERATED_FILM: "generated films"}


@dataclass(frozen=True)
class FindingFigure:
    """One finding's validation: AUROC (None when a class was absent) and how many films."""

    auroc: float | None
    positives: int = 0
    negatives: int = 0
    calibration_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"auroc": self.auroc, "positives": self.positives, "negatives": self.negatives,
                "calibration_error": self.calibration_error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FindingFigure:
        return cls(_number(data.get("auroc")), int(data.get("positives") or 0), int(data.get("negatives") or 0),
                   _number(data.get("calibration_error")))


@dataclass(frozen=True)
class Validation:
    """Where a set of figures came from: ``here`` (measured by cxrviewer) or ``published``."""

    source: str
    data: str
    films: int = 0
    patient_disjoint: bool = False
    real: bool = True
    date: str = ""
    reference: str = ""
    findings: dict[str, FindingFigure] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "data": self.data, "films": self.films,
                "patient_disjoint": self.patient_disjoint, "real": self.real, "date": self.date,
                "reference": self.reference,
                "findings": {k: v.to_dict() for k, v in sorted(self.findings.items())}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Validation:
        findings = data.get("findings") or {}
        if not isinstance(findings, dict):
            raise ValueError("findings must be an object")
        return cls(str(data.get("source", "here")), str(data.get("data", "")), int(data.get("films") or 0),
                   bool(data.get("patient_disjoint", False)), bool(data.get("real", True)),
                   str(data.get("date", "")), str(data.get("reference", "")),
                   {str(k): FindingFigure.from_dict(v) for k, v in findings.items()})

    def describe(self) -> str:
        """"validated here on 297 synthetic demo films (patient-disjoint)", or the publisher's."""
        if self.source == "published":
            return f"published figures: {self.data}" + (f" ({self.reference})" if self.reference else "")
        kind = "real" if self.real else "synthetic"
        disjoint = ", patient-disjoint" if self.patient_disjoint else ""
        films = f"{self.films:,} {kind} films" if self.films else f"{kind} films"
        return f"validated here on {films} of {self.data}{disjoint}"


@dataclass(frozen=True)
class ModelCard:
    """What a model is for. ``validation`` is cxrviewer's own measurement, ``published`` the
    publisher's statement; either may be absent."""

    domain: str
    training_data: tuple[str, ...] = ()
    trained_on_real: bool = True
    publisher: str = ""
    licence: str = ""
    validation: Validation | None = None
    published: Validation | None = None

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise ValueError(f"domain must be one of {', '.join(DOMAINS)}, not {self.domain!r}")

    # --- where the model may speak ----------------------------------------------------------
    def refusal(self, film_domain: str, model: str = "this model") -> str:
        """Why this model's numbers must not be shown for a film of ``film_domain`` ("" if they may).

        A model reads films of its own domain. The synthetic demo films are there to try the app,
        marked synthetic wherever they show, so any model may be tried on them; but a model made
        only from them reads nothing else.
        """
        if film_domain in (self.domain, SYNTHETIC_DEMO):
            return ""
        if self.domain == SYNTHETIC_DEMO and film_domain == CHEST_RADIOGRAPH:
            return f"{model} was trained and validated only on synthetic demo films, and this is a real film"
        return (f"{model} was made for {DOMAINS[self.domain]}, and this is one of the "
                f"{FILM_KINDS.get(film_domain, film_domain)}")

    @property
    def validated_here(self) -> bool:
        return self.validation is not None and bool(self.validation.findings)

    def figures(self) -> Validation | None:
        """The figures to show: cxrviewer's own when measured, else the publisher's."""
        return self.validation if self.validated_here else self.published

    def auroc(self, finding: str) -> float | None:
        figures = self.figures()
        found = figures.findings.get(finding) if figures else None
        return found.auroc if found else None

    def is_weak(self, finding: str) -> bool:
        """Greyed in the panel: validated below LOW_AUROC, or never validated for this finding."""
        value = self.auroc(finding)
        return value is None or value < LOW_AUROC

    def status(self) -> str:
        """A few words for tight places: "validated here on 600 synthetic films", "publisher's
        figures, not validated here", "not validated here"."""
        figures = self.figures()
        if figures is None:
            return "not validated here"
        if figures.source == "published":
            return "publisher's figures, not validated here"
        kind = "real" if figures.real else "synthetic"
        return f"validated here on {figures.films:,} {kind} films"

    def describe(self) -> str:
        """One line for the status bar and About: data, and how it was validated."""
        data = ", ".join(self.training_data) or "undisclosed data"
        figures = self.figures()
        if figures is None:
            how = "not validated here"
        elif figures.source == "published":
            how = f"not validated here; {figures.describe()}"
        else:
            how = figures.describe()
        return f"trained on {data}; {how}"

    # --- storage ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "domain": self.domain, "training_data": list(self.training_data),
                "trained_on_real": self.trained_on_real, "publisher": self.publisher,
                "licence": self.licence,
                "validation": self.validation.to_dict() if self.validation else None,
                "published": self.published.to_dict() if self.published else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        validation, published = data.get("validation"), data.get("published")
        return cls(str(data["domain"]), tuple(str(d) for d in data.get("training_data") or ()),
                   bool(data.get("trained_on_real", True)), str(data.get("publisher", "")),
                   str(data.get("licence", "")),
                   Validation.from_dict(validation) if validation else None,
                   Validation.from_dict(published) if published else None)

    def with_validation(self, validation: Validation) -> ModelCard:
        return replace(self, validation=validation)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def read_card(path: Path) -> ModelCard | None:
    """The card at ``path`` (a card.json), None when there is none; a damaged one is an error
    naming the file (never silently replaced by a default that might let a model speak)."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ModelCard.from_dict(data)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"model card {path} cannot be read ({exc}); fix or remove it") from exc


def write_card(path: Path, card: ModelCard) -> None:
    atomic_write_text(path, json.dumps(card.to_dict(), indent=2) + "\n")


def card_path(folder: Path, name: str, models_dir: Path) -> Path:
    """Where a model's card lives: in its folder when that folder is ours (shipped, trained,
    copied or converted into the models folder), else beside the registry (a folder the user
    imported in place, which cxrviewer does not write into)."""
    own = folder / CARD_FILE
    if own.is_file() or _inside(folder, models_dir) or _is_ours(folder):
        return own
    return models_dir / CARDS_DIR / f"{name}.json"


def _inside(folder: Path, parent: Path) -> bool:
    try:
        return folder.resolve().is_relative_to(parent.resolve())
    except OSError:
        return False


def _is_ours(folder: Path) -> bool:
    """A cxrviewer-format folder (trained here) carries its card inside."""
    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == "cxrviewer-encoder"


def unknown_public_card(licence: str = "") -> ModelCard:
    """The card of an imported model whose publisher's statement cxrviewer does not know: made
    for real chest films, nothing validated (its numbers are shown as not validated here)."""
    return ModelCard(CHEST_RADIOGRAPH, (), True, "as stated by its publisher (not recorded at import)", licence)
