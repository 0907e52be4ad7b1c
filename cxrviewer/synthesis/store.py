"""Generator folders: where they live, what they hold, and finding one by name.

A generator folder holds ``generator.safetensors`` (weights only), ``config.json`` (format
``cxrviewer-generator``: the design, its width, the conditioning, how it was trained),
``card.json`` (a model card: the films it was trained on; its validation is the conditioning
measured by ``eval synthesis``) and, once evaluated, ``evaluation.json``. Trained generators go
to ``<models dir>/generators/<name>``; the shipped one is ``resources/models/demo-synth``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cxrviewer import paths
from cxrviewer.fileio import atomic_write_text
from cxrviewer.synthesis.config import SynthesisConfig

FORMAT = "cxrviewer-generator"
WEIGHTS = "generator.safetensors"
CONFIG = "config.json"
EVALUATION = "evaluation.json"
SHIPPED_GENERATOR = "demo-synth"


class GeneratorError(Exception):
    """A generator that cannot be found or read; the message names the folder."""


def generators_dir() -> Path:
    from cxrviewer.models.registry import models_dir

    return models_dir() / "generators"


def shipped_dir() -> Path:
    return paths.resources_dir() / "models" / SHIPPED_GENERATOR


def output_dirs(cfg: SynthesisConfig) -> tuple[str, Path, Path]:
    """(name, model folder, run folder) with the defaults filled in."""
    name = cfg.name or (Path(cfg.out).name if cfg.out else "synthesis")
    out = Path(cfg.out).expanduser() if cfg.out is not None else generators_dir() / name
    run_dir = Path(cfg.run_dir).expanduser() if cfg.run_dir is not None else paths.data_dir() / "training" / name
    return name, out, run_dir


def check_target(cfg: SynthesisConfig, out: Path) -> None:
    """Fail before training, not after, when the result could not be saved."""
    if cfg.name == SHIPPED_GENERATOR and cfg.out is None:
        raise ValueError(f"{SHIPPED_GENERATOR!r} is the shipped generator's name; pick another --model")
    if out.exists() and any(out.iterdir()) and not (cfg.overwrite or cfg.resume):
        raise FileExistsError(f"a generator named {out.name!r} already exists ({out}); pick another --model "
                              "or pass --overwrite")


def is_generator_folder(folder: Path) -> bool:
    try:
        data = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def resolve(name_or_path: str | Path | None) -> Path:
    """The folder of a generator: a path, a name under the generators folder, or (no name) the
    shipped one. GeneratorError when there is none."""
    if name_or_path is None or str(name_or_path) in ("", SHIPPED_GENERATOR):
        folder = shipped_dir()
        if not is_generator_folder(folder):
            raise GeneratorError(f"the shipped generator is missing ({folder}); train one with "
                                 "`cxrviewer train synthesis --library demo --model NAME`")
        return folder
    text = str(name_or_path)
    candidates = [Path(text).expanduser()] if ("/" in text or "\\" in text or text.startswith(".")) else []
    candidates += [generators_dir() / text, Path(text).expanduser()]
    for folder in candidates:
        if is_generator_folder(folder):
            return folder
    raise GeneratorError(f"no generator named {text!r} (looked in {generators_dir()}); train one with "
                         f"`cxrviewer train synthesis --library L --model {text}` or give its folder")


def read_config(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GeneratorError(f"generator {folder}: {CONFIG} cannot be read ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise GeneratorError(f"{folder} is not a cxrviewer generator folder")
    return data


def save_generator(out: Path, generator: Any, arch: str, width: int, conditioning: Any,
                   training: dict[str, Any], licence: str, truncation: float = 1.0) -> None:
    """Weights (safetensors, fp32, on the CPU) and config.json."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() if v.is_floating_point() else v.detach().cpu().contiguous()
             for k, v in generator.state_dict().items()}
    tmp = out / f".{WEIGHTS}.tmp"
    save_file(state, str(tmp))
    tmp.replace(out / WEIGHTS)
    config = {"format": FORMAT, "version": 1, "arch": arch, "width": width, "size": 128,
              "z_dim": int(generator.z_dim), "cond_dim": int(generator.cond_dim), "truncation": truncation,
              "conditioning": conditioning.to_dict(), "licence": licence, "training": training}
    atomic_write_text(out / CONFIG, json.dumps(config, indent=1) + "\n")


def write_card(out: Path, cfg: SynthesisConfig, n_train: int) -> None:
    """The card: made from films like its library's (real or synthetic demo), trained on them."""
    from cxrviewer.models.card import (
        CARD_FILE,
        CHEST_RADIOGRAPH,
        SYNTHETIC_DEMO,
        ModelCard,
    )
    from cxrviewer.models.card import write_card as write
    from cxrviewer.train.validate import library_facts

    name, real, datasets = library_facts(Path(cfg.library))
    trained_on = f"{name} ({', '.join(datasets) or 'library'}; {n_train:,} training films)"
    card = ModelCard(CHEST_RADIOGRAPH if real else SYNTHETIC_DEMO, (trained_on,), real,
                     f"trained locally with cxrviewer train synthesis ({cfg.arch})", cfg.licence)
    write(out / CARD_FILE, card)


def record_evaluation(folder: Path, evaluation: dict[str, Any]) -> None:
    """Keep an evaluation beside the generator, and its conditioning figures on the card."""
    from cxrviewer.models.card import CARD_FILE, FindingFigure, Validation, read_card
    from cxrviewer.models.card import write_card as write

    atomic_write_text(folder / EVALUATION, json.dumps(evaluation, indent=1) + "\n")
    card = read_card(folder / CARD_FILE)
    conditioning = evaluation.get("conditioning") or {}
    if card is None or not conditioning.get("findings"):
        return
    figures = {label: FindingFigure(f.get("auroc"), int(f.get("requested", 0)), int(f.get("not_requested", 0)))
               for label, f in conditioning["findings"].items()}
    validation = Validation("here", f"conditioning: {conditioning.get('reader', '')} reading films generated for "
                                    f"{evaluation.get('held_out', {}).get('films', 0)} held-out reports of "
                                    f"{evaluation.get('library', '')}",
                            int(evaluation.get("held_out", {}).get("films", 0)), True, card.trained_on_real,
                            evaluation.get("date", ""), "", figures)
    write(folder / CARD_FILE, card.with_validation(validation))
