"""``python -m cxrviewer.bench search``: impression to gallery painted, warm.

A synthetic library of ``--n`` cases (224k by default, clustered 512-d vectors, HNSW) is written
in the real library format, with an encoder in the project's own format whose text tower is
BERT-base sized (12 layers, hidden 768; random weights: speed does not depend on them). Then the
real window searches it through the real worker and the time from the query to the gallery
painted is measured. Goal: <= 100 ms on this CPU, with the FAISS part reported separately.
The headless search is timed with the text tower in float32 and as the app runs it on the CPU
(int8, :mod:`cxrviewer.models.quantize`); each part runs in its own process.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cxrviewer.models.quantize import FP32_ENV

QUERIES = (
    "mild cardiomegaly, small left effusion", "right lower lobe consolidation", "no acute disease",
    "large right pneumothorax", "pulmonary edema with bilateral effusions", "left upper lobe mass",
    "endotracheal tube and central line in place", "atelectasis at the left base",
    "moderate cardiomegaly", "possible pneumonia in the right lung",
)
WORDS = sorted(set(" ".join(QUERIES).replace(",", " ").split()) | {
    "heart", "lung", "lungs", "normal", "size", "pleural", "the", "is", "are", "clear", "with", "and"})


def write_encoder(folder: Path, embed_dim: int = 512) -> Path:
    """A cxrviewer-format encoder: tiny CNN image tower, BERT-base-sized text tower."""
    import timm
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast  # type: ignore[attr-defined]  # exported lazily

    from cxrviewer.models.cxrformat import save_cxrviewer_encoder

    torch.manual_seed(0)
    vocab = folder.parent / "bench-vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab))
    text = BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=768, num_hidden_layers=12,
                                num_attention_heads=12, intermediate_size=3072, max_position_embeddings=128))
    tower = timm.create_model("resnet10t", pretrained=False, num_classes=0)
    # a timm model's int attribute, which nn.Module's __getattr__ types as Tensor | Module
    features: int = tower.num_features  # type: ignore[assignment]
    heads = {"image_proj.weight": torch.randn(embed_dim, features) * 0.02,
             "text_proj.weight": torch.randn(embed_dim, 768) * 0.02,
             "logit_scale": torch.tensor(math.log(1 / 0.07))}
    config = {"image": {"timm_name": "resnet10t", "input_size": 224, "mean": [0.5] * 3, "std": [0.25] * 3,
                        "in_chans": 3},
              "text": {"pooling": "cls", "max_length": 64}, "licence": "random benchmark weights"}
    return save_cxrviewer_encoder(folder, tower, text, tokenizer, heads, config)


def write_library(folder: Path, encoder_folder: Path, n: int, dim: int = 512) -> Path:
    """A library of ``n`` synthetic cases in the real format (store, index, manifest)."""
    import io

    from PIL import Image

    from cxrviewer.bench._vectors import clustered as _clustered
    from cxrviewer.datasets.case import Case
    from cxrviewer.library.index import build_index
    from cxrviewer.library.index_files import save_index
    from cxrviewer.library.manifest import Manifest, now_iso, write_manifest
    from cxrviewer.library.store import STORE_NAME, PreparedCase, Store, encode_vector
    from cxrviewer.reports.labels import CHEXPERT_LABELS
    from cxrviewer.reports.sections import ReportSections

    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray((rng.random((32, 32)) * 255).astype(np.uint8)).save(buffer, format="JPEG")
    thumb = buffer.getvalue()
    vectors = _clustered(n, dim, seed=0)
    folder.mkdir(parents=True)
    store = Store(folder / STORE_NAME, create=True)
    labels = CHEXPERT_LABELS[1:]
    t = time.perf_counter()
    for start in range(0, n, 5000):
        batch = []
        for i in range(start, min(n, start + 5000)):
            picks = rng.choice(len(labels), size=int(rng.integers(0, 3)), replace=False)
            findings = {labels[j]: "positive" for j in picks} or {"No Finding": "positive"}
            case = Case(f"bench:{i:06d}", f"p{i // 3}", f"s{i // 2}", f"/nonexistent/{i}.dcm", "bench",
                        view="PA", sex="MF"[i % 2], age=float(20 + i % 70),
                        report=ReportSections(impression=", ".join(findings)), findings=findings,
                        findings_source="dataset")
            batch.append(PreparedCase(case, {}, thumb, (32, 32), encode_vector(vectors[i])))
        store.add_batch(batch, [])
    print(f"  wrote {n:,} cases in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    index = build_index(vectors, np.arange(n), "auto")
    info = save_index(folder, index, 1)
    print(f"  built a {info.kind} index in {time.perf_counter() - t:.1f} s")
    stamp = now_iso()
    write_manifest(folder, Manifest(
        name="bench", route=encoder_folder.name, dim=dim, state="ready", index=info, counts=store.counts(),
        preprocessing={"encoder": {"name": encoder_folder.name, "path": str(encoder_folder)}},
        created=stamp, updated=stamp))
    store.close()
    return folder


def bench_headless(library_path: Path, rounds: int) -> None:
    from cxrviewer.library.library import Library, SearchRequest

    with Library.open(library_path) as library:
        route = library.manifest.route
        for text in QUERIES[:3]:
            library.search(SearchRequest(text=text, k=100, route=route))
        stages: dict[str, list[float]] = {}
        for n in range(rounds):
            result = library.search(SearchRequest(text=QUERIES[n % len(QUERIES)], k=100, route=route))
            for stage, seconds in {**result.timings, "total": result.seconds}.items():
                stages.setdefault(stage, []).append(seconds * 1000)
        precision = library.encoder.text_precision
    print(f"  headless search (k=100, text tower {precision}), median ms: " + ", ".join(
        f"{stage} {statistics.median(v):.2f}" for stage, v in stages.items()))


def bench_gui(library_path: Path, rounds: int) -> float:
    """Through the real window; the Qt code lives in :mod:`cxrviewer.gui.harness.search_bench`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported
    from cxrviewer.gui.harness.search_bench import bench_gui as run

    return run(library_path, rounds, QUERIES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxrviewer.bench search")
    parser.add_argument("--n", type=int, default=224_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--keep", type=Path, default=None, help="reuse/keep the library in this folder")
    parser.add_argument("--part", choices=("both", "headless", "gui"), default="both",
                        help="both runs each part in its own process, as the app would")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cxrviewer-bench-search-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        encoder_folder = root / "bench-bert-base"
        library_path = root / "library"
        if not (library_path / "manifest.json").exists():
            print(f"setting up: encoder with a BERT-base text tower, {args.n:,}-case library")
            write_encoder(encoder_folder)
            write_library(library_path, encoder_folder, args.n)
        if args.part == "both":  # separate processes: the headless run's model and heap stay out of the GUI's
            fp32 = dict(os.environ, **{FP32_ENV: "1"})
            for part, env in (("headless", fp32), ("headless", None), ("gui", None)):
                subprocess.run([sys.executable, "-m", "cxrviewer.bench", "search", "--keep", str(root),
                                "--rounds", str(args.rounds), "--part", part], check=True, env=env)
        elif args.part == "headless":
            bench_headless(library_path, args.rounds)
        else:
            bench_gui(library_path, args.rounds)
    return 0
