"""The synthetic demo dataset: phantom radiographs as real DICOM files, reports, masks, truth.

Lets the app be tried, tested and benchmarked with no real data (and no patient data at all):
``write_demo`` draws cases (sex, age, view, findings with severity and side), renders each with
``phantom``, writes ``<root>/<patient>/<study>/image.dcm`` + ``report.txt`` + ``masks.npz``,
and finally ``demo_cases.jsonl`` (written last and atomically: its presence means the folder
is complete). ``ADAPTER`` reads that index back as ``Case`` records. Every file says it is
synthetic, in DICOM tags, reports and the README.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from cxrviewer.datasets import _tables as T
from cxrviewer.datasets import phantom as P
from cxrviewer.datasets.case import Case, DatasetProblem, ProblemLog, split_for_patient
from cxrviewer.fileio import atomic_write_text
from cxrviewer.imaging.synthetic import DEMO_INSTITUTION, DEMO_MARK
from cxrviewer.reports import labels as L
from cxrviewer.reports.sections import ReportSections

INDEX = "demo_cases.jsonl"
NOT_REAL = DEMO_MARK
README = (
    "Synthetic demo data - not real patients.\n\n"
    "Every image here was drawn by cxrviewer's procedural phantom and every report was written\n"
    "from templates. They exist to try the viewer and the case search without real data.\n"
    "Layout: <patient>/<study>/image.dcm, report.txt, masks.npz (one bool array per finding);\n"
    f"{INDEX} lists every case with its findings, severity, side and bounding boxes.\n"
)
MASK_SIZE = 128
FOLLOW_UP_FRACTION = 0.15
NORMAL_FRACTION = 0.3
UNCERTAIN_FRACTION = 0.2
MONOCHROME1_FRACTION = 0.3
AP_FRACTION = 0.2

# finding kind -> (prevalence weight among abnormal cases, labels a positive mention gives)
KIND_WEIGHTS: dict[str, float] = {
    "effusion": 0.2, "cardiomegaly": 0.15, "consolidation": 0.15, "atelectasis": 0.12,
    "devices": 0.12, "nodule": 0.08, "edema": 0.08, "pneumothorax": 0.07, "mass": 0.05,
    "fracture": 0.05,
}
ONE_SIDED = ("effusion", "pneumothorax", "atelectasis", "fracture")
SEVERITY_WORDS = {
    "effusion": ("small", "moderate", "large"),
    "pneumothorax": ("small", "moderate", "large"),
    "cardiomegaly": ("mild", "moderate", "marked"),
    "edema": ("mild", "moderate", "severe"),
    "atelectasis": ("minimal", "mild", "moderate"),
    "consolidation": ("patchy", "moderate", "extensive"),
}
SIDE_WORD = {-1: "right", 1: "left", 0: "bilateral"}


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
    findings: tuple[tuple[str, int, str, str, str], ...]  # (kind, side, severity, where, status)


@dataclass(frozen=True)
class DemoSummary:
    """What ``write_demo`` wrote: counts per label (positive or uncertain) and the time taken."""

    root: Path
    n_cases: int
    n_patients: int
    seconds: float
    label_counts: dict[str, int] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)


# --- planning -----------------------------------------------------------------------------


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


def _sample_findings(rng: np.random.Generator) -> tuple[tuple[str, int, str, str, str], ...]:
    if rng.random() < NORMAL_FRACTION:
        return ()
    kinds = list(KIND_WEIGHTS)
    weights = np.array([KIND_WEIGHTS[k] for k in kinds])
    n = int(rng.choice([1, 2, 3], p=[0.55, 0.33, 0.12]))
    chosen = rng.choice(kinds, size=n, replace=False, p=weights / weights.sum())
    out = []
    for kind in chosen:
        status = "uncertain" if kind != "devices" and rng.random() < UNCERTAIN_FRACTION else "positive"
        severity = "mild" if status == "uncertain" else str(rng.choice(P.SEVERITIES, p=[0.45, 0.35, 0.2]))
        side, where = _place(rng, str(kind))
        out.append((str(kind), side, severity, where, status))
    return tuple(out)


def _place(rng: np.random.Generator, kind: str) -> tuple[int, str]:
    if kind in ("consolidation", "nodule", "mass"):
        lobe = str(rng.choice(list(P.LOBES)))
        return int(P.LOBES[lobe][0]), lobe
    if kind == "devices":
        sets = ["ett", "cvc", "pacemaker", "ett+cvc", "cvc+pacemaker"]
        return 0, str(rng.choice(sets, p=[0.3, 0.3, 0.2, 0.12, 0.08]))
    if kind == "effusion":
        return int(rng.choice([-1, 1, 0], p=[0.4, 0.3, 0.3])), ""
    if kind in ONE_SIDED:
        return int(rng.choice([-1, 1])), ""
    return 0, ""


# --- reports ------------------------------------------------------------------------------

Truth = dict[str, str]
_RANK = {"negative": 0, "uncertain": 1, "positive": 2}


def _merge(truth: Truth, labels: dict[str, str]) -> None:
    """Combine as the labeler does: positive beats uncertain beats negative."""
    for label, status in labels.items():
        if label not in truth or _RANK[status] > _RANK[truth[label]]:
            truth[label] = status


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentences(kind: str, side: int, sev: str, where: str, status: str, details: dict[str, object],
               rng: np.random.Generator) -> tuple[list[tuple[str, dict[str, str]]], tuple[str, dict[str, str]]]:
    """(findings sentences, impression sentence), each with the labels it states."""
    word = SEVERITY_WORDS.get(kind, ("mild", "moderate", "severe"))[P.SEVERITIES.index(sev)]
    sd = SIDE_WORD[side]
    pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
    unc = status == "uncertain"
    if kind == "effusion":
        lab = {L.PLEURAL_EFFUSION: status}
        noun = "pleural effusions" if side == 0 else "pleural effusion"
        if unc:
            f = pick([f"Blunting of the {sd} costophrenic angle, possibly a small {noun}.",
                      f"Possible small {sd} {noun}.",
                      f"A small {sd} {noun} cannot be excluded."])
            return [(f, lab)], (f"Possible small {sd} {noun}.", lab)
        f = pick([f"{_cap(word)} {sd} {noun}.",
                  f"There is a {word} {sd} {noun} with a meniscus along the lateral chest wall.",
                  f"{_cap(word)} {sd} {noun} layering at the base."])
        return [(f, lab)], (f"{_cap(word)} {sd} {noun}.", lab)
    if kind == "cardiomegaly":
        lab = {L.CARDIOMEGALY: status}
        if unc:
            f = pick(["Heart size is borderline enlarged.", "Possible mild cardiomegaly."])
            return [(f, lab)], ("Borderline cardiomegaly.", lab)
        adverb = {"mild": "mildly", "moderate": "moderately", "severe": "markedly"}[sev]
        f = pick([f"The heart is {adverb} enlarged.", f"{_cap(word)} cardiomegaly.",
                  f"The cardiac silhouette is {adverb} enlarged."])
        return [(f, lab)], (pick([f"{_cap(word)} cardiomegaly.", "Cardiomegaly."]), lab)
    if kind == "consolidation":
        if unc:
            lab = {L.CONSOLIDATION: "uncertain"}
            f = pick([f"Possible early consolidation in the {where}.",
                      f"Consolidation in the {where} cannot be excluded."])
            return [(f, lab)], (f"Possible {where} consolidation.", lab)
        both = {L.CONSOLIDATION: "positive", L.LUNG_OPACITY: "positive"}
        f, lab = pick([(f"{_cap(word)} consolidation in the {where}.", {L.CONSOLIDATION: "positive"}),
                       (f"Airspace opacity in the {where}, consistent with consolidation.", both),
                       (f"There is focal consolidation in the {where}.", {L.CONSOLIDATION: "positive"})])
        imp = pick([(f"{_cap(where)} consolidation.", {L.CONSOLIDATION: "positive"}),
                    (f"{_cap(where)} consolidation, concerning for pneumonia.",
                     {L.CONSOLIDATION: "positive", L.PNEUMONIA: "uncertain"})])
        return [(f, lab)], imp
    if kind in ("nodule", "mass"):
        mm = int(details.get("size_mm", 10))  # type: ignore[call-overload]
        label = L.NODULE if kind == "nodule" else L.MASS
        lab = {label: status, L.LUNG_LESION: status}
        size = f"{mm} mm" if kind == "nodule" else f"{mm / 10:.1f} cm"
        if unc:
            f = f"Possible {size} {kind} in the {where}."
            return [(f, lab)], (f"Possible {kind} in the {where}. Recommend CT for further characterization.", lab)
        f = pick([f"There is a {size} {kind} in the {where}.",
                  f"A {size} rounded {kind} projects over the {where}."])
        return [(f, lab)], (f"{_cap(size)} {where} {kind}. Recommend chest CT.", lab)
    if kind == "pneumothorax":
        lab = {L.PNEUMOTHORAX: status}
        if unc:
            f = pick([f"Possible small {sd} apical pneumothorax.",
                      f"A tiny {sd} apical pneumothorax cannot be excluded."])
            return [(f, lab)], (f"Possible small {sd} pneumothorax.", lab)
        f = pick([f"{_cap(word)} {sd} pneumothorax with a visible pleural line.",
                  f"There is a {word} {sd} apical and lateral pneumothorax."])
        return [(f, lab)], (f"{_cap(word)} {sd} pneumothorax.", lab)
    if kind == "atelectasis":
        lab = {L.ATELECTASIS: status}
        if unc:
            f = f"Possible {sd} basilar atelectasis."
            return [(f, lab)], (f"Possible {sd} basilar atelectasis.", lab)
        f = pick([f"Plate-like atelectasis at the {sd} lung base.",
                  f"{_cap(word)} {sd} basilar subsegmental atelectasis."])
        return [(f, lab)], (f"{_cap(sd)} basilar atelectasis.", lab)
    if kind == "edema":
        lab = {L.EDEMA: status}
        if unc:
            f = pick(["Possible mild interstitial edema.",
                      "Mild interstitial pulmonary edema cannot be excluded."])
            return [(f, lab)], ("Possible mild pulmonary edema.", lab)
        f = pick([f"{_cap(word)} pulmonary edema with perihilar predominance and Kerley B lines.",
                  f"Findings consistent with {word} interstitial pulmonary edema."])
        return [(f, lab)], (f"{_cap(word)} pulmonary edema.", lab)
    if kind == "devices":
        lab = {L.SUPPORT_DEVICES: "positive"}
        parts = {"ett": "Endotracheal tube terminates approximately 4 cm above the carina.",
                 "cvc": "Right internal jugular central venous catheter with tip in the superior vena cava.",
                 "pacemaker": "Left chest wall pacemaker with a single lead in the right ventricle."}
        found = [(parts[k], lab) for k in where.split("+") if k in parts]
        return found, (pick(["Support devices as described.", "Lines and tubes in standard position."]), lab)
    if kind == "fracture":
        lab = {L.FRACTURE: status}
        rib = _ordinal(int(details.get("rib", 6)))  # type: ignore[call-overload]
        if unc:
            f = f"Possible nondisplaced fracture of the {sd} lateral {rib} rib."
            return [(f, lab)], (f"Possible {sd} {rib} rib fracture.", lab)
        f = pick([f"Mildly displaced fracture of the {sd} lateral {rib} rib.",
                  f"Acute fracture of the {sd} {rib} rib with cortical step-off."])
        return [(f, lab)], (f"Acute {sd} {rib} rib fracture.", lab)
    raise ValueError(kind)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


_NEGATIVES: dict[str, list[tuple[str, dict[str, str]]]] = {
    "pneumothorax": [("No pneumothorax.", {L.PNEUMOTHORAX: "negative"})],
    "effusion": [("No pleural effusion.", {L.PLEURAL_EFFUSION: "negative"})],
    "consolidation": [("No focal consolidation.", {L.CONSOLIDATION: "negative"})],
    "edema": [("No pulmonary edema.", {L.EDEMA: "negative"})],
    "cardiomegaly": [("Heart size is normal.", {L.CARDIOMEGALY: "negative"}),
                     ("The cardiac silhouette is within normal limits.", {L.CARDIOMEGALY: "negative"}),
                     ("Normal heart size.", {L.CARDIOMEGALY: "negative"})],
}
_PAIRS = [("No pneumothorax or pleural effusion.", ("pneumothorax", "effusion"),
           {L.PNEUMOTHORAX: "negative", L.PLEURAL_EFFUSION: "negative"}),
          ("No focal consolidation, pleural effusion or pneumothorax.",
           ("consolidation", "effusion", "pneumothorax"),
           {L.CONSOLIDATION: "negative", L.PLEURAL_EFFUSION: "negative", L.PNEUMOTHORAX: "negative"})]
_INDICATIONS = ["Cough and fever.", "Shortness of breath.", "Chest pain.", "Follow-up.",
                "Evaluate for pneumonia.", "Preoperative evaluation.", "Dyspnea, rule out effusion.",
                "Fall, left chest wall pain.", "Hypoxia."]


def write_report(plan: Plan, details: dict[str, dict[str, object]],
                 rng: np.random.Generator) -> tuple[ReportSections, Truth]:
    """Indication / findings / impression for a plan, and the label statuses the text states."""
    truth: Truth = {}
    found: list[str] = []
    impression: list[str] = []
    present = {f[0] for f in plan.findings}
    for kind, side, sev, where, status in plan.findings:
        sents, (imp, imp_labels) = _sentences(kind, side, sev, where, status, details.get(kind, {}), rng)
        for text, labels in sents:
            found.append(text)
            _merge(truth, labels)
        impression.append(imp)
        _merge(truth, imp_labels)
    negatives = _negative_sentences(present, rng)
    for text, labels in negatives:
        _merge(truth, labels)
    if not plan.findings:
        found = ["The lungs are clear."] + [t for t, _ in negatives] + ["No acute osseous abnormality."]
        impression = [str(rng.choice(["No acute cardiopulmonary abnormality.", "Normal chest radiograph.",
                                      "No acute cardiopulmonary process."]))]
    else:
        found = found + [t for t, _ in negatives]
    if not any(truth.get(lab) in ("positive", "uncertain") for lab in L.PATHOLOGY_LABELS):
        truth[L.NO_FINDING] = "positive"
    indication = str(rng.choice(_INDICATIONS))
    if plan.view == "AP":
        indication = "Portable AP. " + indication
    sections = ReportSections(indication=indication, findings=" ".join(found),
                              impression=" ".join(impression),
                              order=("indication", "findings", "impression"))
    return sections, truth


def _negative_sentences(present: set[str], rng: np.random.Generator) -> list[tuple[str, dict[str, str]]]:
    out: list[tuple[str, dict[str, str]]] = []
    covered: set[str] = set()
    pair = _PAIRS[int(rng.integers(len(_PAIRS)))]
    if not present & set(pair[1]):
        out.append((pair[0], pair[2]))
        covered |= set(pair[1])
    for kind in ("cardiomegaly", "pneumothorax", "effusion", "consolidation", "edema"):
        if kind in present or kind in covered:
            continue
        if kind == "cardiomegaly" or rng.random() < 0.5:
            options = _NEGATIVES[kind]
            out.append(options[int(rng.integers(len(options)))])
    return out


def report_text(sections: ReportSections) -> str:
    """report.txt: a titled, headed free-text report, clearly labelled as synthetic."""
    return (f"EXAMINATION: CHEST RADIOGRAPH ({NOT_REAL.lower()})\n\n"
            f"INDICATION: {sections.indication}\n\nFINDINGS: {sections.findings}\n\n"
            f"IMPRESSION: {sections.impression}\n")


# --- one case -----------------------------------------------------------------------------


def render_plan(plan: Plan, size: int) -> P.Phantom:
    """The phantom image of a plan (anatomy shared by a patient's studies)."""
    arng = np.random.default_rng(plan.anatomy_seed)
    enlarged = next((f for f in plan.findings if f[0] == "cardiomegaly"), None)
    ctr = None
    if enlarged is not None:
        ctr = P.ctr_for(enlarged[2], arng) if enlarged[4] == "positive" else float(arng.uniform(0.51, 0.53))
    anatomy = P.sample_anatomy(arng, female=plan.sex == "F", ctr=ctr)
    anatomy = replace(anatomy, seed=plan.seed)
    findings = tuple(P.Finding(k, side, sev, where) for k, side, sev, where, _ in plan.findings)
    return P.render(anatomy, findings, size)


def downsample_mask(mask: np.ndarray, out: int = MASK_SIZE) -> np.ndarray:
    """Block 'any' to ``out`` px: a finding never vanishes from the small mask."""
    n = mask.shape[0]
    if n <= out:
        return mask.astype(bool)
    f = n // out
    return mask[: f * out, : f * out].reshape(out, f, out, f).any(axis=(1, 3))


def make_case(plan: Plan, root: Path, size: int) -> dict[str, object]:
    """Render, write the study folder, and return the index record of one case."""
    from cxrviewer.imaging.synthetic import SyntheticStudy, write_dicom

    ph = render_plan(plan, size)
    rng = np.random.default_rng(plan.seed + 1)
    sections, truth = write_report(plan, ph.details, rng)
    folder = root / plan.patient_id / plan.study_id
    folder.mkdir(parents=True, exist_ok=True)
    top = 2**ph.bits - 1
    stored = (top - ph.pixels).astype(np.uint16) if plan.photometric == "MONOCHROME1" else ph.pixels
    lo, hi = np.percentile(ph.pixels[::8, ::8], [1, 99])
    centre = (lo + hi) / 2 if plan.photometric == "MONOCHROME2" else top - (lo + hi) / 2
    spacing = round(0.7 * 512 / size, 4)
    number = plan.patient_id[4:]
    study = SyntheticStudy(
        patient_name=f"Synthetic^Demo{number}", patient_id=plan.patient_id, patient_sex=plan.sex,
        patient_age=f"{plan.age:03d}Y", patient_birth_date=f"{int(plan.study_date[:4]) - plan.age}0101",
        study_date=plan.study_date, study_description=f"CHEST {plan.view} - {NOT_REAL}",
        accession_number=f"ACC{plan.index:06d}", institution=DEMO_INSTITUTION)
    write_dicom(folder / "image.dcm", stored, study=study, photometric=plan.photometric,
                bits_stored=ph.bits, view_position=plan.view, pixel_spacing=(spacing, spacing),
                imager_pixel_spacing=(spacing, spacing), window=(float(centre), float(hi - lo)),
                extra={"ImageComments": NOT_REAL, "PatientIdentityRemoved": "YES",
                       "BurnedInAnnotation": "NO"})
    # plain writes: the index, written last and atomically, is what makes a case part of the set
    (folder / "report.txt").write_text(report_text(sections), encoding="utf-8")
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: downsample_mask(m) for k, m in ph.masks.items()})
    (folder / "masks.npz").write_bytes(buf.getvalue())
    return _record(plan, sections, truth, ph, root, folder)


