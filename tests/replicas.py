"""Replicas of published weight files: each format's own library writes a model with random
weights in the published file layout and under the published file name, so the import and
loading code runs on what a user downloads. Nothing is downloaded.

- torchxrayvision: a whole pickled ``xrv.models.DenseNet`` (its DenseNet-121 ``.pt`` files; the
  2020 releases predate torch's zip format, so the legacy format) or a ResNet-50 state dict
  (``...-resnet50-test512-e400-state.pt``), under the name of its model table entry.
- BiomedCLIP: ``open_clip_config.json`` (text tower named by its hub id) and
  ``open_clip_pytorch_model.bin`` written by open_clip, with a tiny ViT and a tiny BERT; the
  BERT's config and tokenizer (what the hub id would give) in a separate folder.
- CheXzero: ``torch.save(model.state_dict())`` of an OpenAI-layout CLIP ViT-B/32 (12 + 12 blocks,
  patch 32, 224 px, context 77, vocabulary 49,408: the real checkpoint's keys), narrow.

It sits at the top of tests/ (on sys.path through tests/conftest.py) like tiny_models.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BIOMEDCLIP_TEXT_HUB_ID = "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract"
CHEXZERO_FILE = "best_64_5e-05_original_22000_0.864.pt"


def xrv_models() -> Any:
    with warnings.catch_warnings():  # torchxrayvision switches every warning off when imported
        import torchxrayvision.models as models
    return models


def xrv_file_name(key: str) -> str:
    return xrv_models().model_urls[key]["weights_url"].rsplit("/", 1)[-1]


def _randomise(module: Any, seed: int) -> None:
    """Batch-norm statistics measured on random films in torchxrayvision's range (as training
    leaves them: without them a random network saturates every output) and random affine terms
    and classifier biases, so different films give clearly different outputs."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    norms = [m for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for layer in norms:
            layer.weight.copy_(1 + 0.2 * torch.randn(layer.weight.shape, generator=generator))
            layer.bias.copy_(0.2 * torch.randn(layer.bias.shape, generator=generator))
            layer.momentum = None  # a plain average over the calibration batch
        noise = torch.rand((6, 1, 232, 232), generator=generator)
        films = torch.cat([noise[:3, :, :224, :224], torch.nn.functional.avg_pool2d(noise[3:], 9, 1)])
        module.train()
        module((films * 2 - 1) * 1024)  # grainy and smooth films, in torchxrayvision's range
        module.eval()
        for layer in norms:
            layer.momentum = 0.1
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.bias.copy_(0.5 * torch.randn(layer.bias.shape, generator=generator))


