"""Helpers for the adapter tests: tiny dataset trees in each dataset's exact layout, with real image files."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from cxrviewer.datasets.case import Case, DatasetProblem


def write_image(path: Path) -> Path:
    """A real 8x8 greyscale PNG or JPEG, chosen by the suffix."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (np.arange(64, dtype=np.uint8).reshape(8, 8) * 4)
    Image.fromarray(pixels, "L").save(path, "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG")
    return path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """A CSV as the datasets write it (gzipped when the name ends in .gz)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    opener: Callable[..., object] = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="", encoding="utf-8") as fh:  # type: ignore[operator]
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run_adapter(adapter: object, root: Path) -> tuple[list[Case], list[DatasetProblem]]:
    problems: list[DatasetProblem] = []
    cases = list(adapter.iter_cases(root, problems.append))  # type: ignore[attr-defined]
    return cases, problems


def assert_patient_disjoint(cases: list[Case]) -> None:
    splits: dict[str, set[str]] = {}
    for case in cases:
        splits.setdefault(case.patient_id, set()).add(case.split)
    mixed = {p: s for p, s in splits.items() if len(s) > 1}
    assert not mixed, f"patients in more than one split: {mixed}"
