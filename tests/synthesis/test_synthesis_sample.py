"""Drawing films: the text steers them, and a seed and a text give one film, always."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def test_different_findings_give_different_films_for_the_same_seed(tiny_generator: Path) -> None:
    from cxrviewer.synthesis.sample import load_generator

    generator = load_generator(tiny_generator, device="cpu")
    effusion = generator.examples("Large left pleural effusion.", n=2, seed=3)
    normal = generator.examples("No acute cardiopulmonary process.", n=2, seed=3)
    assert effusion.shape == normal.shape == (2, 128, 128)
    assert np.abs(effusion.astype(int) - normal.astype(int)).mean() > 0.5


def test_the_same_seed_and_text_give_the_same_film(tiny_generator: Path) -> None:
    from cxrviewer.synthesis.sample import load_generator

    text = "Moderate right pneumothorax."
    first = load_generator(tiny_generator, device="cpu").examples(text, n=3, seed=11)
    again = load_generator(tiny_generator, device="cpu").examples(text, n=3, seed=11)
    np.testing.assert_array_equal(first, again)
    # film i depends on (text, seed, i) only, not on how many are drawn with it
    np.testing.assert_array_equal(load_generator(tiny_generator, device="cpu").examples(text, n=1, seed=11)[0],
                                  first[0])
    other_seed = load_generator(tiny_generator, device="cpu").examples(text, n=1, seed=12)
    assert not np.array_equal(other_seed[0], first[0])
    assert not np.array_equal(first[0], first[1])  # the films of one text differ among themselves


def test_the_findings_vector_reads_side_and_severity() -> None:
    from cxrviewer.synthesis.condition import findings_vectors, requested

    labels = ("Pneumothorax", "Pleural Effusion")
    vectors = findings_vectors(["small left apical pneumothorax", "Large bilateral pleural effusions.",
                                "Possible small right pleural effusion.", "No pneumothorax."], labels)
    # per finding: present, severity, left, right
    np.testing.assert_allclose(vectors[0], [1, 1 / 3, 1, 0, 0, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(vectors[1], [0, 0, 0, 0, 1, 1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(vectors[2][4:], [0.5, 1 / 3, 0, 1], atol=1e-6)
    assert not vectors[3].any()
    present, side = requested(["small left apical pneumothorax", "Possible small right pleural effusion."], labels)
    assert present.tolist() == [[1, 0], [0, -1]]
    assert side[0, 0] == "left"
