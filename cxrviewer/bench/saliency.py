"""``python -m cxrviewer.bench saliency``: time saliency maps for one 224 px film on this machine.

Grad-CAM and integrated gradients (32 steps) on a ResNet-50-sized tower (timm ``resnet50``,
random weights: the time does not depend on them), and the patch-token map of a ViT-B/16.
Reports the median of ``--repeats`` runs after one warm-up run (which also finds the layer).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def _median_ms(run: Callable[[], Any], repeats: int) -> float:
    run()  # warm-up: finds and remembers the layer, allocates
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxrviewer.bench saliency", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=32, help="integrated-gradients steps")
    parser.add_argument("--batch", type=int, default=8, help="integrated-gradients steps per pass")
    parser.add_argument("--no-vit", action="store_true", help="skip the ViT-B/16 map")
    args = parser.parse_args(argv)

    import timm
    import torch

    from cxrviewer.explain import LabelTarget, explain, explainable

    film = (np.random.default_rng(0).random((224, 224)) * 255).astype(np.uint8)
    target = LabelTarget(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, batch 1, 224 px")
    resnet = explainable(timm.create_model("resnet50", pretrained=False, num_classes=14).eval(),
                         name="resnet50", input_size=224)
    rows = [("resnet50 Grad-CAM", lambda: explain(resnet, film, target, "gradcam")),
            ("resnet50 LayerCAM (two scales, the app's default for CNNs)",
             lambda: explain(resnet, film, target, "layercam"))]
    rows.append((f"resnet50 integrated gradients, {args.steps} steps in batches of {args.batch}",
                 lambda: explain(resnet, film, target, "ig", steps=args.steps, batch=args.batch)))
    rows.insert(0, ("resnet50 forward only (reference)", lambda: resnet.features(resnet.prepare(film))))
    if not args.no_vit:
        vit = explainable(timm.create_model("vit_base_patch16_224", pretrained=False, num_classes=14).eval(),
                          name="vit_b16", input_size=224)
        rows.append(("ViT-B/16 patch-token map (attention)", lambda: explain(vit, film, target, "attention")))
    for name, run in rows:
        if "forward only" in name:
            with torch.no_grad():
                ms = _median_ms(run, args.repeats)
        else:
            ms = _median_ms(run, args.repeats)
        print(f"{name}: {ms:,.0f} ms (median of {args.repeats})")
    return 0
