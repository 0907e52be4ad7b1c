"""Ranking metrics against hand-computed values (the arithmetic is in the comments)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cxrviewer.eval.metrics import (
    QueryMetrics,
    QueryRun,
    average_precision_at_k,
    binary_metrics,
    dcg_at_k,
    graded_metrics,
    hit_at_k,
    mean_iou_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    reciprocal_rank,
    retrieval_report,
    summarize,
    timing_stats,
)
from cxrviewer.eval.relevance import judge_collection, set_counts

L2_3 = math.log2(3)  # discount at rank 2: 1.58496...

# Five hits returned, relevant at ranks 2, 4 and 5; the collection holds 4 relevant items.
REL = [0, 1, 0, 1, 1]
N_REL = 4


def test_hit_at_k() -> None:
    assert hit_at_k(REL, 1) == 0.0  # rank 1 irrelevant
    assert hit_at_k(REL, 2) == 1.0
    assert hit_at_k(REL, 10) == 1.0  # fewer than K returned is fine
    assert hit_at_k([], 5) == 0.0


def test_precision_at_k_divides_by_k() -> None:
    assert precision_at_k(REL, 1) == 0.0
    assert precision_at_k(REL, 5) == pytest.approx(3 / 5)  # 3 relevant in 5
    assert precision_at_k(REL, 10) == pytest.approx(3 / 10)  # only 5 returned, still / 10
    assert precision_at_k([0.5, 0.0, 0.2], 3) == pytest.approx(2 / 3)  # graded: > 0 is relevant


def test_recall_at_k() -> None:
    assert recall_at_k(REL, N_REL, 1) == 0.0
    assert recall_at_k(REL, N_REL, 4) == pytest.approx(2 / 4)  # ranks 2, 4
    assert recall_at_k(REL, N_REL, 10) == pytest.approx(3 / 4)  # ranks 2, 4, 5
    assert recall_at_k([0, 0], 0, 5) == 0.0  # nothing relevant exists: 0 by convention


def test_average_precision_at_k() -> None:
    # AP@5: P@2 = 1/2, P@4 = 2/4, P@5 = 3/5; (0.5 + 0.5 + 0.6) / min(4, 5) = 1.6 / 4 = 0.4
    assert average_precision_at_k(REL, N_REL, 5) == pytest.approx(0.4)
    # AP@3: only rank 2 inside; P@2 = 1/2; 0.5 / min(4, 3) = 1/6
    assert average_precision_at_k(REL, N_REL, 3) == pytest.approx(1 / 6)
    # AP@10 with 5 returned: same sum 1.6, / min(4, 10) = 4 -> 0.4
    assert average_precision_at_k(REL, N_REL, 10) == pytest.approx(0.4)
    # A perfect top 3 scores 1 even with 10 relevant items: (1 + 1 + 1) / min(10, 3) = 1
    assert average_precision_at_k([1, 1, 1], 10, 3) == pytest.approx(1.0)
    # Two relevant at the top, 10 exist, K = 5: (1 + 1) / min(10, 5) = 0.4. (Whole-ranking AP
    # would give 2/10 and AP over the retrieved only 1.0: neither is this metric.)
    assert average_precision_at_k([1, 1, 0, 0, 0], 10, 5) == pytest.approx(0.4)
    # One relevant item, found at rank 3: P@3 = 1/3, / min(1, 5) = 1/3
    assert average_precision_at_k([0, 0, 1], 1, 5) == pytest.approx(1 / 3)
    assert average_precision_at_k([0, 0], 0, 5) == 0.0


def test_counts_smaller_than_returned_relevant_are_refused() -> None:
    with pytest.raises(ValueError, match="n_relevant"):
        recall_at_k([1, 1], 1, 5)
    with pytest.raises(ValueError, match="n_relevant"):
        average_precision_at_k([1], 0, 5)


def test_reciprocal_rank_uses_whole_list() -> None:
    assert reciprocal_rank(REL) == pytest.approx(1 / 2)  # first relevant at rank 2
    assert reciprocal_rank([0] * 11 + [1]) == pytest.approx(1 / 12)  # beyond any K
    assert reciprocal_rank([0, 0, 0]) == 0.0
    assert reciprocal_rank([]) == 0.0


# Wikipedia's DCG example: gains 3, 2, 3, 0, 1, 2.
GAINS = [3, 2, 3, 0, 1, 2]


def test_dcg_at_k() -> None:
    # 3/1 + 2/log2 3 + 3/log2 4 + 0 + 1/log2 6 + 2/log2 7
    # = 3 + 1.26186 + 1.5 + 0 + 0.38685 + 0.71241 = 6.86113
    assert dcg_at_k(GAINS, 6) == pytest.approx(6.86113, abs=1e-5)
    assert dcg_at_k(GAINS, 2) == pytest.approx(3 + 2 / L2_3)
    assert dcg_at_k(GAINS, 10) == dcg_at_k(GAINS, 6)  # short list: nothing more to add


def test_ndcg_with_collection_ideal() -> None:
    # Collection grades 3, 3, 3, 2, 2, 2, 1, 0 -> ideal top 6: 3, 3, 3, 2, 2, 2
    # IDCG@6 = 3 + 1.89279 + 1.5 + 0.86135 + 0.77371 + 0.71241 = 8.74026
    # nDCG@6 = 6.86113 / 8.74026 = 0.78500
    ideal = [0, 2, 3, 1, 2, 3, 2, 3]  # any order
    assert ndcg_at_k(GAINS, 6, ideal) == pytest.approx(0.78500, abs=1e-5)


def test_ndcg_falls_back_to_returned_gains() -> None:
    # Returned gains sorted: 3, 3, 2, 2, 1, 0
    # IDCG@6 = 3 + 1.89279 + 1 + 0.86135 + 0.38685 + 0 = 7.14099; 6.86113 / 7.14099 = 0.96081
    assert ndcg_at_k(GAINS, 6) == pytest.approx(0.96081, abs=1e-5)


def test_ndcg_iou_gains_and_edges() -> None:
    # IoU gains 0.5, 0, 1 with collection ideal 1, 1, 0.5:
    # DCG@3 = 0.5 + 0 + 1/2 = 1.0; IDCG@3 = 1 + 1/log2 3 + 0.5/2 = 1.88093 -> 0.53165
    assert ndcg_at_k([0.5, 0.0, 1.0], 3, [1.0, 1.0, 0.5]) == pytest.approx(1.0 / (1 + 1 / L2_3 + 0.25))
    assert ndcg_at_k([0.0, 0.0], 5, []) == 0.0  # nothing in the collection gains
    assert ndcg_at_k([], 5, [1.0]) == 0.0  # nothing returned
    with pytest.raises(ValueError, match="ideal"):
        ndcg_at_k([1.0, 1.0], 2, [1.0])  # returned better than the collection allows


def test_mean_iou_at_k_divides_by_k() -> None:
    assert mean_iou_at_k([1.0, 0.5, 0.0], 2) == pytest.approx(0.75)  # (1 + 0.5) / 2
    assert mean_iou_at_k([1.0, 0.5, 0.0], 5) == pytest.approx(0.3)  # 1.5 / 5, two missing


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k_is_refused(k: object) -> None:
    with pytest.raises(ValueError, match="k must be"):
        precision_at_k(REL, k)  # type: ignore[arg-type]


def test_binary_metrics_names_and_values() -> None:
    m = binary_metrics([0, 1], n_relevant=1, ks=(1, 2), query_id="q")
    assert set(m.values) == {f"{name}@{k}" for name in ("hit", "p", "r", "ap", "ndcg") for k in (1, 2)} | {"mrr"}
    # ndcg@2 with binary gains: DCG = 1/log2 3, ideal one relevant at rank 1 -> 0.63093
    assert m.values["ndcg@2"] == pytest.approx(1 / L2_3)
    assert m.values["ap@2"] == pytest.approx(0.5)  # P@2 = 1/2, / min(1, 2)
    assert m.values["mrr"] == pytest.approx(0.5)
    assert m.query_id == "q"


def test_graded_metrics() -> None:
    # IoU [1, 0.5] vs collection ideal [1, 1]: nDCG@2 = (1 + 0.5/log2 3) / (1 + 1/log2 3);
    # mean IoU@2 = 0.75, @1 = 1
    m = graded_metrics([1.0, 0.5], [1.0, 1.0], ks=(1, 2)).values
    assert m == pytest.approx(
        {"ndcg@1": 1.0, "iou@1": 1.0, "ndcg@2": (1 + 0.5 / L2_3) / (1 + 1 / L2_3), "iou@2": 0.75}
    )


def test_summarize_means_over_queries() -> None:
    per_query = [QueryMetrics({"p@1": 1.0, "mrr": 1.0}), QueryMetrics({"p@1": 0.0, "mrr": 0.5})]
    assert summarize(per_query) == pytest.approx({"p@1": 0.5, "mrr": 0.75})
    assert summarize([]) == {}
    with pytest.raises(ValueError, match="other metrics"):
        summarize([QueryMetrics({"p@1": 1.0}), QueryMetrics({"mrr": 1.0}, "q2")])


def test_timing_stats() -> None:
    # mean 25; median (20 + 30) / 2 = 25; p95 at position 0.95 * 3 = 2.85 -> 30 + 0.85 * 10 = 38.5
    assert timing_stats([40.0, 10.0, 30.0, 20.0]) == pytest.approx(
        {"n": 4.0, "mean_ms": 25.0, "p50_ms": 25.0, "p95_ms": 38.5}
    )
    assert timing_stats(np.array([7.0]))["p95_ms"] == 7.0
    with pytest.raises(ValueError, match="no timings"):
        timing_stats([])


# The report: two queries against one five-case collection.
E, C, A, NF = "Pleural Effusion", "Cardiomegaly", "Atelectasis", "No Finding"
C1 = {E: "positive", C: "positive"}  # {E, C}
C2 = {E: "positive"}  # {E}
C3 = {NF: "positive"}  # {} normal
C4 = {C: "positive", E: "uncertain"}  # {C} (uncertain as negative)
C5 = {A: "positive"}  # {A}
COUNTS = set_counts([C1, C2, C3, C4, C5])


def _runs() -> list[QueryRun]:
    q1 = {E: "positive", C: "positive"}
    q2: dict[str, str] = {}
    return [
        # q1 {E, C}: exact relevant C1 only (n=1); any_shared C1, C2, C4 (n=3); ideal IoU 1, .5, .5
        QueryRun(q1, [C2, C1, C5], judge_collection(q1, COUNTS), "q1"),
        # q2 normal: C3 is the one relevant item under both rules; ideal IoU 1
        QueryRun(q2, [C3, C1], judge_collection(q2, COUNTS), "q2"),
    ]


def test_retrieval_report_per_query_values() -> None:
    report = retrieval_report(_runs(), ks=(1, 3))
    q1_exact, q2_exact = (m.values for m in report.per_query["exact"])
    q1_any = report.per_query["any_shared"][0].values
    q1_graded = report.per_query["graded"][0].values
    # q1 exact, rel [0, 1, 0], n=1: P@3 1/3, R@3 1, AP@3 = P@2 / min(1, 3) = 0.5, MRR 0.5,
    # nDCG@3 = (1/log2 3) / 1
    assert q1_exact == pytest.approx(
        {"hit@1": 0, "p@1": 0, "r@1": 0, "ap@1": 0, "ndcg@1": 0,
         "hit@3": 1, "p@3": 1 / 3, "r@3": 1, "ap@3": 0.5, "ndcg@3": 1 / L2_3, "mrr": 0.5}
    )  # fmt: skip
    # q1 any_shared, rel [1, 1, 0], n=3: R@1 1/3, R@3 2/3, AP@1 = 1 / min(3, 1) = 1,
    # AP@3 = (1 + 1) / 3, nDCG@3 = (1 + 1/log2 3) / (1 + 1/log2 3 + 1/2)
    assert q1_any == pytest.approx(
        {"hit@1": 1, "p@1": 1, "r@1": 1 / 3, "ap@1": 1, "ndcg@1": 1,
         "hit@3": 1, "p@3": 2 / 3, "r@3": 2 / 3, "ap@3": 2 / 3,
         "ndcg@3": (1 + 1 / L2_3) / (1 + 1 / L2_3 + 0.5), "mrr": 1}
    )  # fmt: skip
    # q1 graded, IoU [0.5, 1, 0] vs ideal [1, .5, .5]: nDCG@1 = 0.5 / 1;
    # nDCG@3 = (0.5 + 1/log2 3) / (1 + 0.5/log2 3 + 0.5/2) = 1.13093 / 1.56546 = 0.72242
    assert q1_graded == pytest.approx(
        {"ndcg@1": 0.5, "iou@1": 0.5, "ndcg@3": (0.5 + 1 / L2_3) / (1 + 0.5 / L2_3 + 0.25), "iou@3": 0.5}
    )
    # q2 exact, rel [1, 0], n=1: perfect except P@3 = 1/3
    assert q2_exact["p@3"] == pytest.approx(1 / 3)
    assert q2_exact["ap@3"] == q2_exact["ndcg@3"] == q2_exact["mrr"] == 1.0


def test_retrieval_report_means_and_json() -> None:
    report = retrieval_report(_runs(), ks=(1, 3), timings_ms=[10.0, 30.0])
    out = report.as_dict()
    assert json.loads(json.dumps(out)) == out  # plain JSON types only
    assert out["n_queries"] == 2 and out["ks"] == [1, 3] and out["uncertain_as"] == "negative"
    assert out["no_relevant"] == {"exact": 0, "any_shared": 0}
    assert out["exact"]["mrr"] == pytest.approx((0.5 + 1) / 2)
    assert out["exact"]["p@3"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert out["any_shared"]["r@1"] == pytest.approx((1 / 3 + 1) / 2)
    q1_graded_ndcg3 = (0.5 + 1 / L2_3) / (1 + 0.5 / L2_3 + 0.25)  # 0.72242; q2's is 1
    assert out["graded"]["ndcg@3"] == pytest.approx((q1_graded_ndcg3 + 1) / 2)
    assert out["graded"]["iou@3"] == pytest.approx((0.5 + 1 / 3) / 2)  # q2: IoU [1, 0] / 3
    assert out["timing"] == pytest.approx({"n": 2.0, "mean_ms": 20.0, "p50_ms": 20.0, "p95_ms": 29.0})
    assert "per_query" not in out


def test_retrieval_report_counts_queries_without_relevant_items() -> None:
    # A query with findings {A, C}: nothing in the collection equals {A, C} -> exact n=0.
    q = {A: "positive", C: "positive"}
    report = retrieval_report([QueryRun(q, [C5], judge_collection(q, COUNTS))], ks=(1,))
    assert report.no_relevant == {"exact": 1, "any_shared": 0}
    assert report.rules["exact"]["r@1"] == 0.0 and report.rules["exact"]["ap@1"] == 0.0
    assert report.rules["any_shared"]["hit@1"] == 1.0  # C5 shares A
    assert report.timing is None


def test_retrieval_report_refuses_mixed_judging() -> None:
    q = {E: "positive"}
    judged = judge_collection(q, set_counts([C4], uncertain_as="positive"), uncertain_as="positive")
    with pytest.raises(ValueError, match="uncertain_as"):
        retrieval_report([QueryRun(q, [C4], judged)], uncertain_as="negative")


def test_empty_report() -> None:
    out = retrieval_report([]).as_dict()
    assert out["n_queries"] == 0 and out["exact"] == {} and out["graded"] == {}
