"""A self-contained HTML handout: one file, images inline as PNG data URIs with the annotations
burned in, the teaching fields, no identifying data, and a note that says it is anonymised."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from cxrviewer.fileio import atomic_write_text
from cxrviewer.teaching.export_common import ANONYMISED_NOTE, SYNTHETIC_NOTE, ExportCase, ExportPlan

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 60em; color: #1d1d1f; background: #fff; line-height: 1.45; }
header { border-bottom: 2px solid #333; margin-bottom: 1.5em; }
.note { background: #eef5ff; border-left: 4px solid #2a6ad8; padding: .5em .8em; }
.warning { background: #fff4e5; border-left: 4px solid #d97a00; padding: .5em .8em; }
section.case { page-break-inside: avoid; margin-bottom: 2.5em; }
figure { margin: 0 0 1em 0; }
figure img { max-width: 100%; max-height: 70vh; background: #000; display: block; }
dl { display: grid; grid-template-columns: 11em 1fr; gap: .3em 1em; }
dt { font-weight: 600; }
dd { margin: 0; white-space: pre-wrap; }
.tag { display: inline-block; background: #eee; border-radius: 3px; padding: 0 .4em; margin-right: .3em; }
"""

_FIELDS = (("history", "History"), ("findings", "Findings"), ("diagnosis", "Diagnosis"),
           ("teaching_points", "Teaching points"), ("difficulty", "Difficulty"))


def handout_html(plan: ExportPlan) -> str:
    """The handout as one HTML document."""
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{e(plan.collection.name)}</title><style>{_STYLE}</style></head><body>",
             f"<header><h1>{e(plan.collection.name)}</h1>"]
    if plan.collection.description:
        parts.append(f"<p>{e(plan.collection.description)}</p>")
    parts.append(f'<p class="note" id="anonymised">{e(ANONYMISED_NOTE)}</p>')
    if plan.synthetic:
        parts.append(f'<p class="note">{e(SYNTHETIC_NOTE)}</p>')
    parts.append(f"<p>{len(plan.cases)} cases &middot; {e(plan.created)}</p></header>")
    parts += [_case_html(c) for c in plan.cases]
    parts.append("</body></html>")
    return "\n".join(parts)


def _case_html(item: ExportCase) -> str:
    e = html.escape
    t = item.case.teaching
    image = base64.b64encode(item.annotated_png).decode("ascii")
    out = [f'<section class="case" id="case-{item.number}"><h2>{e(item.heading)}</h2>']
    out += [f'<p class="warning">{e(w)}</p>' for w in item.warnings]
    out.append(f'<figure><img alt="{e(item.heading)}, key image" src="data:image/png;base64,{image}">'
               f"<figcaption>Key image{', annotated' if item.case.annotations else ''}</figcaption></figure>")
    out.append("<dl>")
    for name, label in _FIELDS:
        value = getattr(t, name)
        if value:
            out.append(f"<dt>{label}</dt><dd>{e(value)}</dd>")
    if t.tags:
        out.append("<dt>Tags</dt><dd>" + "".join(f'<span class="tag">{e(tag)}</span>' for tag in t.tags) + "</dd>")
    out.append("</dl></section>")
    return "\n".join(out)


def write_html(plan: ExportPlan, out: str | Path) -> Path:
    out = Path(out)
    atomic_write_text(out, handout_html(plan))
    return out
