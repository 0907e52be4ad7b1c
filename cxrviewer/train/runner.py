"""What both tasks do around the loop: paths, name checks, data loading, saving, registering."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer import paths
from cxrviewer.train.config import ProgressFn, TrainConfig, TrainProgress, TrainResult
from cxrviewer.train.data import CaseSet, label_targets, load_cases
from cxrviewer.train.loop import LoopResult

TRAIN_SPLIT, VALID_SPLIT = "train", "valid"


def output_dirs(cfg: TrainConfig) -> tuple[str, Path, Path]:
    """(model name, model folder, run folder) with the defaults filled in."""
    from cxrviewer.models.registry import models_dir

    name = cfg.model_name
    out = Path(cfg.out).expanduser() if cfg.out is not None else models_dir() / name
    run_dir = Path(cfg.run_dir).expanduser() if cfg.run_dir is not None else paths.data_dir() / "training" / name
    return name, out, run_dir


def check_target(cfg: TrainConfig, name: str, out: Path) -> None:
    """Fail before training, not after, when the result could not be saved or registered."""
    from cxrviewer.models.registry import BUILTIN, SHIPPED, imported_specs

    if cfg.register and (name in BUILTIN or name in SHIPPED):
        raise ValueError(f"{name!r} is a built-in model name; pick another --name")
    taken = cfg.register and name in imported_specs()
    if (out.exists() or taken) and not (cfg.overwrite or cfg.resume):
        raise FileExistsError(f"a model named {name!r} already exists ({out}); pick another --name "
                              "or pass --overwrite")


def load_splits(cfg: TrainConfig, report: ProgressFn, need_text: bool) -> tuple[CaseSet, CaseSet]:
    """The library's train and (patient-disjoint) valid cases, decoded at the input size."""
    def loading(split: str) -> Any:
        return lambda done, total: report(TrainProgress("loading", 0, cfg.epochs, 0, 0, done=done,
                                                        total=total, message=f"decoding {split} films"))

    train = load_cases(cfg.library, [TRAIN_SPLIT], cfg.image_size, need_text=need_text,
                       progress=loading(TRAIN_SPLIT))
    valid = load_cases(cfg.library, [VALID_SPLIT], cfg.image_size, need_text=need_text,
                       progress=loading(VALID_SPLIT))
    if len(train) < 2:
        raise ValueError(f"library {cfg.library} has {len(train)} usable training cases; need at least 2")
    if len(valid) < 2:
        raise ValueError(f"library {cfg.library} has {len(valid)} usable validation cases; need at least 2")
    return train, valid


def seed_everything(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def save_model(model: Any, tokenizer: Any | None, cfg: TrainConfig, out: Path, mean: tuple[float, ...],
               std: tuple[float, ...], labels: list[str], training: dict[str, Any]) -> Path:
    """Write the trained model in the cxrviewer format (on the CPU, in fp32)."""
    from transformers.utils import logging as hf_logging

    from cxrviewer.models.cxrformat import save_cxrviewer_encoder

    hf_logging.disable_progress_bar()  # "Writing model shards" bars would interleave with ours
    model = model.float().cpu().eval()
    config: dict[str, Any] = {
        "image": {"timm_name": cfg.image_encoder, "timm_kwargs": dict(cfg.timm_kwargs),
                  "input_size": cfg.image_size, "mean": list(mean), "std": list(std), "in_chans": 3},
        "licence": cfg.licence,
        "training": training,
    }
    text_model = getattr(model, "text_model", None)
    if text_model is not None:
        config["text"] = {"pooling": model.pooling, "max_length": cfg.max_text_length}
        if tokenizer is not None:
            tokenizer.model_max_length = cfg.max_text_length
    return save_cxrviewer_encoder(out, model.image_tower, text_model, tokenizer if text_model is not None else None,
                                  model.heads_state(), config, label_head=model.label_state(),
                                  labels=labels if model.label_head is not None else ())


def calibrate_labels(out: Path, valid: CaseSet, labels: list[str], cfg: TrainConfig) -> None:
    """Put the saved label head's probabilities on the data's scale (see :mod:`.calibrate`),
    fitted on the validation films; the record goes into the model's config.json."""
    if not labels:
        return
    from cxrviewer.train.calibrate import calibrate_saved_model

    targets, mask = label_targets(valid, labels, cfg.uncertain)
    calibrate_saved_model(out, list(valid.images), targets, mask, labels, "the validation split")


def write_model_card(out: Path, cfg: TrainConfig, n_train: int, valid: CaseSet, labels: list[str]) -> None:
    """The trained model's card: made for films like its library's (real or synthetic), trained on
    that library, and, with a finding head, each finding's AUROC and calibration error on the
    patient-disjoint validation split (with the calibrated head, as the app will show it)."""
    from cxrviewer.models.card import CARD_FILE, CHEST_RADIOGRAPH, SYNTHETIC_DEMO, ModelCard, write_card
    from cxrviewer.train.validate import library_facts, validation_record

    name, real, datasets = library_facts(Path(cfg.library))
    start = "ImageNet weights" if cfg.image_weights else "scratch"
    trained_on = f"{name} ({', '.join(datasets) or 'library'}; {n_train:,} training films, from {start})"
    card = ModelCard(CHEST_RADIOGRAPH if real else SYNTHETIC_DEMO, (trained_on,), real,
                     "trained locally with cxrviewer train", cfg.licence)
    if labels:
        from cxrviewer.models.encoders import load_encoder

        model = load_encoder(out, device=cfg.device or None)
        probabilities = model.predict_labels(list(valid.images))
        card = card.with_validation(validation_record(valid, probabilities, labels, f"{name} (valid split)",
                                                      real, True, cfg.uncertain))
    write_card(out / CARD_FILE, card)


def register(name: str, out: Path, licence: str) -> None:
    """Record the model so ``library build --encoder NAME`` finds it."""
    from cxrviewer.models.formats import hash_weights, spec_from_folder
    from cxrviewer.models.registry import models_dir, record_import

    spec = spec_from_folder(out, name=name, licence=licence, fmt="cxrviewer")
    inside = out.resolve().parent == models_dir().resolve()
    spec = dataclasses.replace(spec, folder=out.name if inside else str(out.resolve()),
                               description="trained with cxrviewer train",
                               sha256=tuple(sorted(hash_weights(out, "cxrviewer").items())))
    record_import(spec, replace=True)


def training_summary(cfg: TrainConfig, task: str, loop: LoopResult, n_train: int, n_valid: int) -> dict[str, Any]:
    st = loop.state
    best = st.history[st.best_epoch] if 0 <= st.best_epoch < len(st.history) else {}
    return {"task": task, "library": str(cfg.library), "n_train": n_train, "n_valid": n_valid,
            "epochs_run": st.epoch, "steps": st.step, "best_epoch": st.best_epoch + 1,
            "best": {k: v for k, v in best.items() if isinstance(v, float) and "/" not in k},
            "settings": json.loads(json.dumps(cfg.to_dict(), default=str))}


def result(cfg: TrainConfig, name: str, out: Path | None, run_dir: Path, loop: LoopResult,
           seconds: float, folds: tuple[dict[str, float], ...] = ()) -> TrainResult:
    st = loop.state
    best = st.history[st.best_epoch] if 0 <= st.best_epoch < len(st.history) else {}
    return TrainResult(out, run_dir, name, st.epoch, st.step, st.best_epoch + 1, dict(best),
                       tuple(st.history), seconds, st.stopped_early, folds)
