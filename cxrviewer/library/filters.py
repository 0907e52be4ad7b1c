"""The search panel's filters (view, sex, age, split, required and excluded findings): as SQL, and
over arrays of the library's rows, loaded once per open library version (``RowFilter``).

As SQL (``Filters.sql``) a filter that keeps a quarter of a million-case library returns 250,000
rows through Python, and a filter on a finding reads the findings table: hundreds of ms a query
(``bench library --n 1000000``). Here each column is a numpy array (a finding is a column of
the row's finding pattern, as the findings route stores it), so a filter is a few vectorised
comparisons. The rows kept are exactly those of ``Filters.sql`` (the tests hold them equal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cxrviewer.library.store import STATUS_CODES, Store
from cxrviewer.reports.labels import ALL_LABELS

_POSITIVE = ord(STATUS_CODES["positive"])
_UNCERTAIN = ord(STATUS_CODES["uncertain"])


def known_label(label: str) -> str:
    for known in ALL_LABELS:
        if known.lower() == label.strip().lower():
            return known
    raise ValueError(f"unknown finding {label!r}; known: {', '.join(ALL_LABELS)}")


@dataclass(frozen=True)
class Filters:
    """What a hit must be. Empty fields do not filter."""

    views: tuple[str, ...] = ()
    sex: str = ""
    age_min: float | None = None
    age_max: float | None = None
    splits: tuple[str, ...] = ()
    required: tuple[str, ...] = ()  # labels that must be positive
    excluded: tuple[str, ...] = ()  # labels that must not be positive or uncertain
    exclude_studies: tuple[str, ...] = ()

    def sql(self) -> tuple[str, list[object]]:
        """A WHERE clause over ``cases`` (without the keyword) and its parameters."""
        parts: list[str] = []
        params: list[object] = []
        if self.views:
            parts.append(f"view IN ({', '.join('?' * len(self.views))})")
            params += [v.upper() for v in self.views]
        if self.sex:
            parts.append("sex = ?")
            params.append(self.sex.upper()[:1])
        if self.age_min is not None:
            parts.append("age >= ?")
            params.append(self.age_min)
        if self.age_max is not None:
            parts.append("age <= ?")
            params.append(self.age_max)
        if self.splits:
            parts.append(f"split IN ({', '.join('?' * len(self.splits))})")
            params += list(self.splits)
        for label in self.required:
            parts.append("row IN (SELECT row FROM findings WHERE label = ? AND status = 'positive')")
            params.append(known_label(label))
        for label in self.excluded:
            parts.append("row NOT IN (SELECT row FROM findings WHERE label = ? "
                         "AND status IN ('positive', 'uncertain'))")
            params.append(known_label(label))
        if self.exclude_studies:
            parts.append(f"study_id NOT IN ({', '.join('?' * len(self.exclude_studies))})")
            params += list(self.exclude_studies)
        return " AND ".join(parts), params


class _Codes:
    """A text column as small integer codes, with the code of each distinct value."""

    def __init__(self, size: int) -> None:
        self.values = np.full(size, -1, np.int32)
        self.code: dict[str, int] = {}

    def put(self, row: int, text: str) -> None:
        code = self.code.get(text)
        if code is None:
            code = self.code[text] = len(self.code)
        self.values[row] = code

    def isin(self, texts: Sequence[str]) -> np.ndarray:
        """Rows whose value is one of ``texts`` (one comparison per value: np.isin sorted the
        million codes, 10 ms)."""
        mask = np.zeros(len(self.values), bool)
        for code in {self.code[t] for t in texts if t in self.code}:
            mask |= self.values == code
        return mask


class RowFilter:
    """Arrays of one store's rows for the filters (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        size = int(store.db.execute("SELECT COALESCE(MAX(row), -1) + 1 FROM cases").fetchone()[0])
        self.present = np.zeros(size, bool)
        self.age = np.full(size, np.nan, np.float32)
        self.view, self.sex, self.split, self.pattern = (_Codes(size) for _ in range(4))
        for row, view, sex, age, split, pattern in store.db.execute(
                "SELECT row, view, sex, age, split, pattern FROM cases"):
            self.present[row] = True
            self.view.put(row, view)
            self.sex.put(row, sex)
            self.split.put(row, split)
            self.pattern.put(row, pattern)
            if age is not None:
                self.age[row] = age
        patterns = sorted(self.pattern.code, key=self.pattern.code.__getitem__)
        width = len(ALL_LABELS)
        self.pattern_chars = (np.frombuffer("".join(p.ljust(width)[:width] for p in patterns).encode("ascii"),
                                            np.uint8).reshape(len(patterns), width) if patterns
                              else np.zeros((0, width), np.uint8))

    def rows(self, filters: Filters) -> np.ndarray | None:
        """The rows ``filters`` keep, ascending; None when it keeps every row (no filter)."""
        mask = self.present.copy()
        touched = False
        if filters.views:
            mask &= self.view.isin([v.upper() for v in filters.views])
            touched = True
        if filters.sex:
            mask &= self.sex.isin([filters.sex.upper()[:1]])
            touched = True
        with np.errstate(invalid="ignore"):
            if filters.age_min is not None:
                mask &= self.age >= filters.age_min
                touched = True
            if filters.age_max is not None:
                mask &= self.age <= filters.age_max
                touched = True
        if filters.splits:
            mask &= self.split.isin(list(filters.splits))
            touched = True
        for label, keep in [(x, True) for x in filters.required] + [(x, False) for x in filters.excluded]:
            column = self.pattern_chars[:, ALL_LABELS.index(known_label(label))]
            by_pattern = column == _POSITIVE if keep else (column != _POSITIVE) & (column != _UNCERTAIN)
            mask &= np.concatenate([by_pattern, [False]])[self.pattern.values]  # -1: no such row
            touched = True
        if filters.exclude_studies:
            marks = ", ".join("?" * len(filters.exclude_studies))
            gone = [r for (r,) in self.store.db.execute(f"SELECT row FROM cases WHERE study_id IN ({marks})",
                                                        list(filters.exclude_studies))]
            mask[np.asarray(gone, np.int64)] = False
            touched = True
        return np.flatnonzero(mask).astype(np.int64) if touched else None
