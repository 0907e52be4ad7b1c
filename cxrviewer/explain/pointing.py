"""The pointing game over a demo library: does the map of each drawn finding peak on it?

Demo cases keep one mask per drawn finding in ``masks.npz`` beside the image. Each finding is
explained by the model's label head when it has that label, else by the text query naming it
(with the side the report gives), on the same ``model_input`` the library was built from.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.explain.checks import pointing_hit
from cxrviewer.explain.types import LabelTarget, Target, TextTarget

# demo finding kind -> (label names to try in the label head, words of the text query)
FINDINGS: dict[str, tuple[tuple[str, ...], str]] = {
    "effusion": (("Pleural Effusion", "Effusion"), "pleural effusion"),
    "cardiomegaly": (("Cardiomegaly",), "cardiomegaly"),
    "consolidation": (("Consolidation",), "consolidation"),
    "atelectasis": (("Atelectasis",), "atelectasis"),
    "devices": (("Support Devices",), "support devices"),
    "nodule": (("Nodule", "Lung Lesion"), "nodule"),
    "mass": (("Mass", "Lung Lesion"), "mass"),
    "edema": (("Edema",), "pulmonary edema"),
    "pneumothorax": (("Pneumothorax",), "pneumothorax"),
    "fracture": (("Fracture",), "rib fracture"),
}
# diffuse or whole-organ findings: a peak anywhere on them says little about localisation
DIFFUSE = ("edema", "cardiomegaly", "devices")
DEFAULT_TOLERANCE = 8  # px on the 128 px mask grid: Zhang et al.'s 15 px at 224 px


@dataclass
class FindingScore:
    """Pointing-game tally of one finding kind."""

    target: str
    n: int = 0
    hits: int = 0
    centre_hits: int = 0
    mask_fraction: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        n = max(self.n, 1)
        return {"target": self.target, "n": self.n, "hits": self.hits,
                "hit_rate": self.hits / n if self.n else None,
                "centre_baseline": self.centre_hits / n if self.n else None,
                "mean_mask_fraction": float(np.mean(self.mask_fraction)) if self.mask_fraction else None,
                "localised": None}


def target_for(kind: str, label_names: tuple[str, ...], side: str | None) -> Target:
    """The label head's label for ``kind`` when the model has one, else a text query."""
    labels, words = FINDINGS.get(kind, ((kind,), kind))
    lowered = {n.lower(): n for n in label_names}
    for label in labels:
        if label.lower() in lowered:
            return LabelTarget(lowered[label.lower()])
    side = (side or "").lower()
    prefix = f"{side} " if side in ("left", "right", "bilateral") and kind not in DIFFUSE else ""
    return TextTarget(prefix + words)


def _centre_map(shape: tuple[int, int]) -> np.ndarray:
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    return np.exp(-(((rows - shape[0] / 2) / shape[0]) ** 2 + ((cols - shape[1] / 2) / shape[1]) ** 2))


def _side(case: Any, kind: str) -> str | None:
    labels = FINDINGS.get(kind, ((kind,), ""))[0]
    for label in labels:
        detail = case.details.get(label)
        if detail is not None and detail.laterality:
            return str(detail.laterality)
    return None


def evaluate_pointing(library: Any, model: Any, method: str = "auto", tolerance: int = DEFAULT_TOLERANCE,
                      limit: int | None = None,
                      progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Pointing-game hit rate per finding kind over the library's cases that have masks.

    Parameters
    ----------
    library
        An open :class:`~cxrviewer.library.library.Library` of demo cases.
    model
        A loaded encoder (or an ``Explainable``).
    """
    from cxrviewer.explain.api import explain
    from cxrviewer.explain.model import explainable
    from cxrviewer.library.prepare import load, model_input

    fit = getattr(getattr(model, "spec", None), "film_fit", "squash")
    wrapped = explainable(model)
    rows = library.store.filtered_rows("1", [])
    cases = [c for c in library.store.cases(rows) if (Path(c.image).parent / "masks.npz").is_file()]
    cases = cases[:limit] if limit else cases
    scores: dict[str, FindingScore] = {}
    started, n_maps, resolved = time.perf_counter(), 0, method
    for done, case in enumerate(cases, 1):
        with np.load(Path(case.image).parent / "masks.npz") as archive:
            masks = {k: archive[k].astype(bool) for k in archive.files}
        pixels = model_input(load(case.image), wrapped.input_size, case.frame, fit)
        for kind, mask in sorted(masks.items()):
            if not mask.any():
                continue
            target = target_for(kind, wrapped.label_names if wrapped.label_logits else (), _side(case, kind))
            saliency = explain(wrapped, pixels, target, method)
            resolved, n_maps = saliency.method, n_maps + 1
            score = scores.setdefault(kind, FindingScore(type(target).__name__.replace("Target", "").lower()))
            score.n += 1
            score.hits += pointing_hit(saliency, mask, tolerance, fit)
            score.centre_hits += pointing_hit(_centre_map(mask.shape), mask, tolerance)
            score.mask_fraction.append(float(mask.mean()))
        if progress is not None:
            progress(done, len(cases))
    seconds = time.perf_counter() - started
    findings = {k: {**s.to_json(), "localised": k not in DIFFUSE} for k, s in sorted(scores.items())}
    local = [s for k, s in scores.items() if k not in DIFFUSE]
    n_local = sum(s.n for s in local)
    return {"library": str(library.folder), "model": wrapped.name, "method": resolved, "tolerance_px": tolerance,
            "n_cases": len(cases), "n_maps": n_maps,
            "ms_per_map": 1000 * seconds / max(n_maps, 1), "findings": findings,
            "localised_hit_rate": sum(s.hits for s in local) / n_local if n_local else None}
