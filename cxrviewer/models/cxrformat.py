"""Our own encoder format: a timm image tower, an optional transformers text tower, linear heads.

Layout of a folder::

    config.json        {"format": "cxrviewer-encoder", "version": 1, "embed_dim": 512,
                        "image": {"timm_name", "timm_kwargs", "input_size", "mean", "std", "in_chans"},
                        "text": {"pooling": "cls" | "mean", "max_length": 128}}
    image.safetensors  the timm tower's state dict (created with num_classes=0: pooled features)
    heads.safetensors  image_proj.weight [embed_dim, image_features] (+ .bias), text_proj.weight
                       [embed_dim, text_hidden] (+ .bias), logit_scale (scalar)
    text/              a transformers AutoModel + tokenizer saved with save_pretrained
    labels.safetensors optional: label_head.weight [L, embed_dim], label_head.bias [L]; logits of
                       findings from the image embedding before normalisation; config.json then
                       also has "labels": [L names] and "label_head": {"input": "embedding",
                       "activation": "sigmoid"}. Older readers ignore both.

Everything is safetensors or JSON, so loading never unpickles code. torch/timm/transformers are
imported inside the functions: the registry stays light.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cxrviewer.fileio import atomic_write_text
from cxrviewer.models.errors import ModelError
from cxrviewer.models.formats import CXRVIEWER_FORMAT, check_folder, check_safetensors, read_json

REQUIRED_IMAGE_KEYS = ("timm_name", "input_size", "mean", "std")
LABELS_FILE = "labels.safetensors"


def _tensor_dict(obj: Any) -> dict[str, Any]:
    state = obj.state_dict() if hasattr(obj, "state_dict") else dict(obj)
    # safetensors refuses shared or strided storage: store independent contiguous copies
    return {k: v.detach().cpu().contiguous().clone() for k, v in state.items()}


def _normalise_config(config: Mapping[str, Any], heads: Mapping[str, Any], has_text: bool) -> dict[str, Any]:
    cfg = dict(config)
    image = dict(cfg.get("image") or {})
    missing = [k for k in REQUIRED_IMAGE_KEYS if k not in image]
    if missing:
        raise ValueError(f"config['image'] lacks {', '.join(missing)}")
    image.setdefault("timm_kwargs", {})
    image.setdefault("in_chans", 3)
    cfg["image"] = image
    if "image_proj.weight" not in heads:
        raise ValueError("heads must contain 'image_proj.weight'")
    cfg["embed_dim"] = int(heads["image_proj.weight"].shape[0])
    if has_text:
        if "text_proj.weight" not in heads:
            raise ValueError("heads must contain 'text_proj.weight' when there is a text tower")
        text = dict(cfg.get("text") or {})
        text.setdefault("pooling", "cls")
        cfg["text"] = text
    else:
        cfg.pop("text", None)
    cfg["format"], cfg["version"] = CXRVIEWER_FORMAT, 1
    return cfg


def save_cxrviewer_encoder(
    folder: str | os.PathLike[str],
    image_tower: Any,
    text_model: Any | None,
    tokenizer: Any | None,
    heads: Mapping[str, Any] | Any,
    config: Mapping[str, Any],
    *,
    label_head: Mapping[str, Any] | Any | None = None,
    labels: Sequence[str] = (),
) -> Path:
    """Write an encoder in the cxrviewer format; the folder appears complete or not at all.

    Parameters
    ----------
    folder
        Target folder; an existing one is replaced only after the new one is fully written.
    image_tower
        A timm model created with ``num_classes=0`` (its forward gives pooled features).
    text_model, tokenizer
        A transformers model and tokenizer (``save_pretrained``), or both None for image-only.
    heads
        Tensors ``image_proj.weight`` (+ ``.bias``), ``text_proj.weight`` (+ ``.bias``) and
        ``logit_scale`` (a Mapping or a module whose ``state_dict`` has those keys).
    config
        At least ``{"image": {"timm_name", "input_size", "mean", "std"}}``; ``timm_kwargs``,
        ``in_chans``, ``text.pooling`` ("cls"/"mean") and extra keys (licence, notes) are kept.
    label_head, labels
        Optional finding head on the image embedding: tensors ``label_head.weight`` [L, embed_dim]
        and ``label_head.bias`` [L], and the L label names, in order.

    Returns
    -------
    Path
        The folder written.
    """
    from safetensors.torch import save_file

    target = Path(folder)
    head_tensors = _tensor_dict(heads)
    cfg = _normalise_config(config, head_tensors, text_model is not None)
    label_tensors = _label_tensors(label_head, labels, cfg["embed_dim"]) if label_head is not None else None
    if label_tensors is not None:
        cfg["labels"] = [str(name) for name in labels]
        cfg["label_head"] = {"input": "embedding", "activation": "sigmoid"}
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        save_file(_tensor_dict(image_tower), str(staging / "image.safetensors"))
        save_file(head_tensors, str(staging / "heads.safetensors"))
        if label_tensors is not None:
            save_file(label_tensors, str(staging / LABELS_FILE))
        if text_model is not None:
            text_model.save_pretrained(staging / "text", safe_serialization=True)
            if tokenizer is not None:
                tokenizer.save_pretrained(staging / "text")
        atomic_write_text(staging / "config.json", json.dumps(cfg, indent=2) + "\n")
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _label_tensors(label_head: Any, labels: Sequence[str], embed_dim: int) -> dict[str, Any]:
    tensors = _tensor_dict(label_head)
    weight = tensors.get("label_head.weight")
    if weight is None or tuple(weight.shape) != (len(labels), embed_dim):
        raise ValueError(f"label_head.weight must have shape ({len(labels)}, {embed_dim}) for "
                         f"{len(labels)} labels")
    return tensors


def load_label_head(folder: Path) -> tuple[list[str], dict[str, Any]] | None:
    """The label names and head tensors of a folder, or None when it has no label head."""
    from safetensors.torch import load_file

    cfg = read_json(folder / "config.json", folder)
    names = cfg.get("labels")
    path = folder / LABELS_FILE
    if not names or not path.is_file():
        return None
    check_safetensors(path, folder)
    tensors = load_file(str(path))
    weight = tensors.get("label_head.weight")
    if weight is None or weight.shape[0] != len(names) or weight.shape[1] != int(cfg["embed_dim"]):
        raise ModelError(f"model folder {folder}: {LABELS_FILE} does not match the labels in config.json")
    return [str(n) for n in names], tensors


def _swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with renames, so a crash leaves the old or the new folder."""
    if not target.exists():
        os.replace(staging, target)
        return
    backup = target.with_name(f".{target.name}.old")
    shutil.rmtree(backup, ignore_errors=True)
    os.replace(target, backup)
    os.replace(staging, target)
    shutil.rmtree(backup, ignore_errors=True)


