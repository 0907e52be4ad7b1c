"""Command: ``cxrviewer eval pointing`` (saliency maps against the demo's finding masks)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cxrviewer.explain.types import METHODS


def register(subparsers: argparse._SubParsersAction, groups: Any) -> None:
    p = groups.get("eval", help="evaluate labelling and retrieval").add_parser(
        "pointing", help="pointing game: do saliency maps peak on the demo's drawn findings?",
        description="For every case of a demo library with finding masks (masks.npz beside the "
                    "image), explain each drawn finding (the model's label head when it has the "
                    "label, else the text query naming it) and count how often the map's maximum "
                    "falls on the finding's mask, per finding, beside a centre-point baseline.")
    p.add_argument("--library", required=True, metavar="NAME_OR_PATH")
    p.add_argument("--model", default="", metavar="NAME_OR_PATH",
                   help="encoder to explain (default: the library's own encoder)")
    p.add_argument("--method", choices=METHODS, default="auto")
    p.add_argument("--tolerance", type=int, default=8,
                   help="pixels on the 128 px mask grid a peak may miss by (default 8 = 15 px at 224)")
    p.add_argument("--cases", type=int, default=0, help="at most this many cases (0: all)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_pointing)


def _pointing(args: argparse.Namespace) -> int:
    from cxrviewer.cli import UserError
    from cxrviewer.explain.pointing import evaluate_pointing
    from cxrviewer.library import catalog
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.library.library import Library
    from cxrviewer.models import ModelError
    from cxrviewer.models.encoders import load_encoder

    try:
        with Library.open(catalog.resolve(args.library), check_index=False) as library:
            model = load_encoder(args.model) if args.model else library.encoder
            report = evaluate_pointing(library, model, args.method, args.tolerance, args.cases or None)
    except (LibraryError, ModelError, ValueError) as exc:
        raise UserError(str(exc)) from None
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"pointing game, model {report['model']}, method {report['method']}, tolerance "
          f"{report['tolerance_px']} px: {report['n_maps']} maps from {report['n_cases']} cases, "
          f"{report['ms_per_map']:.0f} ms per map")
    for kind, r in report["findings"].items():
        where = "" if r["localised"] else "  (diffuse)"
        print(f"  {kind:14s} n {r['n']:4d}  hit rate {r['hit_rate']:.3f}  centre baseline "
              f"{r['centre_baseline']:.3f}  by {r['target']}{where}")
    if report["localised_hit_rate"] is not None:
        print(f"  localised findings: hit rate {report['localised_hit_rate']:.3f}")
    return 0
