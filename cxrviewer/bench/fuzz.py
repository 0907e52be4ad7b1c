"""``python -m cxrviewer.bench fuzz --n N [--seed S] [--json]``: damaged DICOM files against the app.

Mutants of the real files in ../shared/data/dicom and of pydicom's own test files (see
:mod:`cxrviewer.bench._mutants`) go through the scan, the header read, the decode (the isolated
decoder where the app uses it), the display mapping, the thumbnail and the tag tree in a
separate process (:mod:`cxrviewer.bench._fuzz_child`). This process watches it: a mutant that
takes longer than ``hang_s`` is a hang, a process that dies is a signal; either way the process
is replaced and the run goes on with the next mutant. Every outcome must be "ok" or the app's own
error with its reason; foreign exceptions, hangs and signals must be 0.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_CONTAINED = ("the decoder crashed", "decoding took longer")  # isolated.load_image_isolated's reasons
DECODE_TIMEOUT_S = 20.0  # the isolated decoder's limit during a run (the app's is 30 s)
SHARED_DICOM = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "dicom"


@dataclass
class FuzzReport:
    n: int
    seed: int
    seconds: float = 0.0
    outcomes: Counter = field(default_factory=Counter)  # ok / app_error / foreign / hang / signal
    reasons: Counter = field(default_factory=Counter)  # app errors by reason
    failures: list[dict[str, Any]] = field(default_factory=list)  # foreign, hang, signal
    contained: list[dict[str, Any]] = field(default_factory=list)  # the isolated decoder crashed or ran away
    slowest: dict[str, Any] = field(default_factory=dict)
    peak_rss_kb: int = 0
    decoder_peak_rss_kb: int = 0
    seeds: int = 0

    @property
    def rate(self) -> float:
        return self.n / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "mutants": self.n, "seed": self.seed, "seed_files": self.seeds, "seconds": round(self.seconds, 1),
            "mutants_per_s": round(self.rate, 2),
            "ok": self.outcomes["ok"], "app_errors": self.outcomes["app_error"],
            "foreign_exceptions": self.outcomes["foreign"], "hangs": self.outcomes["hang"],
            "signals": self.outcomes["signal"], "app_errors_by_reason": dict(self.reasons.most_common()),
            "failures": self.failures, "isolated_decoder_crashes_or_timeouts": self.contained,
            "slowest_decode": self.slowest,
            "peak_rss_mb": round(self.peak_rss_kb / 1024, 1),
            "decoder_peak_rss_mb": round(self.decoder_peak_rss_kb / 1024, 1),
        }


def run_fuzz(n: int, seed: int = 0, *, seed_paths: list[Path] | None = None, hang_s: float | None = None,
             decode_timeout_s: float = DECODE_TIMEOUT_S, progress: Any = None) -> FuzzReport:
    """Fuzz ``n`` mutants; deterministic in (seed files, seed, n)."""
    from cxrviewer.bench._mutants import seed_files

    paths = [str(p) for p in (seed_paths if seed_paths is not None else seed_files(SHARED_DICOM))]
    if not paths:
        raise RuntimeError("no seed files (pydicom's test files and ../shared/data/dicom are both missing)")
    hang_limit = hang_s if hang_s is not None else 2 * decode_timeout_s + 30.0
    report = FuzzReport(n, seed, seeds=len(paths))
    started = time.perf_counter()
    from cxrviewer.lifeline import inherited_environment

    # The spawned processes inherit these.
    with inherited_environment({"CXRVIEWER_DECODE_TIMEOUT": str(decode_timeout_s), "PYTHONWARNINGS": "ignore"}), \
            tempfile.TemporaryDirectory(prefix="cxrviewer-fuzz-") as folder:
        index = 0
        while index < n:
            index = _run_process(paths, seed, index, n, folder, hang_limit, report, progress)
    report.seconds = time.perf_counter() - started
    return report


def _run_process(paths: list[str], seed: int, start: int, stop: int, folder: str, hang_limit: float,
                 report: FuzzReport, progress: Any) -> int:
    """Run mutants from ``start`` in a fresh process until it finishes, hangs or dies; returns
    the index to go on from."""
    from cxrviewer.bench._fuzz_child import serve

    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=serve, args=(sender, paths, seed, start, stop, folder), name="cxrviewer-fuzz")
    process.start()
    sender.close()
    index = start
    first_limit = hang_limit + 30.0  # the first mutant also pays for the imports
    try:
        while index < stop:
            if not receiver.poll(first_limit if index == start else hang_limit):
                _failure(report, "hang", index, paths, seed, f"no answer within {hang_limit:.0f} s")
                return index + 1
            try:
                result = receiver.recv()
            except (EOFError, OSError):
                process.join(5)
                _failure(report, "signal", index, paths, seed, f"the process died (exit code {process.exitcode})")
                return index + 1
            if result is None:
                return stop
            _record(report, result)
            index += 1
            if progress is not None:
                progress(index, report)
        return stop
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5)


def _record(report: FuzzReport, result: dict[str, Any]) -> None:
    outcome = result["outcome"]
    report.outcomes[outcome] += 1
    if outcome == "app_error":
        report.reasons[result["key"]] += 1
        if result["reason"].startswith(_CONTAINED):
            report.contained.append({k: result.get(k) for k in ("index", "source", "operations", "reason")})
    elif outcome == "foreign":
        report.failures.append({k: result.get(k) for k in ("outcome", "index", "source", "operations", "stage",
                                                            "exception", "where")})
    if result["decode_s"] > report.slowest.get("seconds", -1.0):
        report.slowest = {"seconds": round(result["decode_s"], 3), "index": result["index"],
                          "source": result["source"], "outcome": outcome, "reason": result.get("reason", "")}
    report.peak_rss_kb = max(report.peak_rss_kb, int(result.get("rss_kb", 0)))
    report.decoder_peak_rss_kb = max(report.decoder_peak_rss_kb, int(result.get("decoder_rss_kb", 0)))


def _failure(report: FuzzReport, outcome: str, index: int, paths: list[str], seed: int, what: str) -> None:
    from cxrviewer.bench._mutants import load_seeds, mutant

    m = mutant(load_seeds([Path(p) for p in paths]), seed, index)
    report.outcomes[outcome] += 1
    report.failures.append({"outcome": outcome, "index": index, "source": m.source,
                            "operations": list(m.operations), "exception": what})


def format_report(report: FuzzReport) -> str:
    d = report.as_dict()
    lines = [
        f"fuzz: {d['mutants']:,} mutants of {d['seed_files']} files (seed {d['seed']}) in {d['seconds']:.0f} s: "
        f"{d['mutants_per_s']:.1f} mutants/s",
        f"  ok: {d['ok']:,}   app errors: {d['app_errors']:,}   foreign exceptions: {d['foreign_exceptions']} "
        f"(must be 0)   hangs: {d['hangs']} (must be 0)   signals: {d['signals']} (must be 0)",
        f"  slowest decode: {d['slowest_decode'].get('seconds', 0):.2f} s ({d['slowest_decode'].get('source', '-')}, "
        f"mutant {d['slowest_decode'].get('index', '-')}: {d['slowest_decode'].get('reason') or 'ok'})",
        f"  peak RSS: {d['peak_rss_mb']:.0f} MB (fuzzing process), "
        f"{d['decoder_peak_rss_mb']:.0f} MB (isolated decoder)",
        f"  isolated decoder: {len(d['isolated_decoder_crashes_or_timeouts'])} crash(es) or timeout(s), contained "
        "(the file's reason is shown, the app goes on)",
        "  app errors by reason:",
    ]
    lines += [f"    {count:6,}  {key}" for key, count in d["app_errors_by_reason"].items()]
    for item in d["isolated_decoder_crashes_or_timeouts"]:
        lines.append(f"  contained: mutant {item['index']} of {item['source']} ({'; '.join(item['operations'])}): "
                     f"{item['reason']}")
    for failure in d["failures"]:
        lines.append(f"  {failure['outcome'].upper()} mutant {failure['index']} of {failure['source']} "
                     f"({'; '.join(failure['operations'])}): {failure['exception']}"
                     + (f" at {failure['where']}" if failure.get("where") else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cxrviewer.bench fuzz",
        description="Damaged copies of real DICOM files through the scan, header, decode, display, thumbnail "
        "and tag tree: counts by outcome (foreign exceptions, hangs and signals must be 0), mutants/s, the "
        "slowest decode and peak memory. Exit status 1 when anything but the app's own errors came out.")
    parser.add_argument("--n", type=int, default=1000, help="how many mutants (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (same seed, same mutants)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--decode-timeout", type=float, default=DECODE_TIMEOUT_S,
                        help=f"the isolated decoder's limit in seconds (default {DECODE_TIMEOUT_S:.0f})")
    args = parser.parse_args(argv)

    def progress(done: int, report: FuzzReport) -> None:
        if not args.json and sys.stderr.isatty() and done % 100 == 0:
            print(f"\r{done:,} / {args.n:,}", end="", file=sys.stderr, flush=True)

    report = run_fuzz(args.n, args.seed, decode_timeout_s=args.decode_timeout, progress=progress)
    print(json.dumps(report.as_dict(), indent=2) if args.json else format_report(report))
    bad = report.outcomes["foreign"] + report.outcomes["hang"] + report.outcomes["signal"]
    return 1 if bad else 0
