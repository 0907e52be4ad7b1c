"""Generating example films for a text: the CLI's ``synthesize`` and the GUI's dialog job.

Everything that leaves here is marked: files carry the burned-in band and the header marks
(:mod:`cxrviewer.synthesis.marking`), and the GUI's grid gets marked pixels too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.synthesis import marking


@dataclass(frozen=True)
class Examples:
    """Marked films for one text, ready to show (uint8, with the SYNTHETIC band)."""

    text: str
    seed: int
    films: tuple[np.ndarray, ...]
    generator: str
    trained_on: str
    findings: tuple[str, ...]  # what the report labeler reads in the text (what was asked for)


def _synthetic_demo(generator: Any) -> bool:
    from cxrviewer.models.card import CARD_FILE, SYNTHETIC_DEMO, read_card

    card = read_card(generator.folder / CARD_FILE)
    return card is not None and card.domain == SYNTHETIC_DEMO


def _asked(text: str) -> tuple[str, ...]:
    from cxrviewer.reports.labeler import label_text

    words = []
    for f in label_text(text).findings:
        if f.status in ("positive", "uncertain"):
            parts = [f.severity or "", f.laterality or "", f.label.lower(),
                     "(uncertain)" if f.status == "uncertain" else ""]
            words.append(" ".join(p for p in parts if p))
    return tuple(words)


def synthesize_to_folder(text: str, out: Path, n: int = 8, seed: int = 0, model: str | None = None,
                         fmt: str = "both", device: str | None = None, generator: Any = None) -> list[Path]:
    """Write ``n`` marked films for ``text`` to ``out`` (DICOM and/or PNG) and a synthesis.json."""
    from cxrviewer.fileio import atomic_write_text
    from cxrviewer.synthesis.sample import load_generator

    generator = generator or load_generator(model, device)
    films = generator.examples(text, n, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    demo = _synthetic_demo(generator)
    written: list[Path] = []
    for i, film in enumerate(films):
        description = marking.derivation(generator.description, text, seed, i)
        stem = out / f"synthetic-{seed}-{i + 1:03d}"
        if fmt in ("dicom", "both"):
            written.append(marking.write_dicom(stem.with_suffix(".dcm"), film, description, demo))
        if fmt in ("png", "both"):
            written.append(marking.write_png(stem.with_suffix(".png"), film, description))
    record = {"text": text, "seed": seed, "n": n, "generator": generator.description,
              "generator_folder": str(generator.folder), "files": [p.name for p in written],
              "note": "generated films, marked SYNTHETIC: not patients' films, never to be added to a library"}
    atomic_write_text(out / "synthesis.json", json.dumps(record, indent=1) + "\n")
    return written


def examples_for_gui(text: str, n: int = 8, seed: int = 0, model: str | None = None,
                     generator: Any = None) -> Examples:
    """The dialog's job (run on the worker): marked films for the typed impression."""
    from cxrviewer.models.card import CARD_FILE, read_card
    from cxrviewer.synthesis.sample import load_generator

    generator = generator or load_generator(model)
    films = generator.examples(text, n, seed)
    card = read_card(generator.folder / CARD_FILE)
    trained_on = ", ".join(card.training_data) if card is not None else "unknown data"
    return Examples(text, seed, tuple(marking.burn_in(f) for f in films), generator.description, trained_on,
                    _asked(text))
