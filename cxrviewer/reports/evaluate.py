"""Score the labeler against reference labels (NegBio's Open-i gold layout).

Reports come in the IU CSV layout (``uid, ..., findings, impression``); gold labels have
``filename`` = ``CXR<uid>``, one 0/1 column per ChestX-ray14 finding and ``normal``. The label
mapping is fixed in ``labels.OPENI_TO_OURS``.

Scoring policy for uncertain findings: the Open-i coders code *probable* findings as present
("probable atelectasis", "borderline cardiomegaly", "atelectasis versus infiltrate") but not
*possible* ones ("may represent pneumonia", "possible nodule"): on the dev set, findings under
"may represent" are gold-positive 9 times in 75, under "probable"/"borderline" 33 in 37. So a
finding counts as present when it is positive or uncertain with certainty "probable"
(``Finding.likely_present``); a merely possible one counts as absent. ``normal`` is scored with
``LabelResult.is_normal()``. Gold columns we do not know are reported and skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cxrviewer.reports import labels as L
from cxrviewer.reports.labeler import LabelResult, label_text


class EvalInputError(ValueError):
    """A reports or gold file that is missing or not in the expected layout."""


@dataclass(frozen=True)
class LabelScore:
    label: str
    tp: int
    fp: int
    fn: int

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return _f1(self.tp, self.fp, self.fn)


@dataclass(frozen=True)
class EvalResult:
    """Per-label scores with micro and macro averages over the scored reports.

    The macro average leaves out labels with no gold positives and no predictions (their F1 is
    undefined), and says which it left out.
    """

    per_label: tuple[LabelScore, ...]
    n_reports: int
    missing_reports: int
    skipped_columns: tuple[str, ...]
    errors: tuple[tuple[str, str, int, int], ...] = ()  # (uid, gold column, gold, predicted)

    @property
    def micro_f1(self) -> float:
        return _f1(sum(s.tp for s in self.per_label), sum(s.fp for s in self.per_label),
                   sum(s.fn for s in self.per_label))

    @property
    def micro_precision(self) -> float:
        tp, fp = sum(s.tp for s in self.per_label), sum(s.fp for s in self.per_label)
        return tp / (tp + fp) if tp + fp else 0.0

    @property
    def micro_recall(self) -> float:
        tp, fn = sum(s.tp for s in self.per_label), sum(s.fn for s in self.per_label)
        return tp / (tp + fn) if tp + fn else 0.0

    @property
    def macro_f1(self) -> float:
        scored = [s.f1 for s in self.per_label if s.tp + s.fp + s.fn]
        return sum(scored) / len(scored) if scored else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "micro_f1": round(self.micro_f1, 4),
            "micro_precision": round(self.micro_precision, 4),
            "micro_recall": round(self.micro_recall, 4),
            "macro_f1": round(self.macro_f1, 4),
            "n_reports": self.n_reports,
            "missing_reports": self.missing_reports,
            "skipped_columns": list(self.skipped_columns),
            "uncertain_counts_as": "positive when probable, negative when possible",
            "per_label": {
                s.label: {"precision": round(s.precision, 4), "recall": round(s.recall, 4),
                          "f1": round(s.f1, 4), "support": s.support, "tp": s.tp, "fp": s.fp,
                          "fn": s.fn}
                for s in self.per_label
            },
        }

    def table(self) -> str:
        rows = [f"{'label':<20} {'prec':>6} {'recall':>6} {'f1':>6} {'support':>7}"]
        for s in self.per_label:
            rows.append(f"{s.label:<20} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.support:7d}")
        rows.append(f"{'micro':<20} {self.micro_precision:6.3f} {self.micro_recall:6.3f} "
                    f"{self.micro_f1:6.3f} {sum(s.support for s in self.per_label):7d}")
        rows.append(f"{'macro':<20} {'':>6} {'':>6} {self.macro_f1:6.3f}")
        rows.append(f"{self.n_reports} reports scored (uncertain counts as positive when probable)"
                    + (f"; {self.missing_reports} gold rows had no report" if self.missing_reports else "")
                    + (f"; skipped columns: {', '.join(self.skipped_columns)}" if self.skipped_columns else ""))
        return "\n".join(rows)


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def report_text(row: Mapping[str, str]) -> str:
    """The text the labeler reads for an IU row: findings, then impression."""
    parts = [(row.get("findings") or "").strip(), (row.get("impression") or "").strip()]
    return "\n\n".join(p for p in parts if p)


def predicted_openi(result: LabelResult, column: str) -> int:
    """Our verdict for one Open-i gold column (uncertain counts as positive when probable)."""
    if column == L.OPENI_NORMAL:
        return int(result.is_normal())
    return int(result.likely_present(L.OPENI_TO_OURS[column]))


def read_csv(path: str | Path, required: Iterable[str], what: str) -> list[dict[str, str]]:
    """Rows of a CSV, with a clear error for a missing file or missing columns."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise EvalInputError(f"cannot read {what} file {p}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise EvalInputError(f"{what} file {p} is not UTF-8 text") from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = list(reader)
    except csv.Error as exc:
        raise EvalInputError(f"{what} file {p} is not a readable CSV: {exc}") from None
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        raise EvalInputError(f"{what} file {p} lacks column(s) {', '.join(missing)} "
                             f"(found: {', '.join(header) or 'no header'})")
    return rows


def evaluate_files(reports_csv: str | Path, gold_csv: str | Path,
                   score_all: bool = True) -> EvalResult:
    """Label every gold report's findings + impression and score it."""
    reports = read_csv(reports_csv, ("uid", "findings", "impression"), "reports")
    gold = read_csv(gold_csv, ("filename",), "gold")
    known = [c for c in (gold[0] if gold else {}) if c in L.OPENI_TO_OURS]
    if not known:
        raise EvalInputError(f"gold file {gold_csv} has no label columns (expected some of: "
                             f"{', '.join(L.OPENI_TO_OURS)})")
    texts = {str(r["uid"]).strip(): report_text(r) for r in reports}
    return evaluate(texts, gold, score_all)


def evaluate(texts: Mapping[str, str], gold: list[dict[str, str]],
             score_all: bool = True) -> EvalResult:
    """Score labels of ``texts`` (uid -> text) against gold rows (``filename`` = CXR<uid>).

    Columns in ``labels.OPENI_UNSCORED`` are skipped unless ``score_all``.
    """
    columns = [c for c in (gold[0].keys() if gold else ()) if c != "filename"]
    unscored = {} if score_all else L.OPENI_UNSCORED
    scored = [c for c in columns if c in L.OPENI_TO_OURS and c not in unscored]
    skipped = tuple(c for c in columns if c not in scored)
    counts = {c: [0, 0, 0] for c in scored}
    errors: list[tuple[str, str, int, int]] = []
    n = missing = 0
    for row in gold:
        uid = (row.get("filename") or "").strip()
        uid = uid[3:] if uid.upper().startswith("CXR") else uid
        uid = uid.split("_")[0].split(".")[0]
        if uid not in texts:
            missing += 1
            continue
        result = label_text(texts[uid])
        n += 1
        for c in scored:
            g = 1 if str(row.get(c, "0")).strip() in ("1", "1.0") else 0
            p = predicted_openi(result, c)
            if g and p:
                counts[c][0] += 1
            elif p:
                counts[c][1] += 1
            elif g:
                counts[c][2] += 1
            if g != p:
                errors.append((uid, c, g, p))
    per_label = tuple(LabelScore(c, *counts[c]) for c in scored)
    return EvalResult(per_label, n, missing, skipped, tuple(errors))
