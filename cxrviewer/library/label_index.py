"""The findings route's ranking over whole arrays: the same order as scoring case by case, at the
speed a library of a million films needs.

A common finding has 100,000 candidates in CheXpert. Scoring them one by one in Python (details,
best score, word overlap, case ids fetched from SQLite per candidate) took 1.4 s per query. Here
each part is a numpy array over the library's rows, loaded once per open library:

- the finding pattern of every row (so the candidates of a query are a lookup);
- each case id's rank in sorted order (the last tie-break, without fetching 100,000 ids);
- per finding, the severity and side codes the reports give (loaded the first time a query
  names that finding's detail);
- an inverted index of the tie-break texts' content words with each text's word count, so the
  word overlap (Jaccard) of every candidate is a few array additions.

:meth:`LabelIndex.rank` gives exactly what :mod:`cxrviewer.library.label_route` defines: the
candidate set, scores and order of the case-by-case code (kept as ``rank_reference`` for the
tests that hold the two equal).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from cxrviewer.library import label_route as LR
from cxrviewer.library.store import Store

SCALE = 1e9  # scores are compared as integers of 1e-9, as the reference rounds them to 9 places


@dataclass(frozen=True)
class Ranked:
    """The top rows with their score parts, and how many candidates were scored."""

    rows: np.ndarray
    totals: np.ndarray
    details: np.ndarray
    overlaps: np.ndarray
    candidates: int


class LabelIndex:
    """Arrays over a store's rows for the findings route (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        ordered = store.db.execute("SELECT row, pattern FROM cases ORDER BY case_id").fetchall()
        size = (max((r for r, _ in ordered), default=-1) + 1)
        self.present = np.zeros(size, bool)
        self.case_rank = np.zeros(size, np.int64)
        self.pattern_id = np.full(size, -1, np.int32)
        self.patterns: list[str] = []
        ids: dict[str, int] = {}
        rows = np.fromiter((r for r, _ in ordered), np.int64, len(ordered))
        self.present[rows] = True
        self.case_rank[rows] = np.arange(len(ordered))
        self.pattern_id[rows] = [ids.setdefault(p, len(ids)) for _, p in ordered]
        self.patterns = list(ids)
        self.codes = LR.pattern_codes(self.patterns)
        self._words: tuple[dict[str, np.ndarray], np.ndarray] | None = None
        self._details: dict[str, tuple[np.ndarray, np.ndarray, dict[str, int], dict[str, int]]] = {}

    # --- lazily loaded parts ---------------------------------------------------------------
    def words(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """(word -> rows whose tie-break text has it, number of distinct content words per row)."""
        if self._words is None:
            postings: dict[str, list[int]] = defaultdict(list)
            counts = np.zeros(len(self.present), np.int32)
            for row, text in self.store.db.execute(
                    "SELECT row, impression || ' ' || findings_text FROM cases"):
                found = LR.words(text or "")
                counts[row] = len(found)
                for word in found:
                    postings[word].append(row)
            self._words = ({w: np.asarray(r, np.int64) for w, r in postings.items()}, counts)
        return self._words

    def detail_codes(self, label: str) -> tuple[np.ndarray, np.ndarray, dict[str, int], dict[str, int]]:
        """Per row: a severity code and a side code for ``label`` (0: the report gives none)."""
        if label not in self._details:
            severity = np.zeros(len(self.present), np.int16)
            side = np.zeros(len(self.present), np.int16)
            sev_codes: dict[str, int] = {}
            side_codes: dict[str, int] = {}
            for row, sev, lat in self.store.db.execute(
                    "SELECT row, severity, laterality FROM findings WHERE label = ? "
                    "AND (severity IS NOT NULL OR laterality IS NOT NULL)", (label,)):
                if sev:
                    severity[row] = sev_codes.setdefault(sev, len(sev_codes) + 1)
                if lat:
                    side[row] = side_codes.setdefault(lat, len(side_codes) + 1)
            self._details[label] = (severity, side, sev_codes, side_codes)
        return self._details[label]

    # --- ranking ---------------------------------------------------------------------------
    def rank(self, query: LR.LabelQuery, k: int, allowed: np.ndarray | None = None) -> Ranked:
        """The top ``k`` rows for ``query`` (among ``allowed`` rows when given)."""
        pattern_scores = (np.round(LR.pattern_scores(query, self.patterns, self.codes), 9) if self.patterns
                          else np.zeros(0))
        mask = self.present if allowed is None else _mask(allowed, len(self.present))
        row_score = np.full(len(self.present), -np.inf)
        row_score[mask] = pattern_scores[self.pattern_id[mask]]
        candidates = self._candidates(row_score, pattern_scores, mask, k, 2 * query.max_detail_swing)
        base = row_score[candidates]
        detail = self._detail(query, candidates)
        totals = np.rint((base + detail) * SCALE).astype(np.int64)
        overlap = self._overlap(query, candidates)
        order = np.lexsort((self.case_rank[candidates], -overlap, -totals))[:k]
        return Ranked(candidates[order], totals[order], detail[order], overlap[order], int(candidates.size))

    def _candidates(self, row_score: np.ndarray, pattern_scores: np.ndarray, mask: np.ndarray, k: int,
                    swing: float) -> np.ndarray:
        """The reference's gathering: patterns best first until k cases are certain, then every
        pattern within the detail swing below that score."""
        counts = np.bincount(self.pattern_id[mask], minlength=len(self.patterns)) if self.patterns else np.zeros(0)
        values = np.unique(pattern_scores[counts > 0])[::-1]
        if values.size == 0:
            return np.zeros(0, np.int64)
        inverse = np.searchsorted(-values, -pattern_scores)  # each pattern's place among the values
        with_rows = counts > 0
        per_value = np.bincount(inverse[with_rows], weights=counts[with_rows], minlength=values.size)
        reached = np.flatnonzero(np.cumsum(per_value) >= k)
        floor = -np.inf if reached.size == 0 else values[reached[0]] - swing - 1e-9
        keep = values[values >= floor] if reached.size else values
        return np.flatnonzero(mask & (row_score >= keep.min()))

    def _detail(self, query: LR.LabelQuery, rows: np.ndarray) -> np.ndarray:
        """+DETAIL_WEIGHT per severity or side a case shares with the query, minus one per
        contradiction, normalised by the query's best score (``label_route.detail_agreement``)."""
        best = query.best_score
        score = np.zeros(rows.size, np.float64)
        if best <= 0:
            return score
        units = np.zeros(rows.size, np.int64)
        for label, wanted in query.details.items():
            if query.statuses.get(label) not in ("positive", "uncertain"):
                continue
            severity, side, sev_codes, side_codes = self.detail_codes(label)
            for want, codes, table in ((wanted.severity, severity, sev_codes), (wanted.laterality, side, side_codes)):
                if not want:
                    continue
                got = codes[rows]
                wanted_code = table.get(want, -1)
                units += np.where(got == 0, 0, np.where(got == wanted_code, 1, -1))
        return units * LR.DETAIL_WEIGHT / best

    def _overlap(self, query: LR.LabelQuery, rows: np.ndarray) -> np.ndarray:
        """Jaccard overlap of content words between the query and each row's tie-break text."""
        query_words = LR.words(query.text)
        if not query_words or rows.size == 0:
            return np.zeros(rows.size, np.float64)
        postings, counts = self.words()
        shared = np.zeros(len(self.present), np.int64)
        for word in query_words:
            hits = postings.get(word)
            if hits is not None:
                shared[hits] += 1
        inter = shared[rows]
        union = len(query_words) + counts[rows] - inter
        return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def _mask(rows: np.ndarray, size: int) -> np.ndarray:
    mask = np.zeros(size, bool)
    rows = rows[(rows >= 0) & (rows < size)]
    mask[rows] = True
    return mask


def rank_reference(library: Any, query: LR.LabelQuery, where: str, params: Any, k: int
                   ) -> list[tuple[float, float, float, str, int]]:
    """The case-by-case ranking this module replaces, kept to hold the two equal in tests:
    (score, detail, overlap, case id, row) of the top ``k``, best first."""
    store, patterns = library.store, [p for p, _ in library.store.patterns()]
    scores = np.round(LR.pattern_scores(query, patterns), 9)
    swing = 2 * query.max_detail_swing
    groups: list[tuple[float, list[int]]] = []
    found = 0
    enough_at: float | None = None
    for value in np.unique(scores)[::-1]:
        if enough_at is not None and value < enough_at - swing - 1e-9:
            break
        rows = store.rows_with_patterns([patterns[i] for i in np.flatnonzero(scores == value)], where, params)
        if rows:
            groups.append((float(value), rows))
            found += len(rows)
        if found >= k and enough_at is None:
            enough_at = float(value)
    ranked = []
    query_words = LR.words(query.text)
    for value, rows in groups:
        texts = store.tie_break_texts(rows)
        details = store.details_for(rows, list(query.details))
        for r in rows:
            detail = LR.detail_agreement(query, details.get(r, {}))
            ranked.append((round(value + detail, 9), detail, LR.text_overlap(query_words, texts[r][1]), texts[r][0], r))
    ranked.sort(key=lambda t: (-t[0], -t[2], t[3]))
    return ranked[:k]
