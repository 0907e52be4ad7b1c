"""Training data from a case library: decoded films cached as uint8, report texts, label targets.

Films are turned into encoder input with :func:`cxrviewer.library.prepare.model_input`, the
same function a library build and a query use, so the model trains on exactly what it will
see. Decoding runs in threads (no worker processes that would re-launch a frozen app) and the
result is kept in memory: 1,000 films at 224 px are 50 MB.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cxrviewer.reports.labels import ALL_LABELS, NO_FINDING

LoadProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class CaseSet:
    """Cases of one or more splits, ready for batching.

    ``targets`` is (n, L) in {0, 1}; ``mask`` is (n, L), 0 where the label is not known (an
    uncertain mention under the "ignore" policy). ``text_groups`` gives identical report texts
    the same id (see :func:`cxrviewer.train.metrics.paired_recall`).
    """

    case_ids: tuple[str, ...]
    patients: tuple[str, ...]
    images: np.ndarray  # (n, S, S) uint8
    texts: tuple[str, ...]
    statuses: tuple[dict[str, str], ...]
    text_groups: np.ndarray

    def __len__(self) -> int:
        return len(self.case_ids)

    def subset(self, index: Sequence[int] | np.ndarray) -> CaseSet:
        idx = np.asarray(index, dtype=np.int64)
        return CaseSet(tuple(self.case_ids[i] for i in idx), tuple(self.patients[i] for i in idx),
                       self.images[idx], tuple(self.texts[i] for i in idx),
                       tuple(self.statuses[i] for i in idx), group_texts([self.texts[i] for i in idx]))


def group_texts(texts: Sequence[str]) -> np.ndarray:
    ids: dict[str, int] = {}
    return np.array([ids.setdefault(" ".join(t.lower().split()), len(ids)) for t in texts], np.int64)


def concat(a: CaseSet, b: CaseSet) -> CaseSet:
    texts = a.texts + b.texts
    return CaseSet(a.case_ids + b.case_ids, a.patients + b.patients, np.concatenate([a.images, b.images]),
                   texts, a.statuses + b.statuses, group_texts(texts))


def report_text(impression: str, findings: str) -> str:
    """The text a film is paired with: the impression, else the findings section."""
    return (impression or "").strip() or (findings or "").strip()


def load_cases(library: Path, splits: Sequence[str], size: int, *, need_text: bool = False,
               workers: int = 2, progress: LoadProgress | None = None) -> CaseSet:
    """The cases of ``splits`` (one film per case), decoded at ``size`` px.

    Cases without a report text are skipped when ``need_text``; films that cannot be decoded
    are skipped too (the library build already listed them).
    """
    from cxrviewer.library.library import Library

    with Library.open(library, check_index=False) as lib:
        marks = ", ".join("?" * len(splits))
        rows = [r[0] for r in lib.store.db.execute(
            f"SELECT row FROM cases WHERE split IN ({marks}) ORDER BY case_id", tuple(splits))]
        cases = lib.store.cases(rows)
    items = [(c, report_text(c.report.impression, c.report.findings)) for c in cases]
    if need_text:
        items = [(c, t) for c, t in items if t]
    images = _decode_all([(c.image, c.frame) for c, _ in items], size, workers, progress)
    decoded = [(i, im) for i, im in enumerate(images) if im is not None]
    keep = [i for i, _ in decoded]
    stack = np.stack([im for _, im in decoded]) if decoded else np.zeros((0, size, size), np.uint8)
    texts = [items[i][1] for i in keep]
    return CaseSet(tuple(items[i][0].case_id for i in keep), tuple(items[i][0].patient_id for i in keep),
                   stack, tuple(texts), tuple(dict(items[i][0].findings) for i in keep), group_texts(texts))


def _decode_one(job: tuple[str, int], size: int) -> np.ndarray | None:
    from cxrviewer.library.prepare import load, model_input

    path, frame = job
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pixels = model_input(load(path), size, frame)
    except Exception:  # noqa: BLE001 - an unreadable film is skipped, as the build does
        return None
    return pixels if pixels.ndim == 2 else pixels[..., :3].mean(axis=-1).astype(np.uint8)


def _decode_all(jobs: list[tuple[str, int]], size: int, workers: int,
                progress: LoadProgress | None) -> list[np.ndarray | None]:
    out: list[np.ndarray | None] = []
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for n, image in enumerate(pool.map(lambda j: _decode_one(j, size), jobs), 1):
            out.append(image)
            if progress is not None and (n % 16 == 0 or n == len(jobs)):
                progress(n, len(jobs))
    return out


# --- labels ---------------------------------------------------------------------------------


def present_labels(cases: CaseSet, min_positives: int = 2) -> list[str]:
    """Labels (in ``ALL_LABELS`` order) with at least ``min_positives`` positive cases.

    ``No Finding`` is left out: it is the absence of the others, which the head already says.
    """
    counts = dict.fromkeys(ALL_LABELS, 0)
    for statuses in cases.statuses:
        for label, status in statuses.items():
            if status == "positive" and label in counts:
                counts[label] += 1
    return [label for label in ALL_LABELS if label != NO_FINDING and counts[label] >= min_positives]


def label_targets(cases: CaseSet, labels: Sequence[str], uncertain: str = "ignore"
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(targets, mask), both (n, L) float32.

    Positive -> 1; negative or not mentioned -> 0 (a report that does not mention a finding is
    read as "absent", as CheXpert-style training does with blanks); uncertain -> masked out
    ("ignore"), 1 ("positive", U-Ones) or 0 ("negative", U-Zeros).
    """
    targets = np.zeros((len(cases), len(labels)), np.float32)
    mask = np.ones_like(targets)
    for i, statuses in enumerate(cases.statuses):
        for j, label in enumerate(labels):
            status = statuses.get(label)
            if status == "positive":
                targets[i, j] = 1.0
            elif status == "uncertain":
                if uncertain == "ignore":
                    mask[i, j] = 0.0
                elif uncertain == "positive":
                    targets[i, j] = 1.0
    return targets, mask


def pos_weight(targets: np.ndarray, mask: np.ndarray, cap: float = 50.0) -> np.ndarray:
    """negatives / positives per label (capped): rare findings weigh as much as common ones."""
    pos = (targets * mask).sum(axis=0)
    neg = ((1 - targets) * mask).sum(axis=0)
    return np.clip(neg / np.maximum(pos, 1.0), 1.0, cap).astype(np.float32)


def patient_folds(patients: Sequence[str], k: int, seed: int = 0) -> np.ndarray:
    """Fold number (0..k-1) of each case; all cases of a patient share a fold."""
    unique = sorted(set(patients), key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest())
    fold_of = {p: i % k for i, p in enumerate(unique)}
    return np.array([fold_of[p] for p in patients], np.int64)