def _record(plan: Plan, sections: ReportSections, truth: Truth, ph: P.Phantom, root: Path,
            folder: Path) -> dict[str, object]:
    status_of = {f[0]: f[4] for f in plan.findings}
    drawn = [{"kind": kind, "status": status_of[kind], "severity": info.get("severity"),
              "side": SIDE_WORD[int(info.get("side", 0))] if kind in ONE_SIDED + ("effusion",) else "",  # type: ignore[call-overload]
              "where": info.get("where", ""), "bbox": list(ph.boxes[kind]),
              **{k: v for k, v in info.items() if k not in ("side", "severity", "where")}}
             for kind, info in ph.details.items()]
    rel = folder.relative_to(root).as_posix()
    return {
        "case_id": plan.study_id, "patient_id": plan.patient_id, "study_id": plan.study_id,
        "image": f"{rel}/image.dcm", "report": f"{rel}/report.txt", "masks": f"{rel}/masks.npz",
        "mask_size": MASK_SIZE, "image_size": int(ph.pixels.shape[0]),
        "view": plan.view, "sex": plan.sex, "age": plan.age, "study_date": plan.study_date,
        "photometric": plan.photometric, "split": split_for_patient(plan.patient_id),
        "findings": dict(sorted(truth.items())), "drawn": drawn,
        "report_sections": {"indication": sections.indication, "findings": sections.findings,
                            "impression": sections.impression},
    }


