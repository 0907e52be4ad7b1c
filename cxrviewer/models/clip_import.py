"""CLIP checkpoints that do not load offline as published -> self-contained open_clip folders.

- An OpenAI-layout CLIP ViT state dict in one ``.pt`` (CheXzero's ``best_64_5e-05_original_
  22000_0.864.pt``: ``torch.save(model.state_dict())`` of OpenAI's CLIP class): its architecture
  is read from the tensor shapes as open_clip's ``build_model_from_openai_state_dict`` does
  (ViT-B/32 gives open_clip's ViT-B-32-quickgelu config), and written as ``open_clip_config.json``
  + ``open_clip_model.safetensors``. Its tokenizer is open_clip's BPE one, inside the package.
- An open_clip folder (BiomedCLIP: ``open_clip_config.json`` + ``open_clip_pytorch_model.bin``,
  text tower named by a hub id): the weights become safetensors and the text tower's config and
  tokenizer (``--text-tower FOLDER``) are copied into ``text/``.

The result always lands in the models folder; reading a pickle needs ``--trust``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path
from typing import Any

from cxrviewer.fileio import atomic_write_text
from cxrviewer.models.card import CARD_FILE, CHEST_RADIOGRAPH, ModelCard, unknown_public_card, write_card
from cxrviewer.models.errors import ModelError
from cxrviewer.models.formats import (
    OPEN_CLIP_PICKLES,
    OPEN_CLIP_WEIGHTS,
    TEXT_DIR,
    TEXT_TOWER_FILES,
    check_safetensors,
    find_licence,
    missing_text_tower,
    read_json,
    sha256_file,
    text_hub_id,
    text_tower_problem,
)
from cxrviewer.models.importers import Imported, ImportRequest, check_name, finish_import, write_into_models_dir
from cxrviewer.models.pickles import PICKLE_SUFFIXES, inspect_pickle, refusal, trusted_load
from cxrviewer.models.registry import FILM_INPUT_FILE, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, models_dir

OPENAI_KEYS = ("visual.conv1.weight", "visual.proj", "token_embedding.weight", "text_projection", "ln_final.weight")
# CheXzero's published checkpoints: best_<batch>_<lr>_<run>_<step>_<AUROC>.pt
CHEXZERO_FILE = re.compile(r"^best_\d+_[0-9.e-]+_[A-Za-z]+_\d+_[0-9.]+\.pt$")
# CheXzero normalises 0-255 films with mean 101.48761 and std 83.43944 (its zero_shot.py)
CHEXZERO_MEAN = (101.48761 / 255,) * 3
CHEXZERO_STD = (83.43944 / 255,) * 3
CHEXZERO_LICENCE = ("MIT (CheXzero's code and checkpoints); trained on MIMIC-CXR, whose PhysioNet "
                    "Credentialed Health Data License applies")
CHEXZERO_CARD = ModelCard(CHEST_RADIOGRAPH, ("MIMIC-CXR (chest radiographs with their reports' impressions)",
                                             "initialised from OpenAI CLIP ViT-B/32 (web image-text pairs)"),
                          True, "CheXzero (Tiu et al., Nature Biomedical Engineering 2022)", CHEXZERO_LICENCE)
KEEP_FILES = ("README.md", "LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE")


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-").lower() or "model"


def openai_model_cfg(state: dict[str, Any]) -> dict[str, Any]:
    """open_clip's model_cfg for an OpenAI-layout CLIP ViT state dict (widths, depths, patch and
    image size, context and vocabulary read from the tensors; heads = width / 64, QuickGELU)."""
    def blocks(prefix: str) -> int:
        return len({k[len(prefix):].split(".")[0] for k in state
                    if k.startswith(prefix) and k.endswith(".attn.in_proj_weight")})

    vision_width, _, patch, _ = state["visual.conv1.weight"].shape
    grid = round((state["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    text_width = state["ln_final.weight"].shape[0]
    return {
        "embed_dim": int(state["text_projection"].shape[1]), "quick_gelu": True,
        "vision_cfg": {"image_size": int(patch * grid), "layers": blocks("visual.transformer.resblocks."),
                       "width": int(vision_width), "patch_size": int(patch)},
        "text_cfg": {"context_length": int(state["positional_embedding"].shape[0]),
                     "vocab_size": int(state["token_embedding.weight"].shape[0]), "width": int(text_width),
                     "heads": int(text_width // 64), "layers": blocks("transformer.resblocks.")},
    }


def _save_weights(state: dict[str, Any], out: Path, source: Path) -> None:
    import torch
    from safetensors.torch import save_file

    tensors = {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ModelError(f"{source} holds no tensors")
    save_file({k: (v.float() if v.is_floating_point() else v).contiguous().clone() for k, v in tensors.items()},
              str(out / OPEN_CLIP_WEIGHTS), metadata={"format": "pt"})


def _check_loads(folder: Path, source: Path) -> None:
    """Build the model on the meta device and compare its keys and shapes with the written
    weights' header (cheap: no tensor is read), so a mismatch is named at import."""
    import torch

    from cxrviewer.models.openclip import build_model, local_model_cfg

    header = check_safetensors(folder / OPEN_CLIP_WEIGHTS, folder)
    try:
        with torch.device("meta"):
            model_cfg, hf_text = local_model_cfg(folder)
            expected = {k: tuple(v.shape) for k, v in build_model(model_cfg, hf_text).state_dict().items()}
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - open_clip / transformers reject the config: say so
        raise ModelError(f"{source}: open_clip cannot build the model its config describes "
                         f"({type(exc).__name__}: {exc})") from None
    found = {k: tuple(v["shape"]) for k, v in header.items() if k != "__metadata__"}
    found.pop("text.transformer.embeddings.position_ids", None)  # older transformers saved it
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = sorted(k for k in set(expected) & set(found) if expected[k] != found[k])
    if missing or extra or wrong:
        detail = "; ".join(f"{what}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                           for what, keys in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong))
                           if keys)
        raise ModelError(f"{source}: the weights do not match the model its config describes ({detail})")


