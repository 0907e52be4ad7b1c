"""Writing the demo dataset: one study folder per planned case, then the index.

``write_demo`` plans the cases (``plan``), renders each (``phantom``), writes
``<root>/<patient>/<study>/image.dcm`` + ``report.txt`` + ``masks.npz`` in worker processes,
and finally ``demo_cases.jsonl`` (written last and atomically: its presence means the folder is
complete; ``cxrviewer.datasets.demo`` reads it back as cases). Every file says it is synthetic,
in DICOM tags, reports and the README.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from cxrviewer.demo.phantom import Finding, Phantom, ctr_for, render, sample_anatomy
from cxrviewer.demo.plan import ONE_SIDED, SIDE_WORD, Plan, plan_cases
from cxrviewer.demo.reports import NOT_REAL, Truth, report_text, write_report
from cxrviewer.fileio import atomic_write_text
from cxrviewer.imaging.synthetic import DEMO_INSTITUTION
from cxrviewer.reports.sections import ReportSections
from cxrviewer.splits import split_for_patient

INDEX = "demo_cases.jsonl"
README = (
    "Synthetic demo data - not real patients.\n\n"
    "Every image here was drawn by cxrviewer's procedural phantom and every report was written\n"
    "from templates. They exist to try the viewer and the case search without real data.\n"
    "Layout: <patient>/<study>/image.dcm, report.txt, masks.npz (one bool array per finding);\n"
    f"{INDEX} lists every case with its findings, severity, side and bounding boxes.\n"
)
MASK_SIZE = 128


@dataclass(frozen=True)
class DemoSummary:
    """What ``write_demo`` wrote: counts per label (positive or uncertain) and the time taken."""

    root: Path
    n_cases: int
    n_patients: int
    seconds: float
    label_counts: dict[str, int] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)


# --- one case -----------------------------------------------------------------------------


def render_plan(plan: Plan, size: int) -> Phantom:
    """The phantom image of a plan (anatomy shared by a patient's studies)."""
    arng = np.random.default_rng(plan.anatomy_seed)
    enlarged = next((f for f in plan.findings if f[0] == "cardiomegaly"), None)
    ctr = None
    if enlarged is not None:
        ctr = ctr_for(enlarged[2], arng) if enlarged[4] == "positive" else float(arng.uniform(0.51, 0.53))
    anatomy = sample_anatomy(arng, female=plan.sex == "F", ctr=ctr)
    anatomy = replace(anatomy, seed=plan.seed)
    findings = tuple(Finding(k, side, sev, where) for k, side, sev, where, _ in plan.findings)
    return render(anatomy, findings, size)


def downsample_mask(mask: np.ndarray, out: int = MASK_SIZE) -> np.ndarray:
    """Block 'any' to ``out`` px: a finding never vanishes from the small mask."""
    n = mask.shape[0]
    if n <= out:
        return mask.astype(bool)
    f = n // out
    return np.asarray(mask[: f * out, : f * out].reshape(out, f, out, f).any(axis=(1, 3)))


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
    # numpy's stub reads **arrays as maybe filling its allow_pickle: bool
    np.savez_compressed(buf, **{k: downsample_mask(m) for k, m in ph.masks.items()})  # type: ignore[arg-type]
    (folder / "masks.npz").write_bytes(buf.getvalue())
    return _record(plan, sections, truth, ph, root, folder)


def _record(plan: Plan, sections: ReportSections, truth: Truth, ph: Phantom, root: Path,
            folder: Path) -> dict[str, object]:
    status_of = {f[0]: f[4] for f in plan.findings}
    drawn = [{"kind": kind, "status": status_of[kind], "severity": info.get("severity"),
              "side": SIDE_WORD[int(info.get("side", 0))] if kind in (*ONE_SIDED, "effusion") else "",  # type: ignore[call-overload]
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
    a folder that ``cxrviewer.datasets.demo.ADAPTER`` does not accept rather than a half-listed one.
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


def _one_blas_thread() -> AbstractContextManager[None]:
    """Spawned workers inherit this environment: one BLAS thread each, because idle OpenBLAS
    threads spin and, with one worker per core, steal the cores from the other workers."""
    from cxrviewer.lifeline import inherited_environment

    return inherited_environment(dict.fromkeys(_BLAS_ENV, "1"))


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
