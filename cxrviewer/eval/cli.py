"""Command: ``cxrviewer eval retrieval``."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: argparse._SubParsersAction, groups: Any) -> None:
    p = groups.get("eval", help="evaluate labelling and retrieval").add_parser(
        "retrieval", help="score a library's search with held-out cases",
        description="Query the library with held-out cases (their impression for text search, "
                    "the case itself for image search), excluding the query's own study, and "
                    "report Hit@K, P@K, R@K, mAP@K, MRR, nDCG@K, finding IoU@K and query time, "
                    "with relevance as an exact finding-vector match and as any shared finding. "
                    "With --mode both, a mode this library cannot be scored on (no report text to "
                    "query with, no finding model to read the films) is explained and the other "
                    "is scored.")
    p.add_argument("--library", required=True, metavar="NAME_OR_PATH")
    p.add_argument("--mode", choices=["text", "image", "both"], default="both")
    p.add_argument("--split", default="test", help="the held-out split the queries come from")
    p.add_argument("--route", default="labels")
    p.add_argument("--label-model", default="", metavar="MODEL",
                   help="image search on the findings route: the finding model that reads the query "
                        "film (default: the library's own model when it has a finding head)")
    p.add_argument("--k", default="1,5,10", help="comma-separated K values")
    p.add_argument("--queries", type=int, default=500, help="at most this many queries (0: all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_retrieval)


def _retrieval(args: argparse.Namespace) -> int:
    from cxrviewer.cli import UserError
    from cxrviewer.eval.retrieval import NotEvaluable, evaluate
    from cxrviewer.library import catalog
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.library.library import Library

    try:
        ks = tuple(sorted({int(k) for k in args.k.split(",") if k.strip()}))
    except ValueError:
        raise UserError(f"--k must be comma-separated integers, not {args.k!r}") from None
    modes = ("text", "image") if args.mode == "both" else (args.mode,)
    reports: dict[str, dict[str, Any]] = {}
    try:
        with Library.open(catalog.resolve(args.library)) as library:
            for m in modes:
                try:
                    reports[m] = evaluate(library, mode=m, split=args.split, route=args.route, ks=ks,
                                          limit=args.queries or None, label_model=args.label_model)
                except NotEvaluable as exc:  # "both" scores the mode that can be scored
                    reports[m] = {"mode": m, "route": args.route, "skipped": exc.reason}
    except (LibraryError, ValueError) as exc:
        raise UserError(str(exc)) from None
    if all("skipped" in r for r in reports.values()):
        raise UserError(f"{args.library}: nothing to evaluate: "
                        + "; ".join(f"{m} search: {r['skipped']}" for m, r in reports.items()))
    if args.json:
        print(json.dumps(reports, indent=2))
        return 0
    for mode, r in reports.items():
        if "skipped" in r:
            print(f"{mode} search not evaluated: {r['skipped']}")
            continue
        tag = " (synthetic demo data)" if r["synthetic"] else ""
        reader = (f" (films read by {r['label_model'] or 'the library model'})"
                  if mode == "image" and r["route"] == "labels" else "")
        print(f"{mode} search, route {r['route']}{reader}, library {r['library']}{tag}: {r['n_queries']} "
              f"queries from {r['query_split']}, gallery {r['gallery_size']} cases")
        for rule in ("exact", "any_shared"):
            cells = "  ".join(f"{name} {value:.3f}" for name, value in r[rule].items())
            print(f"  {rule:10s} {cells}")
        print("  graded     " + "  ".join(f"{n} {v:.3f}" for n, v in r["graded"].items()))
        if r.get("timing"):
            t = r["timing"]
            print(f"  query time mean {t['mean_ms']:.2f} ms, p50 {t['p50_ms']:.2f}, p95 {t['p95_ms']:.2f}")
    return 0
