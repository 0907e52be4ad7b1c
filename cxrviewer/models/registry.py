"""Encoder choices as plain data: name -> format, architecture, preprocessing, size, licence.

Like open_clip's model configs and torchxrayvision's model table, the GUI and the CLI list models
from here without importing torch; loading happens only in the worker
(:func:`cxrviewer.models.encoders.load_encoder`). Built-in entries name public checkpoints that
``cxrviewer models download`` fetches into :func:`models_dir`; models the user imports are recorded
in ``imported.json`` beside them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxrviewer import paths
from cxrviewer.fileio import atomic_write_text
from cxrviewer.models.card import (
    CARD_FILE,
    CHEST_RADIOGRAPH,
    SYNTHETIC_DEMO,
    ModelCard,
    card_path,
    read_card,
    unknown_public_card,
)
from cxrviewer.models.errors import ModelError

KINDS = ("joint", "image", "text")
FORMATS = ("clip", "siglip", "open_clip", "hf_image", "cxrviewer", "torchxrayvision")

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SIGLIP_MEAN = (0.5, 0.5, 0.5)
SIGLIP_STD = (0.5, 0.5, 0.5)

IMPORTED_FILE = "imported.json"
FILM_FITS = ("squash", "pad", "torchxrayvision")  # = models.film_fit.FITS (kept here: no numpy)
FILM_INPUT_FILE = "film_input.json"  # {"fit": ...} in a model folder whose model was trained on another fit
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
FINGERPRINT_SAMPLES = 16
FINGERPRINT_BLOCK = 64 * 1024


@dataclass(frozen=True)
class EncoderSpec:
    """Everything needed to find, load and feed one encoder; plain data, safe to pass to threads.

    ``folder`` is a folder name under :func:`models_dir` (built-ins, copied imports) or an
    absolute path (imports recorded in place). ``mean``/``std``/``input_size`` are defaults: the
    loader prefers what the model folder itself declares (``preprocessor_config.json``), so a
    spec can never silently disagree with the weights it points at.
    """

    name: str
    kind: str
    format: str
    architecture: str
    input_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    embed_dim: int
    licence: str
    hub_id: str = ""
    folder: str = ""
    description: str = ""
    source: str = "builtin"  # "builtin" | "imported" | "path"
    sha256: tuple[tuple[str, str], ...] = ()  # (relative file, hex digest) recorded at import
    film_fit: str = "squash"  # how a film becomes the square input (models.film_fit.FITS)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"encoder {self.name!r}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.format not in FORMATS:
            raise ValueError(f"encoder {self.name!r}: format must be one of {FORMATS}, not {self.format!r}")
        if self.film_fit not in FILM_FITS:
            raise ValueError(f"encoder {self.name!r}: film_fit must be one of {FILM_FITS}, not {self.film_fit!r}")

    @property
    def has_text(self) -> bool:
        return self.kind in ("joint", "text")

    @property
    def has_image(self) -> bool:
        return self.kind in ("joint", "image")

    def local_path(self) -> Path:
        """Where the weights are (or would be, once downloaded)."""
        folder = Path(self.folder or self.name)
        return folder if folder.is_absolute() else models_dir() / folder

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["mean"] = list(self.mean)
        data["std"] = list(self.std)
        data["sha256"] = dict(self.sha256)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncoderSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["mean"] = tuple(float(v) for v in values.get("mean", ()))
        values["std"] = tuple(float(v) for v in values.get("std", ()))
        values["sha256"] = tuple(sorted(dict(values.get("sha256") or {}).items()))
        values["input_size"] = int(values["input_size"])
        values["embed_dim"] = int(values["embed_dim"])
        return cls(**values)


def models_dir() -> Path:
    """The folder that holds downloaded and copied models (under the user data folder)."""
    return paths.data_dir() / "models"


# Hub ids and licences checked against the Hugging Face model cards (2025); the XrayCLIP/XraySigLIP
# b-16 cards were not read directly: their licence is that of the sibling checkpoints (cc-by-nc-4.0).
BUILTIN: dict[str, EncoderSpec] = {
    spec.name: spec
    for spec in (
        EncoderSpec(
            name="xrayclip", kind="joint", format="clip", architecture="CLIP ViT-B/16",
            input_size=224, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD, embed_dim=512,
            licence="CC-BY-NC-4.0 (research, non-commercial)",
            hub_id="StanfordAIMI/XrayCLIP__vit-b-16__laion2b-s34b-b88k",
            description="CLIP ViT-B/16 (LAION-2B) tuned on chest X-rays and reports (CheXagent project)",
        ),
        EncoderSpec(
            name="xraysiglip", kind="joint", format="siglip", architecture="SigLIP ViT-B/16-512",
            input_size=512, mean=SIGLIP_MEAN, std=SIGLIP_STD, embed_dim=768,
            licence="CC-BY-NC-4.0 (research, non-commercial)",
            hub_id="StanfordAIMI/XraySigLIP__vit-b-16-siglip-512__webli",
            description="SigLIP ViT-B/16 at 512 px (WebLI) tuned on chest X-rays (CheXagent project)",
        ),
        EncoderSpec(
            name="biomedclip", kind="joint", format="open_clip", architecture="ViT-B/16 + PubMedBERT",
            input_size=224, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD, embed_dim=512,
            licence="MIT (research use intended by the model card)",
            hub_id="microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224",
            description="BiomedCLIP: PMC-15M figure-caption pairs (its PubMedBERT text tower's config and "
                        "tokenizer are downloaded with it)",
        ),
        EncoderSpec(
            name="rad-dino", kind="image", format="hf_image", architecture="DINOv2 ViT-B/14",
            input_size=518, mean=(0.5307, 0.5307, 0.5307), std=(0.2583, 0.2583, 0.2583),
            embed_dim=768, licence="MIT (MSRLA before 2025; see the model card)",
            hub_id="microsoft/rad-dino",
            description="RAD-DINO: self-supervised chest X-ray image encoder (image search only)",
        ),
    )
}


# Models that ship inside the app (resources/models), ready without a download. Kept apart from
# BUILTIN, whose entries all name a hub checkpoint to fetch.
SHIPPED: dict[str, EncoderSpec] = {
    spec.name: spec
    for spec in (
        EncoderSpec(
            name="demo-clip", kind="joint", format="cxrviewer", architecture="timm resnet10t (narrow) + 2-layer BERT",
            input_size=160, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), embed_dim=128,
            licence="CC0-1.0 (trained only on cxrviewer's synthetic demo data)",
            folder=str(paths.resources_dir() / "models" / "demo-clip"),
            description="small joint model trained on the synthetic demo library (python -m "
                        "cxrviewer.train.demo_model); for trying the embedding route, not for real films",
        ),
    )
}


# What the publishers of the built-in checkpoints state about their training data (model cards
# on the Hugging Face hub). None of them has per-finding figures that cxrviewer could show.
_PUBLISHED_DATA = {
    "xrayclip": ("MIMIC-CXR", "CheXpert", "other public chest X-ray sets (CheXagent's CheXinstruct)"),
    "xraysiglip": ("MIMIC-CXR", "CheXpert", "other public chest X-ray sets (CheXagent's CheXinstruct)"),
    "biomedclip": ("PMC-15M figure-caption pairs (biomedical figures, radiographs among them)",),
    "rad-dino": ("MIMIC-CXR", "CheXpert", "NIH ChestX-ray14", "PadChest", "BRAX"),
}


def model_card(spec: EncoderSpec) -> ModelCard:
    """The card of a model: its own file, else what is known of a built-in, else an imported
    model's default (real chest films, not validated here). A shipped model without its card
    file is kept to synthetic films: it can only be the demo model of an older install."""
    path = card_path(spec.local_path(), spec.name, models_dir())
    found = read_card(path)
    if found is not None:
        return found
    if spec.name in SHIPPED:
        return ModelCard(SYNTHETIC_DEMO, ("cxrviewer synthetic demo films",), False, "cxrviewer", spec.licence)
    if spec.name in _PUBLISHED_DATA:
        return ModelCard(CHEST_RADIOGRAPH, _PUBLISHED_DATA[spec.name], True, spec.hub_id, spec.licence)
    return unknown_public_card(spec.licence)


def model_card_path(spec: EncoderSpec) -> Path:
    """Where :func:`model_card` reads (and ``eval`` writes) the card of ``spec``."""
    return card_path(spec.local_path(), spec.name, models_dir())


def imported_file() -> Path:
    return models_dir() / IMPORTED_FILE


def imported_specs() -> dict[str, EncoderSpec]:
    """Models the user imported, by name; an unreadable record file is reported, not replaced."""
    path = imported_file()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {d["name"]: EncoderSpec.from_dict(d) for d in data.get("models", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"the imported-models list {path} cannot be read ({exc}); fix or remove it") from exc


def all_specs() -> dict[str, EncoderSpec]:
    """Built-in, shipped, then imported models, by name."""
    return {**BUILTIN, **SHIPPED, **imported_specs()}


def get_spec(name: str) -> EncoderSpec:
    specs = all_specs()
    try:
        return specs[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; choose one of {', '.join(specs) or '(none)'}") from None


def _write_imported(specs: dict[str, EncoderSpec]) -> None:
    payload = {"version": 1, "models": [s.to_dict() for s in specs.values()]}
    atomic_write_text(imported_file(), json.dumps(payload, indent=2, sort_keys=True) + "\n")


def record_import(spec: EncoderSpec, *, replace: bool = False) -> None:
    """Make ``spec`` selectable; built-in names are reserved, existing imports need ``replace``."""
    if spec.name in BUILTIN or spec.name in SHIPPED:
        raise ModelError(f"{spec.name!r} is a built-in model name; pick another with --name")
    specs = imported_specs()
    if spec.name in specs and not replace:
        raise ModelError(f"a model named {spec.name!r} is already imported; pick another name")
    specs[spec.name] = dataclasses.replace(spec, source="imported")
    _write_imported(specs)


def forget_import(name: str) -> None:
    """Remove an imported model's record (its files are left alone)."""
    specs = imported_specs()
    if specs.pop(name, None) is not None:
        _write_imported(specs)