def load_cxrviewer_parts(folder: Path) -> dict[str, Any]:
    """The towers, tokenizer, heads and config of a cxrviewer-format folder, on the CPU, in eval mode."""
    import timm
    from safetensors.torch import load_file

    check_folder(folder, "cxrviewer")
    cfg = read_json(folder / "config.json", folder)
    image = cfg["image"]
    tower = timm.create_model(
        image["timm_name"], pretrained=False, num_classes=0, in_chans=int(image.get("in_chans", 3)),
        **dict(image.get("timm_kwargs") or {}),
    )
    _load_state(tower, load_file(str(folder / "image.safetensors")), folder / "image.safetensors")
    heads = load_file(str(folder / "heads.safetensors"))
    parts: dict[str, Any] = {"config": cfg, "image_tower": tower.eval(), "heads": heads,
                             "text_model": None, "tokenizer": None}
    if "text" in cfg and (folder / "text").is_dir():
        from transformers import AutoModel, AutoTokenizer

        text_dir = folder / "text"
        parts["text_model"] = AutoModel.from_pretrained(text_dir, local_files_only=True).eval()
        parts["tokenizer"] = AutoTokenizer.from_pretrained(text_dir, local_files_only=True)
    if "image_proj.weight" not in heads:
        raise ModelError(f"model folder {folder}: heads.safetensors lacks image_proj.weight")
    return parts


def _load_state(module: Any, state: dict[str, Any], path: Path) -> None:
    result = module.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        missing = ", ".join(result.missing_keys[:3])
        unexpected = ", ".join(result.unexpected_keys[:3])
        raise ModelError(
            f"model folder {path.parent}: {path.name} does not match the architecture in config.json"
            f" (missing: {missing or '-'}; unexpected: {unexpected or '-'})"
        )
