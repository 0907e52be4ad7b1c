"""``eval synthesis``: how close, how obedient and how original a generator's films are.

All on a library's held-out films (default: its valid and test splits; the generator trained on
the train split), each case's report giving one generated film:

- **Fréchet distance** in the feature space of the library's own image encoder (and Inception-v3
  when a local weight file is given). The held-out cases are cut into two patient-disjoint
  halves A and B; the generator's figure is the mean of FD(films generated for A's reports, B's
  real films) and the reverse, and the **floor** is FD(A's real films, B's real films): the same
  sizes and the same reports, so the floor is what a perfect generator would score. Real films
  go through the generator's 128 px first, as generated ones do. The **reference design** is
  trained in the same run for the generator's own training time (or given) and scored the same way.
- **Conditioning**: the library's validated finding model reads every generated film; per
  finding, the AUROC of "requested" (stated positive in the report) against "not requested"
  (not stated, or stated absent); uncertain mentions count as neither. Beside it the same
  model's AUROC on the real films of the same reports, on the same real films slightly imperfect
  (detail finer than 4 px lost; a 6 % grain: the reader's margin, since a generator's films are
  never exactly real), and its **false alarms**: which other findings the films it wrongly reads
  as this one were asked for (on real films: the reader's own confusion; on generated ones: the
  generator's). **Side agreement** for findings stated on
  one side: the model reads the film with each half mirrored over the other
  (:func:`~cxrviewer.synthesis.metrics.read_sides`); measured on the real films too, as that
  method's own ceiling.
- **Memorisation**: each generated film's distance to its nearest training film (encoder space
  and pixel space), against the training films' distances to their nearest training film of
  another patient; a generated film nearer than the 1st percentile of those is flagged as a copy.

The films measured are the generator's raw output; the "SYNTHETIC" mark is added to what is
written or shown, not to what is measured.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.synthesis import metrics as M
from cxrviewer.synthesis.condition import requested

Report = Callable[[str], None]
HELD_OUT = ("valid", "test")
STRONG = 0.85  # the bar: findings the reader itself reads at this AUROC or more


@dataclass(frozen=True)
class Films:
    """Held-out or training films of a library at the generator's size, with their reports."""

    images: np.ndarray
    texts: tuple[str, ...]
    patients: tuple[str, ...]
    case_ids: tuple[str, ...]


def load_films(library: Path, splits: Sequence[str], workers: int = 2) -> Films:
    from cxrviewer.train.data import load_cases

    cases = load_cases(library, list(splits), 128, need_text=True, workers=workers)
    return Films(cases.images, cases.texts, cases.patients, cases.case_ids)