def weights_present(spec: EncoderSpec) -> bool:
    """Whether the folder holds a config and at least one weight file (cheap: no hashing)."""
    folder = spec.local_path()
    if not folder.is_dir():
        return False
    names = os.listdir(folder)
    has_config = any(n in names for n in ("config.json", "open_clip_config.json"))
    has_weights = any(n.endswith(WEIGHT_SUFFIXES) for n in names)
    return has_config and has_weights


def weights_fingerprint(folder: str | os.PathLike[str]) -> str:
    """A short identity of the model in ``folder``: its weight and JSON config files (subfolders
    too), their sizes, and 16 evenly spaced 64 KiB blocks of each.

    A library records it when it is built and checks it when it loads its encoder: vectors made
    by other weights (a retrained demo model, a replaced download) would answer queries wrongly
    with no error at all. Sampling reads about 1 MB per file where a full hash of a 0.8 GB
    checkpoint takes seconds; retraining changes practically every block.
    """
    root = Path(folder)
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (*WEIGHT_SUFFIXES, ".json")
                   and p.name != CARD_FILE)  # the card records validations: it changes, the weights do not
    if not files:
        raise ModelError(f"model folder {root}: no weight or config files to identify")
    for path in files:
        try:
            size = path.stat().st_size
            digest.update(f"{path.relative_to(root).as_posix()}\0{size}\0".encode())
            with path.open("rb") as handle:
                if size <= FINGERPRINT_SAMPLES * FINGERPRINT_BLOCK:
                    digest.update(handle.read())
                    continue
                step = (size - FINGERPRINT_BLOCK) // (FINGERPRINT_SAMPLES - 1)
                for i in range(FINGERPRINT_SAMPLES):
                    handle.seek(i * step)
                    digest.update(handle.read(FINGERPRINT_BLOCK))
        except OSError as exc:
            raise ModelError(f"model folder {root}: cannot read {path.name} ({exc.strerror or exc})") from None
    return digest.hexdigest()[:32]
