"""One Encoder subclass per weight format; each loads a local folder and returns raw features.

Imported only by :func:`cxrviewer.models.encoders.load_encoder` (after the hub is switched off),
so module-level heavy imports are fine here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers.utils import logging as hf_logging

from cxrviewer.models.encoders import Encoder
from cxrviewer.models.errors import ModelError
from cxrviewer.models.registry import EncoderSpec

hf_logging.disable_progress_bar()  # per-file "Loading weights" bars would flood the CLI and logs

_HUGE = 1_000_000  # tokenizers without a limit report model_max_length as ~1e30


def _pooled(output: Any) -> torch.Tensor:
    """Features from a model call: transformers 4 returns a tensor, 5 an output with pooler_output."""
    if isinstance(output, torch.Tensor):
        return output
    pooled = getattr(output, "pooler_output", None)
    if pooled is not None:
        return pooled
    return output.last_hidden_state[:, 0]


def _max_length(tokenizer: Any, *limits: int | None) -> int:
    values = [int(v) for v in (getattr(tokenizer, "model_max_length", None), *limits) if v and int(v) < _HUGE]
    return min(values) if values else 512


class HFJointEncoder(Encoder):
    """transformers CLIPModel / SiglipModel folders (XrayCLIP, XraySigLIP)."""

    def __init__(self, spec: EncoderSpec, folder: Path, device: torch.device) -> None:
        super().__init__(spec, device)
        from transformers import AutoTokenizer, CLIPModel, SiglipModel

        model_class = SiglipModel if spec.format == "siglip" else CLIPModel
        self.model = model_class.from_pretrained(folder, local_files_only=True).eval().to(device)
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        text_config = self.model.config.text_config
        self.max_length = _max_length(self.tokenizer, getattr(text_config, "max_position_embeddings", None))
        # SigLIP was trained on text padded to a fixed length; CLIP pools at the EOS token
        self.padding = "max_length" if spec.format == "siglip" else True
        self.logit_scale = float(self.model.logit_scale.exp().item())

    def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return _pooled(self.model.get_image_features(pixel_values=pixels))

    def _text_features(self, texts: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(texts, padding=self.padding, truncation=True, max_length=self.max_length,
                                return_tensors="pt")
        inputs = {"input_ids": tokens["input_ids"].to(self.device)}
        if self.spec.format == "clip" and "attention_mask" in tokens:
            inputs["attention_mask"] = tokens["attention_mask"].to(self.device)
        return _pooled(self.model.get_text_features(**inputs))

    def _text_parts(self) -> list[tuple[Any, str]]:
        return [(self.model, name) for name in ("text_model", "text_projection")
                if getattr(self.model, name, None) is not None]


class HFImageEncoder(Encoder):
    """Image-only transformers AutoModel folders (RAD-DINO, a Dinov2Model): the CLS token."""

    def __init__(self, spec: EncoderSpec, folder: Path, device: torch.device) -> None:
        super().__init__(spec, device)
        from transformers import AutoModel

        self.model = AutoModel.from_pretrained(folder, local_files_only=True).eval().to(device)
        self.in_chans = int(getattr(self.model.config, "num_channels", 3))

    def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return _pooled(self.model(pixel_values=pixels))


class CxrviewerEncoder(Encoder):
    """Our own format: timm image tower + transformers text tower + linear heads."""

    def __init__(self, spec: EncoderSpec, folder: Path, device: torch.device) -> None:
        super().__init__(spec, device)
        from cxrviewer.models.cxrformat import load_cxrviewer_parts

        parts = load_cxrviewer_parts(folder)
        cfg, heads = parts["config"], parts["heads"]
        self.in_chans = int(cfg["image"].get("in_chans", 3))
        self.image_tower = parts["image_tower"].to(device)
        self.image_proj = self._linear(heads, "image_proj", folder).to(device)
        self.embed_dim = int(self.image_proj.out_features)
        self.text_model, self.tokenizer, self.text_proj = parts["text_model"], parts["tokenizer"], None
        if self.text_model is not None:
            self.text_model.to(device)
            self.text_proj = self._linear(heads, "text_proj", folder).to(device)
            text_cfg = cfg.get("text", {})
            self.pooling = str(text_cfg.get("pooling", "cls"))
            self.max_length = _max_length(self.tokenizer, text_cfg.get("max_length"),
                                          getattr(self.text_model.config, "max_position_embeddings", None))
        if "logit_scale" in heads:
            self.logit_scale = float(heads["logit_scale"].float().exp().item())

    @staticmethod
    def _linear(heads: dict[str, torch.Tensor], name: str, folder: Path) -> torch.nn.Linear:
        weight = heads.get(f"{name}.weight")
        if weight is None:
            raise ModelError(f"model folder {folder}: heads.safetensors lacks {name}.weight")
        bias = heads.get(f"{name}.bias")
        layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
        with torch.no_grad():
            layer.weight.copy_(weight)
            if bias is not None:
                layer.bias.copy_(bias)
        return layer.eval()

    def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.image_proj(self.image_tower(pixels))

    def _text_features(self, texts: list[str]) -> torch.Tensor:
        assert self.text_model is not None and self.text_proj is not None
        tokens = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                                return_tensors="pt").to(self.device)
        hidden = self.text_model(input_ids=tokens["input_ids"],
                                 attention_mask=tokens.get("attention_mask")).last_hidden_state
        if self.pooling == "mean" and "attention_mask" in tokens:
            mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        else:
            pooled = hidden[:, 0]
        return self.text_proj(pooled)

    def _text_parts(self) -> list[tuple[Any, str]]:
        return [(self, "text_model"), (self, "text_proj")] if self.text_model is not None else []


def _open_clip(spec: EncoderSpec, folder: Path, device: torch.device) -> Encoder:
    from cxrviewer.models.openclip import OpenClipEncoder

    return OpenClipEncoder(spec, folder, device)


def _xrv(spec: EncoderSpec, folder: Path, device: torch.device) -> Encoder:
    from cxrviewer.models.xrv import TorchXrayVisionEncoder

    return TorchXrayVisionEncoder(spec, folder, device)


BACKENDS: dict[str, Callable[[EncoderSpec, Path, torch.device], Encoder]] = {
    "clip": HFJointEncoder,
    "siglip": HFJointEncoder,
    "hf_image": HFImageEncoder,
    "cxrviewer": CxrviewerEncoder,
    "open_clip": _open_clip,
    "torchxrayvision": _xrv,
}
