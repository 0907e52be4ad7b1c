"""Large findings-route libraries without films, for ``bench library`` and the tests that hold
the array ranking equal to the case-by-case one.

Cases are drawn with CheXpert-like prevalences (Pleural Effusion in about 45 % of studies,
uncertain mentions, No Finding when nothing is positive). ``texts`` adds report text and
severity / side details as a MIMIC-like library has them; without it the library is label-only,
as one built from the CheXpert table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cxrviewer.reports import labels as L

# (label, P(positive), P(uncertain), P(negative)) per study, CheXpert-like
PREVALENCE = (
    (L.PLEURAL_EFFUSION, 0.38, 0.05, 0.15), (L.LUNG_OPACITY, 0.47, 0.03, 0.03),
    (L.SUPPORT_DEVICES, 0.52, 0.01, 0.01), (L.EDEMA, 0.23, 0.06, 0.08), (L.ATELECTASIS, 0.15, 0.15, 0.01),
    (L.CARDIOMEGALY, 0.12, 0.04, 0.05), (L.PNEUMOTHORAX, 0.09, 0.01, 0.25), (L.CONSOLIDATION, 0.07, 0.12, 0.11),
    (L.ENLARGED_CARDIOMEDIASTINUM, 0.05, 0.06, 0.10), (L.PNEUMONIA, 0.03, 0.08, 0.01),
    (L.LUNG_LESION, 0.04, 0.01, 0.01), (L.FRACTURE, 0.04, 0.003, 0.01), (L.PLEURAL_OTHER, 0.015, 0.01, 0.001),
)
SEVERITIES = ("small", "moderate", "large", "mild", "severe")
SIDES = ("left", "right", "bilateral")
WORDS = ("stable", "unchanged", "interval", "increased", "decreased", "basilar", "opacity", "effusion", "heart",
         "size", "enlarged", "pulmonary", "edema", "vascular", "congestion", "consolidation", "pneumonia",
         "atelectasis", "tube", "line", "catheter", "tip", "projects", "lung", "volumes", "low", "patient",
         "rotated", "portable", "chest", "pleural", "left", "right", "small", "large", "moderate", "mild")


def write_label_library(folder: Path, n: int, seed: int = 0, texts: bool = False, batch: int = 20_000) -> Path:
    """A label-route library of ``n`` cases at ``folder`` (manifest + store, no films)."""
    from cxrviewer.datasets.case import Case
    from cxrviewer.library.manifest import Manifest, write_manifest
    from cxrviewer.library.store import STORE_NAME, PreparedCase, Store
    from cxrviewer.reports.sections import ReportSections

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / STORE_NAME, create=True)
    try:
        for start in range(0, n, batch):
            items = []
            for i in range(start, min(n, start + batch)):
                findings, details = _draw(rng, texts)
                text = " ".join(rng.choice(WORDS, int(rng.integers(4, 14)))) if texts else ""
                case = Case(case_id=f"gen:{i:07d}", patient_id=f"p{i // 3:07d}", study_id=f"s{i // 2:07d}",
                            image=f"gen/{i:07d}.jpg", dataset="generated", view=("PA", "AP", "LL")[i % 3],
                            sex="MF"[i % 2], age=float(20 + i % 70),
                            report=ReportSections(findings=text, impression=text[: len(text) // 2]),
                            findings=findings, findings_source="table", split="train")
                items.append(PreparedCase(case, details, b"", (0, 0)))
            store.add_batch(items, [])
    finally:
        store.close()
    write_manifest(folder, Manifest(name=folder.name, route="labels", dim=0, state="ready",
                                    counts={"cases": n}, synthetic=True))
    return folder


def _draw(rng: np.random.Generator, with_details: bool) -> tuple[dict[str, str], dict]:
    from cxrviewer.library.store import FindingDetail

    findings: dict[str, str] = {}
    details = {}
    for label, pos, unc, neg in PREVALENCE:
        u = rng.random()
        status = "positive" if u < pos else "uncertain" if u < pos + unc else "negative" if u < pos + unc + neg else ""
        if status:
            findings[label] = status
            if with_details and status != "negative" and rng.random() < 0.6:
                severity = SEVERITIES[int(rng.integers(len(SEVERITIES)))] if rng.random() < 0.7 else None
                side = SIDES[int(rng.integers(len(SIDES)))] if rng.random() < 0.6 else None
                if severity or side:
                    details[label] = FindingDetail(severity, side)
    if not any(s == "positive" for s in findings.values()):
        findings[L.NO_FINDING] = "positive"
    return findings, details
