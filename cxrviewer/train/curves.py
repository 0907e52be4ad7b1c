"""metrics.csv and small PNG line charts of the training curves, drawn with Pillow.

matplotlib is not a dependency; a chart of a few series over epochs needs only lines, ticks
and a legend.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from cxrviewer.fileio import atomic_write_bytes, atomic_write_text

COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127))


def write_csv(path: Path, history: Sequence[Mapping[str, float]]) -> None:
    """One row per epoch; columns are every key seen, in first-seen order."""
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: _fmt(row.get(k)) for k in columns})
    atomic_write_text(path, buffer.getvalue())


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def plot_lines(path: Path, title: str, x: Sequence[float], series: Mapping[str, Sequence[float | None]],
               size: tuple[int, int] = (640, 400)) -> None:
    """A line chart of ``series`` over ``x`` written as PNG (atomically); a None or non-finite
    value (an epoch without that metric) is left out."""
    from PIL import Image, ImageDraw

    width, height = size
    left, right, top, bottom = 60, 150, 30, 40
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    values = [v for ys in series.values() for v in ys if v is not None and math.isfinite(v)]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    x0, x1 = (min(x), max(x)) if x else (0.0, 1.0)
    if x1 == x0:
        x1 = x0 + 1
    px = lambda v: left + (v - x0) / (x1 - x0) * (width - left - right)  # noqa: E731
    py = lambda v: height - bottom - (v - lo) / (hi - lo) * (height - top - bottom)  # noqa: E731
    draw.rectangle([left, top, width - right, height - bottom], outline=(0, 0, 0))
    draw.text((left, 8), title, fill=(0, 0, 0))
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        draw.text((4, py(v) - 6), f"{v:.3g}", fill=(0, 0, 0))
        draw.line([left - 4, py(v), left, py(v)], fill=(0, 0, 0))
    draw.text((left, height - bottom + 6), f"{x0:g}", fill=(0, 0, 0))
    draw.text((width - right - 20, height - bottom + 6), f"{x1:g}", fill=(0, 0, 0))
    draw.text(((width - right + left) // 2 - 15, height - bottom + 20), "epoch", fill=(0, 0, 0))
    for n, (name, ys) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        points = [(px(a), py(b)) for a, b in zip(x, ys) if b is not None and math.isfinite(b)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for p in points:
            draw.ellipse([p[0] - 2, p[1] - 2, p[0] + 2, p[1] + 2], fill=colour)
        draw.line([width - right + 10, top + 8 + 16 * n, width - right + 30, top + 8 + 16 * n], fill=colour, width=2)
        draw.text((width - right + 34, top + 16 * n), name[:18], fill=(0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def write_curves(run_dir: Path, history: Sequence[Mapping[str, float]], metric_keys: Sequence[str]) -> None:
    """metrics.csv, loss.png (train/val loss) and metrics.png (the chosen validation metrics)."""
    write_csv(run_dir / "metrics.csv", history)
    epochs = [float(row["epoch"]) for row in history]
    losses = {k: [row.get(k) for row in history] for k in ("train_loss", "val_loss")
              if any(k in row for row in history)}
    plot_lines(run_dir / "loss.png", "loss", epochs, losses)
    metrics = {k: [row.get(k) for row in history] for k in metric_keys if any(k in row for row in history)}
    if metrics:
        plot_lines(run_dir / "metrics.png", "validation", epochs, metrics)
