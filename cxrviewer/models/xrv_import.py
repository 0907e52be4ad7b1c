"""torchxrayvision's published weights -> a ``torchxrayvision`` model folder without pickles.

torchxrayvision downloads its weights to ``~/.torchxrayvision/models_data/`` under the file names
of its model table (``xrv.models.model_urls``: the last part of each ``weights_url``). Those
files are pickles: the DenseNet-121 files hold a whole pickled ``xrv.models.DenseNet`` module, the
ResNet-50 file a state dict. Importing one (``cxrviewer models import FILE_OR_FOLDER --trust``)
reads it once and writes ``model.safetensors`` + ``config.json`` + ``card.json`` (the run-time
side is :mod:`cxrviewer.models.xrv`).

The table entry (labels, operating points, input size, URL) is read from the installed
torchxrayvision; what each weight was trained on is stated in torchxrayvision's README and model
table and repeated in :data:`TRAINING_DATA`.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxrviewer.fileio import atomic_write_text
from cxrviewer.models.card import CARD_FILE, CHEST_RADIOGRAPH, ModelCard, write_card
from cxrviewer.models.errors import ModelError
from cxrviewer.models.formats import XRV_FORMAT, sha256_file
from cxrviewer.models.pickles import trusted_load

PUBLISHER = "torchxrayvision (Cohen et al.)"
LICENCE = "Apache-2.0 (torchxrayvision's models); the training datasets' own terms apply too"
ARCHITECTURES = {"densenet121": 1024, "resnet50": 2048}
CACHE_FOLDER = "~/.torchxrayvision/models_data"

_NIH = "NIH ChestX-ray14"
_PC = "PadChest"
_CHEX = "CheXpert"
_RSNA = "RSNA Pneumonia Challenge (Kaggle)"
# torchxrayvision's README and table ("nih-pc-chex-mimic_ch-google-openi-kaggle", "pc-nih-rsna-siim-vin")
TRAINING_DATA: dict[str, tuple[str, ...]] = {
    "densenet121-res224-all": (_NIH, _PC, _CHEX, "MIMIC-CXR (CheXpert labels)",
                               "Google's relabelled NIH ChestX-ray14 subset", "OpenI", _RSNA),
    "densenet121-res224-nih": (_NIH,),
    "densenet121-res224-pc": (_PC,),
    "densenet121-res224-chex": (_CHEX,),
    "densenet121-res224-rsna": (_RSNA,),
    "densenet121-res224-mimic_nb": ("MIMIC-CXR (NegBio labels)",),
    "densenet121-res224-mimic_ch": ("MIMIC-CXR (CheXpert labels)",),
    "resnet50-res512-all": (_PC, _NIH, _RSNA, "SIIM-ACR Pneumothorax", "VinDr-CXR"),
}


@dataclass(frozen=True)
class XrvWeights:
    """One entry of torchxrayvision's model table."""

    key: str  # "densenet121-res224-all"
    file_name: str
    url: str
    architecture: str
    input_size: int
    pathologies: tuple[str, ...]
    op_threshs: tuple[float, ...] | None
    description: str = ""

    @property
    def default_name(self) -> str:
        return f"xrv-{self.key}"

    def origin(self) -> str:
        return (f"Its name is torchxrayvision's weight {self.key!r} (model table entry "
                f"xrv.models.model_urls[{self.key!r}], published at {self.url})")


def _xrv_models() -> Any:
    """torchxrayvision.models; its import turns every warning off, so it is kept to this call."""
    with warnings.catch_warnings():
        try:
            import torchxrayvision.models as xrv_models
        except ImportError as exc:  # a broken install: say which package
            raise ModelError(f"torchxrayvision cannot be imported ({exc}); reinstall cxrviewer") from None
    return xrv_models


def weights_table() -> dict[str, XrvWeights]:
    """File name -> table entry, for the weights cxrviewer can convert (DenseNet-121, ResNet-50)."""
    table: dict[str, XrvWeights] = {}
    for key, entry in _xrv_models().model_urls.items():
        architecture = next((a for a in ARCHITECTURES if key.startswith(f"{a}-")), None)
        if architecture is None or "weights_url" not in entry:
            continue  # the short aliases ("all", "nih", ...) name the same entries
        thresholds = entry.get("op_threshs")
        file_name = str(entry["weights_url"]).rsplit("/", 1)[-1]
        table[file_name] = XrvWeights(
            key, file_name, str(entry["weights_url"]), architecture, int(entry.get("input_resolution", 224)),
            tuple(str(p) for p in entry["labels"]),
            tuple(float(t) for t in thresholds) if thresholds is not None else None,
            str(entry.get("description", "")))
    return table


def find_weights(path: Path) -> list[tuple[Path, XrvWeights]]:
    """The torchxrayvision weight files at ``path`` (a file, or a folder such as its cache)."""
    table = weights_table()
    if path.is_file():
        found = table.get(path.name)
        return [(path, found)] if found else []
    return [(path / name, entry) for name, entry in sorted(table.items()) if (path / name).is_file()]


