"""Vectors like a library's embeddings for the benchmarks (``bench library``, ``bench search``
and the metadata store at scale), in a module of their own so that those import no one another."""

from __future__ import annotations

import numpy as np


def clustered(n: int, dim: int, seed: int, centres: int = 2000, noise: float = 0.6) -> np.ndarray:
    """Unit vectors around ``centres`` directions: embeddings of films cluster by content."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    out = np.empty((n, dim), np.float32)
    step = 50_000
    for start in range(0, n, step):
        m = min(step, n - start)
        block = c[rng.integers(0, centres, m)] + noise / np.sqrt(dim) * rng.normal(size=(m, dim)).astype(np.float32)
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out
