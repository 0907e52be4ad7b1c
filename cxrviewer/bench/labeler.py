"""``python -m cxrviewer.bench labeler``: report labeling speed on one core.

Goal: >= 2,000 reports/s, so MIMIC-CXR's 227k reports label in under two minutes. Also times
the pathological inputs the labeler must survive in linear time: a 1 MB report and 100k
repeated characters.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from cxrviewer.reports.evaluate import report_text
from cxrviewer.reports.labeler import label_text

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DEFAULT_REPORTS = SHARED_DATA / "reports" / "iu" / "indiana_reports.csv"
FALLBACK = [
    "Heart size normal and lungs are clear. No edema or pneumonia. No effusion.",
    "1. Left pleural effusion with adjacent atelectasis. Right effusion is also present.\n\n"
    "2. Cardiomegaly without overt edema.",
    "Minimal patchy airspace disease within the lingula, may reflect atelectasis or consolidation.",
]


def _reports(path: Path) -> list[str]:
    if not path.is_file():
        print(f"{path} not found: using {len(FALLBACK)} built-in reports")
        return FALLBACK
    with path.open(newline="", encoding="utf-8") as fh:
        texts = [report_text(row) for row in csv.DictReader(fh)]
    return [t for t in texts if t]


def _time(text: str) -> float:
    start = time.perf_counter()
    label_text(text)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxrviewer.bench labeler", description=__doc__)
    parser.add_argument("--reports", type=Path, default=DEFAULT_REPORTS, help="IU-layout CSV")
    parser.add_argument("--min-reports", type=int, default=20_000,
                        help="repeat reports to at least this many")
    args = parser.parse_args(argv)

    texts = _reports(args.reports)
    repeats = max(1, -(-args.min_reports // len(texts)))
    corpus = texts * repeats
    label_text(corpus[0])  # warm caches and imports
    start = time.perf_counter()
    for text in corpus:
        label_text(text)
    elapsed = time.perf_counter() - start
    rate = len(corpus) / elapsed
    chars = sum(map(len, corpus)) / len(corpus)
    print(f"labeled {len(corpus):,} reports (mean {chars:.0f} chars) in {elapsed:.2f} s on one core: "
          f"{rate:,.0f} reports/s (goal >= 2,000); 227k reports in {227_000 / rate:.0f} s")

    big = ("The heart is mildly enlarged. No pleural effusion or pneumothorax. "
           "Possible left basilar atelectasis versus consolidation.\n")
    one_mb = (big * (1_000_000 // len(big) + 1))[:1_000_000]
    print(f"1 MB report: {_time(one_mb):.2f} s")
    for name, text in (("100k 'a'", "a" * 100_000), ("100k '.'", "." * 100_000),
                       ("100k 'no '", "no " * 33_334), ("100k '\\n '", "\n " * 50_000)):
        print(f"{name}: {_time(text) * 1000:.0f} ms")
    return 0
