"""Inception-v3 pool features for the standard FID, from a local weight file only.

Nothing is downloaded: ``--inception-weights FILE`` names either torchvision's ``inception_v3``
state dict (1,000 classes; inputs normalised with ImageNet's mean and std) or pytorch-fid's
``pt_inception-2015-12-05`` weights (1,008 classes, the TensorFlow FID network; inputs scaled to
[-1, 1]). pytorch-fid's weights run in torchvision's Inception blocks, whose pooling differs
slightly from the TensorFlow network's, so that figure is labelled approximate. Films are grey;
they are repeated over three channels and resized to 299 px.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

APPROXIMATE = "pytorch-fid weights in torchvision blocks"


@dataclass
class InceptionFeatures:
    net: Any
    kind: str  # "torchvision" or APPROXIMATE
    device: Any

    @property
    def exact(self) -> bool:
        return self.kind != APPROXIMATE

    def __call__(self, films: np.ndarray, batch_size: int = 32) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        chunks = []
        with torch.inference_mode():
            for start in range(0, len(films), batch_size):
                x = torch.from_numpy(np.asarray(films[start:start + batch_size], np.float32) / 255.0)[:, None]
                x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False).repeat(1, 3, 1, 1)
                if self.kind == "torchvision":
                    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
                    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
                    x = (x - mean) / std
                else:
                    x = x * 2 - 1
                out = self.net(x.to(self.device))
                out = out[0] if isinstance(out, (list, tuple)) else out
                chunks.append(out.reshape(len(x), -1).float().cpu().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, 2048), np.float32)


def load_inception(path: Path, device: Any) -> InceptionFeatures:
    """ValueError naming the file when it is not an Inception-v3 weight file."""
    import torch
    from torchvision.models import inception_v3

    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{path} cannot be read as a weight file ({type(exc).__name__}: {exc})") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    fc = state.get("fc.weight") if isinstance(state, dict) else None
    if fc is None:
        raise ValueError(f"{path} is not an Inception-v3 state dict (no fc.weight)")
    classes = int(fc.shape[0])
    if classes == 1008:
        net = inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1008)
        kind = APPROXIMATE
        _load(net, state, path)
    elif classes == 1000:
        net = inception_v3(weights=None, aux_logits="AuxLogits.fc.weight" in state, init_weights=False)
        kind = "torchvision"
        _load(net, state, path)
    else:
        raise ValueError(f"{path} has {classes} classes; expected torchvision's (1000) or pytorch-fid's (1008)")
    return InceptionFeatures(_pool_net(net).to(device).eval(), kind, device)


def _load(net: Any, state: dict[str, Any], path: Path) -> None:
    missing, _unexpected = net.load_state_dict(state, strict=False)
    important = [k for k in missing if not k.startswith("AuxLogits")]
    if important:
        raise ValueError(f"{path} does not fit Inception-v3 (missing {', '.join(important[:4])} ...)")


def _pool_net(net: Any) -> Any:
    """The network up to its 2,048-d average pool (the FID features)."""
    import torch

    net.fc = torch.nn.Identity()
    net.dropout = torch.nn.Identity()
    net.aux_logits = False
    net.AuxLogits = None
    return net
