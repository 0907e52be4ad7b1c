"""``cxrviewer models list|import|verify|download``: see, add and check encoders.

Imported when the command line starts, so torch is imported only inside ``verify``.
``download`` is the only code in cxrviewer that goes online.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cxrviewer.models.errors import ModelError
from cxrviewer.models.formats import check_folder, sha256_file
from cxrviewer.models.registry import EncoderSpec, all_specs, get_spec, model_card, models_dir, weights_present

# Files a checkpoint repository may hold that the app never reads (other frameworks, training
# lists, alternative heads), skipped by ``download`` to save hundreds of MB.
DOWNLOAD_IGNORE = ["*.msgpack", "*.h5", "*.ot", "*.onnx", "tf_model*", "flax_model*", "*.csv",
                   "dino_head*", "backbone_compatible*", "*.ipynb", "example_data/*"]


def register(subparsers: argparse._SubParsersAction, groups: Any) -> None:
    models = groups.get("models", help="list, import, verify and download encoder models")

    p = models.add_parser("list", help="the built-in and imported encoders, and which are on this computer")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=run_list)

    p = models.add_parser("import", help="make a model selectable: a model folder (CLIP, SigLIP, open_clip "
                          "such as BiomedCLIP, transformers image model, cxrviewer format), torchxrayvision "
                          "weights (a file or its cache folder) or an OpenAI-layout CLIP checkpoint (CheXzero)")
    p.add_argument("path", metavar="PATH", help="the model folder or weight file")
    p.add_argument("--name", help="name to select it by (default: the folder name; xrv-WEIGHTS for "
                   "torchxrayvision, chexzero for a CheXzero checkpoint)")
    p.add_argument("--licence", "--license", dest="licence",
                   help="licence text to record (default: from the folder's config, README or LICENSE)")
    p.add_argument("--copy", action="store_true", help="copy the folder into the models folder "
                   "(default: record its path, so moving it breaks the model; converted models are "
                   "always written into the models folder)")
    p.add_argument("--replace", action="store_true", help="replace an imported model with the same name")
    p.add_argument("--trust", action="store_true", help="read a weight file that is a Python pickle "
                   "(torchxrayvision, CheXzero, open_clip .bin) once, to convert it to safetensors; only "
                   "for files whose origin you trust")
    p.add_argument("--text-tower", type=Path, default=None, metavar="FOLDER",
                   help="open_clip models whose text tower is a Hugging Face model named by a hub id "
                   "(BiomedCLIP): a local folder with that model's config.json and tokenizer files")
    p.add_argument("--json", action="store_true", help="print what was imported as JSON")
    p.set_defaults(func=run_import)

    p = models.add_parser("verify", help="re-hash a model's weights and test-load it")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true", help="print the result as JSON (also on failure, "
                   "with the exit status 1)")
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


def model_row(spec: EncoderSpec) -> dict[str, Any]:
    """One plain dict per model, as ``list --json`` prints it: the spec (licence included), where
    its files are, whether they are there, and its card (None, with ``card_error``, when the
    card file is damaged)."""
    row = spec.to_dict()
    row["path"] = str(spec.local_path())
    row["present"] = weights_present(spec)
    try:
        row["card"] = model_card(spec).to_dict()
    except ModelError as exc:
        row["card"], row["card_error"] = None, str(exc)
    return row


def model_rows() -> list[dict[str, Any]]:
    return [model_row(spec) for spec in _specs().values()]


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


def run_import(args: argparse.Namespace) -> int:
    from cxrviewer.models.importers import ImportRequest, import_model

    request = ImportRequest(Path(args.path).expanduser(), name=args.name, licence=args.licence, copy=args.copy,
                            replace=args.replace, trust=args.trust,
                            text_tower=args.text_tower.expanduser() if args.text_tower else None)
    try:
        done = import_model(request)
    except ModelError as exc:
        raise _user_error(exc) from exc
    if args.json:
        rows = [{**model_row(item.spec), "action": item.action, "from": str(item.source), "note": item.note}
                for item in done]
        print(json.dumps({"imported": rows}, indent=2))
        return 0
    for item in done:
        spec = item.spec
        where = {"recorded": f"recorded at {item.folder}", "copied": f"copied to {item.folder}",
                 "converted": f"converted from {item.source.name} into {item.folder}"}[item.action]
        print(f"imported {spec.name!r}: {spec.format}, {spec.kind}, d={spec.embed_dim}, {spec.input_size} px, "
              f"licence: {spec.licence}; {where}" + (f" ({item.note})" if item.note else ""))
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
    """Exit 0 when the model hashes (if recorded) match and it loads and encodes; 1 otherwise.
    With --json the result is printed as JSON either way (the message also goes to stderr)."""
    from cxrviewer.cli import UserError

    spec = _get(args.name)
    try:
        result = _verify(spec)
    except UserError as exc:
        if args.json:
            print(json.dumps({"name": spec.name, "ok": False, "path": str(spec.local_path()), "problem": str(exc)},
                             indent=2))
        raise
    if args.json:
        print(json.dumps({"name": spec.name, "ok": True, "path": str(spec.local_path()), **result}, indent=2))
        return 0
    hashed = (f"{result['hashes_checked']} weight file(s) match their SHA-256" if result["hashes_checked"]
              else "no hashes recorded")
    print(f"{spec.name}: OK ({hashed}; loads and encodes; d={result['embed_dim']}"
          f"{', with text' if result['has_text'] else ', image only'}"
          f"{', ' + str(len(result['labels'])) + ' findings' if result['labels'] else ''})")
    return 0


def _verify(spec: EncoderSpec) -> dict[str, Any]:
    import numpy as np

    from cxrviewer.cli import UserError

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
            labels = tuple(getattr(encoder, "label_names", ()) or ())
            scores = [encoder.predict_labels([image])] if labels else []
        except ModelError:
            raise
        except Exception as exc:  # a library's error deep in the forward pass: say it, no traceback
            raise UserError(f"model {spec.name!r} in {folder}: loads, but cannot encode a test image "
                            f"({type(exc).__name__}: {exc})") from exc
    except ModelError as exc:
        message = str(exc) if spec.name in str(exc) else f"model {spec.name!r}: {exc}"
        raise UserError(message) from exc
    if not all(np.isfinite(v).all() and v.shape == (1, encoder.embed_dim) for v in vectors) or \
            not all(np.isfinite(v).all() and v.shape == (1, len(labels)) for v in scores):
        raise UserError(f"model {spec.name!r} in {folder}: loads, but gives invalid embeddings (NaN or wrong size)")
    return {"hashes_checked": len(spec.sha256), "embed_dim": int(encoder.embed_dim), "has_text": encoder.has_text,
            "labels": list(labels), "format": spec.format}


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
        if spec.format == "open_clip":
            from cxrviewer.models.clip_import import complete_download

            for step in complete_download(target):
                print(f"  {step}")
        check_folder(target, spec.format)
    except ModelError as exc:
        raise _user_error(exc) from exc
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # the text tower's download: network, offline mode, disk
        raise UserError(f"downloaded {spec.hub_id}, but could not complete it ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}); run the download again") from exc
    print(f"{spec.name}: downloaded and checked")
    return 0
