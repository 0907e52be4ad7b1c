"""``cxrviewer classify FILE``: a finding model's probabilities for one film, or why none may read it.

The same rule as the findings panel (:mod:`cxrviewer.models.classify`): a model reads only films of
the domain its card names, so on a real film the shipped demo model refuses, with its reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

REFUSED_EXIT = 3  # no model may read this film: not a failure of the command, but no numbers


def register(subparsers: argparse._SubParsersAction, groups: Any) -> None:
    p = subparsers.add_parser(
        "classify", help="a finding model's probabilities for one film, with its validation figures",
        description="Read one film with a finding model and print each finding's probability beside the "
                    "finding's validation AUROC. A model reads only films of the kind it was validated on: "
                    "on a real film the synthetic demo model refuses, with its reason (exit status 3).")
    p.add_argument("file", metavar="FILE", help="a DICOM, PNG or JPEG film")
    p.add_argument("--model", default="", metavar="NAME",
                   help="the finding model (default: the best installed one validated for films like this)")
    p.add_argument("--frame", type=int, default=0, help="frame of a multi-frame file (default 0)")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: best available)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run_classify)


def _choice(model: str, domain: str) -> Any:
    from cxrviewer.cli import UserError
    from cxrviewer.models import ModelError
    from cxrviewer.models.classify import Choice, choose_finding_model, finding_labels
    from cxrviewer.models.registry import get_spec, model_card

    if not model:
        return choose_finding_model(domain)
    try:
        spec = get_spec(model)
        card = model_card(spec)
    except ModelError as exc:
        raise UserError(str(exc)) from None
    if not finding_labels(spec):
        raise UserError(f"model {model!r} has no finding head (it finds similar films only)")
    refusal = card.refusal(domain, model)
    return Choice(None, None, refusal) if refusal else Choice(spec, card)


def run_classify(args: argparse.Namespace) -> int:
    from cxrviewer.cli import UserError
    from cxrviewer.imaging.records import ImageReadError
    from cxrviewer.library.prepare import film_input, load
    from cxrviewer.models import ModelError
    from cxrviewer.models.card import FILM_KINDS, GENERATED_FILM
    from cxrviewer.models.classify import ACTIONS, domain_of, reading

    if args.frame < 0:
        raise UserError(f"--frame must be 0 or more, not {args.frame}")
    try:
        image = load(args.file)
    except ImageReadError as exc:
        raise UserError(f"{args.file}: {exc.reason}") from None
    except OSError as exc:
        raise UserError(f"{args.file}: {exc.strerror or exc}") from None
    if args.frame >= image.frames:
        raise UserError(f"{args.file} has {image.frames} frame(s); --frame {args.frame} does not exist")
    domain = domain_of(image.header)
    choice = _choice(args.model, domain)
    film = {"file": args.file, "film": FILM_KINDS[domain]}
    if choice.spec is None:
        actions = [] if domain == GENERATED_FILM else list(ACTIONS)  # no model is for generated films
        if args.json:
            print(json.dumps({**film, "refused": choice.refusal, "actions": actions}, indent=2))
        else:
            kind = FILM_KINDS[domain][:-1]
            print(f"{args.file} ({kind}): no finding probabilities.\n{choice.refusal}", file=sys.stderr)
            if actions:
                print("What you can do: " + "; or ".join(actions), file=sys.stderr)
        return REFUSED_EXIT
    from cxrviewer.models.encoders import load_encoder

    try:
        encoder = load_encoder(choice.spec, device=args.device)
        pixels = film_input(image, encoder.spec, args.frame)
        probabilities = encoder.predict_labels([pixels])[0]
    except ModelError as exc:
        raise UserError(str(exc)) from None
    result = reading(choice.card, choice.spec.name, choice.spec.licence, tuple(encoder.label_names), probabilities)
    if args.json:
        print(json.dumps({**film, **result.to_dict()}, indent=2))
        return 0
    print(f"{args.file} ({FILM_KINDS[domain][:-1]}), read by {result.model}: {result.validation}")
    print(f"licence: {result.licence}")
    for label, p, auroc, weak in zip(result.labels, result.probabilities, result.auroc, result.weak):
        figure = "not validated" if auroc is None else f"validation AUROC {auroc:.2f}"
        print(f"  {label:<28} {p:5.2f}   {figure}" + ("   (low: do not rely on it)" if weak else ""))
    return 0