# What a pickled torchxrayvision DenseNet is made of, and all an import lets its pickle name.
DENSENET_CLASSES = (
    "torchxrayvision.models.DenseNet", "torchxrayvision.models._DenseBlock", "torchxrayvision.models._DenseLayer",
    "torchxrayvision.models._Transition", "torch.nn.modules.container.Sequential", "torch.nn.modules.conv.Conv2d",
    "torch.nn.modules.batchnorm.BatchNorm2d", "torch.nn.modules.activation.ReLU", "torch.nn.modules.pooling.MaxPool2d",
    "torch.nn.modules.pooling.AvgPool2d", "torch.nn.modules.linear.Linear", "torch.nn.modules.dropout.Dropout",
)


def module_tensors(module: Any, prefix: str = "") -> dict[str, Any]:
    """A pickled module's state dict, read from its attributes (older pickles lack attributes
    that ``state_dict()`` of today's torch expects)."""
    fields = vars(module)
    skip = fields.get("_non_persistent_buffers_set") or set()
    out: dict[str, Any] = {}
    for name, value in (fields.get("_parameters") or {}).items():
        if value is not None:
            out[prefix + name] = value.detach()
    for name, value in (fields.get("_buffers") or {}).items():
        if value is not None and name not in skip:
            out[prefix + name] = value.detach()
    for name, child in (fields.get("_modules") or {}).items():
        if child is not None:
            out.update(module_tensors(child, f"{prefix}{name}."))
    return out


def _state_dict(path: Path, weights: XrvWeights) -> tuple[dict[str, Any], str]:
    import torch

    whole_module = weights.architecture == "densenet121"  # the ResNet-50 file is a state dict
    if whole_module:
        _xrv_models()  # imported here, where its warnings switch is contained, before the pickle names it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notes on old pickles' module sources
        loaded, how = trusted_load(path, DENSENET_CLASSES if whole_module else (),
                                   "torchxrayvision's DenseNet")
    if isinstance(loaded, torch.nn.Module):
        state = module_tensors(loaded)
    elif isinstance(loaded, dict):
        state = dict(loaded.get("state_dict", loaded))
    else:
        raise ModelError(f"{path} holds a {type(loaded).__name__}, not torchxrayvision's weights")
    state = {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, torch.Tensor)}
    state.pop("op_threshs", None)  # taken from the model table, as torchxrayvision does
    return state, how


def _checked(state: dict[str, Any], weights: XrvWeights, path: Path) -> dict[str, Any]:
    """The state dict, float32, checked key by key against the network it must load into."""
    import torch

    from cxrviewer.models.xrv import build_network

    expected = build_network(weights.architecture, len(weights.pathologies)).state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        detail = "; ".join(f"{what}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                           for what, keys in (("missing", missing), ("unexpected", unexpected),
                                              ("wrong shape", wrong)) if keys)
        raise ModelError(f"{path} does not hold torchxrayvision's {weights.architecture} with "
                         f"{len(weights.pathologies)} outputs ({detail})")
    out = {}
    for key in expected:
        value = state.get(key, torch.zeros((), dtype=torch.long))  # very old pickles lack the BN counter
        out[key] = (value.float() if value.is_floating_point() else value).contiguous().clone()
    return out


def convert(path: Path, weights: XrvWeights, out: Path, licence: str = LICENCE) -> str:
    """Write the model folder for ``weights`` read from ``path`` into ``out`` (which exists and
    is empty). Returns how the pickle was read (for the import's report)."""
    from safetensors.torch import save_file

    from cxrviewer.reports.labels import TORCHXRAYVISION_TO_OURS

    state, how = _state_dict(path, weights)
    save_file(_checked(state, weights, path), str(out / "model.safetensors"), metadata={"format": "pt"})
    thresholds = None if weights.op_threshs is None else [None if math.isnan(t) else t for t in weights.op_threshs]
    config = {
        "format": XRV_FORMAT, "version": 1, "weights": weights.key, "architecture": weights.architecture,
        "input_size": weights.input_size, "embed_dim": ARCHITECTURES[weights.architecture],
        "pathologies": list(weights.pathologies),
        "labels": {p: TORCHXRAYVISION_TO_OURS[p] for p in weights.pathologies if p in TORCHXRAYVISION_TO_OURS},
        "op_threshs": thresholds,
        "description": f"torchxrayvision {weights.architecture} at {weights.input_size} px ({weights.key}): its "
                       "findings, and its pooled features for similar films",
        "preprocessing": "8-bit film as displayed -> xrv.utils.normalize(img, 255) ([-1024, 1024]), one "
                         f"channel, XRayCenterCrop, XRayResizer({weights.input_size}) (scikit-image)",
        "licence": licence,
        "source": {"file": path.name, "url": weights.url, "sha256": sha256_file(path), "read_with": how,
                   "description": weights.description},
    }
    atomic_write_text(out / "config.json", json.dumps(config, indent=2) + "\n")
    write_card(out / CARD_FILE,
               ModelCard(CHEST_RADIOGRAPH, TRAINING_DATA.get(weights.key, ()), True, PUBLISHER, licence))
    return how
