"""``cxrviewer info PATH``: what a study folder holds and every file that cannot be shown.

Imported when the command line starts, so pydicom and numpy are imported inside the command.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from typing import Any


def register(subparsers: argparse._SubParsersAction, groups: Any) -> None:
    parser = subparsers.add_parser(
        "info",
        help="summarise a DICOM/PNG/JPEG file or study folder",
        description="Summarise a study folder (patients, studies, series, images, modalities, "
        "sizes, transfer syntaxes) and list every skipped file with its reason. With --decode, "
        "decode every frame of every file instead and list each file that cannot be shown, and "
        "why (exit status 1 when any cannot).",
    )
    parser.add_argument("path", metavar="PATH", help="a file or a folder (DICOMDIR is read)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--decode", action="store_true",
                        help="decode every frame of every file in an isolated decoder and list what "
                        "fails and why: check a folder received from elsewhere before a session")
    parser.set_defaults(func=run_info)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def _counts(values: dict[str, int]) -> str:
    return ", ".join(f"{k} ({v})" for k, v in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))) or "-"


def format_summary(path: str, summary: dict[str, Any]) -> str:
    lines = [
        f"{path}",
        f"  patients: {summary['patients']}   studies: {summary['studies']}   "
        f"series: {summary['series']}   images: {summary['images']} "
        f"({summary['frames']} frames)   reports: {summary['reports']}",
        f"  modalities: {_counts(summary['modalities'])}",
        f"  dimensions: {_counts(summary['dimensions'])}",
        f"  transfer syntaxes: {_counts(summary['transfer_syntaxes'])}",
        f"  total size: {_size(summary['total_size_bytes'])}",
    ]
    for study in summary["study_list"]:
        lines.append(
            f"  - {study['patient'] or '(no name)'}  {study['date'] or '(no date)'}  "
            f"{study['description'] or ''}  {study['series']} series, {study['images']} images"
            + (f", {study['reports']} report(s)" if study["reports"] else "")
        )
    if summary["skipped"]:
        lines.append(f"  skipped {len(summary['skipped'])} file(s):")
        lines += [f"    {item['path']}: {item['reason']}" for item in summary["skipped"]]
    if summary["warnings"]:
        lines.append(f"  {len(summary['warnings'])} file(s) with warnings:")
        lines += [f"    {item['path']}: {item['reason']}" for item in summary["warnings"]]
    return "\n".join(lines)


def run_info(args: argparse.Namespace) -> int:
    """Exit 0 when anything is readable, 1 when nothing is (or the path does not exist)."""
    from cxrviewer.cli import UserError
    from cxrviewer.imaging.scan import iter_folder
    from cxrviewer.imaging.study_tree import StudyTree, summarize

    path = os.path.abspath(args.path)
    if not os.path.exists(path):
        raise UserError(f"no such file or folder: {args.path}")
    if not getattr(args, "verbose", False):
        import pydicom  # noqa: F401  (its import sets the logger's level; override after)

        # pydicom logs every odd value it meets; the summary reports what matters
        logging.getLogger("pydicom").setLevel(logging.ERROR)
    import warnings

    if args.decode:
        return _run_decode(path, args)
    tree = StudyTree()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree.add_many(iter_folder(path))
    summary = summarize(tree)
    if args.json:
        print(json.dumps({"path": path, **summary}, indent=2))
    else:
        print(format_summary(path, summary))
    return 0 if summary["images"] or summary["reports"] else 1


def _run_decode(path: str, args: argparse.Namespace) -> int:
    """Exit 0 when every file decodes, 1 when any cannot be shown (or there is nothing)."""
    import sys
    import time

    from cxrviewer.imaging.decode_check import check, format_results

    tty = sys.stderr.isatty() and not args.json

    def progress(done: int, total: int) -> None:
        if tty:
            print(f"\rdecoding {done:,} / {total:,}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    started = time.perf_counter()
    results = list(check(path, progress=progress))
    seconds = time.perf_counter() - started
    if args.json:
        failed = sum(not r.ok for r in results)
        print(json.dumps({"path": path, "files": len(results), "decoded": len(results) - failed, "failed": failed,
                          "seconds": round(seconds, 2), "results": [r.as_dict() for r in results]}, indent=2))
    else:
        print(format_results(path, results, seconds))
    return 0 if results and all(r.ok for r in results) else 1
