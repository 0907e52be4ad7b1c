"""open_clip folders (BiomedCLIP, converted CheXzero checkpoints), loaded entirely offline.

open_clip's own ``create_model_from_pretrained("local-dir:...")`` resolves a transformers text
tower by the hub id in ``text_cfg.hf_model_name`` (BiomedCLIP's PubMedBERT) and reads the
tokenizer from the model folder's root. Here the model is built from ``open_clip_config.json``
with that tower's config and tokenizer read from the folder's ``text/`` subfolder (written by
``cxrviewer models import --text-tower`` or ``download``), and the weights from
``open_clip_model.safetensors`` only: no hub id is looked up and nothing is unpickled. A CLIP
text tower uses open_clip's BPE tokenizer, whose vocabulary ships inside the package.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from cxrviewer.models.encoders import Encoder
from cxrviewer.models.errors import ModelError
from cxrviewer.models.formats import OPEN_CLIP_WEIGHTS, TEXT_DIR, read_json
from cxrviewer.models.registry import EncoderSpec

DEFAULT_CONTEXT = 77


def local_model_cfg(folder: Path) -> tuple[dict[str, Any], bool]:
    """The folder's model_cfg with every hub reference pointed at local files (text/), and
    whether its text tower is a transformers model."""
    config = read_json(folder / "open_clip_config.json", folder)
    if "model_cfg" not in config:
        raise ModelError(f"model folder {folder}: open_clip_config.json has no model_cfg")
    model_cfg = copy.deepcopy(config["model_cfg"])
    text_cfg = model_cfg.setdefault("text_cfg", {})
    vision_cfg = model_cfg.setdefault("vision_cfg", {})
    hf_text = bool(text_cfg.get("hf_model_name"))
    if hf_text:
        local = str(folder / TEXT_DIR)
        text_cfg.update(hf_model_name=local, hf_tokenizer_name=local, hf_model_pretrained=False)
    if vision_cfg.get("timm_model_name"):
        vision_cfg["timm_model_pretrained"] = False  # the weights come from the folder, not timm's hub
    return model_cfg, hf_text


def build_model(model_cfg: dict[str, Any], hf_text: bool) -> torch.nn.Module:
    """open_clip's model class for the config, as ``open_clip.create_model`` picks it."""
    from open_clip.coca_model import CoCa
    from open_clip.model import CLIP, CustomTextCLIP

    model_cfg = dict(model_cfg)
    custom_text = bool(model_cfg.pop("custom_text", False)) or hf_text
    if "multimodal_cfg" in model_cfg:
        return CoCa(**model_cfg)
    return CustomTextCLIP(**model_cfg) if custom_text else CLIP(**model_cfg)


def tokenizer_for(folder: Path, model_cfg: dict[str, Any], hf_text: bool) -> Any:
    from open_clip.tokenizer import HFTokenizer, SimpleTokenizer

    text_cfg = model_cfg.get("text_cfg", {})
    context = int(text_cfg.get("context_length") or DEFAULT_CONTEXT)
    kwargs = dict(text_cfg.get("tokenizer_kwargs") or {})
    if hf_text:
        return HFTokenizer(str(folder / TEXT_DIR), context_length=context,
                           tokenizer_mode=text_cfg.get("tokenizer_mode"), **kwargs)
    return SimpleTokenizer(context_length=context, **kwargs)


def load_open_clip(folder: Path, device: torch.device) -> tuple[Any, Any]:
    """(model, tokenizer) of an open_clip folder, from local files only (open_clip is untyped:
    the model is its CLIP or CustomTextCLIP module)."""
    from open_clip.factory import load_checkpoint

    model_cfg, hf_text = local_model_cfg(folder)
    model = build_model(model_cfg, hf_text)
    load_checkpoint(model, str(folder / OPEN_CLIP_WEIGHTS), strict=True)  # safetensors: no unpickling
    return model.eval().to(device), tokenizer_for(folder, model_cfg, hf_text)


class OpenClipEncoder(Encoder):
    """open_clip folders (BiomedCLIP, CheXzero converted at import)."""

    def __init__(self, spec: EncoderSpec, folder: Path, device: torch.device) -> None:
        super().__init__(spec, device)
        self.model, self.tokenizer = load_open_clip(folder, device)
        self.logit_scale = float(self.model.logit_scale.exp().item())

    def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixels)

    def _text_features(self, texts: list[str]) -> torch.Tensor:
        return self.model.encode_text(self.tokenizer(texts).to(self.device))

    def _text_parts(self) -> list[tuple[Any, str]]:
        # a transformers text tower (BiomedCLIP's PubMedBERT) is its own module; a CLIP text
        # tower's layers sit on the model beside the image tower's, so it stays float32
        return [(self.model, "text")] if isinstance(getattr(self.model, "text", None), torch.nn.Module) else []
