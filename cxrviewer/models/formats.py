"""Recognise a model folder and check its files without importing torch.

Import and verify need to say *which* file is wrong before anything heavy runs, and the GUI needs
to list models instantly, so this module reads JSON configs and safetensors headers with the
standard library only.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

from cxrviewer.models.errors import ModelError
from cxrviewer.models.registry import (
    FILM_FITS,
    FILM_INPUT_FILE,
    OPENAI_CLIP_MEAN,
    OPENAI_CLIP_STD,
    SIGLIP_MEAN,
    SIGLIP_STD,
    EncoderSpec,
)

CXRVIEWER_FORMAT = "cxrviewer-encoder"
XRV_FORMAT = "torchxrayvision"  # config.json "format" of a converted torchxrayvision classifier
XRV_CONFIG_KEYS = ("weights", "architecture", "input_size", "embed_dim", "pathologies")
# torchxrayvision's value range, [-1024, 1024] = (2 u - 1) * 1024 for u in [0, 1], written as the
# mean / std of a film scaled to [0, 1] (what the saliency baseline of a black film needs)
XRV_MEAN, XRV_STD = (0.5,), (1 / 2048,)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "vocab.txt", "spiece.model")
# An open_clip folder whose text tower is a transformers model (BiomedCLIP's PubMedBERT) keeps that
# model's config and tokenizer in text/, so no hub id is looked up at run time.
TEXT_DIR = "text"
TEXT_TOWER_FILES = ("config.json", *TOKENIZER_FILES, "special_tokens_map.json", "merges.txt", "added_tokens.json",
                    "sentencepiece.bpe.model")
OPEN_CLIP_WEIGHTS = "open_clip_model.safetensors"
OPEN_CLIP_PICKLES = ("open_clip_pytorch_model.bin", "open_clip_pytorch_model.pth", "open_clip_model.bin",
                     "pytorch_model.bin")
_SAFETENSORS_ITEMSIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}
_MAX_HEADER = 100 * 1024 * 1024
_VISION_KEYS = ("image_size", "num_channels", "patch_size")


def read_json(path: Path, folder: Path | None = None) -> dict[str, Any]:
    """A JSON object from ``path``, or a ModelError naming the folder and the file."""
    where = f"{folder or path.parent}"
    if not path.is_file():
        raise ModelError(f"model folder {where}: missing {path.name}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"model folder {where}: {path.name} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelError(f"model folder {where}: {path.name} does not hold a JSON object")
    return data


def check_safetensors(path: Path, folder: Path | None = None) -> dict[str, Any]:
    """Parse a safetensors header and check that the file holds every byte it declares.

    A download cut short or a truncated copy is the common failure; catching it here gives a
    message naming the file instead of a deep error from the loader.
    """
    where = f"model folder {folder or path.parent}: {path.name}"
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                raise ModelError(f"{where} is truncated or empty ({size} bytes)")
            (n,) = struct.unpack("<Q", head)
            if n > min(size - 8, _MAX_HEADER):
                raise ModelError(f"{where} is truncated or not a safetensors file (bad header length)")
            header = json.loads(handle.read(n).decode("utf-8"))
    except OSError as exc:
        raise ModelError(f"{where} cannot be read ({exc})") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{where} is corrupt (unreadable header: {exc})") from exc
    if not isinstance(header, dict):
        raise ModelError(f"{where} is corrupt (header is not a JSON object)")
    end = 0
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            start, stop = (int(v) for v in info["data_offsets"])
            expected = math.prod(int(d) for d in info["shape"]) * _SAFETENSORS_ITEMSIZE[info["dtype"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{where} is corrupt (bad entry for tensor {key!r})") from exc
        if stop - start != expected:
            raise ModelError(f"{where} is corrupt (tensor {key!r} has the wrong size)")
        end = max(end, stop)
    if size < 8 + n + end:
        raise ModelError(f"{where} is truncated ({size} bytes, {8 + n + end} expected)")
    return header


def check_weight_file(path: Path, folder: Path) -> None:
    """Cheap structural check of one weight file (safetensors header, or a torch zip archive)."""
    if not path.is_file():
        raise ModelError(f"model folder {folder}: missing {path.relative_to(folder)}")
    if path.suffix == ".safetensors":
        check_safetensors(path, folder)
    elif path.stat().st_size == 0:
        raise ModelError(f"model folder {folder}: {path.relative_to(folder)} is empty")
    elif path.suffix in (".bin", ".pt", ".pth") and not zipfile.is_zipfile(path):
        raise ModelError(f"model folder {folder}: {path.relative_to(folder)} is truncated or corrupt")


def detect_format(folder: Path) -> str:
    """The registry format of a model folder, from its config files."""
    if not folder.is_dir():
        raise ModelError(f"model folder {folder} does not exist")
    if (folder / "open_clip_config.json").is_file():
        return "open_clip"
    config = read_json(folder / "config.json", folder)
    if config.get("format") == CXRVIEWER_FORMAT:
        return "cxrviewer"
    if config.get("format") == XRV_FORMAT:
        return "torchxrayvision"
    model_type = str(config.get("model_type", ""))
    if model_type == "clip":
        return "clip"
    if model_type == "siglip":
        return "siglip"
    if model_type and _is_text_only(config):
        architectures = ", ".join(str(a) for a in config.get("architectures") or [])
        raise ModelError(
            f"model folder {folder} holds a text-only transformers model (model_type {model_type!r}"
            f"{', ' + architectures if architectures else ''}): it has no image tower, so it cannot be "
            f"imported as an encoder. Use it as the text tower of a model you train: "
            f"`cxrviewer train contrastive --text-encoder {folder}`")
    if model_type:
        return "hf_image"
    raise ModelError(f"model folder {folder}: config.json names no model_type or cxrviewer format")


def _is_text_only(config: dict[str, Any]) -> bool:
    """A language model's config: a vocabulary and none of the keys every vision config has
    (ViT / DINOv2 / Swin: image_size; ResNet / ConvNeXt: num_channels)."""
    return "vocab_size" in config and not any(key in config for key in _VISION_KEYS)


def _hf_weight_files(folder: Path, prefix: str = "") -> list[Path]:
    sub = folder / prefix if prefix else folder
    index = sub / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(read_json(index, folder).get("weight_map", {}).values()))
        return [sub / s for s in shards]
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (sub / name).is_file():
            return [sub / name]
    where = f"{prefix}/" if prefix else ""
    raise ModelError(f"model folder {folder}: missing {where}model.safetensors (no weights found)")


def weight_files(folder: Path, fmt: str) -> list[Path]:
    """The files whose bytes are the model (hashed at import, checked on verify)."""
    if fmt == "cxrviewer":
        text = _hf_weight_files(folder, "text") if (folder / "text").is_dir() else []
        labels = [folder / "labels.safetensors"] if (folder / "labels.safetensors").is_file() else []
        return [folder / "image.safetensors", folder / "heads.safetensors", *labels, *text]
    if fmt == "torchxrayvision":
        return [folder / "model.safetensors"]
    if fmt == "open_clip":
        if (folder / OPEN_CLIP_WEIGHTS).is_file():
            return [folder / OPEN_CLIP_WEIGHTS]
        pickled = [name for name in OPEN_CLIP_PICKLES if (folder / name).is_file()]
        if pickled:
            raise ModelError(f"model folder {folder} holds its weights only as a Python pickle ({pickled[0]}), "
                             "which cxrviewer never unpickles when it loads a model: import the folder with "
                             f"`cxrviewer models import {folder} --trust` to convert it to {OPEN_CLIP_WEIGHTS}")
        raise ModelError(f"model folder {folder}: missing {OPEN_CLIP_WEIGHTS} (no weights found)")
    return _hf_weight_files(folder)


def text_hub_id(open_clip_config: dict[str, Any]) -> str:
    """The hub id an open_clip config names for its transformers text tower ("" if none)."""
    text_cfg = (open_clip_config.get("model_cfg") or {}).get("text_cfg") or {}
    return str(text_cfg.get("hf_model_name") or text_cfg.get("hf_tokenizer_name") or "")


def text_tower_problem(folder: Path) -> str:
    """What a local text tower folder lacks ("" when it has a config and a tokenizer)."""
    if not folder.is_dir():
        return f"{folder} does not exist"
    missing = [n for n in ("config.json",) if not (folder / n).is_file()]
    if not any((folder / n).is_file() for n in TOKENIZER_FILES):
        missing.append("tokenizer files (vocab.txt or tokenizer.json, with tokenizer_config.json)")
    return f"{folder} has no {' and no '.join(missing)}" if missing else ""


def missing_text_tower(folder: Path, hub_id: str, problem: str) -> str:
    return (f"model folder {folder}: its text tower is the Hugging Face model {hub_id!r} (text_cfg.hf_model_name "
            f"in open_clip_config.json), and cxrviewer never looks a hub id up when it loads a model; {problem}. "
            f"Get that model's config.json and tokenizer files (vocab.txt, tokenizer_config.json; no weights are "
            f"needed) on a computer with internet, e.g. `huggingface-cli download {hub_id} config.json vocab.txt "
            f"tokenizer_config.json --local-dir FOLDER`, and import with `cxrviewer models import {folder} "
            "--text-tower FOLDER`, which copies them into the model's text/ folder")


def check_folder(folder: Path, fmt: str | None = None) -> str:
    """Check configs parse and weight files are whole; returns the format."""
    fmt = fmt or detect_format(folder)
    if fmt == "cxrviewer":
        config = read_json(folder / "config.json", folder)
        if config.get("version") != 1:
            raise ModelError(f"model folder {folder}: config.json has unsupported version {config.get('version')!r}")
        for key in ("image", "embed_dim"):
            if key not in config:
                raise ModelError(f"model folder {folder}: config.json lacks {key!r}")
        if (folder / "text").exists():
            read_json(folder / "text" / "config.json", folder)
    elif fmt == "torchxrayvision":
        config = read_json(folder / "config.json", folder)
        if config.get("version") != 1:
            raise ModelError(f"model folder {folder}: config.json has unsupported version {config.get('version')!r}")
        missing = [key for key in XRV_CONFIG_KEYS if key not in config]
        if missing:
            raise ModelError(f"model folder {folder}: config.json lacks {', '.join(map(repr, missing))}")
    elif fmt == "open_clip":
        hub_id = text_hub_id(read_json(folder / "open_clip_config.json", folder))
        problem = text_tower_problem(folder / TEXT_DIR) if hub_id else ""
        if problem:
            raise ModelError(missing_text_tower(folder, hub_id, problem))
    else:
        read_json(folder / "config.json", folder)
    tokenizer_dir = {"clip": folder, "siglip": folder, "cxrviewer": folder / "text"}.get(fmt)
    if tokenizer_dir and tokenizer_dir.is_dir() and not any((tokenizer_dir / n).is_file() for n in TOKENIZER_FILES):
        where = "" if tokenizer_dir == folder else "text/"
        raise ModelError(f"model folder {folder}: missing {where}tokenizer files (tokenizer.json or a vocab)")
    for path in weight_files(folder, fmt):
        check_weight_file(path, folder)
    return fmt


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def hash_weights(folder: Path, fmt: str) -> dict[str, str]:
    """SHA-256 of each weight file, keyed by its path relative to the folder (posix)."""
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in weight_files(folder, fmt)}


def find_licence(folder: Path) -> str:
    """The licence a folder declares: config key, README front matter, or LICENSE's first line."""
    for name in ("config.json", "open_clip_config.json"):
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            for key in ("licence", "license"):
                if isinstance(data.get(key), str) and data[key].strip():
                    return data[key].strip()
    readme = folder / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8", errors="replace")
        front = re.match(r"---\s*\n(.*?)\n---", text, re.S)
        if front:
            found = re.search(r"^licen[cs]e:\s*(.+)$", front.group(1), re.M)
            if found:
                return found.group(1).strip().strip("'\"")
    for name in ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE"):
        path = folder / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip():
                    return line.strip()
    return "unknown"


