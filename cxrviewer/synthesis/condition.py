"""What a generator is conditioned on: a report text made into one vector.

Two parts, either or both (``Conditioning.kind``):

- ``text``: the report's embedding from the library's joint image-text model (the app's own
  search model: for the demo, ``demo-clip``), scaled to unit variance per component;
- ``findings``: what cxrviewer's report labeler reads in the text, per finding: present (1, or
  0.5 when uncertain), severity (mild 1/3, moderate 2/3, severe 1; 1/2 when unstated), left,
  right (both for bilateral). A library without a joint model is conditioned on this alone.

The text embedding knows the wording (lobes, sizes, devices), the findings vector is exact about
side and severity; together the generator gets both. The same function turns a training report
and a typed impression into a vector, so ``synthesize "TEXT"`` asks for what training saw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cxrviewer.reports.labels import ALL_LABELS, NO_FINDING

KINDS = ("text+findings", "text", "findings")
PARTS = ("present", "severity", "left", "right")  # per finding
SEVERITY = {"mild": 1 / 3, "moderate": 2 / 3, "severe": 1.0}


@dataclass(frozen=True)
class Conditioning:
    """How texts become condition vectors (saved in the generator's config)."""

    kind: str
    labels: tuple[str, ...]  # findings of the findings part, in ALL_LABELS order
    text_model: str = ""  # registered name (or folder) of the joint model, for the text part
    text_fingerprint: str = ""  # its weights' fingerprint when the generator was trained
    text_dim: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"condition must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if "text" in self.kind.split("+") and not self.text_model:
            raise ValueError("a text condition needs the library's joint model")

    @property
    def uses_text(self) -> bool:
        return "text" in self.kind.split("+")

    @property
    def uses_findings(self) -> bool:
        return "findings" in self.kind.split("+")

    @property
    def dim(self) -> int:
        return (self.text_dim if self.uses_text else 0) + (len(self.labels) * len(PARTS) if self.uses_findings else 0)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "labels": list(self.labels), "text_model": self.text_model,
                "text_fingerprint": self.text_fingerprint, "text_dim": self.text_dim}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conditioning:
        return cls(str(data["kind"]), tuple(str(x) for x in data.get("labels", ())), str(data.get("text_model", "")),
                   str(data.get("text_fingerprint", "")), int(data.get("text_dim", 0)))


def finding_labels(statuses: Sequence[dict[str, str]], min_positives: int = 2) -> tuple[str, ...]:
    """Findings stated positive in at least ``min_positives`` reports, in ALL_LABELS order."""
    counts: dict[str, int] = {}
    for status in statuses:
        for label, value in status.items():
            if value == "positive":
                counts[label] = counts.get(label, 0) + 1
    return tuple(label for label in ALL_LABELS if label != NO_FINDING and counts.get(label, 0) >= min_positives)


def findings_vectors(texts: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """(n, 4 * len(labels)) float32: present, severity, left, right of each finding."""
    from cxrviewer.reports.labeler import label_text

    out = np.zeros((len(texts), len(labels) * len(PARTS)), np.float32)
    where = {label: i * len(PARTS) for i, label in enumerate(labels)}
    for row, text in enumerate(texts):
        for finding in label_text(text).findings:
            j = where.get(finding.label)
            if j is None or finding.status not in ("positive", "uncertain"):
                continue
            out[row, j] = 1.0 if finding.status == "positive" else 0.5
            out[row, j + 1] = SEVERITY.get(finding.severity or "", 0.5)
            side = finding.laterality or ""
            out[row, j + 2] = float(side in ("left", "bilateral"))
            out[row, j + 3] = float(side in ("right", "bilateral"))
    return out


def requested(texts: Sequence[str], labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(present, side) per text and finding: present 1 / 0 / -1 (uncertain: neither requested
    nor not), side "left" / "right" / "" as the text states it."""
    vectors = findings_vectors(texts, labels).reshape(len(texts), len(labels), len(PARTS))
    present = np.where(vectors[..., 0] == 1.0, 1, np.where(vectors[..., 0] == 0.5, -1, 0))
    left, right = vectors[..., 2] > 0, vectors[..., 3] > 0
    side = np.where(left & ~right, "left", np.where(right & ~left, "right", ""))
    return present.astype(np.int8), side


class Conditioner:
    """Turns texts into condition vectors; loads the joint model once (on the worker: torch)."""

    def __init__(self, conditioning: Conditioning, encoder: Any = None, device: str | None = None) -> None:
        self.conditioning = conditioning
        self._encoder = encoder
        self._device = device

    @property
    def encoder(self) -> Any:
        if self._encoder is None and self.conditioning.uses_text:
            self._encoder = load_text_model(self.conditioning, self._device)
        return self._encoder

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        parts = []
        c = self.conditioning
        if c.uses_text:
            embedded = self.encoder.encode_texts(texts) if texts else np.zeros((0, c.text_dim), np.float32)
            parts.append(np.asarray(embedded, np.float32) * math.sqrt(c.text_dim))
        if c.uses_findings:
            parts.append(findings_vectors(texts, c.labels))
        return np.concatenate(parts, axis=1).astype(np.float32)


def load_text_model(conditioning: Conditioning, device: str | None = None) -> Any:
    """The joint model the generator was trained with; refused when its weights changed since
    (its text vectors would be another model's and the films would not follow the text)."""
    from cxrviewer.models.encoders import load_encoder, resolve_spec
    from cxrviewer.models.errors import ModelError
    from cxrviewer.models.registry import weights_fingerprint

    spec = resolve_spec(conditioning.text_model)
    if conditioning.text_fingerprint:
        found = weights_fingerprint(spec.local_path())
        if found != conditioning.text_fingerprint:
            raise ModelError(f"the text model {conditioning.text_model!r} is not the one this generator was "
                             f"trained with (its weights changed); retrain the generator")
    return load_encoder(spec, device=device)


def library_conditioning(library: Any, kind: str, statuses: Sequence[dict[str, str]]) -> Conditioning:
    """The conditioning for an open library: its joint model's text embedding when it has one
    (``kind`` "auto" picks text+findings then), else findings only."""
    labels = finding_labels(statuses)
    route = library.manifest.route
    text_model, fingerprint, dim = "", "", 0
    joint = False
    if route and route != "labels":
        from cxrviewer.models.registry import weights_fingerprint

        spec = library.encoder_spec()
        joint = bool(spec.has_text)
        if joint:
            text_model = spec.name if _registered(spec.name) else str(spec.local_path())
            fingerprint, dim = weights_fingerprint(spec.local_path()), int(spec.embed_dim)
    if kind == "auto":
        kind = "text+findings" if joint else "findings"
    if "text" in kind.split("+") and not joint:
        raise ValueError(f"library {library.folder} has no joint image-text model (its route is {route!r}); "
                         "use --condition findings")
    return Conditioning(kind, labels, text_model, fingerprint, dim)


def _registered(name: str) -> bool:
    from cxrviewer.models.registry import all_specs

    return name in all_specs()
