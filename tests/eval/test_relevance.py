"""Relevance rules on positive label sets, checked on small hand-made cases."""

from __future__ import annotations

import pytest

from cxrviewer.eval.relevance import (
    RULES,
    exact_match,
    finding_iou,
    judge_collection,
    judge_hits,
    positive_set,
    set_counts,
    shares_positive,
)

E, C, A, SD, NF = "Pleural Effusion", "Cardiomegaly", "Atelectasis", "Support Devices", "No Finding"

NORMAL_CODED = {NF: "positive", E: "negative"}  # a dataset that codes No Finding
NORMAL_BARE: dict[str, str] = {}  # one that codes nothing for a normal study
EC = {E: "positive", C: "positive"}
E_ONLY = {E: "positive", C: "negative"}
C_E_UNC = {C: "positive", E: "uncertain"}
A_ONLY = {A: "positive"}


def test_positive_set_counts_uncertain_only_when_asked() -> None:
    assert positive_set(C_E_UNC) == {C}
    assert positive_set(C_E_UNC, uncertain_as="negative") == {C}
    assert positive_set(C_E_UNC, uncertain_as="positive") == {C, E}


def test_no_finding_is_dropped_so_normal_is_the_empty_set() -> None:
    assert positive_set(NORMAL_CODED) == frozenset()
    assert positive_set(NORMAL_BARE) == frozenset()


def test_ignore_can_drop_support_devices() -> None:
    findings = {SD: "positive", E: "positive"}
    assert positive_set(findings) == {SD, E}  # kept by default, as in the CheXpert vector
    assert positive_set(findings, ignore={NF, SD}) == {E}


def test_bad_status_and_bad_uncertain_as_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown status"):
        positive_set({E: "1.0"})
    with pytest.raises(ValueError, match="uncertain_as"):
        positive_set(EC, uncertain_as="ignore")  # type: ignore[arg-type]


def test_exact_match() -> None:
    assert exact_match(EC, {C: "positive", E: "positive", A: "negative"})  # negatives don't matter
    assert not exact_match(EC, E_ONLY)  # {E, C} != {E}
    assert exact_match(NORMAL_CODED, NORMAL_BARE)  # two normals match, coded or not
    assert not exact_match(EC, C_E_UNC)  # {E, C} != {C}
    assert exact_match(EC, C_E_UNC, uncertain_as="positive")  # {E, C} == {C, E}


def test_shares_positive() -> None:
    assert shares_positive(EC, E_ONLY)  # share E
    assert not shares_positive(EC, A_ONLY)  # disjoint
    assert shares_positive(NORMAL_BARE, NORMAL_CODED)  # normal query, normal hit
    assert not shares_positive(NORMAL_BARE, A_ONLY)  # normal query, abnormal hit
    assert not shares_positive(A_ONLY, NORMAL_BARE)  # abnormal query, normal hit
    assert not shares_positive(A_ONLY, {A: "uncertain"})
    assert shares_positive(A_ONLY, {A: "uncertain"}, uncertain_as="positive")


def test_finding_iou() -> None:
    assert finding_iou(EC, E_ONLY) == pytest.approx(1 / 2)  # {E} / {E, C}
    assert finding_iou(EC, {E: "positive", A: "positive"}) == pytest.approx(1 / 3)  # {E} / {E, C, A}
    assert finding_iou(EC, EC) == 1.0
    assert finding_iou(NORMAL_CODED, NORMAL_BARE) == 1.0  # both empty
    assert finding_iou(NORMAL_BARE, A_ONLY) == 0.0  # {} / {A}


def test_judge_hits_keeps_rank_order() -> None:
    rels, ious = judge_hits(EC, [E_ONLY, EC, A_ONLY])
    assert set(rels) == set(RULES) == {"exact", "any_shared"}
    assert rels["exact"] == [False, True, False]
    assert rels["any_shared"] == [True, True, False]
    assert ious == pytest.approx([0.5, 1.0, 0.0])


COLLECTION = [EC, E_ONLY, NORMAL_CODED, C_E_UNC, A_ONLY]


def test_judge_collection_counts_and_ideal_gains() -> None:
    # Query {E, C}; sets: {E,C}, {E}, {}, {C}, {A}.
    # exact: only {E,C} -> 1. any_shared: {E,C}, {E}, {C} -> 3.
    # IoU: 1, 1/2, 0, 1/2, 0 -> ideal gains (non-zero, best first) 1, .5, .5.
    judged = judge_collection(EC, set_counts(COLLECTION))
    assert judged.n_relevant == {"exact": 1, "any_shared": 3}
    assert judged.ideal_gains == pytest.approx((1.0, 0.5, 0.5))
    assert judged.uncertain_as == "negative"


def test_judge_collection_uncertain_as_positive() -> None:
    # C_E_UNC becomes {C, E}: exact 2 ({E,C} twice), any_shared still 3; IoU 1, .5, 0, 1, 0.
    counts = set_counts(COLLECTION, uncertain_as="positive")
    judged = judge_collection(EC, counts, uncertain_as="positive")
    assert judged.n_relevant == {"exact": 2, "any_shared": 3}
    assert judged.ideal_gains == pytest.approx((1.0, 1.0, 0.5))


def test_judge_collection_normal_query() -> None:
    # Normal query: only the normal case is relevant under both rules, IoU 1 for it alone.
    judged = judge_collection(NORMAL_BARE, set_counts(COLLECTION))
    assert judged.n_relevant == {"exact": 1, "any_shared": 1}
    assert judged.ideal_gains == (1.0,)


def test_query_in_collection_is_taken_out_once() -> None:
    with_query = set_counts([EC, *COLLECTION])  # {E,C} counted twice
    loo = judge_collection(EC, with_query, query_in_collection=True)
    assert loo == judge_collection(EC, set_counts(COLLECTION))
    with pytest.raises(ValueError, match="query_in_collection"):
        judge_collection({A: "positive", C: "positive"}, with_query, query_in_collection=True)


def test_keep_truncates_ideal_gains() -> None:
    judged = judge_collection(EC, set_counts(COLLECTION), keep=2)
    assert judged.ideal_gains == pytest.approx((1.0, 0.5))
    assert judged.n_relevant == {"exact": 1, "any_shared": 3}  # counts are never truncated