def _preprocess_from_hf(folder: Path, size: int, mean: tuple[float, ...],
                        std: tuple[float, ...]) -> tuple[int, tuple[float, ...], tuple[float, ...]]:
    path = folder / "preprocessor_config.json"
    if not path.is_file():
        return size, mean, std
    cfg = read_json(path, folder)
    crop = cfg.get("crop_size") if cfg.get("do_center_crop", True) else None
    for value in (crop, cfg.get("size")):
        if isinstance(value, int):
            size = value
            break
        if isinstance(value, dict):
            found = value.get("height") or value.get("shortest_edge")
            if found:
                size = int(found)
                break
    mean = tuple(float(v) for v in cfg.get("image_mean", mean))
    std = tuple(float(v) for v in cfg.get("image_std", std))
    return size, mean, std


def spec_from_folder(folder: Path, name: str | None = None, licence: str | None = None,
                     fmt: str | None = None) -> EncoderSpec:
    """An EncoderSpec describing an arbitrary model folder (configs only, no weights loaded)."""
    folder = Path(folder)
    fmt = fmt or detect_format(folder)
    name = name or re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.name).strip("-").lower() or "model"
    licence = licence or find_licence(folder)
    kind, arch, description = "joint", fmt, ""
    if fmt == "cxrviewer":
        cfg = read_json(folder / "config.json", folder)
        image = cfg["image"]
        size, mean, std = int(image["input_size"]), tuple(image["mean"]), tuple(image["std"])
        dim, arch = int(cfg["embed_dim"]), f"timm {image['timm_name']} + text"
        kind = "joint" if (folder / "text").is_dir() else "image"
    elif fmt == "torchxrayvision":
        cfg = read_json(folder / "config.json", folder)
        kind, size, mean, std = "image", int(cfg["input_size"]), XRV_MEAN, XRV_STD
        dim, arch = int(cfg["embed_dim"]), f"torchxrayvision {cfg['architecture']} ({cfg['weights']})"
        description = str(cfg.get("description", ""))
    elif fmt == "open_clip":
        cfg = read_json(folder / "open_clip_config.json", folder)
        model_cfg, pre = cfg.get("model_cfg", {}), cfg.get("preprocess_cfg", {})
        size = int(model_cfg.get("vision_cfg", {}).get("image_size", 224))
        mean = tuple(pre.get("mean", OPENAI_CLIP_MEAN))
        std = tuple(pre.get("std", OPENAI_CLIP_STD))
        dim, arch = int(model_cfg.get("embed_dim", 512)), "open_clip"
    else:
        cfg = read_json(folder / "config.json", folder)
        if fmt == "clip":
            vision = cfg.get("vision_config", {})
            dim = int(cfg.get("projection_dim", 512))
            size, mean, std = _preprocess_from_hf(folder, int(vision.get("image_size", 224)),
                                                  OPENAI_CLIP_MEAN, OPENAI_CLIP_STD)
            arch = "CLIP"
        elif fmt == "siglip":
            vision = cfg.get("vision_config", {})
            dim = int(vision.get("hidden_size", 768))
            size, mean, std = _preprocess_from_hf(folder, int(vision.get("image_size", 224)), SIGLIP_MEAN, SIGLIP_STD)
            arch = "SigLIP"
        else:
            kind = "image"
            dim = int(cfg.get("hidden_size", 768))
            size, mean, std = _preprocess_from_hf(folder, int(cfg.get("image_size", 224)),
                                                  (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
            arch = str(cfg.get("model_type", "hf"))
    return EncoderSpec(
        name=name, kind=kind, format=fmt, architecture=arch, input_size=size, mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std), embed_dim=dim, licence=licence, folder=str(folder.resolve()),
        description=description, source="path", film_fit=film_fit_of(folder, fmt),
    )


def film_fit_of(folder: Path, fmt: str) -> str:
    """How the folder's model takes a film: torchxrayvision's own crop, a fit the folder names in
    film_input.json (CheXzero: pad), else the whole film squashed to the square."""
    if fmt == XRV_FORMAT:
        return "torchxrayvision"
    path = folder / FILM_INPUT_FILE
    if path.is_file():
        fit = read_json(path, folder).get("fit")
        if fit not in FILM_FITS:
            raise ModelError(f"model folder {folder}: {FILM_INPUT_FILE} names an unknown fit {fit!r}")
        return str(fit)
    return "squash"
