"""Figures of generated films: Fréchet distance, nearest-neighbour distances, the side reader.

The Fréchet distance between two Gaussians fitted to feature sets is
``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^1/2)``; the trace of the square root is taken
as the sum of the square roots of the eigenvalues of ``S1^1/2 S2 S1^1/2`` (symmetric, positive
semi-definite), which needs no scipy and stays real where ``sqrtm`` returns complex noise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between the Gaussians of feature sets ``a`` (n, d) and ``b`` (m, d)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sets must be (n, d) with the same d, not {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each feature set needs at least 2 rows")
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh((s1 + s1.T) / 2)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root1 @ s2 @ root1
    eig = np.linalg.eigvalsh((middle + middle.T) / 2)
    value = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(eig, 0, None)).sum())
    return max(0.0, value)


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) 1 - cosine similarity of the rows of ``a`` and ``b``."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return 1.0 - a @ b.T


def nearest(distances: np.ndarray, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of each row's nearest column; ``exclude`` (n, m) bool masks pairs out."""
    d = np.array(distances, np.float32, copy=True)
    if exclude is not None:
        d[exclude] = np.inf
    index = d.argmin(axis=1)
    return d[np.arange(len(d)), index], index


def pixel_signature(films: np.ndarray, size: int = 64) -> np.ndarray:
    """Films (n, S, S) uint8 -> (n, size * size) mean-centred rows, for pixel-space neighbours
    (their cosine distance is 1 - the films' correlation)."""
    small = block_mean(np.asarray(films, np.float32), size).reshape(len(films), -1)
    return small - small.mean(axis=1, keepdims=True)


def block_mean(films: np.ndarray, cells: int) -> np.ndarray:
    """Films (n, S, S) -> (n, cells, cells), each cell the mean of its S // cells square block."""
    f = films.shape[1] // cells
    return films[:, :cells * f, :cells * f].reshape(len(films), cells, f, cells, f).mean(axis=(2, 4))


def mirrored(film: np.ndarray, keep: str) -> np.ndarray:
    """The film with one half replaced by the mirror image of the other.

    ``keep`` is the patient's side kept, on a film in the usual orientation (the patient's right
    on the viewer's left): "right" keeps the image's left half, "left" its right half."""
    film = np.asarray(film)
    w = film.shape[1]
    half = w // 2
    out = film.copy()
    if keep == "right":
        out[:, w - half:] = film[:, :half][:, ::-1]
    elif keep == "left":
        out[:, :half] = film[:, w - half:][:, ::-1]
    else:
        raise ValueError("keep must be 'left' or 'right'")
    return out


def read_sides(films: Sequence[np.ndarray], columns: Sequence[int],
               predict: Callable[[list[np.ndarray]], np.ndarray]) -> np.ndarray:
    """The side on which a finding model sees each film's finding (column ``columns[i]`` of its
    output): "left" when the film keeping only the patient's left half (mirrored across) reads
    higher for that finding than the one keeping the right half, else "right"."""
    if not len(films):
        return np.zeros(0, dtype="<U5")
    lefts = predict([mirrored(f, "left") for f in films])
    rights = predict([mirrored(f, "right") for f in films])
    rows = np.arange(len(films))
    cols = np.asarray(columns)
    return np.where(lefts[rows, cols] > rights[rows, cols], "left", "right")


def false_alarms(scores: np.ndarray, present: np.ndarray, labels: Sequence[str], column: int,
                 top: int = 3, minimum: int = 5) -> dict[str, object]:
    """Which other findings the films that the reader wrongly ranks as ``column`` were asked for.

    The false alarms are the films where the finding was not requested (``present`` 0) that the
    reader scores above the median film where it was (1). For each other finding: its share among
    the false alarms beside its share among all the films where ``column`` was not requested;
    the ``top`` most over-represented (share at least twice the overall one) are returned. A
    generator whose pneumothorax films read as consolidation shows it here, where the AUROC
    alone only says that consolidation is missed."""
    yes, no = present[:, column] == 1, present[:, column] == 0
    if yes.sum() < 2 or no.sum() < minimum:
        return {"films": 0, "requested_instead": []}
    alarms = no & (scores >= np.median(scores[yes]))
    found: list[tuple[float, str, float, float]] = []
    if alarms.sum() >= minimum:
        for k, label in enumerate(labels):
            share, overall = float((present[alarms, k] == 1).mean()), float((present[no, k] == 1).mean())
            if k != column and share > 0 and share >= 2 * overall:
                found.append((share / max(overall, 1e-9), label, share, overall))
    found.sort(key=lambda row: -row[0])
    return {"films": int(alarms.sum()),
            "requested_instead": [{"finding": label, "share": round(share, 3), "overall": round(overall, 3)}
                                  for _, label, share, overall in found[:top]]}


# mild imperfections of a real film, as a generator's films have them: detail finer than 4 px lost
# (a 4 x 4 average, smoothed back) and a grain of 6 % of the grey range
DEGRADATIONS = ("detail_4px", "grain_6pct")


def degraded(films: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    """uint8 films (n, S, S) with one of :data:`DEGRADATIONS`: how much of a finding's reading
    survives films that are nearly, not exactly, real (the reader's margin for a generator)."""
    x = films.astype(np.float32)
    if kind == "detail_4px":
        from cxrviewer.models.film_fit import squash

        size = x.shape[1]
        out = np.stack([squash(cell, size) for cell in block_mean(x, size // 4)])
    elif kind == "grain_6pct":
        out = x + np.random.default_rng(seed).normal(0.0, 0.06 * 255, x.shape)
    else:
        raise ValueError(f"kind must be one of {', '.join(DEGRADATIONS)}, not {kind!r}")
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
