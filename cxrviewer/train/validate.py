"""Measure a finding model on a library's labelled films and record the figures on its card.

The figures a teacher sees beside each probability come from here: per-finding AUROC (the order
of probabilities against the library's labels), calibration error, and how many positive and
negative films each rests on. Training calls it on its patient-disjoint validation split;
``cxrviewer eval findings`` runs it for any model on any library (an imported model is "not
validated here" until then).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.models.card import FindingFigure, Validation
from cxrviewer.train.calibrate import calibration_error
from cxrviewer.train.data import CaseSet, label_targets, load_cases
from cxrviewer.train.metrics import auroc

MIN_EACH_CLASS = 1  # an AUROC needs at least one positive and one negative film


def finding_figures(probabilities: np.ndarray, targets: np.ndarray, mask: np.ndarray,
                    labels: Sequence[str]) -> dict[str, FindingFigure]:
    """Per finding: AUROC (None without both classes), positives, negatives, calibration error."""
    figures = {}
    for j, label in enumerate(labels):
        keep = mask[:, j] > 0
        y, p = targets[keep, j], probabilities[keep, j]
        positives, negatives = int(y.sum()), int(len(y) - y.sum())
        value = auroc(y, p) if min(positives, negatives) >= MIN_EACH_CLASS else None
        ece = calibration_error(p[:, None], y[:, None], np.ones((len(y), 1))) if len(y) else None
        figures[label] = FindingFigure(value, positives, negatives, None if ece is None else round(float(ece), 4))
    return {k: FindingFigure(None if v.auroc is None else round(v.auroc, 4), v.positives, v.negatives,
                             v.calibration_error) for k, v in figures.items()}


def validation_record(cases: CaseSet, probabilities: np.ndarray, labels: Sequence[str], data: str,
                      real: bool, patient_disjoint: bool, uncertain: str = "ignore") -> Validation:
    """A card's ``validation`` from a model's probabilities on ``cases``."""
    targets, mask = label_targets(cases, labels, uncertain)
    return Validation("here", data, len(cases), patient_disjoint, real, dt.date.today().isoformat(),
                      "", finding_figures(probabilities, targets, mask, labels))


def library_facts(library: Path) -> tuple[str, bool, tuple[str, ...]]:
    """(name, real films?, datasets) of a library, from its manifest."""
    from cxrviewer.library.manifest import read_manifest

    manifest = read_manifest(library)
    datasets = tuple(dict.fromkeys(str(s.get("dataset", "")) for s in manifest.sources if s.get("dataset")))
    return manifest.name, not manifest.synthetic, datasets


def validate_model(model: Any, library: Path, splits: Sequence[str], workers: int = 2,
                   progress: Any = None) -> Validation:
    """Figures of a loaded finding model (an Encoder with a label head) on ``splits`` of a library.

    Films of the same patients as the model's training films would inflate the figures; the
    library's splits are patient-disjoint by construction, so a valid or test split of the library
    the model was trained on, or another library, is what to pass.
    """
    name, real, _ = library_facts(library)
    labels = tuple(getattr(model, "label_names", ()) or ())
    if not labels:
        raise ValueError(f"model {model.spec.name!r} has no finding head")
    cases = load_cases(library, list(splits), max(int(model.spec.input_size), 64), workers=workers,
                       progress=progress)
    if len(cases) == 0:
        raise ValueError(f"library {library} has no readable films in split(s) {', '.join(splits)}")
    probabilities = model.predict_labels(list(cases.images))
    return validation_record(cases, probabilities, labels, f"{name} ({', '.join(splits)})", real, True)
