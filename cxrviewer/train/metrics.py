"""Validation metrics in numpy: AUROC, F1 and paired-retrieval recall (no sklearn needed)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def auroc(targets: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of one binary problem; NaN when a class is absent.

    Computed as the Mann-Whitney U statistic with average ranks, so tied scores count a half,
    exactly as the trapezoidal ROC area does.
    """
    y = np.asarray(targets, dtype=bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError("targets and scores must have the same length")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(s)
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(values.size, dtype=np.float64)
    boundaries = np.flatnonzero(np.diff(sorted_values)) + 1
    starts = np.concatenate(([0], boundaries))
    stops = np.concatenate((boundaries, [values.size]))
    for start, stop in zip(starts, stops):
        ranks[order[start:stop]] = (start + stop + 1) / 2.0
    return ranks


def f1_score(targets: np.ndarray, predictions: np.ndarray) -> float:
    """F1 of binary predictions; NaN when there are no positives and none were predicted."""
    y = np.asarray(targets, dtype=bool).ravel()
    p = np.asarray(predictions, dtype=bool).ravel()
    tp = int((y & p).sum())
    fp = int((~y & p).sum())
    fn = int((y & ~p).sum())
    if tp + fp + fn == 0:
        return float("nan")
    return 2.0 * tp / (2.0 * tp + fp + fn)


def per_label_metrics(targets: np.ndarray, probabilities: np.ndarray, mask: np.ndarray,
                      names: Sequence[str], threshold: float = 0.5) -> dict[str, float]:
    """``auroc/<label>``, ``f1/<label>`` and their means over labels where they are defined.

    ``mask`` is 0 where a target is not known (an uncertain mention under the "ignore"
    policy): those entries are left out, as they are from the loss.
    """
    out: dict[str, float] = {}
    aurocs, f1s = [], []
    for j, name in enumerate(names):
        keep = np.asarray(mask[:, j]) > 0
        a = auroc(targets[keep, j] > 0.5, probabilities[keep, j])
        f = f1_score(targets[keep, j] > 0.5, probabilities[keep, j] >= threshold)
        out[f"auroc/{name}"], out[f"f1/{name}"] = a, f
        if not np.isnan(a):
            aurocs.append(a)
            f1s.append(0.0 if np.isnan(f) else f)
    out["auroc_mean"] = float(np.mean(aurocs)) if aurocs else float("nan")
    out["f1_mean"] = float(np.mean(f1s)) if f1s else float("nan")
    return out


def paired_recall(image_emb: np.ndarray, text_emb: np.ndarray, groups: Sequence[int] | np.ndarray,
                  ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """R@K of image->text and text->image retrieval among paired validation cases.

    ``groups[i]`` identifies the text of case i; cases whose report text is identical (many
    normal reports are word for word the same) share a group, and retrieving any member of the
    query's group counts as correct: otherwise identical texts would be scored as misses by
    chance. Embeddings must be L2-normalised.
    """
    g = np.asarray(groups)
    sim = np.asarray(image_emb, np.float32) @ np.asarray(text_emb, np.float32).T
    same = g[:, None] == g[None, :]
    out: dict[str, float] = {}
    for direction, scores in (("i2t", sim), ("t2i", sim.T)):
        order = np.argsort(-scores, axis=1, kind="stable")
        hits = np.take_along_axis(same, order, axis=1)
        first = np.where(hits.any(axis=1), hits.argmax(axis=1), hits.shape[1])
        for k in ks:
            out[f"{direction}_r@{k}"] = float(np.mean(first < k))
    for k in ks:
        out[f"mean_r@{k}"] = (out[f"i2t_r@{k}"] + out[f"t2i_r@{k}"]) / 2.0
    return out
