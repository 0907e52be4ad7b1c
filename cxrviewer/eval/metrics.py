"""Ranking metrics for one query, their means over queries, and the retrieval report.

Every metric takes the ranked relevance of the *returned* hits (rank 1 first) and, where the
metric needs it, ``n_relevant``: how many relevant items the whole collection holds for that
query (see ``relevance.judge_collection``). Binary metrics count an entry as relevant when it
is > 0, so graded lists can be passed as they are.

Conventions, chosen so that short result lists and hopeless queries are never flattered:

- fewer than K results: P@K and mean IoU@K still divide by K (a missing hit counts as an
  irrelevant one), as do Hit@K, R@K and AP@K implicitly;
- ``n_relevant == 0``: R@K and AP@K are 0 (nothing could be found). Such queries still enter
  the means; the report counts them (``no_relevant``) so a reader can tell;
- more relevant hits returned than ``n_relevant``: ``ValueError``, because the counts were
  taken on another collection than the one searched (often: the query retrieved itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cxrviewer.eval.relevance import (
    IGNORED,
    RULES,
    CollectionJudgement,
    Findings,
    UncertainAs,
    judge_hits,
)

DEFAULT_KS: tuple[int, ...] = (1, 5, 10)


def _scores(values: Iterable[float]) -> np.ndarray:
    array = np.asarray(list(values), dtype=float)
    if array.ndim != 1:
        raise ValueError("relevance must be a flat sequence, one entry per returned hit")
    return array


def _check_k(k: int) -> None:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, not {k!r}")


def _top_relevant(relevance: Iterable[float], n_relevant: int, k: int) -> np.ndarray:
    """Binary relevance of the top ``k``, after checking ``n_relevant`` against the list."""
    _check_k(k)
    rel = _scores(relevance) > 0
    if n_relevant < 0:
        raise ValueError(f"n_relevant must be >= 0, not {n_relevant}")
    if rel.sum() > n_relevant:
        raise ValueError(
            f"{int(rel.sum())} relevant hits returned but n_relevant is {n_relevant}: "
            "the counts do not describe the searched collection (did the query retrieve itself?)"
        )
    return rel[:k]


def hit_at_k(relevance: Iterable[float], k: int) -> float:
    """1.0 when any of the top ``k`` is relevant, else 0.0 (the "did it find one" rate)."""
    _check_k(k)
    return float((_scores(relevance)[:k] > 0).any())


def precision_at_k(relevance: Iterable[float], k: int) -> float:
    """Relevant hits in the top ``k`` divided by ``k``, even when fewer than ``k`` came back."""
    _check_k(k)
    return float((_scores(relevance)[:k] > 0).sum() / k)


def recall_at_k(relevance: Iterable[float], n_relevant: int, k: int) -> float:
    """Relevant hits in the top ``k`` divided by ``n_relevant``; 0.0 when ``n_relevant`` is 0."""
    rel = _top_relevant(relevance, n_relevant, k)
    return float(rel.sum() / n_relevant) if n_relevant else 0.0


def average_precision_at_k(relevance: Iterable[float], n_relevant: int, k: int) -> float:
    """AP@K = (1 / min(n_relevant, K)) * sum_{i <= K} P@i * rel_i; 0.0 when ``n_relevant`` is 0.

    Normalising by ``min(n_relevant, K)`` makes a perfect top K score 1.0 even when the
    collection holds more than K relevant items. This is not CheXRetriever's "mAP@5", which
    is AP over the whole ranking reported next to other @5 metrics.
    """
    rel = _top_relevant(relevance, n_relevant, k)
    if not n_relevant:
        return 0.0
    ranks = np.arange(1, rel.size + 1)
    precision_at_i = np.cumsum(rel) / ranks
    return float((precision_at_i * rel).sum() / min(n_relevant, k))


def reciprocal_rank(relevance: Iterable[float]) -> float:
    """1 / rank of the first relevant hit in the whole returned list; 0.0 when there is none.

    Averaged over queries this is MRR.
    """
    hits = np.flatnonzero(_scores(relevance) > 0)
    return float(1.0 / (hits[0] + 1)) if hits.size else 0.0


def dcg_at_k(gains: Iterable[float], k: int) -> float:
    """DCG@K = sum_{i <= K} gain_i / log2(i + 1), the standard (linear-gain) form."""
    _check_k(k)
    top = _scores(gains)[:k]
    return float((top / np.log2(np.arange(2, top.size + 2))).sum())


def ndcg_at_k(gains: Iterable[float], k: int, ideal_gains: Iterable[float] | None = None) -> float:
    """DCG@K over the ideal DCG@K; 0.0 when the ideal is 0 (nothing in the collection gains).

    ``ideal_gains`` are the relevance grades of the whole collection for this query (any
    order); the ideal ranking sorts them. Without them the returned gains are re-sorted,
    which only measures the order of what was returned, not what was missed.
    """
    gains = _scores(gains)
    ideal = np.sort(_scores(gains if ideal_gains is None else ideal_gains))[::-1]
    ideal_dcg = dcg_at_k(ideal, k)
    if ideal_dcg <= 0:
        return 0.0
    value = dcg_at_k(gains, k) / ideal_dcg
    if value > 1 + 1e-9:
        raise ValueError("returned gains beat the ideal: ideal_gains do not describe the collection")
    return float(min(value, 1.0))


def mean_iou_at_k(ious: Iterable[float], k: int) -> float:
    """Mean finding IoU over the top ``k``, dividing by ``k`` (missing hits count as 0)."""
    _check_k(k)
    return float(_scores(ious)[:k].sum() / k)


def timing_stats(times_ms: Sequence[float]) -> dict[str, float]:
    """Mean, median and 95th percentile (linear interpolation) of per-query times in ms."""
    times = _scores(times_ms)
    if not times.size:
        raise ValueError("no timings")
    return {
        "n": float(times.size),
        "mean_ms": float(times.mean()),
        "p50_ms": float(np.percentile(times, 50)),
        "p95_ms": float(np.percentile(times, 95)),
    }


@dataclass(frozen=True)
class QueryMetrics:
    """Every metric of one query, by name (``"hit@1"``, ``"p@5"``, ``"ap@10"``, ``"mrr"``, ...)."""

    values: Mapping[str, float]
    query_id: str = ""


def binary_metrics(
    relevance: Sequence[float], n_relevant: int, ks: Sequence[int] = DEFAULT_KS, query_id: str = ""
) -> QueryMetrics:
    """Hit@K, P@K, R@K, AP@K and nDCG@K (binary gains) for each K, and the reciprocal rank."""
    values: dict[str, float] = {}
    ideal = np.ones(max(0, min(n_relevant, max(ks))))  # a bad n_relevant is refused below
    for k in ks:
        values[f"hit@{k}"] = hit_at_k(relevance, k)
        values[f"p@{k}"] = precision_at_k(relevance, k)
        values[f"r@{k}"] = recall_at_k(relevance, n_relevant, k)
        values[f"ap@{k}"] = average_precision_at_k(relevance, n_relevant, k)
        values[f"ndcg@{k}"] = ndcg_at_k(np.asarray(relevance, dtype=float) > 0, k, ideal)
    values["mrr"] = reciprocal_rank(relevance)
    return QueryMetrics(values, query_id)


def graded_metrics(
    ious: Sequence[float], ideal_gains: Sequence[float] | None, ks: Sequence[int] = DEFAULT_KS, query_id: str = ""
) -> QueryMetrics:
    """nDCG@K with finding-IoU gains and mean IoU@K for each K."""
    values: dict[str, float] = {}
    for k in ks:
        values[f"ndcg@{k}"] = ndcg_at_k(ious, k, ideal_gains)
        values[f"iou@{k}"] = mean_iou_at_k(ious, k)
    return QueryMetrics(values, query_id)


def summarize(per_query: Sequence[QueryMetrics]) -> dict[str, float]:
    """Mean of each metric over queries; every query must report the same metrics.

    An empty list gives an empty dict (nothing to average, rather than NaNs in JSON).
    """
    if not per_query:
        return {}
    names = list(per_query[0].values)
    for metrics in per_query:
        if set(metrics.values) != set(names):
            raise ValueError(f"query {metrics.query_id!r} reports other metrics than the first query")
    return {name: float(np.mean([m.values[name] for m in per_query])) for name in names}


@dataclass(frozen=True)
class QueryRun:
    """One evaluated query: its findings, the ranked hits' findings, and the collection's counts."""

    query: Findings
    hits: Sequence[Findings]
    judgement: CollectionJudgement
    query_id: str = ""


@dataclass(frozen=True)
class RetrievalReport:
    """Means over queries per relevance rule, graded metrics, and timing; see ``as_dict``."""

    ks: tuple[int, ...]
    uncertain_as: str
    n_queries: int
    rules: dict[str, dict[str, float]]
    graded: dict[str, float]
    no_relevant: dict[str, int]
    timing: dict[str, float] | None = None
    per_query: dict[str, list[QueryMetrics]] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly: plain str/int/float/list/dict, per-query values left out."""
        out: dict[str, Any] = {
            "ks": list(self.ks),
            "uncertain_as": self.uncertain_as,
            "n_queries": self.n_queries,
            "no_relevant": dict(self.no_relevant),
            **{name: dict(means) for name, means in self.rules.items()},
            "graded": dict(self.graded),
        }
        if self.timing is not None:
            out["timing"] = dict(self.timing)
        return out


