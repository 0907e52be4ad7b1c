"""torchxrayvision's classifiers, run from a converted folder (no pickle, no torchxrayvision).

A ``torchxrayvision`` model folder (written by ``cxrviewer models import FILE --trust``, see
:mod:`cxrviewer.models.xrv_import`) holds ``model.safetensors`` (the network's state dict),
``config.json`` and ``card.json``. The network is rebuilt here from torchvision's DenseNet-121 /
ResNet-50 with torchxrayvision's one-channel first convolution: the same module names, the same
operations, so the state dict loads strictly and the outputs equal torchxrayvision's own forward
(tested against it). torchxrayvision itself is not imported at run time: its import switches
every Python warning off for the whole process.

The model's input is exactly what torchxrayvision feeds its models (:func:`xrv_input`): the
8-bit film scaled to [-1024, 1024] by its ``normalize(img, 255)``, one channel, its
``XRayCenterCrop`` (the central square) and its ``XRayResizer`` (scikit-image, the same call).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cxrviewer.models.encoders import Encoder
from cxrviewer.models.errors import ModelError
from cxrviewer.models.film_fit import center_crop, xrv_resize, xrv_scaled
from cxrviewer.models.formats import read_json
from cxrviewer.models.registry import EncoderSpec

XRV_FORMAT = "torchxrayvision"
ARCHITECTURES = {"densenet121": 1024, "resnet50": 2048}  # -> width of the pooled features


# --- input --------------------------------------------------------------------------------------
# torchxrayvision's own preprocessing lives in models.film_fit (numpy only: build workers run it)
def xrv_input(images: Sequence[np.ndarray], size: int) -> torch.Tensor:
    """Films -> (n, 1, size, size) float32, each exactly as torchxrayvision prepares an image. An
    input already fitted (float32 (1, size, size), from models.film_fit in a build worker or a
    query) passes through unchanged."""
    out = torch.empty((len(images), 1, size, size), dtype=torch.float32)
    for i, image in enumerate(images):
        image = np.asarray(image)
        if image.dtype == np.float32 and image.shape == (1, size, size):
            out[i] = torch.from_numpy(image)
        else:
            out[i] = torch.from_numpy(xrv_resize(center_crop(xrv_scaled(image)), size))
    return out


# --- network ------------------------------------------------------------------------------------
def build_network(architecture: str, outputs: int) -> torch.nn.Module:
    """torchxrayvision's network with ``outputs`` logits, empty (on the meta device): torchvision's
    DenseNet-121 / ResNet-50 with a one-channel first convolution, as torchxrayvision builds them."""
    import torchvision

    with torch.device("meta"):
        if architecture == "densenet121":
            net = torchvision.models.densenet121(weights=None, num_classes=outputs)
            net.features.conv0 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        elif architecture == "resnet50":
            net = torchvision.models.resnet50(weights=None, num_classes=outputs)
            net.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        else:
            raise ModelError(f"unknown torchxrayvision architecture {architecture!r} "
                             f"(known: {', '.join(ARCHITECTURES)})")
    return net


def pooled_features(net: Any, architecture: str, x: torch.Tensor) -> torch.Tensor:
    """The penultimate features torchxrayvision's classifier reads (its ``features2`` for the
    DenseNet, its ``features`` for the ResNet). ``net``: torchvision's DenseNet or ResNet
    (torchvision is untyped; torch's Module types its submodules only as ``Tensor | Module``)."""
    if architecture == "densenet121":
        maps = F.relu(net.features(x))  # not in place: a saliency hook may hold the map
        return F.adaptive_avg_pool2d(maps, (1, 1)).flatten(1)
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    x = net.layer4(net.layer3(net.layer2(net.layer1(x))))
    return torch.flatten(net.avgpool(x), 1)


def classifier(net: Any, architecture: str) -> torch.nn.Linear:
    return net.classifier if architecture == "densenet121" else net.fc


class OpNormHead(torch.nn.Module):
    """The classifier's kept outputs, as logits of the probability torchxrayvision's forward gives.

    With operating points ``t`` its forward returns ``op_norm(sigmoid(z), t)``: p / 2t below the
    threshold, 1 - (1 - p) / 2(1 - t) above (so 0.5 is each finding's operating point). This
    head returns that value's logit, computed in log space so it stays finite and differentiable
    (sigmoid of it is what torchxrayvision returns; ``Encoder.predict_labels`` applies it).
    """

    def __init__(self, linear: torch.nn.Linear, keep: Sequence[int], thresholds: Sequence[float] | None) -> None:
        super().__init__()
        self.linear = linear
        self.register_buffer("keep", torch.tensor(list(keep), dtype=torch.long))
        if thresholds is None:
            self.thresholds = None
        else:
            self.register_buffer("thresholds", torch.tensor(list(thresholds), dtype=torch.float32))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        z = self.linear(features)[:, self.keep]
        if self.thresholds is None:
            return z
        t = self.thresholds.to(z.dtype)
        half = math.log(0.5)
        below = torch.sigmoid(z) < t  # torchxrayvision's own test, on the probability
        log_q = torch.clamp(F.logsigmoid(z) - torch.log(2 * t), max=half)  # q = p / 2t <= 1/2
        log_r = torch.clamp(F.logsigmoid(-z) - torch.log(2 * (1 - t)), max=half)  # r = 1 - q <= 1/2
        low = log_q - torch.log1p(-torch.exp(log_q))
        high = torch.log1p(-torch.exp(log_r)) - log_r
        return torch.where(below, low, high)


def label_outputs(config: dict[str, Any]) -> tuple[list[int], list[str], list[float] | None]:
    """(output index, our finding name, operating point) of each output the app shows.

    Outputs named "" (not trained in this weight) are dropped, and so is a named output whose
    operating point is missing when the others have one: torchxrayvision's forward returns a
    constant 0.5 there (resnet50-res512-all's Lung Lesion and Enlarged Cardiomediastinum).
    """
    pathologies = [str(p) for p in config["pathologies"]]
    mapping = {str(k): str(v) for k, v in (config.get("labels") or {}).items()}
    thresholds = config.get("op_threshs")
    keep, names, kept_thresholds = [], [], []
    for i, name in enumerate(pathologies):
        ours = mapping.get(name) if name else None
        threshold = thresholds[i] if thresholds is not None else None
        if not ours or (thresholds is not None and threshold is None):
            continue
        keep.append(i)
        names.append(ours)
        kept_thresholds.append(float(threshold) if threshold is not None else math.nan)
    return keep, names, (kept_thresholds if thresholds is not None else None)


class TorchXrayVisionEncoder(Encoder):
    """A torchxrayvision classifier: pooled features for similar films, its head for findings,
    its convolutional maps for saliency. Image only (no text tower)."""

    in_chans = 1

    def __init__(self, spec: EncoderSpec, folder: Path, device: torch.device) -> None:
        super().__init__(spec, device)
        from safetensors.torch import load_file

        config = read_json(folder / "config.json", folder)
        self.architecture = str(config["architecture"])
        self.image_tower = build_network(self.architecture, len(config["pathologies"]))
        state = load_file(str(folder / "model.safetensors"))
        try:
            self.image_tower.load_state_dict(state, strict=True, assign=True)
        except RuntimeError as exc:
            raise ModelError(f"model folder {folder}: model.safetensors does not hold torchxrayvision's "
                             f"{self.architecture} ({str(exc).splitlines()[0]})") from None
        self.image_tower.eval().to(device)
        self.embed_dim = ARCHITECTURES[self.architecture]
        keep, names, thresholds = label_outputs(config)
        self._label_head = OpNormHead(classifier(self.image_tower, self.architecture), keep, thresholds).to(device)
        self.label_names = tuple(names)

    def prepare_images(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        return xrv_input(list(images), self.spec.input_size)

    def _image_features(self, pixels: torch.Tensor) -> torch.Tensor:
        return pooled_features(self.image_tower, self.architecture, pixels)
