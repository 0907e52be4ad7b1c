"""Fréchet distance, nearest neighbours, the side reader and the degradations on made-up features and films."""

from __future__ import annotations

import numpy as np
import pytest


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift() -> None:
    from cxrviewer.synthesis.metrics import frechet_distance

    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 16))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifts = [0.1, 0.5, 1.0, 2.0]
    values = [frechet_distance(a, a + s) for s in shifts]
    # a mean shift of s in each of 16 dimensions adds 16 s^2, and only that
    np.testing.assert_allclose(values, [16 * s * s for s in shifts], rtol=1e-6)
    centred = a - a.mean(axis=0)
    wider = frechet_distance(centred, centred * 2.0)  # same mean, double spread: tr(S) + tr(4S) - 2 tr(2S)
    assert wider == pytest.approx(np.trace(np.cov(a, rowvar=False)), rel=1e-6)


def test_frechet_distance_of_two_samples_of_one_distribution_is_small() -> None:
    from cxrviewer.synthesis.metrics import frechet_distance

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    assert frechet_distance(a, b) < 0.1 < frechet_distance(a, b + 0.5)
    with pytest.raises(ValueError):
        frechet_distance(a, b[:, :4])


def test_nearest_neighbours_can_leave_pairs_out() -> None:
    from cxrviewer.synthesis.metrics import cosine_distances, nearest

    x = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    d = cosine_distances(x, x)
    dist, index = nearest(d, exclude=np.eye(3, dtype=bool))
    assert index.tolist() == [1, 0, 1]
    assert dist[0] == pytest.approx(d[0, 1])


def test_the_side_reader_finds_the_half_with_the_finding() -> None:
    from cxrviewer.synthesis.metrics import mirrored, read_sides

    film = np.zeros((8, 8), np.uint8)
    film[2:4, 6:8] = 200  # on the image's right: the patient's left on a PA film
    assert mirrored(film, "left")[2:4, 0:2].min() == 200
    assert mirrored(film, "right").max() == 0

    def brightness(films):  # a "finding model" that sees one finding: bright pixels
        return np.array([[float(np.asarray(f).max())] for f in films])

    assert read_sides([film, film[:, ::-1]], [0, 0], brightness).tolist() == ["left", "right"]


def test_false_alarms_name_the_findings_the_misread_films_asked_for() -> None:
    from cxrviewer.synthesis.metrics import false_alarms

    rng = np.random.default_rng(0)
    n, labels = 400, ["Consolidation", "Pneumothorax", "Edema", "Mass"]
    present = (rng.random((n, 4)) < 0.15).astype(int)
    scores = rng.random(n) * 0.3 + 0.6 * present[:, 0]  # the reader finds consolidation where requested
    drawn_like_it = (present[:, 1] == 1) & (present[:, 0] == 0)
    scores[drawn_like_it] += 0.6  # ... and also on the pneumothorax films
    found = false_alarms(scores, present, labels, 0)
    assert found["films"] == int(((present[:, 0] == 0) & (scores >= np.median(scores[present[:, 0] == 1]))).sum())
    named = [row["finding"] for row in found["requested_instead"]]
    assert named[0] == "Pneumothorax" and "Consolidation" not in named and "Edema" not in named
    first = found["requested_instead"][0]
    assert first["share"] > 0.9 and first["overall"] < 0.25
    # a reader with no such confusion names nobody; too few requested films say nothing
    clean = rng.random(n) * 0.3 + 0.6 * present[:, 0]
    assert false_alarms(clean, present, labels, 0)["requested_instead"] == []
    assert false_alarms(scores, np.zeros((n, 4), int), labels, 0) == {"films": 0, "requested_instead": []}


def test_the_summary_says_what_a_missed_finding_was_taken_for() -> None:
    from cxrviewer.synthesis.benchmark import summary

    def finding(auroc: float, alarms: list[dict[str, object]]) -> dict[str, object]:
        return {"auroc": auroc, "real_films_auroc": 0.91, "reader_validation_auroc": 0.9, "requested": 66,
                "not_requested": 504, "false_alarms": {"films": 146, "requested_instead": alarms},
                "real_films_false_alarms": {"films": 26, "requested_instead": []}}

    ptx = [{"finding": "Pneumothorax", "share": 0.308, "overall": 0.101}]
    mem = {"generated_to_train_median": 0.1, "train_to_train_median": 0.1, "copy_threshold": 0.01, "flagged": 0}
    result = {"generator": {"name": "g", "arch": "projection", "training": {"steps": 1, "seconds": 60}},
              "library": "lib", "held_out": {"films": 570, "splits": ["valid", "test"]}, "encoder": "demo-clip",
              "frechet_encoder": {"generator": 0.1, "floor": 0.02}, "fid_inception": {"skipped": "no file"},
              "conditioning": {"reader": "demo-clip", "bar": "AUROC >= 0.85",
                               "findings": {"Consolidation": finding(0.687, ptx), "Edema": finding(0.99, ptx)},
                               "strong_findings": ["Consolidation", "Edema"], "strong_met": ["Edema"]},
              "memorisation": {"generated_films": 570, "encoder": mem, "pixels": mem}}
    text = summary(result)
    assert ("Consolidation on generated films: read where not requested on 146 films, which asked for "
            "Pneumothorax (31%; 10% of all)") in text
    assert "Consolidation on real films: read where not requested on 26 films" in text
    assert "Edema on generated films" not in text  # met: nothing to explain
    result["conditioning"]["findings"]["Consolidation"]["real_films_degraded_auroc"] = {"detail_4px": 0.808,
                                                                                          "grain_6pct": 0.794}
    assert ("Consolidation on real films made slightly imperfect: detail 4px 0.808, grain 6pct 0.794 (real films as "
            "they are 0.91") in summary(result)


def test_degraded_films_lose_fine_detail_or_gain_grain_and_keep_the_rest() -> None:
    from cxrviewer.synthesis.metrics import DEGRADATIONS, degraded

    y, x = np.mgrid[:128, :128]
    fine = np.where((x + y) % 2 == 0, 200, 50).astype(np.uint8)  # 1-px checkerboard: detail finer than 4 px
    coarse = np.where((x // 32 + y // 32) % 2 == 0, 200, 50).astype(np.uint8)  # 32-px blocks
    films = np.stack([fine, coarse])
    blurred = degraded(films, "detail_4px").astype(float)
    assert blurred.shape == films.shape and blurred.dtype == float
    assert blurred[0].std() < 2  # the checkerboard is gone
    assert abs(blurred[1][8:24, 8:24].mean() - 200) < 1 and abs(blurred[1][40:56, 8:24].mean() - 50) < 1  # blocks stay
    grainy = degraded(films, "grain_6pct", seed=1).astype(float)
    assert 0.05 * 255 < (grainy[1] - coarse)[8:24, 8:24].std() < 0.07 * 255
    assert abs((grainy[1] - coarse).mean()) < 1
    assert np.array_equal(degraded(films, "grain_6pct", seed=1), degraded(films, "grain_6pct", seed=1))
    assert set(DEGRADATIONS) == {"detail_4px", "grain_6pct"}
    with pytest.raises(ValueError, match="detail_4px"):
        degraded(films, "sharpen")
