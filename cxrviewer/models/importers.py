"""What ``cxrviewer models import PATH`` does with each kind of source.

- A model folder cxrviewer loads as it is (transformers CLIP / SigLIP / image model, cxrviewer
  format, open_clip with safetensors weights): checked, hashed and recorded in place, or copied.
- torchxrayvision weight files (one file under the name torchxrayvision gives it, or its cache
  folder): converted to a ``torchxrayvision`` folder (:mod:`cxrviewer.models.xrv_import`).
- A single OpenAI-layout CLIP state dict (CheXzero's checkpoints), or an open_clip folder whose
  weights are a pickle or whose text tower is named by a hub id (BiomedCLIP): converted to a
  self-contained open_clip folder (:mod:`cxrviewer.models.clip_import`).

Conversions read pickles, so they need ``trust`` (``--trust``); their output always goes into the
models folder, written in a staging folder and renamed, so no half-written model is ever listed.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cxrviewer.models.errors import ModelError
from cxrviewer.models.formats import check_folder, hash_weights, spec_from_folder
from cxrviewer.models.pickles import inspect_pickle, refusal
from cxrviewer.models.registry import EncoderSpec, all_specs, models_dir, record_import

if TYPE_CHECKING:
    from cxrviewer.models.xrv_import import XrvWeights


@dataclass(frozen=True)
class ImportRequest:
    """The options of one ``models import``."""

    source: Path
    name: str | None = None
    licence: str | None = None
    copy: bool = False
    replace: bool = False
    trust: bool = False
    text_tower: Path | None = None


@dataclass(frozen=True)
class Imported:
    """One model made selectable: its spec, where its files are, and what was done."""

    spec: EncoderSpec
    folder: Path
    action: str  # "recorded", "copied" or "converted"
    source: Path
    note: str = ""


def check_name(name: str, replace: bool) -> None:
    existing = all_specs()
    if name in existing and (existing[name].source != "imported" or not replace):
        raise ModelError(f"a model named {name!r} already exists; pick another with --name"
                         + ("" if existing[name].source != "imported" else " or use --replace"))


def finish_import(folder: Path, spec: EncoderSpec, replace: bool) -> EncoderSpec:
    fmt = check_folder(folder, spec.format)
    spec = dataclasses.replace(spec, sha256=tuple(sorted(hash_weights(folder, fmt).items())), source="imported")
    record_import(spec, replace=replace)
    return spec


def _replaceable(target: Path, name: str) -> bool:
    """Whether ``target`` is the folder of the imported model ``name`` (so --replace may swap it)."""
    spec = all_specs().get(name)
    return spec is not None and spec.source == "imported" and spec.local_path() == target


def write_into_models_dir(name: str, fill: Callable[[Path], object], replace: bool = False) -> Path:
    """``fill(staging)`` writes a model folder; it becomes ``models_dir()/name`` only if whole.
    With ``replace`` the folder of an imported model of that name is swapped for the new one."""
    target = models_dir() / name
    swap = replace and target.exists() and _replaceable(target, name)
    if target.exists() and not swap:
        raise ModelError(f"{target} already exists; pick another --name or remove it")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=target.parent))
    old = target.parent / f"{staging.name}.old"
    try:
        fill(staging)
        if swap:
            os.replace(target, old)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if swap and old.exists() and not target.exists():
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return target


def import_model(request: ImportRequest) -> list[Imported]:
    """Import ``request.source``; returns one entry per model made selectable.

    Raises
    ------
    ModelError
        Anything the user can fix: a missing or damaged file, a pickle without ``trust`` (the
        message names the file, says it is a pickle and where it came from), a name in use.
    """
    source = request.source
    if not source.exists():
        raise ModelError(f"no such model folder or weight file: {source}")
    source = source.resolve()
    if source.is_file() or not any((source / n).is_file() for n in ("config.json", "open_clip_config.json")):
        from cxrviewer.models import xrv_import

        found = xrv_import.find_weights(source)
        if found:
            return _import_xrv(request, found)
        if source.is_file():
            from cxrviewer.models import clip_import

            return [clip_import.import_openai_clip(request, source)]
    if (source / "open_clip_config.json").is_file():
        from cxrviewer.models import clip_import

        converted = clip_import.import_open_clip_folder(request, source)
        if converted is not None:
            return [converted]
    return [_import_folder(request, source)]


def _import_folder(request: ImportRequest, source: Path) -> Imported:
    fmt = check_folder(source)
    spec = spec_from_folder(source, name=request.name, licence=request.licence, fmt=fmt)
    check_name(spec.name, request.replace)
    if request.copy:
        folder = write_into_models_dir(spec.name, lambda staging: shutil.copytree(source, staging, dirs_exist_ok=True),
                                       request.replace)
    else:
        folder = source
    spec = dataclasses.replace(spec, folder=spec.name if request.copy else str(source))
    return Imported(finish_import(folder, spec, request.replace), folder,
                    "copied" if request.copy else "recorded", source)


def _convert_xrv(path: Path, weights: XrvWeights, licence: str, notes: list[str], staging: Path) -> None:
    """Convert one torchxrayvision pickle into ``staging``, noting how it was read."""
    from cxrviewer.models import xrv_import

    notes.append(xrv_import.convert(path, weights, staging, licence))


def _import_xrv(request: ImportRequest, found: list) -> list[Imported]:
    from cxrviewer.models import xrv_import

    if request.name and len(found) > 1:
        raise ModelError(f"{request.source} holds {len(found)} torchxrayvision weight files; --name names one "
                         "model: import the files one at a time to name them")
    target = models_dir()
    if not request.trust:
        first, weights = found[0]
        others = "".join(f"; beside it, {p.name} is torchxrayvision's {w.key!r}, also a pickle" for p, w in found[1:])
        raise ModelError(refusal(first, weights.origin() + others, inspect_pickle(first), target))
    results = []
    for _, weights in found:
        name = request.name or weights.default_name
        check_name(name, request.replace)
    for path, weights in found:
        name = request.name or weights.default_name
        notes: list[str] = []
        licence = request.licence or xrv_import.LICENCE
        folder = write_into_models_dir(name, functools.partial(_convert_xrv, path, weights, licence, notes),
                                       request.replace)
        spec = spec_from_folder(folder, name=name, licence=licence, fmt="torchxrayvision")
        spec = finish_import(folder, dataclasses.replace(spec, folder=name), request.replace)
        results.append(Imported(spec, folder, "converted", path, f"read once with {notes[0]}"))
    return results
