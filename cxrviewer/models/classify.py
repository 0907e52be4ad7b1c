"""Which finding model may read a film, and its reading with the figures that qualify it.

One rule for the findings panel, saliency, "similar films" and ``cxrviewer classify``: a model
reads a film only when the film is of the model's domain (its card). For a real film with no
such model installed the answer is a refusal in plain words, with what the user can do about it.
Choosing a model reads cards and configs only; running one needs torch (the worker, the CLI).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cxrviewer.models.card import CHEST_RADIOGRAPH, GENERATED_FILM, SYNTHETIC_DEMO, ModelCard
from cxrviewer.models.errors import ModelError
from cxrviewer.models.registry import EncoderSpec, all_specs, model_card, weights_present

NO_REAL_MODEL = ("No model validated on real films is installed, so no finding probabilities are "
                 "shown for this film. Import a chest X-ray model (for example torchxrayvision's "
                 "DenseNet-121) or train one on a library of labelled real films.")
GENERATED_REFUSAL = ("This is a generated film (made by cxrviewer synthesize), not a patient's: no model "
                     "was validated on generated films, so no finding probabilities are shown for it.")
ACTIONS = ("cxrviewer models import PATH --trust", "cxrviewer train labels --library LIBRARY")


def film_domain(synthetic_demo: bool, generated: bool = False) -> str:
    """The domain of a film: the synthetic demo's phantoms (generated ones drawn from them too), a
    film generated from a text (no model's domain), or (everything else) a real film."""
    if synthetic_demo:
        return SYNTHETIC_DEMO
    return GENERATED_FILM if generated else CHEST_RADIOGRAPH


def domain_of(header: Any) -> str:
    """:func:`film_domain` of a film's :class:`~cxrviewer.imaging.records.ImageHeader`."""
    return film_domain(header.synthetic_demo, header.generated)


def finding_labels(spec: EncoderSpec) -> tuple[str, ...]:
    """The findings a model's label head reads, from its config (no weights loaded); () if none."""
    try:
        config = json.loads((spec.local_path() / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    labels = config.get("labels") if isinstance(config, dict) else None
    return tuple(str(label) for label in labels) if isinstance(labels, list) else ()


@dataclass(frozen=True)
class Choice:
    """The model chosen for a film (``spec`` and ``card``), or why none may read it."""

    spec: EncoderSpec | None
    card: ModelCard | None
    refusal: str = ""


def _rank(card: ModelCard, domain: str) -> tuple[int, int]:
    """A model of the film's own domain first; then validated here, published figures, none."""
    figures = 0 if card.validated_here else 1 if card.published is not None else 2
    return (0 if card.domain == domain else 1, figures)


def choose_finding_model(domain: str, preferred: EncoderSpec | None = None) -> Choice:
    """The finding model to read a film of ``domain``: ``preferred`` (a library's own model, or
    the one asked for) when it may, else the best installed one that may; else a refusal."""
    why = ""
    if preferred is not None and finding_labels(preferred):
        card = model_card(preferred)
        why = card.refusal(domain, preferred.name)
        if not why:
            return Choice(preferred, card)
    candidates = []
    for spec in all_specs().values():
        try:
            if not weights_present(spec) or not finding_labels(spec):
                continue
            card = model_card(spec)
        except ModelError:
            continue  # a damaged card: that model does not speak
        if not card.refusal(domain, spec.name):
            candidates.append((_rank(card, domain), spec.name, spec, card))
    if candidates:
        _, _, spec, card = min(candidates, key=lambda c: c[:2])
        return Choice(spec, card)
    if domain == CHEST_RADIOGRAPH:
        return Choice(None, None, (why + ". " if why else "") + NO_REAL_MODEL)
    if domain == GENERATED_FILM:
        return Choice(None, None, GENERATED_REFUSAL)
    return Choice(None, None, "no finding model is installed")


@dataclass(frozen=True)
class FindingReading:
    """A model's probabilities for one film, with each finding's validation AUROC (None when the
    card has no figure for it) and whether it is greyed (validated below 0.7, or never)."""

    model: str
    labels: tuple[str, ...]
    probabilities: tuple[float, ...]
    auroc: tuple[float | None, ...]
    weak: tuple[bool, ...]
    validation: str  # ModelCard.describe(): training data and how it was validated
    licence: str
    figures_source: str  # "here", "published" or "" (no figures)
    status: str = ""  # ModelCard.status(): a few words for the panel

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "validation": self.validation, "licence": self.licence,
                "figures": self.figures_source or "none",
                "findings": [{"finding": label, "probability": round(p, 4),
                              "validation_auroc": None if a is None else round(a, 4), "low_validation": w}
                             for label, p, a, w in zip(self.labels, self.probabilities, self.auroc, self.weak)]}


def reading(card: ModelCard, model: str, licence: str, labels: tuple[str, ...],
            probabilities: Any) -> FindingReading:
    figures = card.figures()
    return FindingReading(model, labels, tuple(float(p) for p in probabilities),
                          tuple(card.auroc(label) for label in labels),
                          tuple(card.is_weak(label) for label in labels), card.describe(),
                          card.licence or licence, figures.source if figures else "", card.status())
