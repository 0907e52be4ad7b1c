"""The trainable model: a timm image tower, an optional transformers text tower, linear heads.

It matches the cxrviewer model format (:mod:`cxrviewer.models.cxrformat`) one to one, so the
trained weights are saved without conversion and load through ``load_encoder``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from transformers import PreTrainedModel

MAX_LOGIT_SCALE = math.log(100.0)  # CLIP's clamp: temperature never below 0.01


class JointModel(nn.Module):
    """Image tower -> ``image_proj``; text tower -> pooled -> ``text_proj``; both into one
    ``embed_dim`` space with a learnable temperature; optional ``label_head`` on the image
    embedding (so label scores and search share one representation)."""

    def __init__(self, image_tower: Any, embed_dim: int, text_model: PreTrainedModel | None = None,
                 n_labels: int = 0, pooling: str = "mean") -> None:
        # image_tower: a timm model (untyped; pooled features of width ``num_features``)
        super().__init__()
        self.image_tower = image_tower
        self.image_proj = nn.Linear(int(image_tower.num_features), embed_dim, bias=False)
        self.text_model = text_model
        self.pooling = pooling
        self.text_proj = (nn.Linear(int(text_model.config.hidden_size), embed_dim, bias=False)
                          if text_model is not None else None)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
        self.label_head = nn.Linear(embed_dim, n_labels) if n_labels else None

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.image_proj(self.image_tower(pixels))

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        assert self.text_model is not None and self.text_proj is not None
        hidden = self.text_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "mean":
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        else:
            pooled = hidden[:, 0]
        return self.text_proj(pooled)

    def scale(self) -> torch.Tensor:
        return self.logit_scale.clamp(0, MAX_LOGIT_SCALE).exp()

    def heads_state(self) -> dict[str, torch.Tensor]:
        """The tensors of ``heads.safetensors``."""
        state = {"image_proj.weight": self.image_proj.weight,
                 "logit_scale": self.logit_scale.detach().clamp(0, MAX_LOGIT_SCALE)}
        if self.text_proj is not None:
            state["text_proj.weight"] = self.text_proj.weight
        return state

    def label_state(self) -> dict[str, torch.Tensor] | None:
        if self.label_head is None:
            return None
        return {"label_head.weight": self.label_head.weight, "label_head.bias": self.label_head.bias}

    def param_groups(self, weight_decay: float) -> list[dict[str, Any]]:
        """AdamW groups: no decay on biases, norms, embeddings' scale and the temperature."""
        decay: list[nn.Parameter] = []
        no_decay: list[nn.Parameter] = []
        for name, param in self.named_parameters():
            if not param.requires_grad:
                continue
            (no_decay if param.ndim < 2 or name == "logit_scale" else decay).append(param)
        return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def create_image_tower(name: str, kwargs: dict[str, Any], weights: str = "") -> nn.Module:
    """A timm model with pooled-feature output; weights only from a local file, never online."""
    import timm

    try:
        tower = timm.create_model(name, pretrained=False, num_classes=0, **kwargs)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"cannot create timm model {name!r} ({exc})") from exc
    if weights:
        _load_local_weights(tower, Path(weights))
    return tower


def _load_local_weights(tower: nn.Module, path: Path) -> None:
    if not path.is_file():
        raise ValueError(f"image weights file {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state: Mapping[str, Any] = load_file(str(path))
    else:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
        # a training checkpoint holds the weights under "state_dict" or "model"
        key = next((k for k in ("state_dict", "model") if isinstance(loaded, dict) and k in loaded), None)
        state = loaded if key is None else loaded[key]
    # a classifier of another task is dropped: the tower is created without one
    result = tower.load_state_dict(state, strict=False)
    useful = [k for k in result.missing_keys if not k.startswith(("fc.", "head", "classifier"))]
    if useful:
        raise ValueError(f"{path}: weights do not match the timm model (missing {', '.join(useful[:3])})")


def image_normalisation(tower: nn.Module) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """mean/std the tower's family expects (timm's data config), else ImageNet's."""
    cfg = getattr(tower, "pretrained_cfg", None) or {}
    mean = tuple(float(v) for v in cfg.get("mean", (0.485, 0.456, 0.406)))
    std = tuple(float(v) for v in cfg.get("std", (0.229, 0.224, 0.225)))
    return mean, std


def load_text_tower(path: str) -> tuple[PreTrainedModel, Any]:
    """A transformers AutoModel and its tokenizer from a local folder (no hub access)."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise ValueError(f"text encoder {path!r} is not a local model folder "
                         "(build one with `cxrviewer train text-tower`)")
    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(folder, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return model, tokenizer


class Batcher:
    """uint8 films -> normalised float tensors on the device, with light augmentation.

    Augmentation is a small random shift/zoom and a contrast/brightness jitter, drawn from its
    own generator (saved in checkpoints). Films are never flipped: reports say left and right.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], device: torch.device,
                 seed: int = 0) -> None:
        self.mean = torch.tensor(list(mean), dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.std = torch.tensor(list(std), dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.device = device
        self.generator = torch.Generator().manual_seed(seed)

    def images(self, films: np.ndarray, augment: bool = False) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(films)).to(self.device).float().div_(255.0)
        x = x.unsqueeze(1)
        if augment:
            x = self._augment(x)
        x = x.expand(-1, self.mean.shape[1], -1, -1)
        return (x - self.mean) / self.std

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        n = x.shape[0]
        r = torch.rand(n, 5, generator=self.generator).to(x.device)
        zoom = 1.0 - 0.12 * r[:, 0]
        theta = torch.zeros(n, 2, 3, device=x.device)
        theta[:, 0, 0] = theta[:, 1, 1] = zoom
        theta[:, 0, 2] = (r[:, 1] - 0.5) * 0.12
        theta[:, 1, 2] = (r[:, 2] - 0.5) * 0.12
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        contrast = (0.85 + 0.3 * r[:, 3]).view(n, 1, 1, 1)
        bright = ((r[:, 4] - 0.5) * 0.1).view(n, 1, 1, 1)
        return ((x - 0.5) * contrast + 0.5 + bright).clamp_(0, 1)

    def state(self) -> torch.Tensor:
        return self.generator.get_state()

    def set_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state)