def halves(patients: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Two patient-disjoint halves (indices), by a hash of the patient id."""
    side = np.array([hashlib.sha256(f"half:{p}".encode()).digest()[0] % 2 for p in patients])
    return np.flatnonzero(side == 0), np.flatnonzero(side == 1)


def fd_figures(real: np.ndarray, generated: dict[str, np.ndarray], a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """Floor and each generator's FD (features given), as described above."""
    out: dict[str, Any] = {"floor": M.frechet_distance(real[a], real[b])}
    for name, feats in generated.items():
        there, back = M.frechet_distance(feats[a], real[b]), M.frechet_distance(feats[b], real[a])
        out[name] = (there + back) / 2
    return out


def conditioning_figures(probabilities: np.ndarray, real_probabilities: np.ndarray, texts: Sequence[str],
                         reader_labels: Sequence[str], card: Any,
                         degraded_probabilities: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    from cxrviewer.train.metrics import auroc

    present, _ = requested(texts, reader_labels)
    findings: dict[str, Any] = {}
    for j, label in enumerate(reader_labels):
        yes, no = present[:, j] == 1, present[:, j] == 0
        if yes.sum() < 2 or no.sum() < 2:
            continue
        keep = yes | no
        figure = {"auroc": _round(auroc(yes[keep].astype(np.float32), probabilities[keep, j])),
                  "real_films_auroc": _round(auroc(yes[keep].astype(np.float32), real_probabilities[keep, j])),
                  "reader_validation_auroc": card.auroc(label) if card is not None else None,
                  "requested": int(yes.sum()), "not_requested": int(no.sum()),
                  "false_alarms": M.false_alarms(probabilities[:, j], present, reader_labels, j),
                  "real_films_false_alarms": M.false_alarms(real_probabilities[:, j], present, reader_labels, j)}
        if degraded_probabilities:  # the reader's margin: its reading of real films made slightly imperfect
            figure["real_films_degraded_auroc"] = {
                kind: _round(auroc(yes[keep].astype(np.float32), probs[keep, j]))
                for kind, probs in degraded_probabilities.items()}
        findings[label] = figure
    strong = {k: f for k, f in findings.items() if (f["reader_validation_auroc"] or 0) >= STRONG}
    met = [k for k, f in strong.items() if f["auroc"] is not None and f["auroc"] >= STRONG]
    return {"findings": findings, "strong_findings": sorted(strong), "strong_met": sorted(met),
            "bar": f"AUROC >= {STRONG} for the findings the reader reads at >= {STRONG}"}


def side_figures(films: np.ndarray, real: np.ndarray, texts: Sequence[str], labels: Sequence[str],
                 predict: Callable[[list[np.ndarray]], np.ndarray], minimum: int = 5) -> dict[str, Any]:
    present, side = requested(texts, labels)
    out: dict[str, Any] = {}
    for j, label in enumerate(labels):
        rows = np.flatnonzero((present[:, j] == 1) & (side[:, j] != ""))
        if len(rows) < minimum:
            continue
        stated = side[rows, j]
        gen = M.read_sides([films[i] for i in rows], [j] * len(rows), predict)
        ref = M.read_sides([real[i] for i in rows], [j] * len(rows), predict)
        out[label] = {"n": len(rows), "agreement": _round(float((gen == stated).mean())),
                      "real_films_agreement": _round(float((ref == stated).mean()))}
    return out


def memorisation_figures(gen_feats: np.ndarray, train_feats: np.ndarray, gen_pix: np.ndarray,
                         train_pix: np.ndarray, train_patients: Sequence[str], case_ids: Sequence[str],
                         train_ids: Sequence[str]) -> dict[str, Any]:
    same = np.asarray(train_patients)[:, None] == np.asarray(train_patients)[None, :]
    out: dict[str, Any] = {"training_films": len(train_feats), "generated_films": len(gen_feats)}
    for space, g, t in (("encoder", gen_feats, train_feats), ("pixels", gen_pix, train_pix)):
        train_nn, _ = M.nearest(M.cosine_distances(t, t), exclude=same)
        gen_nn, index = M.nearest(M.cosine_distances(g, t))
        threshold = float(np.percentile(train_nn, 1))
        flagged = np.flatnonzero(gen_nn < threshold)
        out[space] = {"generated_to_train_median": _round(float(np.median(gen_nn))),
                      "train_to_train_median": _round(float(np.median(train_nn))),
                      "copy_threshold": _round(threshold), "flagged": len(flagged),
                      "flagged_examples": [{"for_case": case_ids[i], "nearest_training_case": train_ids[index[i]],
                                            "distance": _round(float(gen_nn[i]))} for i in flagged[:10]]}
    return out


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def reader_for(library: Any, reader: str | None) -> Any:
    """The library's validated finding model (loaded): ``reader`` when named, else the library's
    own model when it has a finding head, else the best installed model that may read films of
    the library's kind. Generated films are read as films of the library's kind: what they were
    made to look like (this is the evaluation's only reading of them)."""
    from cxrviewer.models.classify import choose_finding_model, film_domain
    from cxrviewer.models.encoders import load_encoder
    from cxrviewer.models.registry import get_spec

    preferred = None
    if reader:
        preferred = get_spec(reader)
    elif library.manifest.route != "labels":
        try:
            preferred = library.encoder_spec()
        except Exception:  # noqa: BLE001 - then the installed models are asked
            preferred = None
    choice = choose_finding_model(film_domain(library.manifest.synthetic), preferred)
    if choice.spec is None:
        raise ValueError(f"no finding model may read this library's films: {choice.refusal}")
    return load_encoder(choice.spec)


def evaluate(library: Path, generator: Any, *, reference: Any = None, reference_note: str = "",
             splits: Sequence[str] = HELD_OUT, reader: str | None = None, inception: Any = None,
             seed: int = 0, workers: int = 2, report: Report | None = None) -> dict[str, Any]:
    """The figures above, as a JSON-ready dict. ``generator`` and ``reference`` are loaded
    :class:`~cxrviewer.synthesis.sample.Generator`s (``reference`` may be None)."""
    from cxrviewer.library.library import Library

    say = report or (lambda message: None)
    say("decoding the held-out films")
    held = load_films(library, splits, workers)
    if len(held.images) < 8:
        raise ValueError(f"library {library} has {len(held.images)} held-out films with a report in "
                         f"{', '.join(splits)}; need at least 8")
    say("decoding the training films")
    train = load_films(library, ["train"], workers)
    with Library.open(library, check_index=False) as lib:
        say("loading the finding model and the image encoder")
        finding_model = reader_for(lib, reader)
        encoder = lib.encoder if lib.manifest.route != "labels" else finding_model
        name = lib.name
    designs = {"generator": generator} | ({"reference": reference} if reference is not None else {})
    films: dict[str, np.ndarray] = {}
    for key, model in designs.items():
        say(f"generating {len(held.texts)} films with {model.name}")
        films[key] = model.films(held.texts, seed=seed)
    say("encoding films")

    def encode(images: Any) -> np.ndarray:
        return np.asarray(encoder.encode_images(list(images), batch_size=64))

    real_feats = encode(held.images)
    gen_feats = {key: encode(images) for key, images in films.items()}
    a, b = halves(held.patients)
    result: dict[str, Any] = {
        "library": name, "date": datetime.date.today().isoformat(), "seed": seed,
        "generator": {"name": generator.name, "arch": generator.config["arch"], "truncation": generator.truncation,
                      "training": _training(generator)},
        "held_out": {"splits": list(splits), "films": len(held.images), "half_a": len(a), "half_b": len(b)},
        "encoder": encoder.spec.name,
        "frechet_encoder": _rounded(fd_figures(real_feats, gen_feats, a, b)),
    }
    if reference is not None:
        result["reference"] = {"name": reference.name, "arch": reference.config["arch"],
                               "truncation": reference.truncation, "training": _training(reference),
                               "note": reference_note}
    if inception is not None:
        say("Inception-v3 features")
        inc_real = inception(held.images)
        figures = fd_figures(inc_real, {k: inception(v) for k, v in films.items()}, a, b)
        result["fid_inception"] = {**_rounded(figures), "network": inception.kind, "exact": inception.exact}
    else:
        result["fid_inception"] = {"skipped": "no Inception-v3 weight file given (--inception-weights FILE); "
                                              "nothing is downloaded"}
    say(f"reading the films with {finding_model.spec.name}")
    labels = list(finding_model.label_names)
    def predict(images: Any) -> np.ndarray:
        return np.asarray(finding_model.predict_labels(list(images), batch_size=64))

    real_probs = predict(held.images)
    say("reading real films made slightly imperfect")
    degraded = {kind: predict(M.degraded(held.images, kind, seed)) for kind in M.DEGRADATIONS}
    result["conditioning"] = {"reader": finding_model.spec.name}
    for key, images in films.items():
        part = conditioning_figures(predict(images), real_probs, held.texts, labels, finding_model.card,
                                    degraded if key == "generator" else None)
        target = result["conditioning"] if key == "generator" else result["conditioning"].setdefault("reference", {})
        target.update(part)
    say("reading sides")
    result["side_agreement"] = side_figures(films["generator"], held.images, held.texts, labels, predict)
    say("nearest training films")
    train_feats = encode(train.images)
    result["memorisation"] = memorisation_figures(
        gen_feats["generator"], train_feats, M.pixel_signature(films["generator"]), M.pixel_signature(train.images),
        train.patients, held.case_ids, train.case_ids)
    return result


def _training(model: Any) -> dict[str, Any]:
    training = model.config.get("training", {})
    return {k: training.get(k) for k in ("steps", "seconds", "device", "n_train", "library")}


def _rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: _round(v) if isinstance(v, float) else v for k, v in figures.items()}
