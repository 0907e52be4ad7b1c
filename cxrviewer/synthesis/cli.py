"""``cxrviewer train synthesis``, ``cxrviewer eval synthesis`` and ``cxrviewer synthesize``.

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
    t = train.add_parser(
        "synthesis", help="train a text-conditioned film generator (teaching examples, marked SYNTHETIC)",
        description="Trains a generator of 128 px films conditioned on each case's report (the library's joint "
                    "model's text embedding and the findings with side and severity; findings only on a library "
                    "without a joint model). Default design: a projection-discriminator GAN with hinge loss, "
                    "spectral normalisation and an EMA generator; --arch reference trains the reference project's "
                    "conditional GAN. Saved with a model card under <models dir>/generators/<model>.")
    t.add_argument("--library", required=True, metavar="NAME_OR_PATH")
    t.add_argument("--model", default="", metavar="NAME", help="name of the generator (default: synthesis-<library>)")
    t.add_argument("--out", type=Path, default=None, help="model folder (default: <models dir>/generators/<model>)")
    t.add_argument("--run-dir", type=Path, default=None, help="checkpoints and metrics.csv")
    t.add_argument("--arch", choices=("projection", "reference"), default="projection")
    t.add_argument("--condition", choices=("auto", "text+findings", "text", "findings"), default="auto")
    t.add_argument("--steps", type=int, default=2000, help="optimizer steps (0: bounded by --minutes only)")
    t.add_argument("--minutes", type=float, default=0.0, help="stop after this much training time (0: no bound)")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--width", type=int, default=16, help="network width (default 16)")
    t.add_argument("--lr", type=float, default=2e-4, help="learning rate of both networks")
    t.add_argument("--cond-weight", type=float, default=None, metavar="W",
                   help="weight of the generator's finding term (projection design; default: the design's)")
    t.add_argument("--critic-weight", type=float, default=None, metavar="W",
                   help="weight of the finding critic's reading of the generated films (projection design; "
                        "0: off; default: the design's)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    t.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True, help="mixed precision on CUDA")
    t.add_argument("--checkpoint-every", type=int, default=200, metavar="STEPS")
    t.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    t.add_argument("--overwrite", action="store_true", help="replace an existing generator or run of that name")
    t.add_argument("--workers", type=int, default=2, help="threads decoding films")
    t.add_argument("--threads", type=int, default=0,
                   help="CPU threads for training (default: torch's); 1 is fastest on a CPU busy with other work")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=_run_train)

    e = groups.get("eval", help="evaluate labelling and retrieval").add_parser(
        "synthesis", help="measure a generator: Fréchet distance (vs floor and reference), conditioning, memorisation",
        description="On the library's held-out films: Fréchet distance in its image encoder's space (and "
                    "Inception-v3 with --inception-weights) beside the floor (two halves of the held-out films) and "
                    "the reference design trained in the same run for the same time; per-finding AUROC of the "
                    "library's finding model on generated films (requested vs not), side agreement; distance to "
                    "the nearest training film. Recorded in the generator's folder (evaluation.json, card).")
    e.add_argument("--library", required=True, metavar="NAME_OR_PATH")
    e.add_argument("--model", default=None, metavar="G", help="generator name or folder (default: the shipped one)")
    e.add_argument("--split", action="append", default=None, help="held-out split(s) (default: valid and test)")
    e.add_argument("--reader", default=None, metavar="MODEL", help="finding model (default: the library's own)")
    e.add_argument("--reference", default=None, metavar="G",
                   help="an already trained reference-design generator, instead of training one in this run")
    e.add_argument("--reference-minutes", type=float, default=None,
                   help="train the reference for this long (default: the generator's own training time)")
    e.add_argument("--no-reference", dest="with_reference", action="store_false", help="skip the reference design")
    e.add_argument("--inception-weights", type=Path, default=None, metavar="FILE",
                   help="a local Inception-v3 state dict (torchvision's or pytorch-fid's) for the standard FID")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--device", default=None)
    e.add_argument("--workers", type=int, default=2)
    e.add_argument("--no-record", dest="record", action="store_false", help="print only")
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=_run_eval)

    s = subparsers.add_parser(
        "synthesize", help="generate example films for a text (marked SYNTHETIC, never a patient's)",
        description="Draws --n films for the text with a generator (the shipped one by default) and writes them "
                    "to DIR as DICOM and PNG, each with a burned-in SYNTHETIC mark and header marks (ImageType "
                    "DERIVED\\SECONDARY, BurnedInAnnotation YES, DerivationDescription naming the generator and "
                    "the text). Generated films are refused by library builds.")
    s.add_argument("text", metavar="TEXT", help='an impression, e.g. "small left apical pneumothorax"')
    s.add_argument("--model", default=None, metavar="G", help="generator name or folder (default: the shipped one)")
    s.add_argument("--n", type=int, default=8, help="how many films (default 8)")
    s.add_argument("--out", type=Path, required=True, metavar="DIR")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--format", choices=("dicom", "png", "both"), default="both")
    s.add_argument("--device", default=None)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_run_synthesize)


class _Progress:
    """Training progress on stderr: a line per preparation stage, then a tqdm bar of the steps."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.said = ""

    def __call__(self, p: Any) -> None:
        from tqdm import tqdm

        if p.stage != "training":
            if p.message and p.message != self.said and (p.stage != "loading" or not p.total or p.done == p.total):
                self.said = p.message
                print(p.message, file=sys.stderr, flush=True)
            return
        if self.bar is None:
            self.bar = tqdm(total=p.total_steps or None, unit="step", file=sys.stderr, dynamic_ncols=True, leave=False)
        self.bar.update(p.step - self.bar.n)
        post = {k: f"{v:.3f}" for k, v in p.metrics.items() if k in ("d_loss", "g_loss", "g_aux", "g_critic")}
        if p.message:
            post["time"] = p.message
        self.bar.set_postfix(post, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _errors() -> tuple[type[BaseException], ...]:
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.models.errors import ModelError
    from cxrviewer.synthesis.store import GeneratorError

    return (ValueError, FileExistsError, ModelError, LibraryError, GeneratorError)


def _run_train(args: argparse.Namespace) -> int:
    from cxrviewer.cli import UserError
    from cxrviewer.library.catalog import resolve
    from cxrviewer.synthesis.config import SynthesisConfig
    from cxrviewer.synthesis.train import train_synthesis

    folder = resolve(str(args.library))
    name = args.model or (args.out.name if args.out else f"synthesis-{folder.name}")
    weights = {"cond_weight": args.cond_weight, "critic_weight": args.critic_weight}
    extra = {key: value for key, value in weights.items() if value is not None}
    try:
        cfg = SynthesisConfig(library=folder, name=name, out=args.out, run_dir=args.run_dir, arch=args.arch,
                              condition=args.condition, width=args.width, batch_size=args.batch_size,
                              steps=args.steps, minutes=args.minutes, lr_g=args.lr, lr_d=args.lr, seed=args.seed,
                              device=args.device, amp=args.amp, resume=args.resume, overwrite=args.overwrite,
                              checkpoint_every=args.checkpoint_every, workers=args.workers,
                              threads=args.threads, **extra)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    bar = _Progress()
    try:
        result = train_synthesis(cfg, progress=bar)
    except _errors() as exc:
        raise UserError(str(exc)) from None
    finally:
        bar.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
    else:
        print(f"trained generator {result.name!r} ({cfg.arch}, {result.parameters:,} parameters): {result.steps} steps "
              f"in {result.seconds / 60:.1f} min on {result.device}\nmodel: {result.model_dir}\nrun: {result.run_dir}")
    return 0


def _run_eval(args: argparse.Namespace) -> int:
    from cxrviewer.cli import UserError
    from cxrviewer.library.catalog import resolve
    from cxrviewer.synthesis.benchmark import evaluate_generator

    try:
        result = evaluate_generator(resolve(str(args.library)), args.model, splits=args.split, reader=args.reader,
                                    reference=args.reference, reference_minutes=args.reference_minutes,
                                    with_reference=args.with_reference, inception_weights=args.inception_weights,
                                    seed=args.seed, device=args.device, workers=args.workers, record=args.record,
                                    report=lambda m: print(m, file=sys.stderr, flush=True))
    except _errors() as exc:
        raise UserError(str(exc)) from None
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        from cxrviewer.synthesis.benchmark import summary

        print(summary(result))
    return 0


def _run_synthesize(args: argparse.Namespace) -> int:
    from cxrviewer.cli import UserError
    from cxrviewer.synthesis.service import synthesize_to_folder

    if args.n < 1 or args.n > 256:
        raise UserError("--n must be between 1 and 256")
    if not args.text.strip():
        raise UserError("give a text to draw films for")
    try:
        written = synthesize_to_folder(args.text, args.out, n=args.n, seed=args.seed, model=args.model,
                                       fmt=args.format, device=args.device)
    except _errors() as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write to {args.out}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps({"text": args.text, "seed": args.seed, "files": [str(p) for p in written]}, indent=1))
    else:
        print(f"wrote {len(written)} files (marked SYNTHETIC: generated films, not patients') to {args.out}")
    return 0
