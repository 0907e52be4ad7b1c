"""A PowerPoint deck (python-pptx): a title slide that says the deck is anonymised, then per
case an "unknown" slide (the plain key image and the history) and an answer slide (the image
with its annotations, findings, diagnosis and teaching points). The teacher's full notes go in
each answer slide's speaker notes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from cxrviewer.fileio import atomic_write_bytes
from cxrviewer.teaching.export_common import ANONYMISED_NOTE, SYNTHETIC_NOTE, ExportCase, ExportPlan

SLIDE_W_IN, SLIDE_H_IN = 13.333, 7.5  # 16:9
IMAGE_BOX_IN = (0.4, 1.2, 7.4, 6.0)  # left, top, width, height
TEXT_BOX_IN = (8.0, 1.2, 4.9, 6.0)


def deck_bytes(plan: ExportPlan) -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(SLIDE_W_IN), Inches(SLIDE_H_IN)
    props = deck.core_properties
    props.title = plan.collection.name
    props.author = "cxrviewer"
    props.last_modified_by = "cxrviewer"
    props.comments = ANONYMISED_NOTE
    props.subject = "Teaching file"
    _title_slide(deck, plan)
    for item in plan.cases:
        _unknown_slide(deck, item)
        _answer_slide(deck, item)
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def write_pptx(plan: ExportPlan, out: str | Path) -> Path:
    out = Path(out)
    atomic_write_bytes(out, deck_bytes(plan))
    return out


def _title_slide(deck: Any, plan: ExportPlan) -> None:
    slide = deck.slides.add_slide(deck.slide_layouts[0])
    slide.shapes.title.text = plan.collection.name
    lines = [plan.collection.description, f"{len(plan.cases)} cases", ANONYMISED_NOTE]
    if plan.synthetic:
        lines.append(SYNTHETIC_NOTE)
    slide.placeholders[1].text = "\n".join(line for line in lines if line)


def _unknown_slide(deck: Any, item: ExportCase) -> None:
    slide = _blank_with_title(deck, f"Case {item.number}: unknown")
    _picture(slide, item.plain_png)
    lines = [("History", item.case.teaching.history or "-")]
    if item.case.teaching.difficulty:
        lines.append(("Difficulty", item.case.teaching.difficulty))
    _text(slide, lines, list(item.warnings))


def _answer_slide(deck: Any, item: ExportCase) -> None:
    t = item.case.teaching
    slide = _blank_with_title(deck, item.heading)
    _picture(slide, item.annotated_png)
    lines = [(label, value) for label, value in (("Findings", t.findings), ("Diagnosis", t.diagnosis),
                                                  ("Teaching points", t.teaching_points)) if value]
    if t.tags:
        lines.append(("Tags", ", ".join(t.tags)))
    _text(slide, lines or [("Findings", "-")], list(item.warnings))
    notes = [f"{label}: {value}" for label, value in (("History", t.history), ("Findings", t.findings),
                                                       ("Diagnosis", t.diagnosis),
                                                       ("Teaching points", t.teaching_points)) if value]
    slide.notes_slide.notes_text_frame.text = "\n".join(notes) or item.heading


def _blank_with_title(deck: Any, title: str) -> Any:
    slide = deck.slides.add_slide(deck.slide_layouts[5])  # "Title Only"
    slide.shapes.title.text = title
    return slide


def _picture(slide: Any, png: bytes) -> None:
    from PIL import Image
    from pptx.util import Inches

    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    left, top, box_w, box_h = IMAGE_BOX_IN
    scale = min(box_w / width, box_h / height)
    w, h = width * scale, height * scale
    slide.shapes.add_picture(io.BytesIO(png), Inches(left + (box_w - w) / 2), Inches(top + (box_h - h) / 2),
                             Inches(w), Inches(h))


def _text(slide: Any, lines: list[tuple[str, str]], warnings: list[str]) -> None:
    from pptx.util import Inches, Pt

    left, top, width, height = TEXT_BOX_IN
    frame = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(height)).text_frame
    frame.word_wrap = True
    first = True
    for label, value in lines:
        heading = frame.paragraphs[0] if first else frame.add_paragraph()
        first = False
        heading.text = label
        heading.runs[0].font.bold = True
        heading.runs[0].font.size = Pt(18)
        body = frame.add_paragraph()
        body.text = value
        body.runs[0].font.size = Pt(16)
    for warning in warnings:
        para = frame.add_paragraph()
        para.text = warning
        para.runs[0].font.size = Pt(12)
        para.runs[0].font.italic = True
