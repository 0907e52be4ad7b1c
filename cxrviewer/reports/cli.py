"""Commands: ``cxrviewer labels TEXT`` and ``cxrviewer eval labels``.

Imports of the labeler happen inside the handlers so that building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction, groups) -> None:
    """Add the report commands to the ``cxrviewer`` parser."""
    p = subparsers.add_parser(
        "labels",
        help="label findings in report text",
        description="Print the findings of a report or impression text, with their status "
                    "(positive, negative, uncertain) and character spans.",
    )
    p.add_argument("text", metavar="TEXT", help="report text (quote it)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_labels)

    ev = groups.get("eval", help="evaluate labelling and retrieval").add_parser(
        "labels",
        help="score the report labeler against reference labels",
        description="Label the findings + impression of reports in the IU CSV layout and score "
                    "them against gold labels in NegBio's Open-i layout (filename=CXR<uid>, one "
                    "0/1 column per ChestX-ray14 finding, and normal). Probable findings count "
                    "as present, merely possible ones as absent.",
    )
    ev.add_argument("--reports", required=True, metavar="CSV", help="reports (uid, ..., findings, impression)")
    ev.add_argument("--gold", required=True, metavar="CSV", help="gold labels (filename, <labels>, normal)")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.add_argument("--skip-uncoded", action="store_true",
                    help="leave out gold columns the Open-i coders never use (Hernia): every "
                         "column the gold file has is scored by default")
    ev.set_defaults(func=_eval_labels)


def _labels(args: argparse.Namespace) -> int:
    from cxrviewer.reports.labeler import label_text

    text: str = args.text
    result = label_text(text)
    if args.json:
        findings = [{**f.to_dict(), "evidence": [text[a:b] for a, b in f.spans]} for f in result.findings]
        out = {"text": text, **result.to_dict(), "findings": findings, "chexpert": result.to_chexpert_dict()}
        print(json.dumps(out, indent=2))
        return 0
    if not result.findings:
        print("no findings mentioned")
        return 0
    for f in result.findings:
        extras = ", ".join(x for x in (f.certainty, f.severity, f.laterality) if x)
        evidence = "; ".join(f"{text[a:b]!r} [{a}:{b}]" for a, b in f.spans)
        print(f"{f.label:<27} {f.status:<9}{' (' + extras + ')' if extras else ''}"
              f"{'  ' + evidence if evidence else ''}")
    return 0


def _eval_labels(args: argparse.Namespace) -> int:
    from cxrviewer.cli import UserError
    from cxrviewer.reports.evaluate import EvalInputError, evaluate_files

    try:
        result = evaluate_files(args.reports, args.gold, score_all=not args.skip_uncoded)
    except EvalInputError as exc:
        raise UserError(str(exc)) from None
    if result.n_reports == 0:
        raise UserError(f"no gold row in {args.gold} matches a report uid in {args.reports}")
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.table())
    return 0