def write_xrv_densenet(folder: Path, key: str = "densenet121-res224-all", seed: int = 0,
                       legacy: bool = True) -> Path:
    """torchxrayvision's DenseNet-121 weight file: the whole module pickled."""
    import torch

    models = xrv_models()
    torch.manual_seed(seed)
    model = models.DenseNet(weights=None, num_classes=len(models.model_urls[key]["labels"]))
    _randomise(model, seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / xrv_file_name(key)
    torch.save(model.eval(), path, _use_new_zipfile_serialization=not legacy)
    return path


def write_xrv_resnet(folder: Path, seed: int = 0) -> Path:
    """torchxrayvision's ResNet-50 (512 px) weight file: a torchvision ResNet-50 state dict with
    a one-channel first convolution."""
    import torch
    import torchvision

    key = "resnet50-res512-all"
    torch.manual_seed(seed)
    model = torchvision.models.resnet50(weights=None, num_classes=len(xrv_models().model_urls[key]["labels"]))
    model.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    _randomise(model, seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / xrv_file_name(key)
    torch.save(model.state_dict(), path)
    return path


def write_text_tower(folder: Path) -> Path:
    """A tiny BERT's config.json and tokenizer: what BiomedCLIP's hub id would resolve to."""
    from tiny_models import write_bert_tokenizer
    from transformers import BertConfig

    tokenizer = write_bert_tokenizer(folder, max_length=32)
    BertConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
               num_attention_heads=2, max_position_embeddings=64).save_pretrained(folder)
    return folder


def biomedclip_config(text_hub_id: str = BIOMEDCLIP_TEXT_HUB_ID) -> dict[str, Any]:
    """BiomedCLIP's open_clip_config.json, with timm's tiny test ViT in place of ViT-B/16."""
    return {
        "model_cfg": {
            "embed_dim": 16,
            "vision_cfg": {"timm_model_name": "test_vit", "timm_model_pretrained": False, "timm_pool": "",
                           "timm_proj": "linear", "image_size": 160},
            "text_cfg": {"hf_model_name": text_hub_id, "hf_tokenizer_name": text_hub_id, "hf_proj_type": "mlp",
                         "hf_pooler_type": "cls_last_hidden_state_pooler", "context_length": 32},
        },
        "preprocess_cfg": {"mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711]},
    }


def write_biomedclip(folder: Path, text_tower: Path, seed: int = 0) -> Path:
    """BiomedCLIP's published folder: open_clip_config.json + open_clip_pytorch_model.bin.

    open_clip builds the model from the config with the text tower read from ``text_tower``
    (a local folder, so nothing is downloaded); the config written names the hub id, as published.
    """
    import torch
    from open_clip.model import CustomTextCLIP

    config = biomedclip_config()
    model_cfg = json.loads(json.dumps(config["model_cfg"]))
    model_cfg["text_cfg"].update(hf_model_name=str(text_tower), hf_tokenizer_name=str(text_tower),
                                 hf_model_pretrained=False)
    torch.manual_seed(seed)
    model = CustomTextCLIP(**model_cfg)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps(config, indent=4), encoding="utf-8")
    torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# BiomedCLIP replica\n", encoding="utf-8")
    return folder


def openai_clip_cfg(width: int = 64) -> dict[str, Any]:
    """OpenAI's CLIP ViT-B/32 (open_clip's ViT-B-32-quickgelu) at ``width`` channels per tower."""
    return {"embed_dim": 32, "quick_gelu": True,
            "vision_cfg": {"image_size": 224, "layers": 12, "width": width, "patch_size": 32},
            "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": width, "heads": max(1, width // 64),
                         "layers": 12}}


def write_chexzero(folder: Path, seed: int = 0, name: str = CHEXZERO_FILE) -> Path:
    """CheXzero's checkpoint: ``torch.save(model.state_dict())`` of OpenAI's CLIP ViT-B/32 class."""
    import torch
    from open_clip.model import CLIP

    torch.manual_seed(seed)
    model = CLIP(**openai_clip_cfg())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    torch.save(model.state_dict(), path)
    return path


@contextlib.contextmanager
def sealed() -> Iterator[None]:
    """Inside: every way to unpickle raises (pickle.load / loads / Unpickler, torch.load), and so
    do opening a network connection and asking the Hugging Face hub for a file. AssertionError, so
    no ``except Exception`` turns it into a quiet fallback without the test noticing (a ModelError
    wrapping it still fails the test)."""
    import pickle
    import socket
    from unittest import mock

    import torch

    def unpickling(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("something was unpickled after the import")

    class NoUnpickler:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            unpickling()

    def network(*args: Any, **kwargs: Any) -> Any:
        raise OSError("network is unreachable (blocked by the test)")

    def hub(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a hub lookup after the import: {args} {kwargs}")

    with contextlib.ExitStack() as stack:
        for owner, name, replacement in ((pickle, "load", unpickling), (pickle, "loads", unpickling),
                                         (pickle, "Unpickler", NoUnpickler), (torch, "load", unpickling),
                                         (socket.socket, "connect", network), (socket.socket, "connect_ex", network),
                                         (socket, "create_connection", network)):
            stack.enter_context(mock.patch.object(owner, name, replacement))
        import huggingface_hub
        import huggingface_hub.file_download
        import transformers.utils.hub

        for owner in (huggingface_hub, huggingface_hub.file_download, transformers.utils.hub):
            for name in ("hf_hub_download", "snapshot_download"):
                if hasattr(owner, name):
                    stack.enter_context(mock.patch.object(owner, name, hub))
        yield


def write_films(root: Path, count: int = 6) -> Path:
    """A folder of real-looking chest films (DICOM phantoms, no synthetic-demo mark), one study
    each with a report.txt: ``cxrviewer library build --dataset folder`` reads it."""
    import numpy as np

    from cxrviewer.imaging.synthetic import SyntheticStudy, chest_phantom, write_dicom

    reports = ["Small left pleural effusion.", "The heart is enlarged.", "No acute cardiopulmonary process.",
               "Right lower lobe opacity, consolidation.", "Moderate pulmonary edema.", "Small right pneumothorax."]
    for i in range(count):
        study = SyntheticStudy(patient_name=f"Patient^{i}", patient_id=f"P{i:04d}", accession_number=f"A{i:04d}")
        folder = root / f"P{i:04d}" / "study1"
        pixels = chest_phantom(288, 240, seed=i)
        pixels = np.clip(pixels.astype(np.int32) + i * 97, 0, 4095).astype(np.uint16)
        write_dicom(folder / "pa.dcm", pixels, study=study, bits_stored=12, window=(2048, 4096))
        (folder / "report.txt").write_text(f"FINDINGS: {reports[i % len(reports)]}\nIMPRESSION: "
                                           f"{reports[i % len(reports)]}\n", encoding="utf-8")
    return root
