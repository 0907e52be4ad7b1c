"""Planning the demo dataset: who the patients are and what each study shows.

All randomness about *what* to draw (sex, age, view, findings with severity, side and place)
is spent here, in the parent process and in case order, so the cases do not depend on how the
rendering is split among processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxrviewer.demo.phantom import LOBES, SEVERITIES

FOLLOW_UP_FRACTION = 0.15
NORMAL_FRACTION = 0.3
UNCERTAIN_FRACTION = 0.2
MONOCHROME1_FRACTION = 0.3
AP_FRACTION = 0.2

# finding kind -> prevalence weight among abnormal cases
KIND_WEIGHTS: dict[str, float] = {
    "effusion": 0.2, "cardiomegaly": 0.15, "consolidation": 0.15, "atelectasis": 0.12,
    "devices": 0.12, "nodule": 0.08, "edema": 0.08, "pneumothorax": 0.07, "mass": 0.05,
    "fracture": 0.05,
}
ONE_SIDED = ("effusion", "pneumothorax", "atelectasis", "fracture")
SIDE_WORD = {-1: "right", 1: "left", 0: "bilateral"}

PlannedFinding = tuple[str, int, str, str, str]  # (kind, side, severity, where, status)


@dataclass(frozen=True)
class Plan:
    """Everything needed to make one case, drawn in the parent so results do not depend on
    how the work is split among processes."""

    index: int
    patient_id: str
    study_id: str
    seed: int
    anatomy_seed: int
    sex: str
    age: int
    view: str
    photometric: str
    study_date: str
    findings: tuple[PlannedFinding, ...]


def plan_cases(n_cases: int, seed: int = 0) -> list[Plan]:
    """Patients with one study, some with a follow-up, until there are ``n_cases`` studies."""
    rng = np.random.default_rng(seed)
    plans: list[Plan] = []
    patient = 0
    while len(plans) < n_cases:
        patient += 1
        pid = f"DEMO{patient:04d}"
        sex = "F" if rng.random() < 0.5 else "M"
        age = int(np.clip(rng.normal(58, 17), 18, 95))
        anatomy_seed = int(rng.integers(2**31))
        n_studies = 2 if rng.random() < FOLLOW_UP_FRACTION and len(plans) + 1 < n_cases else 1
        for s in range(n_studies):
            plans.append(Plan(
                index=len(plans), patient_id=pid, study_id=f"{pid}_S{s + 1}",
                seed=int(rng.integers(2**31)), anatomy_seed=anatomy_seed, sex=sex, age=age + s,
                view="AP" if rng.random() < AP_FRACTION else "PA",
                photometric="MONOCHROME1" if rng.random() < MONOCHROME1_FRACTION else "MONOCHROME2",
                study_date=f"{2023 + s}{int(rng.integers(1, 13)):02d}{int(rng.integers(1, 29)):02d}",
                findings=_sample_findings(rng)))
    return plans


def _sample_findings(rng: np.random.Generator) -> tuple[PlannedFinding, ...]:
    if rng.random() < NORMAL_FRACTION:
        return ()
    kinds = list(KIND_WEIGHTS)
    weights = np.array([KIND_WEIGHTS[k] for k in kinds])
    n = int(rng.choice([1, 2, 3], p=[0.55, 0.33, 0.12]))
    chosen = rng.choice(kinds, size=n, replace=False, p=weights / weights.sum())
    out = []
    for kind in chosen:
        status = "uncertain" if kind != "devices" and rng.random() < UNCERTAIN_FRACTION else "positive"
        severity = "mild" if status == "uncertain" else str(rng.choice(SEVERITIES, p=[0.45, 0.35, 0.2]))
        side, where = _place(rng, str(kind))
        out.append((str(kind), side, severity, where, status))
    return tuple(out)


def _place(rng: np.random.Generator, kind: str) -> tuple[int, str]:
    if kind in ("consolidation", "nodule", "mass"):
        lobe = str(rng.choice(list(LOBES)))
        return int(LOBES[lobe][0]), lobe
    if kind == "devices":
        sets = ["ett", "cvc", "pacemaker", "ett+cvc", "cvc+pacemaker"]
        return 0, str(rng.choice(sets, p=[0.3, 0.3, 0.2, 0.12, 0.08]))
    if kind == "effusion":
        return int(rng.choice([-1, 1, 0], p=[0.4, 0.3, 0.3])), ""
    if kind in ONE_SIDED:
        return int(rng.choice([-1, 1])), ""
    return 0, ""
