"""Reproduce the shipped demo model: ``python -m cxrviewer.train.demo_model``.

Generates the synthetic demo dataset, builds its label-route library, fits a WordPiece
tokenizer + 2-layer BERT to the training reports, and trains a narrow ResNet-10 and that BERT
contrastively with an auxiliary finding head, on the CPU in a few minutes. The result is
written to ``resources/models/demo-clip`` (the built-in ``demo-clip`` model). ``--evaluate``
then builds a demo library with it and compares image-to-image search against the label route.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from cxrviewer import paths
from cxrviewer.train.config import TrainConfig

DEMO_TIMM = "resnet10t"
# output_stride 16 (a dilated last stage) keeps a 10 x 10 feature map at 160 px, so Grad-CAM
# peaks can land on a nodule or a rib instead of on one of 4 x 4 cell centres
DEMO_TIMM_KWARGS: dict[str, Any] = {"channels": [32, 64, 128, 256], "stem_width": 16, "output_stride": 16}
DEMO_SIZE = 160  # 128 px left nodules, rib fractures and plate atelectasis 1-2 px wide
LICENCE = "CC0-1.0 (trained only on cxrviewer's synthetic demo data)"


def default_out() -> Path:
    return paths.resources_dir() / "models" / "demo-clip"


def prepare_library(work: Path, n_cases: int, size: int, workers: int) -> Path:
    """The demo dataset and its label-route library under ``work`` (reused when present)."""
    from cxrviewer.demo import write_demo
    from cxrviewer.library.build import BuildOptions, build_library

    data, library = work / "data", work / "library-labels"
    if not (data / "demo_cases.jsonl").exists():
        write_demo(data, n_cases=n_cases, size=size, seed=0, workers=workers)
    build_library(BuildOptions("demo", data, library, name="demo-train", synthetic=True, workers=workers))
    return library


def demo_config(library: Path, text_tower: Path, out: Path, run_dir: Path, epochs: int) -> TrainConfig:
    """Settings of the shipped model.

    Batches of 16: a from-scratch CNN on the CPU is limited by optimizer steps, and 16 gives four
    times the steps of the old 64 for the same compute (BatchNorm still sees 16 films). The
    finding loss is weighted 3x the contrastive one: with equal weights and 96 steps the InfoNCE
    gradient dominated and the head stayed near chance for everything but the big findings."""
    return TrainConfig(
        library=library, image_encoder=DEMO_TIMM, timm_kwargs=dict(DEMO_TIMM_KWARGS),
        text_encoder=str(text_tower), name="demo-clip", out=out, run_dir=run_dir, epochs=epochs,
        batch_size=16, lr=2e-3, warmup_steps=50, embed_dim=128, image_size=DEMO_SIZE, max_text_length=48,
        label_weight=3.0, overwrite=True, register=False, licence=LICENCE, device="cpu", seed=0)


def evaluate_routes(work: Path, model: Path, workers: int) -> dict[str, Any]:
    """Image-to-image retrieval on the demo test split: the trained model's route vs labels."""
    from cxrviewer.eval.retrieval import evaluate
    from cxrviewer.library.build import BuildOptions, build_library
    from cxrviewer.library.library import Library

    folder = work / "library-demo-clip"
    build_library(BuildOptions("demo", work / "data", folder, name="demo-clip-eval", synthetic=True,
                               encoder=str(model), workers=workers, device="cpu"))
    out: dict[str, Any] = {}
    with Library.open(folder) as lib:
        for route in (lib.manifest.route, "labels"):
            report = evaluate(lib, mode="image", route=route)
            out[route] = {"exact_map@10": report["exact"]["ap@10"], "exact_ndcg@10": report["exact"]["ndcg@10"],
                          "graded_ndcg@10": report["graded"]["ndcg@10"], "n_queries": report["n_queries"]}
        report = evaluate(lib, mode="text", route=lib.manifest.route)
        out["text_" + lib.manifest.route] = {"exact_map@10": report["exact"]["ap@10"],
                                             "graded_ndcg@10": report["graded"]["ndcg@10"]}
    return out


def write_readme(out: Path, summary: dict[str, Any]) -> None:
    """A model card beside the weights: what it is, how it was made, what it scored."""
    from cxrviewer.fileio import atomic_write_text

    text = (f"---\nlicense: {LICENCE}\n---\n# demo-clip\n\n"
            "A small joint image-report model trained only on cxrviewer's synthetic demo films, to show the "
            "embedding search route without downloading a model. Not for real radiographs.\n\n"
            f"Image tower: timm {DEMO_TIMM} {DEMO_TIMM_KWARGS}, {DEMO_SIZE} px. Text tower: 2-layer BERT (hidden 128) "
            "with a WordPiece tokenizer fitted to the demo reports. Auxiliary finding head (labels.safetensors), "
            "calibrated after training (Platt scaling per finding, `cxrviewer.train.calibrate`; config.json's "
            "training.calibration says on which films).\n\n"
            "Reproduce: `python -m cxrviewer.train.demo_model --evaluate`\n\n"
            f"```json\n{json.dumps(summary, indent=1)}\n```\n")
    atomic_write_text(out / "README.md", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxrviewer.train.demo_model", description=__doc__)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: <cache>/demo-model)")
    parser.add_argument("--out", type=Path, default=None, help="model folder (default: resources/models/demo-clip)")
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--size", type=int, default=256, help="pixel size of the generated films")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--evaluate", action="store_true", help="also compare retrieval with the label route")
    args = parser.parse_args(argv)

    from cxrviewer.train.contrastive import train_contrastive
    from cxrviewer.train.text_tower import library_texts, write_text_tower

    work = args.work or paths.cache_dir() / "demo-model"
    out = args.out or default_out()
    started = time.perf_counter()
    library = prepare_library(work, args.cases, args.size, args.workers)
    tower = write_text_tower(work / "text-tower", library_texts(library), layers=2, hidden=128, heads=2,
                             vocab_size=1000, max_length=48)
    config = demo_config(library, tower, out, work / "run", args.epochs)
    result = train_contrastive(config, progress=_printer())
    summary: dict[str, Any] = {"seconds": round(time.perf_counter() - started, 1),
                               "train_seconds": round(result.seconds, 1), "best_epoch": result.best_epoch,
                               "valid": {k: round(v, 4) for k, v in result.best_metrics.items()
                                         if k.endswith(("r@1", "r@5", "r@10")) or k.startswith("auroc")
                                         or k in ("f1_mean", "joint_score")}}
    if args.evaluate:
        summary["retrieval"] = evaluate_routes(work, out, args.workers)
    write_readme(out, summary)
    print(json.dumps(summary, indent=1))
    return 0


def _printer() -> Any:
    started = time.perf_counter()

    def show(p: Any) -> None:
        if p.stage == "training" and p.message:
            keys = ("r@5", "auroc", "joint")
            print(p.message, {k: round(v, 3) for k, v in p.metrics.items() if any(t in k for t in keys)},
                  file=sys.stderr, flush=True)
        elif p.stage == "training" and p.step % 25 == 0 and p.loss is not None:
            print(f"step {p.step}/{p.total_steps} loss {p.loss:.3f} {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)
    return show


if __name__ == "__main__":
    raise SystemExit(main())