def _make_chunk(args: tuple[list[Plan], str, int]) -> list[dict[str, object]]:
    plans, root, size = args
    return [make_case(p, Path(root), size) for p in plans]


# --- the whole dataset --------------------------------------------------------------------


def write_demo(root: Path, n_cases: int = 400, size: int = 512, seed: int = 0,
               workers: int | None = None,
               progress: Callable[[int, int], None] | None = None) -> DemoSummary:
    """Write a demo dataset of ``n_cases`` studies under ``root`` (in parallel processes).

    The index ``demo_cases.jsonl`` is written last and atomically, so an interrupted run leaves
    a folder that ``ADAPTER.detect`` does not accept rather than a half-listed one.
    """
    started = time.perf_counter()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    plans = plan_cases(n_cases, seed)
    workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    chunk = max(1, min(16, len(plans) // (workers * 4) or 1))
    chunks = [(plans[i:i + chunk], str(root), size) for i in range(0, len(plans), chunk)]
    records: list[dict[str, object]] = []
    if workers == 1:
        results: Iterator[list[dict[str, object]]] = map(_make_chunk, chunks)
        records = _collect(results, len(plans), progress)
    else:
        with _one_blas_thread(), ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            records = _collect(pool.map(_make_chunk, chunks), len(plans), progress)
    atomic_write_text(root / "README.txt", README)
    atomic_write_text(root / INDEX, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    return _summary(root, records, time.perf_counter() - started)


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Spawned workers inherit this environment: one BLAS thread each, because idle OpenBLAS
    threads spin and, with one worker per core, steal the cores from the other workers."""
    saved = {k: os.environ.get(k) for k in _BLAS_ENV}
    os.environ.update({k: "1" for k in _BLAS_ENV})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _collect(results: Iterator[list[dict[str, object]]], total: int,
             progress: Callable[[int, int], None] | None) -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for batch in results:
        records.extend(batch)
        if progress is not None:
            progress(len(records), total)
    return records


def _summary(root: Path, records: list[dict[str, object]], seconds: float) -> DemoSummary:
    labels: Counter[str] = Counter()
    for r in records:
        labels.update(k for k, v in r["findings"].items() if v in ("positive", "uncertain"))  # type: ignore[attr-defined]
    splits = Counter(str(r["split"]) for r in records)
    return DemoSummary(root, len(records), len({r["patient_id"] for r in records}), seconds,
                       dict(labels), dict(splits))


# --- the adapter --------------------------------------------------------------------------


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
