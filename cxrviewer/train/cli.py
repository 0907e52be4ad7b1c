"""``cxrviewer train contrastive|labels|text-tower``: fine-tuning from the command line.

Heavy imports happen inside the handlers, so ``cxrviewer --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction, groups: Any) -> None:
    train = groups.get("train", "train encoders on a case library (CPU or GPU)")
    c = train.add_parser("contrastive", help="train an image + text model on film-report pairs",
                         description="CLIP-style training on the library's train split, validated by "
                                     "paired retrieval (R@1/5/10) on its valid split; the result is saved "
                                     "and registered so `library build --encoder NAME` can use it.")
    _common(c, image_encoder=None, image_size=224)
    c.add_argument("--text-encoder", required=True, metavar="FOLDER",
                   help="a local transformers model folder (see `train text-tower`)")
    c.add_argument("--max-text-length", type=int, default=64, help="tokens per report (default 64)")
    c.add_argument("--text-pooling", choices=("mean", "cls"), default="mean")
    c.add_argument("--label-weight", type=float, default=0.0,
                   help="add a finding head with this loss weight (joint model; default 0: none)")
    _label_args(c)
    c.set_defaults(func=_run_contrastive)

    lab = train.add_parser("labels", help="train a finding classifier on a labelled library",
                           description="A finding classifier for the library's films (defaults for a GPU "
                                       "workstation: DenseNet-121 at 320 px, mixed precision, ImageNet weights "
                                       "when timm's file is in the local cache): patient-disjoint validation, "
                                       "per-finding AUROC, calibration, a model card, and registration so the "
                                       "findings panel and `classify` use it on films like the library's. On a "
                                       "CPU it first times a few steps and says how long the run would take; "
                                       "runs over 15 minutes need --yes.")
    _common(lab, image_encoder="densenet121", image_size=320)
    _label_args(lab)
    lab.add_argument("--folds", type=int, default=0, metavar="K",
                     help="also run a patient-grouped K-fold cross-validation (train + valid)")
    lab.set_defaults(func=_run_labels)

    t = train.add_parser("text-tower", help="make a small BERT with a tokenizer fitted to a library's reports",
                         description="Writes a randomly initialised BERT and a WordPiece tokenizer trained "
                                     "on the library's train-split reports, for --text-encoder.")
    t.add_argument("--library", required=True, type=Path)
    t.add_argument("--out", required=True, type=Path)
    t.add_argument("--layers", type=int, default=2)
    t.add_argument("--hidden", type=int, default=128)
    t.add_argument("--heads", type=int, default=2)
    t.add_argument("--vocab-size", type=int, default=2000)
    t.add_argument("--max-length", type=int, default=64)
    t.add_argument("--json", action="store_true", help="print the result as JSON")
    t.set_defaults(func=_run_text_tower)

    e = groups.get("eval", help="evaluate labelling and retrieval").add_parser(
        "findings", help="measure a finding model on a library's labelled films and record it on its card",
        description="Per-finding AUROC, calibration error and film counts of a finding model on a library's "
                    "labelled films. When the library's films are of the model's own kind (real or synthetic), "
                    "the figures are recorded on the model's card: the findings panel and `classify` then show "
                    "them as 'validated here' beside each probability.")
    e.add_argument("--library", required=True, metavar="NAME_OR_PATH")
    e.add_argument("--model", required=True, metavar="NAME", help="a registered model with a finding head")
    e.add_argument("--split", action="append", default=None,
                   help="split(s) to measure on (default: test; never the model's own training films)")
    e.add_argument("--no-record", dest="record", action="store_false", help="print only; leave the card as it is")
    e.add_argument("--workers", type=int, default=2)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_run_eval_findings)


def _common(p: argparse.ArgumentParser, image_encoder: str | None, image_size: int) -> None:
    p.add_argument("--library", required=True, type=Path, help="library folder (or name)")
    p.add_argument("--image-encoder", required=image_encoder is None, default=image_encoder, metavar="TIMM_NAME",
                   help="a timm architecture, e.g. resnet18"
                        + (f" (default: {image_encoder})" if image_encoder else ""))
    p.add_argument("--image-weights", default="auto", metavar="FILE",
                   help="local .safetensors/.pth weights for the image tower; 'auto' (default): timm's ImageNet "
                        "weights when they are in the local Hugging Face cache, else random init; 'none': random")
    p.add_argument("--timm-kwargs", default="{}", metavar="JSON", help="extra timm.create_model arguments")
    p.add_argument("--out", type=Path, default=None, help="model folder (default: <models dir>/<name>)")
    p.add_argument("--name", default="", help="name to register the model under")
    p.add_argument("--run-dir", type=Path, default=None,
                   help="checkpoints, metrics.csv and curves (default: <data dir>/training/<name>)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--accum", type=int, default=1, help="gradient accumulation steps")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--image-size", type=int, default=image_size, help=f"input size in px (default {image_size})")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True,
                   help="mixed precision on CUDA (bf16 where supported, else fp16)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--patience", type=int, default=0, help="early stopping patience in epochs (0: off)")
    p.add_argument("--checkpoint-every", type=int, default=0, metavar="STEPS",
                   help="also checkpoint every N optimizer steps")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model or run of that name")
    p.add_argument("--no-register", dest="register", action="store_false",
                   help="save the folder without registering it")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--estimate", action="store_true",
                   help="only time a few steps and print how long the whole run would take")
    p.add_argument("--yes", action="store_true", help="train on the CPU even when the estimate is long")


def _label_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--loss", choices=("bce", "focal"), default="bce")
    p.add_argument("--uncertain", choices=("ignore", "positive", "negative"), default="ignore",
                   help="uncertain mentions: masked out (default), U-Ones or U-Zeros")
    p.add_argument("--min-positives", type=int, default=2, help="positives a finding needs to get an output")


def _config(args: argparse.Namespace) -> Any:
    from cxrviewer.cli import UserError
    from cxrviewer.library.catalog import resolve
    from cxrviewer.train.config import TrainConfig

    try:
        kwargs = json.loads(args.timm_kwargs)
    except ValueError as exc:
        raise UserError(f"--timm-kwargs is not valid JSON ({exc})") from None
    name = args.name or (args.out.name if args.out else "")
    if not name:
        raise UserError("give --name (or --out) for the trained model")
    weights = args.image_weights
    if weights in ("auto", "none"):
        from cxrviewer.train.estimate import local_imagenet_weights

        weights = local_imagenet_weights(args.image_encoder) if weights == "auto" else ""
    values = dict(
        library=resolve(str(args.library)), image_encoder=args.image_encoder, image_weights=weights,
        timm_kwargs=kwargs, out=args.out, name=name, run_dir=args.run_dir, epochs=args.epochs,
        batch_size=args.batch_size, accum=args.accum, lr=args.lr, weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps, embed_dim=args.embed_dim, image_size=args.image_size, amp=args.amp,
        augment=args.augment, patience=args.patience, checkpoint_every=args.checkpoint_every,
        device=args.device, seed=args.seed, resume=args.resume, overwrite=args.overwrite,
        register=args.register, loss=args.loss, uncertain=args.uncertain, min_positives=args.min_positives)
    for key in ("text_encoder", "max_text_length", "text_pooling", "label_weight", "folds"):
        if hasattr(args, key):
            values[key] = getattr(args, key)
    try:
        return TrainConfig(**values)
    except ValueError as exc:
        raise UserError(str(exc)) from None


class _Bar:
    """tqdm on stderr with the ETA of the optimizer steps; a second bar while films decode."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.stage = ""

    def __call__(self, p: Any) -> None:
        from tqdm import tqdm

        total = p.total if p.stage == "loading" else p.total_steps
        if p.stage != self.stage and p.stage in ("loading", "training"):
            self.close()
            self.bar = tqdm(total=total, desc=p.message or p.stage, unit="img" if p.stage == "loading" else "step",
                            file=sys.stderr, dynamic_ncols=True, leave=False)
            self.stage = p.stage
        if self.bar is None:
            return
        if p.stage == "loading":
            self.bar.total = total
            self.bar.desc = p.message
            self.bar.update(p.done - self.bar.n)
        elif p.stage == "training":
            self.bar.total = total
            self.bar.update(p.step - self.bar.n)
            post = {"epoch": f"{p.epoch + 1}/{p.epochs}"}
            if p.loss is not None:
                post["loss"] = f"{p.loss:.3f}"
            self.bar.set_postfix(post, refresh=False)
            if p.message:
                self.bar.write(p.message, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _train(args: argparse.Namespace, which: str) -> int:
    from cxrviewer.cli import UserError
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.models.errors import ModelError

    config = _config(args)
    if not _go_ahead(args, config):
        return 0
    bar = _Bar()
    try:
        if which == "contrastive":
            from cxrviewer.train.contrastive import train_contrastive as run
        else:
            from cxrviewer.train.labels import train_labels as run
        result = run(config, progress=bar)
    except (ValueError, FileExistsError, ModelError, LibraryError) as exc:
        raise UserError(str(exc)) from None
    finally:
        bar.close()
    _print_result(result, args.json)
    return 0


def _go_ahead(args: argparse.Namespace, config: Any) -> bool:
    """On a CPU (or with --estimate): time a few steps first, and stop before a long run unless
    the user said yes. False when only the estimate was asked for."""
    from cxrviewer.cli import UserError
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.models.encoders import resolve_device
    from cxrviewer.train.estimate import estimate_run

    if not args.estimate and (args.yes or resolve_device(config.device).type != "cpu"):
        return True
    try:
        estimate = estimate_run(config)
    except (ValueError, LibraryError) as exc:
        raise UserError(str(exc)) from None
    if args.estimate:
        print(json.dumps(estimate.to_dict(), indent=1) if args.json else f"this run would take {estimate.describe()}")
        return False
    print(f"estimate: {estimate.describe()}", file=sys.stderr)
    if estimate.needs_confirmation:
        raise UserError(f"not started: this run would take {estimate.describe()}. Pass --yes to train on the "
                        "CPU anyway, or run it on a GPU workstation (or lower --epochs / --image-size)")
    return True


def _print_result(result: Any, as_json: bool) -> None:
    best = {k: round(v, 4) for k, v in result.best_metrics.items() if isinstance(v, float)}
    if as_json:
        print(json.dumps({"name": result.name, "model_dir": str(result.model_dir), "run_dir": str(result.run_dir),
                          "epochs_run": result.epochs_run, "steps": result.steps, "best_epoch": result.best_epoch,
                          "best": best, "stopped_early": result.stopped_early, "folds": list(result.folds),
                          "seconds": round(result.seconds, 2)}, indent=1))
        return
    print(f"trained {result.name!r}: {result.epochs_run} epochs, {result.steps} steps in {result.seconds:.0f} s"
          + (" (stopped early)" if result.stopped_early else ""))
    shown = {k: v for k, v in best.items() if "/" not in k and k not in ("lr", "step")}
    print(f"best epoch {result.best_epoch}: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    if result.folds:
        mean = result.folds[-1]
        print(f"{len(result.folds) - 1}-fold cross-validation: mean AUROC {mean.get('auroc_mean', float('nan')):.3f}")
    print(f"model: {result.model_dir}\nrun (checkpoints, metrics.csv, curves): {result.run_dir}")


def _run_contrastive(args: argparse.Namespace) -> int:
    return _train(args, "contrastive")


def _run_labels(args: argparse.Namespace) -> int:
    return _train(args, "labels")


def _run_text_tower(args: argparse.Namespace) -> int:
    from cxrviewer.cli import UserError
    from cxrviewer.library.catalog import resolve
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.train.text_tower import library_texts, write_text_tower

    try:
        library = resolve(str(args.library))
        texts = library_texts(library)
    except LibraryError as exc:
        raise UserError(str(exc)) from None
    if not texts:
        raise UserError(f"library {args.library} has no report texts in its train split")
    folder = write_text_tower(args.out, texts, layers=args.layers, hidden=args.hidden, heads=args.heads,
                              vocab_size=args.vocab_size, max_length=args.max_length)
    if args.json:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        print(json.dumps({"text_encoder": str(folder), "library": str(library), "reports": len(texts),
                          "layers": args.layers, "hidden": args.hidden, "heads": args.heads,
                          "vocab_size": config["vocab_size"], "max_length": args.max_length}, indent=1))
        return 0
    print(f"wrote a {args.layers}-layer BERT (hidden {args.hidden}) with a tokenizer fitted to "
          f"{len(texts)} reports: {args.out}")
    return 0


def _run_eval_findings(args: argparse.Namespace) -> int:
    from cxrviewer.cli import UserError
    from cxrviewer.library.catalog import resolve
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.models.card import write_card
    from cxrviewer.models.classify import film_domain
    from cxrviewer.models.encoders import load_encoder
    from cxrviewer.models.errors import ModelError
    from cxrviewer.models.registry import get_spec, model_card, model_card_path
    from cxrviewer.train.validate import validate_model

    folder = resolve(args.library)
    splits = args.split or ["test"]
    try:
        spec = get_spec(args.model)
        card = model_card(spec)
        model = load_encoder(spec)
        validation = validate_model(model, folder, splits, workers=args.workers)
    except (ModelError, LibraryError, ValueError) as exc:
        raise UserError(str(exc)) from None
    same_kind = card.domain == film_domain(not validation.real)
    recorded = ""
    if args.record and same_kind:
        path = model_card_path(spec)
        write_card(path, card.with_validation(validation))
        recorded = str(path)
    if args.json:
        print(json.dumps({"model": spec.name, "library": str(folder), "validation": validation.to_dict(),
                          "recorded": recorded}, indent=1))
        return 0
    print(f"{spec.name} on {validation.data}: {validation.films} films")
    for label, figure in validation.findings.items():
        value = "  n/a" if figure.auroc is None else f"{figure.auroc:.3f}"
        print(f"  {label:<28} AUROC {value}  ({figure.positives} positive, {figure.negatives} negative; "
              f"calibration error {figure.calibration_error})")
    if recorded:
        print(f"recorded on the model's card: {recorded}")
    elif not same_kind:
        print("not recorded: these films are not of the kind the model is made for")
    return 0
