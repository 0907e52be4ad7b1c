"""Commands: ``cxrviewer collection new|list|show|add|edit|annotate|delete|undo|export|import``
and ``cxrviewer quiz score|results``. Every command takes ``--json``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cxrviewer.teaching.model import ANNOTATION_KINDS, DIFFICULTIES

FORMATS = ("html", "pptx", "zip")


def register(subparsers: argparse._SubParsersAction, groups: Any) -> None:
    col = groups.get("collection", help="teaching files: collections of annotated cases")
    n = col.add_parser("new", help="create a collection")
    n.add_argument("name", metavar="NAME")
    n.add_argument("--description", default="")
    n.set_defaults(func=_new)

    ls = col.add_parser("list", help="list the collections")
    ls.set_defaults(func=_list)

    s = col.add_parser("show", help="a collection's cases (with their case_id)")
    s.add_argument("name", metavar="NAME")
    s.set_defaults(func=_show)

    a = col.add_parser("add", help="add library cases, a search's results, or a film file",
                       description="Add films to a collection: library cases by id (--case, repeatable), "
                                   "the top --k films of a findings search (--query), or a film from a "
                                   "study folder (--file; copied in, --anonymise to anonymise the copy). "
                                   "Without --library the demo library is used.")
    a.add_argument("name", metavar="NAME")
    a.add_argument("--library", default=None, metavar="NAME_OR_PATH")
    a.add_argument("--case", action="append", default=[], metavar="CASE_ID")
    a.add_argument("--query", default="", metavar="TEXT")
    a.add_argument("--k", type=int, default=10, metavar="N")
    a.add_argument("--file", type=Path, default=None, metavar="PATH")
    a.add_argument("--anonymise", "--anonymize", action="store_true",
                   help="with --file: remove the patient's identity from the copy")
    a.set_defaults(func=_add)

    e = col.add_parser("edit", help="set a case's teaching fields")
    e.add_argument("name", metavar="NAME")
    e.add_argument("--case", required=True, metavar="CASE_ID")
    for field in ("title", "history", "findings", "diagnosis", "teaching-points"):
        e.add_argument(f"--{field}", default=None)
    e.add_argument("--difficulty", choices=DIFFICULTIES, default=None)
    e.add_argument("--tag", action="append", default=None, metavar="TAG", help="repeatable; replaces the tags")
    e.set_defaults(func=_edit)

    an = col.add_parser("annotate", help="draw an annotation on a case's film (film pixel coordinates)")
    an.add_argument("name", metavar="NAME")
    an.add_argument("--case", required=True, metavar="CASE_ID")
    an.add_argument("--kind", required=True, choices=ANNOTATION_KINDS)
    an.add_argument("--point", action="append", required=True, metavar="X,Y",
                    help="repeatable: arrow/line from, to; ellipse two box corners; freehand 3+; text 1")
    an.add_argument("--text", default="")
    an.add_argument("--color", default="#ffd400")
    an.set_defaults(func=_annotate)

    d = col.add_parser("delete", help="delete a collection, or one case (--case); `undo` restores it")
    d.add_argument("name", metavar="NAME")
    d.add_argument("--case", default="", metavar="CASE_ID")
    d.set_defaults(func=_delete)

    u = col.add_parser("undo", help="restore the last deleted collection, case or annotation")
    u.set_defaults(func=_undo)

    x = col.add_parser("export", help="export a collection, anonymised: html handout, pptx deck or zip archive")
    x.add_argument("name", metavar="NAME")
    x.add_argument("--format", required=True, choices=FORMATS)
    x.add_argument("--out", required=True, type=Path, metavar="PATH")
    x.set_defaults(func=_export)

    i = col.add_parser("import", help="restore a collection from a zip archive")
    i.add_argument("archive", type=Path, metavar="ARCHIVE")
    i.add_argument("--name", default="", help="import under this name (default: the archive's)")
    i.set_defaults(func=_import)

    quiz = groups.get("quiz", help="self-scored quiz: score a typed impression against a case")
    q = quiz.add_parser("score", help="score an answer against a library case (or a collection's case)")
    q.add_argument("answer", metavar="ANSWER")
    q.add_argument("--library", default=None, metavar="NAME_OR_PATH")
    q.add_argument("--collection", default="", metavar="NAME",
                   help="score against this collection's case (the attempt is saved)")
    q.add_argument("--case", required=True, metavar="CASE_ID")
    q.add_argument("--differential", type=int, default=5, metavar="K",
                   help="similar films with other findings to show (0: none)")
    q.add_argument("--session", default="cli", help="with --collection: the session the attempt belongs to")
    q.set_defaults(func=_quiz_score)

    r = quiz.add_parser("results", help="a collection's quiz attempts as CSV")
    r.add_argument("--collection", required=True, metavar="NAME")
    r.add_argument("--session", default="")
    r.add_argument("--out", type=Path, default=None, metavar="PATH", help="write the CSV here (default: print)")
    r.set_defaults(func=_quiz_results)

    for parser in (n, ls, s, a, e, an, d, u, x, i, q, r):
        parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _error(exc: BaseException) -> Exception:
    from cxrviewer.cli import UserError

    return UserError(str(exc))


@contextmanager
def _store() -> Iterator[Any]:
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.teaching.model import TeachingError
    from cxrviewer.teaching.store import TeachingStore

    try:
        with TeachingStore() as store:
            yield store
    except (TeachingError, LibraryError) as exc:
        raise _error(exc) from None
    except OSError as exc:  # an export or a copy to a folder that cannot be written
        where = f"{exc.filename}: " if exc.filename else ""
        raise _error(OSError(f"{where}{exc.strerror or exc}")) from None


@contextmanager
def _library(name: str | None) -> Iterator[Any]:
    from cxrviewer.library import catalog
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.library.library import Library

    try:
        folder = catalog.ensure_demo() if name is None else catalog.resolve(name)
        library = Library.open(folder)
    except LibraryError as exc:
        raise _error(exc) from None
    with library:
        yield library


def _print(args: argparse.Namespace, data: Any, text: str) -> int:
    print(json.dumps(data, indent=2) if args.json else text)
    return 0


def _case_json(case: Any) -> dict[str, Any]:
    """A case as the commands print it: its fields, and where its film came from up front."""
    return {"case_id": case.case_id, "title": case.teaching.title,
            "library_case_id": case.film.library_case_id, **case.to_json()}


def _case_line(case: Any) -> str:
    source = case.film.library_case_id or case.film.original_name or case.film.image
    marks = f", {len(case.annotations)} annotations" if case.annotations else ""
    return f"{case.position + 1:3d}. {case.case_id}  {case.teaching.title or '(untitled)'}  [{source}{marks}]"


def _new(args: argparse.Namespace) -> int:
    with _store() as store:
        c = store.create_collection(args.name, args.description)
    return _print(args, c.to_json(), f"created collection {c.name}")


def _list(args: argparse.Namespace) -> int:
    with _store() as store:
        found = store.collections()
    text = "\n".join(f"{c.name}  ({c.case_count} cases)" for c in found) or "no collections yet"
    return _print(args, {"collections": [c.to_json() for c in found]}, text)


def _show(args: argparse.Namespace) -> int:
    with _store() as store:
        c = store.collection(args.name)
        cases = store.cases(c.collection_id)
    text = "\n".join([f"{c.name}: {len(cases)} cases"] + [_case_line(k) for k in cases])
    return _print(args, {"collection": c.to_json(), "cases": [_case_json(k) for k in cases]}, text)


def _add(args: argparse.Namespace) -> int:
    from cxrviewer.teaching import films

    chosen = sum(bool(x) for x in (args.case, args.query, args.file))
    if chosen != 1:
        raise _error(ValueError("give one of --case CASE_ID, --query TEXT or --file PATH"))
    if args.k < 1:
        raise _error(ValueError(f"--k is the number of films to add: at least 1, not {args.k}"))
    if args.anonymise and not args.file:
        raise _error(ValueError("--anonymise applies to --file (library films are anonymised at export)"))
    with _store() as store:
        c = store.collection(args.name)
        if args.file:
            added = [films.add_file(store, c.collection_id, args.file, anonymise=args.anonymise)]
        else:
            with _library(args.library) as library:
                if args.case:
                    added = films.add_library_cases(store, c.collection_id, library, args.case)
                else:
                    added = films.add_query_results(store, c.collection_id, library, args.query, args.k)
        c = store.collection(c.collection_id)
    text = "\n".join([f"added {len(added)} case(s) to {c.name}"] + [_case_line(k) for k in added])
    return _print(args, {"collection": c.to_json(), "added": [_case_json(k) for k in added]}, text)


def _edit(args: argparse.Namespace) -> int:
    changes = {name: getattr(args, name) for name in ("title", "history", "findings", "diagnosis",
                                                      "teaching_points", "difficulty")
               if getattr(args, name) is not None}
    if args.tag is not None:
        changes["tags"] = tuple(args.tag)
    with _store() as store:
        case = _case_in(store, args.name, args.case)
        case = store.update_teaching(case.case_id, **changes) if changes else case
    return _print(args, _case_json(case), _case_line(case))


def _point(text: str) -> tuple[float, float]:
    """An X,Y pair in film pixels; ValueError for anything else."""
    x, y = (float(v) for v in text.split(","))
    return x, y


def _annotate(args: argparse.Namespace) -> int:
    from cxrviewer.teaching.model import Annotation

    try:
        points = tuple(_point(p) for p in args.point)
    except ValueError:
        raise _error(ValueError(f"points are X,Y in film pixels, not {' '.join(args.point)}")) from None
    with _store() as store:
        case = _case_in(store, args.name, args.case)
        mark = store.add_annotation(case.case_id, Annotation(args.kind, points, args.text, args.color))
    return _print(args, mark.to_json(), f"annotation {mark.annotation_id} added to {case.case_id}")


def _delete(args: argparse.Namespace) -> int:
    with _store() as store:
        if args.case:
            store.delete_case(_case_in(store, args.name, args.case).case_id)
        else:
            store.delete_collection(store.collection(args.name).collection_id)
        label = store.undo_label()
    return _print(args, {"deleted": args.case or args.name, "undo": label},
                  f"deleted {args.case or args.name} (`cxrviewer collection undo` restores it)")


def _undo(args: argparse.Namespace) -> int:
    with _store() as store:
        label = store.undo_label()
        change = store.undo_delete()
    if change is None:
        return _print(args, {"restored": None}, "nothing to undo")
    return _print(args, {"restored": change.kind, "collection_id": change.collection_id,
                         "case_id": change.case_id, "annotation_id": change.annotation_id},
                  label.replace("Undo ", "undid ", 1))


def _export(args: argparse.Namespace) -> int:
    from cxrviewer.teaching.exports import export_collection

    with _store() as store:
        result = export_collection(store, args.name, args.format, args.out)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return _print(args, result.to_json(), f"wrote {result.path} ({result.cases} cases, anonymised)")


def _import(args: argparse.Namespace) -> int:
    from cxrviewer.teaching.archive import import_archive

    with _store() as store:
        cid, case_ids = import_archive(store, args.archive, args.name)
        c = store.collection(cid)
    return _print(args, {"collection": c.to_json(), "case_ids": case_ids},
                  f"imported {c.name}: {len(case_ids)} cases")


def _case_in(store: Any, name: str, case_id: str) -> Any:
    from cxrviewer.teaching.model import TeachingError

    collection = store.collection(name)
    case = store.case(case_id)
    if case.collection_id != collection.collection_id:
        raise TeachingError(f"case {case_id} is not in collection {collection.name}")
    return case


def _quiz_score(args: argparse.Namespace) -> int:
    from cxrviewer.teaching.quiz_cli import score_command

    out = score_command(args)
    return _print(args, out, _verdict_text(out))


def _verdict_text(out: dict[str, Any]) -> str:
    lines = [f"score {out['score']:.2f}" + (f"  ({out['message']})" if out["message"] else "")]
    for f in out["findings"]:
        extra = "" if f["outcome"] != "found" else f"  side {f['side']}, severity {f['severity']}"
        lines.append(f"  {f['outcome']:<10} {f['label']}{extra}")
    if out["case_normal"]:
        lines.append("  the case is normal" + (" and the answer says so" if out["answer_normal"] else ""))
    for film in out.get("differential", []):
        lines.append(f"  differential: {film['case_id']}  [{', '.join(film['findings'])}]")
    return "\n".join(lines)


def _quiz_results(args: argparse.Namespace) -> int:
    from cxrviewer.teaching.exports import results_csv, write_results_csv

    with _store() as store:
        c = store.collection(args.collection)
        if args.out is not None:
            write_results_csv(store, args.out, args.session, c.collection_id)
        attempts = store.attempts(args.session, c.collection_id)
        csv_text = results_csv(store, args.session, c.collection_id)
    if args.json:
        return _print(args, {"attempts": [a.__dict__ for a in attempts],
                             "out": str(args.out) if args.out else None}, "")
    print(f"wrote {args.out} ({len(attempts)} attempts)" if args.out else csv_text, end="" if not args.out else "\n")
    return 0