def retrieval_report(
    runs: Sequence[QueryRun],
    ks: Sequence[int] = DEFAULT_KS,
    uncertain_as: UncertainAs = "negative",
    ignore: frozenset[str] = IGNORED,
    timings_ms: Sequence[float] | None = None,
) -> RetrievalReport:
    """Judge every run's hits under each rule, score them, and average over queries.

    Each run's ``judgement`` must have been made with the same ``uncertain_as`` and
    ``ignore``, or the recall denominators would count a different notion of relevant.
    """
    ks = tuple(ks)
    if not ks:
        raise ValueError("no K values")
    for k in ks:
        _check_k(k)
    per_rule: dict[str, list[QueryMetrics]] = {name: [] for name in RULES}
    graded: list[QueryMetrics] = []
    no_relevant = dict.fromkeys(RULES, 0)
    for run in runs:
        judged = run.judgement
        if judged.uncertain_as != uncertain_as or judged.ignore != frozenset(ignore):
            raise ValueError(f"query {run.query_id!r} was judged with other uncertain_as/ignore settings")
        rels, ious = judge_hits(run.query, run.hits, uncertain_as, ignore)
        for name in RULES:
            n_relevant = judged.n_relevant[name]
            no_relevant[name] += n_relevant == 0
            per_rule[name].append(binary_metrics(rels[name], n_relevant, ks, run.query_id))
        graded.append(graded_metrics(ious, judged.ideal_gains, ks, run.query_id))
    return RetrievalReport(
        ks=ks,
        uncertain_as=uncertain_as,
        n_queries=len(runs),
        rules={name: summarize(metrics) for name, metrics in per_rule.items()},
        graded=summarize(graded),
        no_relevant=no_relevant,
        timing=timing_stats(timings_ms) if timings_ms is not None else None,
        per_query={**per_rule, "graded": graded},
    )
