"""Reproduce the shipped generator: ``python -m cxrviewer.synthesis.demo_generator``.

Writes a synthetic demo dataset (seed 7: no case of the bundled demo library, which is seed 0),
builds its library with the shipped ``demo-clip`` model (so the generator is conditioned on
demo-clip's text embeddings), trains the projection GAN on its train split for a fixed training
time on the CPU, and writes ``resources/models/demo-synth``. ``--evaluate`` then runs
``eval synthesis`` on the same library's held-out films (the reference design trained in the same
run for the same time) and puts the figures in the folder's README.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from cxrviewer import paths
from cxrviewer.synthesis import store

LICENCE = "CC0-1.0 (trained only on cxrviewer's synthetic demo data)"
SEED, CASES, SIZE = 7, 3000, 256


def prepare_library(work: Path, workers: int) -> Path:
    from cxrviewer.demo import write_demo
    from cxrviewer.library.build import BuildOptions, build_library

    data, library = work / "data", work / "library"
    if not (data / "demo_cases.jsonl").exists():
        write_demo(data, n_cases=CASES, size=SIZE, seed=SEED, workers=workers)
    build_library(BuildOptions("demo", data, library, name="demo-synth-train", synthetic=True, encoder="demo-clip",
                               workers=workers, device="cpu"))
    return library


def machine() -> str:
    """The CPU the run used, e.g. "AMD EPYC, 2 cores, Linux x86_64"."""
    import platform

    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}"


def _facts(summary: dict[str, Any]) -> str:
    """Training data, time and machine as a short list (the JSON below has the rest)."""
    if not summary:
        return ""
    return (f"- Training data: {summary.get('data', '?')} (train split, synthetic phantoms only)\n"
            f"- Training: {summary.get('steps')} steps in {float(summary.get('seconds') or 0) / 60:.1f} min of "
            f"training time ({float(summary.get('wall_seconds') or 0) / 60:.1f} min wall) on "
            f"{summary.get('device', '?')} ({summary.get('threads', '?')} thread(s)), on "
            f"{summary.get('machine', '?')} shared with other work "
            f"(load average {summary.get('load_average_before', '?')} before)\n"
            f"- Size: {summary.get('parameters', 0):,} parameters, float32 safetensors")


def load_average() -> str:
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg()) + f" on {os.cpu_count()} cores"
    except OSError:
        return "unknown"


def write_readme(out: Path, summary: dict[str, Any], figures: str) -> None:
    from cxrviewer.fileio import atomic_write_text

    text = (f"---\nlicense: {LICENCE}\n---\n# demo-synth\n\n"
            "A small text-conditioned generator of 128 px films, trained only on cxrviewer's synthetic demo films "
            "(phantoms), so the demo shows *Synthesize example films*. Every film it makes is marked SYNTHETIC in "
            "its pixels and its file; it draws demo phantoms, not radiographs, and says nothing about real films.\n\n"
            "Design: projection-discriminator conditional GAN (hinge loss, spectral normalisation, auxiliary "
            "finding head, EMA generator) with a finding critic trained first on the real training films, "
            "which reads every generated film during training; conditioned on demo-clip's text embedding of the "
            "report plus the findings the report labeler reads (side, severity). See `cxrviewer/synthesis/nets.py` "
            "and `critic.py`.\n\n"
            f"{_facts(summary)}\n\n"
            "Reproduce: `python -m cxrviewer.synthesis.demo_generator --evaluate`\n\n"
            f"```json\n{json.dumps(summary, indent=1)}\n```\n\n## Evaluation (`cxrviewer eval synthesis`)\n\n"
            f"```\n{figures}\n```\n")
    atomic_write_text(out / "README.md", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxrviewer.synthesis.demo_generator", description=__doc__)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: <cache>/demo-synth)")
    parser.add_argument("--out", type=Path, default=None, help="model folder (default: resources/models/demo-synth)")
    parser.add_argument("--minutes", type=float, default=25.0, help="training time (default 25)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1: fastest on a shared CPU)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--evaluate", action="store_true", help="also run eval synthesis and record its figures")
    parser.add_argument("--evaluate-only", action="store_true", help="evaluate the existing folder only")
    parser.add_argument("--reference", default=None, metavar="G",
                        help="a reference-design generator already trained for the same time on the same library "
                             "(default: train one in this run)")
    parser.add_argument("--readme-only", action="store_true",
                        help="write the folder's README from its recorded training and evaluation only")
    args = parser.parse_args(argv)

    from cxrviewer.synthesis.benchmark import evaluate_generator, summary
    from cxrviewer.synthesis.config import SynthesisConfig
    from cxrviewer.synthesis.train import train_synthesis

    work = args.work or paths.cache_dir() / "demo-synth"
    out = args.out or store.shipped_dir()
    if args.readme_only:
        return readme_only(work, out)
    library = prepare_library(work, args.workers)
    report: dict[str, Any] = {}
    if not args.evaluate_only:
        load_before = load_average()
        cfg = SynthesisConfig(library=library, name=store.SHIPPED_GENERATOR, out=out, run_dir=work / "run",
                              steps=0, minutes=args.minutes, device="cpu", threads=args.threads, overwrite=True,
                              workers=args.workers, licence=LICENCE)
        started = time.perf_counter()
        result = train_synthesis(cfg, progress=_printer())
        report = {"data": f"write_demo(n_cases={CASES}, size={SIZE}, seed={SEED}), library built with demo-clip",
                  "wall_seconds": round(time.perf_counter() - started, 1), "machine": machine(),
                  "threads": args.threads, **result.to_dict(),
                  "load_average_before": load_before, "load_average_after": load_average()}
        report = json.loads(portable(json.dumps(report), work, out))
        (work / "training.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        without_work_paths(out / "config.json", work)
    else:
        report = json.loads((work / "training.json").read_text(encoding="utf-8"))
    figures = "(not evaluated)"
    if args.evaluate or args.evaluate_only:
        load_before = load_average()
        evaluation = evaluate_generator(library, str(out), reference=args.reference,
                                        report=lambda m: print(m, file=sys.stderr, flush=True))
        without_work_paths(out / store.EVALUATION, work)
        figures = portable(summary(evaluation), work, out)
        figures += f"\nload average before / after the evaluation: {load_before} / {load_average()}"
        print(figures)
    write_readme(out, report, figures)
    return 0


def portable(text: str, work: Path, out: Path) -> str:
    """``text`` (JSON, or plain text such as the evaluation's summary) with the scratch folder
    written as ``<work>`` and the model folder by its place in the project (``<out>`` outside it):
    a path of the machine that trained the generator says nothing to a user and would leak that
    machine's layout."""
    folder = out.resolve()
    project = paths.resources_dir().parent.resolve()
    mine = folder.relative_to(project).as_posix() if folder.is_relative_to(project) else "<out>"
    for path, name in ((folder, mine), (out, mine), (work.resolve(), "<work>"), (work, "<work>")):
        # as JSON writes it (backslashes and non-ASCII escaped) and as plain text names it
        for spelling in {json.dumps(str(path))[1:-1], str(path)}:
            text = text.replace(spelling, name)
    return text


def without_work_paths(config: Path, work: Path) -> None:
    """A record in the generator's folder (config.json, evaluation.json) made :func:`portable`."""
    from cxrviewer.fileio import atomic_write_text

    atomic_write_text(config, portable(config.read_text(encoding="utf-8"), work, config.parent))


def readme_only(work: Path, out: Path) -> int:
    """The README from ``training.json`` (work folder) and ``evaluation.json`` (model folder)."""
    from cxrviewer.synthesis.benchmark import summary

    report = json.loads((work / "training.json").read_text(encoding="utf-8"))
    evaluation = out / store.EVALUATION
    figures = summary(json.loads(evaluation.read_text(encoding="utf-8"))) if evaluation.is_file() else "(not evaluated)"
    write_readme(out, report, figures)
    return 0


def _printer() -> Any:
    def show(p: Any) -> None:
        if p.stage == "training" and p.step % 100 == 0:
            print(f"step {p.step} {p.message} {({k: round(v, 3) for k, v in p.metrics.items()})}",
                  file=sys.stderr, flush=True)
    return show


if __name__ == "__main__":
    raise SystemExit(main())
