"""``cxrviewer quiz score``: the verdict the session's quiz gives, from the command line.

``--library L --case CASE_ID`` scores against a library case (its labels, with side and
severity, and its report); ``--collection NAME --case CASE_ID`` against a collection's case,
and saves the attempt. A collection's case id also works with ``--library`` alone.
"""

from __future__ import annotations

import argparse
from typing import Any


def score_command(args: argparse.Namespace) -> dict[str, Any]:
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.teaching.model import TeachingError

    try:
        if args.collection:
            return _collection_case(args)
        return _library_case(args)
    except (LibraryError, TeachingError) as exc:
        from cxrviewer.cli import UserError

        raise UserError(str(exc)) from None


def _library_case(args: argparse.Namespace) -> dict[str, Any]:
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.teaching.cli import _library
    from cxrviewer.teaching.differential import differential
    from cxrviewer.teaching.films import library_findings, report_text
    from cxrviewer.teaching.quiz import score_answer, score_case

    with _library(args.library) as library:
        try:
            row = library.case(args.case)
        except LibraryError:
            case = _teaching_case(args.case)
            if case is None:
                raise
            verdict = score_case(case, args.answer)
            library_case_id = case.film.library_case_id
            truth, report = _truth(case), case.report
        else:
            report = report_text(row.report)
            truth = library_findings(row, report)
            verdict = score_answer(args.answer, truth, report)
            library_case_id = row.case_id
        films = differential(library, truth, report, args.differential, library_case_id, verdict) \
            if args.differential > 0 else []
    out = verdict.to_json()
    out.update({"case_id": args.case, "library": library.name, "report": report,
                "differential": [f.to_json() for f in films]})
    return out


def _collection_case(args: argparse.Namespace) -> dict[str, Any]:
    from cxrviewer.teaching.quiz import answer_case
    from cxrviewer.teaching.store import TeachingStore

    with TeachingStore() as store:
        collection = store.collection(args.collection)
        case = store.case(args.case)
        if case.collection_id != collection.collection_id:
            from cxrviewer.teaching.model import TeachingError

            raise TeachingError(f"case {args.case} is not in collection {collection.name}")
        verdict, attempt = answer_case(store, case.case_id, args.answer, args.session)
    out = verdict.to_json()
    out.update({"case_id": case.case_id, "collection": collection.name, "attempt": attempt.attempt_id,
                "report": case.report, "differential": _collection_differential(case, verdict, args)})
    return out


def _collection_differential(case: Any, verdict: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The differential from the case's own library (or ``--library``); none when unreadable."""
    if args.differential <= 0 or not (args.library or case.film.library):
        return []
    from cxrviewer.library import catalog
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.library.library import Library
    from cxrviewer.teaching.differential import differential

    try:
        with Library.open(catalog.resolve(args.library) if args.library else case.film.library) as library:
            films = differential(library, _truth(case), case.report, args.differential,
                                 case.film.library_case_id, verdict)
    except LibraryError:
        return []
    return [f.to_json() for f in films]


def _truth(case: Any) -> Any:
    from cxrviewer.teaching.quiz import case_truth

    return case_truth(case)


def _teaching_case(case_id: str) -> Any:
    from cxrviewer.teaching.model import TeachingError
    from cxrviewer.teaching.store import TeachingStore

    try:
        with TeachingStore() as store:
            return store.case(case_id)
    except TeachingError:
        return None
