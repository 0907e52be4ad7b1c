"""Plain-data parts: film grid, rank correlation, pointing game, the cache, a light import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cxrviewer.explain import SaliencyCache, SaliencyMap, TextTarget, to_film_grid
from cxrviewer.explain.checks import pointing_game, pointing_hit, spearman


def _map(values: np.ndarray) -> SaliencyMap:
    return SaliencyMap(np.asarray(values, np.float32), "gradcam", "t", 0.0)


def test_film_grid_stretches_the_square_map_back_over_the_film():
    values = np.zeros((32, 32), np.float32)
    values[:8, 24:] = 1.0  # top-right quarter-ish of the model input
    film = to_film_grid(_map(values), 300, 200)
    assert film.shape == (300, 200) and film.dtype == np.float32
    assert film[:60, 160:].mean() > 0.9 and film[150:, :100].max() == 0.0


def test_spearman():
    a = np.arange(100, dtype=float)
    assert spearman(a, a * 3 + 1) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    assert spearman(a, np.ones(100)) == 0.0
    ties = np.array([1, 1, 2, 3.0])
    assert spearman(ties, np.array([0, 0, 5, 9.0])) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    assert abs(spearman(rng.random(4096), rng.random(4096))) < 0.05


def test_pointing_game_with_tolerance():
    mask = np.zeros((128, 128), bool)
    mask[40:50, 40:50] = True
    peak_in = np.zeros((32, 32))
    peak_in[11, 11] = 1
    peak_near = np.zeros((128, 128))
    peak_near[55, 45] = 1
    assert pointing_hit(peak_in, mask)
    assert not pointing_hit(peak_near, mask) and pointing_hit(peak_near, mask, tolerance=8)
    assert not pointing_hit(np.zeros((32, 32)), mask)  # no evidence is no hit
    assert pointing_game([peak_in, peak_near], [mask, mask]) == 0.5


def test_cache_is_lru_and_keyed_by_film_target_model_method():
    cache = SaliencyCache(capacity=2)
    keys = [SaliencyCache.key(f"film{i}", TextTarget("edema"), "m", "ig") for i in range(3)]
    assert keys[0] != SaliencyCache.key("film0", TextTarget("edema"), "m", "gradcam")
    calls = []
    make = lambda: calls.append(1) or _map(np.zeros((2, 2)))  # noqa: E731
    cache.get_or_compute(keys[0], make)
    cache.get_or_compute(keys[1], make)
    cache.get_or_compute(keys[0], make)  # hit; keys[1] is now the oldest
    cache.get_or_compute(keys[2], make)
    assert len(calls) == 3 and len(cache) == 2
    assert cache.get(keys[1]) is None and cache.get(keys[0]) is not None


def test_importing_explain_stays_light():
    code = ("import sys, cxrviewer.explain, cxrviewer.explain.cli, cxrviewer.explain.pointing; "
            "print(sorted(m for m in ('torch', 'timm', 'transformers', 'faiss') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
