"""``cxrviewer models list|import|verify|download``: see, add and check encoders.

Imported when the command line starts, so torch is imported only inside ``verify``.
``download`` is the only code in cxrviewer that goes online.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from cxrviewer.models.errors import ModelError
from cxrviewer.models.formats import check_folder, hash_weights, sha256_file, spec_from_folder
from cxrviewer.models.registry import EncoderSpec, all_specs, get_spec, models_dir, record_import, weights_present

# Files a checkpoint repository may hold that the app never reads (other frameworks, training
# lists, alternative heads), skipped by ``download`` to save hundreds of MB.
DOWNLOAD_IGNORE = ["*.msgpack", "*.h5", "*.ot", "*.onnx", "tf_model*", "flax_model*", "*.csv",
                   "dino_head*", "backbone_compatible*", "*.ipynb", "example_data/*"]


def register(subparsers: argparse._SubParsersAction, groups: Any) -> None:
    models = groups.get("models", help="list, import, verify and download encoder models")

    p = models.add_parser("list", help="the built-in and imported encoders, and which are on this computer")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=run_list)

    p = models.add_parser("import", help="make a model folder selectable (CLIP, SigLIP, open_clip, "
                          "transformers image model, or cxrviewer format)")
    p.add_argument("path", metavar="PATH", help="the model folder")
    p.add_argument("--name", help="name to select it by (default: the folder name)")
    p.add_argument("--licence", "--license", dest="licence",
                   help="licence text to record (default: from the folder's config, README or LICENSE)")
    p.add_argument("--copy", action="store_true", help="copy the folder into the models folder "
                   "(default: record its path, so moving it breaks the model)")
    p.add_argument("--replace", action="store_true", help="replace an imported model with the same name")
    p.set_defaults(func=run_import)

    p = models.add_parser("verify", help="re-hash a model's weights and test-load it")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=run_verify)

    p = models.add_parser("download", help="download a built-in model from the Hugging Face hub "
                          "(the only command that uses the network)")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=run_download)


def _user_error(exc: Exception) -> Exception:
    from cxrviewer.cli import UserError

    return UserError(str(exc))


def _specs() -> dict[str, EncoderSpec]:
    try:
        return all_specs()
    except ModelError as exc:
        raise _user_error(exc) from exc


def _get(name: str) -> EncoderSpec:
    try:
        return get_spec(name)
    except ModelError as exc:
        raise _user_error(exc) from exc


def model_rows() -> list[dict[str, Any]]:
    """One plain dict per model, as ``list --json`` prints it."""
    rows = []
    for spec in _specs().values():
        row = spec.to_dict()
        row["path"] = str(spec.local_path())
        row["present"] = weights_present(spec)
        rows.append(row)
    return rows


def run_list(args: argparse.Namespace) -> int:
    rows = model_rows()
    if args.json:
        print(json.dumps({"models_dir": str(models_dir()), "models": rows}, indent=2))
        return 0
    print(f"models folder: {models_dir()}")
    for row in rows:
        state = "present" if row["present"] else "not downloaded" if row["hub_id"] else "missing"
        print(f"  {row['name']:<14} {row['kind']:<6} {row['format']:<10} d={row['embed_dim']:<5} "
              f"{row['input_size']}px  {state:<15} {row['licence']}")
        if row["description"]:
            print(f"  {'':<14} {row['description']}")
    return 0


def _copy_into_models_dir(source: Path, name: str) -> Path:
    """Copy to a temp folder beside the target, then rename: no half-copied model is ever listed."""
    target = models_dir() / name
    if target.exists():
        from cxrviewer.cli import UserError

        raise UserError(f"{target} already exists; pick another --name or remove it")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=target.parent))
    try:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def run_import(args: argparse.Namespace) -> int:
    from cxrviewer.cli import UserError

    source = Path(args.path).expanduser()
    if not source.is_dir():
        raise UserError(f"no such model folder: {args.path}")
    source = source.resolve()
    try:
        fmt = check_folder(source)
        spec = spec_from_folder(source, name=args.name, licence=args.licence, fmt=fmt)
        existing = _specs()
        if spec.name in existing and (existing[spec.name].source != "imported" or not args.replace):
            raise UserError(f"a model named {spec.name!r} already exists; pick another with --name"
                            + ("" if existing[spec.name].source != "imported" else " or use --replace"))
        folder = _copy_into_models_dir(source, spec.name) if args.copy else source
        spec = dataclasses.replace(spec, folder=spec.name if args.copy else str(source),
                                   sha256=tuple(sorted(hash_weights(folder, fmt).items())))
        record_import(spec, replace=args.replace)
    except ModelError as exc:
        raise _user_error(exc) from exc
    where = f"copied to {folder}" if args.copy else f"recorded at {folder}"
    print(f"imported {spec.name!r}: {spec.format}, {spec.kind}, d={spec.embed_dim}, {spec.input_size} px, "
          f"licence: {spec.licence}; {where}")
    return 0


def _check_hashes(spec: EncoderSpec, folder: Path) -> list[str]:
    problems = []
    for rel, expected in spec.sha256:
        path = folder / rel
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif sha256_file(path) != expected:
            problems.append(f"{rel} has changed since import (SHA-256 differs)")
    return problems


def run_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the model hashes (if recorded) match and it loads and encodes; 1 otherwise."""
    import numpy as np

    from cxrviewer.cli import UserError

    spec = _get(args.name)
    folder = spec.local_path()
    try:
        if not folder.is_dir():
            hint = f"; run `cxrviewer models download {spec.name}`" if spec.hub_id else ""
            raise UserError(f"model {spec.name!r}: folder {folder} does not exist{hint}")
        check_folder(folder, spec.format)
        problems = _check_hashes(spec, folder)
        if problems:
            raise UserError(f"model {spec.name!r} in {folder}: " + "; ".join(problems))
        from cxrviewer.models.encoders import load_encoder

        encoder = load_encoder(spec, device="cpu")
        size = encoder.spec.input_size
        image = np.linspace(0, 1, size * size, dtype=np.float32).reshape(size, size)
        try:
            vectors = [encoder.encode_images([image])]
            if encoder.has_text:
                vectors.append(encoder.encode_texts(["no acute cardiopulmonary process"]))
        except ModelError:
            raise
        except Exception as exc:  # a library's error deep in the forward pass: say it, no traceback
            raise UserError(f"model {spec.name!r} in {folder}: loads, but cannot encode a test image "
                            f"({type(exc).__name__}: {exc})") from exc
    except ModelError as exc:
        message = str(exc) if spec.name in str(exc) else f"model {spec.name!r}: {exc}"
        raise UserError(message) from exc
    if not all(np.isfinite(v).all() and v.shape == (1, encoder.embed_dim) for v in vectors):
        raise UserError(f"model {spec.name!r} in {folder}: loads, but gives invalid embeddings (NaN or wrong size)")
    hashed = f"{len(spec.sha256)} weight file(s) match their SHA-256" if spec.sha256 else "no hashes recorded"
    print(f"{spec.name}: OK ({hashed}; loads and encodes; d={encoder.embed_dim}"
          f"{', with text' if encoder.has_text else ', image only'})")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from cxrviewer.cli import UserError

    spec = _get(args.name)
    if not spec.hub_id:
        raise UserError(f"model {spec.name!r} has no download source; import its folder instead")
    target = spec.local_path()
    print(f"downloading {spec.hub_id} to {target} (licence: {spec.licence}) ...")
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(repo_id=spec.hub_id, local_dir=str(target), ignore_patterns=DOWNLOAD_IGNORE)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # network, offline mode, auth, disk: all end the same way for the user
        raise UserError(
            f"could not download {spec.hub_id} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). "
            "Check the network connection (and that HF_HUB_OFFLINE is not set), or download the folder "
            f"on another computer and run `cxrviewer models import FOLDER --copy`"
        ) from exc
    try:
        check_folder(target, spec.format)
    except ModelError as exc:
        raise _user_error(exc) from exc
    print(f"{spec.name}: downloaded and checked")
    return 0