def _write_config(out: Path, model_cfg: dict[str, Any], mean: tuple[float, ...], std: tuple[float, ...],
                  licence: str, source: dict[str, str]) -> None:
    config = {"model_cfg": model_cfg, "preprocess_cfg": {"mean": list(mean), "std": list(std)},
              "licence": licence, "source": source}
    (out / "open_clip_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def import_openai_clip(request: ImportRequest, path: Path) -> Imported:
    """A single-file OpenAI-layout CLIP state dict (CheXzero) -> an open_clip folder."""
    if path.suffix.lower() not in PICKLE_SUFFIXES:
        raise ModelError(f"{path} is not a model folder or a weight file cxrviewer can import (a model folder, "
                         "torchxrayvision weights, or an OpenAI-layout CLIP checkpoint .pt)")
    contents = inspect_pickle(path)
    if not contents.has_keys(*OPENAI_KEYS):
        raise ModelError(f"{path} is neither a torchxrayvision weight file (its name is not in torchxrayvision's "
                         "model table) nor an OpenAI-layout CLIP ViT state dict (it lacks visual.conv1.weight, "
                         "token_embedding.weight ...); import the model's folder instead")
    chexzero = bool(CHEXZERO_FILE.match(path.name))
    origin = ("It holds an OpenAI-layout CLIP ViT state dict"
              + (", named as CheXzero's published checkpoints (github.com/rajpurkarlab/CheXzero)" if chexzero else ""))
    if not request.trust:
        raise ModelError(refusal(path, origin, contents, models_dir()))
    name = request.name or ("chexzero" if chexzero else _safe_name(path.stem))
    check_name(name, request.replace)
    licence = request.licence or (CHEXZERO_LICENCE if chexzero else "unknown")
    notes: list[str] = []

    def fill(out: Path) -> None:
        state, how = trusted_load(path)
        if not isinstance(state, dict) or not all(k in state for k in OPENAI_KEYS):
            raise ModelError(f"{path} does not hold an OpenAI-layout CLIP ViT state dict")
        _save_weights(state, out, path)
        mean, std = (CHEXZERO_MEAN, CHEXZERO_STD) if chexzero else (OPENAI_CLIP_MEAN, OPENAI_CLIP_STD)
        _write_config(out, openai_model_cfg(state), mean, std, licence,
                      {"file": path.name, "sha256": sha256_file(path), "layout": "OpenAI CLIP state dict",
                       "read_with": how})
        _check_loads(out, path)
        card = dataclasses.replace(CHEXZERO_CARD, licence=licence) if chexzero else unknown_public_card(licence)
        write_card(out / CARD_FILE, card)
        if chexzero:  # its films were padded to a square, not squashed (CheXzero's data_process.preprocess)
            atomic_write_text(out / FILM_INPUT_FILE, json.dumps({"fit": "pad"}) + "\n")
        notes.append(how)

    folder = write_into_models_dir(name, fill, request.replace)
    return _record(folder, name, licence, request, path, f"read once with {notes[0]}")


def _record(folder: Path, name: str, licence: str, request: ImportRequest, source: Path, note: str) -> Imported:
    from cxrviewer.models.formats import spec_from_folder

    spec = spec_from_folder(folder, name=name, licence=licence, fmt="open_clip")
    spec = finish_import(folder, dataclasses.replace(spec, folder=name), request.replace)
    return Imported(spec, folder, "converted", source, note)


def import_open_clip_folder(request: ImportRequest, source: Path) -> Imported | None:
    """An open_clip folder that does not load offline as it is (pickled weights, or a text tower
    named by a hub id) -> a converted copy; None when it loads as it is."""
    hub_id = text_hub_id(read_json(source / "open_clip_config.json", source))
    given = request.text_tower if hub_id else None  # a CLIP text tower needs no files of its own
    local = source / TEXT_DIR if hub_id and not text_tower_problem(source / TEXT_DIR) else None
    text_source = given or local
    pickled = [] if (source / OPEN_CLIP_WEIGHTS).is_file() else \
        [source / n for n in OPEN_CLIP_PICKLES if (source / n).is_file()]
    if not pickled and given is None and (local is not None or not hub_id):
        return None  # loads as it is
    if hub_id and text_source is None:
        problem = text_tower_problem(source / TEXT_DIR)
        raise ModelError(missing_text_tower(source, hub_id, f"{problem} and no --text-tower was given"))
    if given is not None:
        problem = text_tower_problem(given)
        if problem:
            raise ModelError(f"--text-tower: {problem}; it must hold the config.json and tokenizer files "
                             f"of {hub_id}")
    if pickled and not request.trust:
        origin = f"It is the weight file of the open_clip model in {source} (open_clip_config.json beside it)"
        raise ModelError(refusal(pickled[0], origin, inspect_pickle(pickled[0]), models_dir()))
    name = request.name or _safe_name(source.name)
    check_name(name, request.replace)
    licence = request.licence or find_licence(source)
    notes: list[str] = []

    def fill(out: Path) -> None:
        for keep in ("open_clip_config.json", *KEEP_FILES):
            if (source / keep).is_file():
                shutil.copy2(source / keep, out / keep)
        if pickled:
            state, how = trusted_load(pickled[0])
            if not isinstance(state, dict):
                raise ModelError(f"{pickled[0]} does not hold a state dict")
            _save_weights(state.get("state_dict", state), out, pickled[0])
            notes.append(f"{pickled[0].name} read once with {how}")
        else:
            shutil.copy2(source / OPEN_CLIP_WEIGHTS, out / OPEN_CLIP_WEIGHTS)
        if text_source is not None:
            (out / TEXT_DIR).mkdir()
            for file in TEXT_TOWER_FILES:
                if (text_source / file).is_file():
                    shutil.copy2(text_source / file, out / TEXT_DIR / file)
            notes.append(f"text tower config and tokenizer from {text_source}")
        _check_loads(out, source)

    folder = write_into_models_dir(name, fill, request.replace)
    return _record(folder, name, licence, request, source, "; ".join(notes))


def complete_download(folder: Path) -> list[str]:
    """After ``models download`` of an open_clip repository (BiomedCLIP): fetch its text tower's
    config and tokenizer into text/ and turn a pickled weight file into safetensors (read with
    torch's restricted unpickler; the file comes from the hub repository the registry names).
    Returns what was done. The one function here that goes online."""
    done = []
    hub_id = text_hub_id(read_json(folder / "open_clip_config.json", folder))
    if hub_id and text_tower_problem(folder / TEXT_DIR):
        from huggingface_hub import snapshot_download

        snapshot_download(repo_id=hub_id, local_dir=str(folder / TEXT_DIR), allow_patterns=list(TEXT_TOWER_FILES))
        done.append(f"text tower config and tokenizer of {hub_id}")
    pickled = [folder / n for n in OPEN_CLIP_PICKLES if (folder / n).is_file()]
    if pickled and not (folder / OPEN_CLIP_WEIGHTS).is_file():
        state, how = trusted_load(pickled[0])
        _save_weights(state.get("state_dict", state) if isinstance(state, dict) else {}, folder, pickled[0])
        pickled[0].unlink()
        done.append(f"{pickled[0].name} converted to {OPEN_CLIP_WEIGHTS} ({how})")
    return done
