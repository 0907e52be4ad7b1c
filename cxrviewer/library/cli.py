"""Commands: ``cxrviewer library build|repair|info|list`` and ``cxrviewer search``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DATASET_CHOICES = ("chexpert", "mimic", "openi", "nih", "folder", "demo")
PROBLEMS_LISTED = 1000  # problems read back for `library info --json` (the count is always whole)
PROBLEMS_PRINTED = 20


def register(subparsers: argparse._SubParsersAction, groups: Any) -> None:
    lib = groups.get("library", help="build and inspect case libraries")
    b = lib.add_parser("build", help="build (or resume, or extend) a case library from a dataset",
                       description="Read a dataset as distributed and build a searchable case "
                                   "library: metadata, findings, reports and thumbnails. "
                                   "Interrupted builds resume when run again; running it on an "
                                   "existing library adds the cases it does not have yet.")
    b.add_argument("--dataset", required=True, choices=DATASET_CHOICES)
    b.add_argument("--root", type=Path, help="the dataset's folder (not needed for demo)")
    b.add_argument("--out", type=Path, help="library folder (default: <user data>/libraries/<dataset>)")
    b.add_argument("--name", default="", help="library name (default: the folder's name)")
    b.add_argument("--workers", type=int, default=None, help="decoding processes (default: CPU count)")
    b.add_argument("--limit", type=int, default=None, help="only the first N cases (a trial library)")
    b.add_argument("--encoder", default="", metavar="MODEL",
                   help="also build the embedding route with this model (name or folder; see "
                        "`cxrviewer models list`)")
    b.add_argument("--index-kind", choices=["auto", "flat", "hnsw", "hnsw-sq", "ivf", "ivf-pq"], default="auto",
                   help="FAISS index kind (auto: exact below 50,000 films, IVF-PQ with a refine step "
                        "above; see the README)")
    b.add_argument("--device", default=None, help="cpu, cuda, cuda:1 or mps (default: best available)")
    b.add_argument("--batch-size", type=int, default=64, help="cases per committed transaction")
    b.add_argument("--cases", type=int, default=None, help="demo only: number of synthetic cases")
    b.add_argument("--repair", action="store_true",
                   help="first check the library's files and rebuild the damaged ones (as `library repair`)")
    b.add_argument("--json", action="store_true", help="print the result as JSON (progress stays on stderr)")
    b.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="decode and encode on the Ray cluster at ADDRESS (`local` starts a Ray instance "
                        "here with --workers CPUs), then merge into the library at once; needs "
                        "pip install 'cxrviewer[cluster]'")
    b.set_defaults(func=_build)

    r = lib.add_parser("repair", help="check every file of a library and rebuild the damaged ones",
                       description="Check manifest.json, library.sqlite (every page) and the index file. "
                                   "Damaged files are moved to <library>/damaged-<time>/, never deleted, "
                                   "and rebuilt: the index from the stored vectors, library.sqlite from "
                                   "the dataset the manifest names. An unfinished build is resumed.")
    r.add_argument("path", metavar="NAME_OR_PATH")
    r.add_argument("--dataset", choices=DATASET_CHOICES, default="",
                   help="a dataset to rebuild from (needed when the manifest itself is damaged)")
    r.add_argument("--root", type=Path, default=None, help="where that dataset is now")
    r.add_argument("--encoder", default="", metavar="MODEL",
                   help="with a damaged manifest: the model the library was built with")
    r.add_argument("--workers", type=int, default=None, help="decoding processes (default: CPU count)")
    r.add_argument("--device", default=None, help="cpu, cuda, cuda:1 or mps (default: best available)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=_repair)

    i = lib.add_parser("info", help="describe a library")
    i.add_argument("path", metavar="NAME_OR_PATH")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=_info)

    ls = lib.add_parser("list", help="list the libraries in the user data folder")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)

    s = subparsers.add_parser("search", help="find the cases most similar to an impression",
                              description="Search a case library with report text (it is read "
                                          "by the labeler) or by a case id. Without --library the "
                                          "demo library is used (and built on first use).")
    s.add_argument("text", metavar="TEXT", nargs="?", default="")
    s.add_argument("--case", default="", metavar="CASE_ID",
                   help="search by this library case (its findings, or its embedding)")
    s.add_argument("--image", type=Path, default=None, metavar="FILE",
                   help="search by a film (DICOM, PNG, JPEG); needs an image encoder's --route")
    s.add_argument("--image-weight", type=float, default=0.5,
                   help="weight of --image against TEXT when both are given")
    s.add_argument("--library", default=None, metavar="NAME_OR_PATH")
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--route", default="labels", help="labels, or an embedding encoder name")
    s.add_argument("--view", action="append", default=[], choices=["PA", "AP", "LATERAL"])
    s.add_argument("--sex", choices=["M", "F"], default="")
    s.add_argument("--age", default="", metavar="MIN-MAX", help="age range, e.g. 40-70")
    s.add_argument("--split", action="append", default=[], choices=["train", "valid", "test"])
    s.add_argument("--require", action="append", default=[], metavar="FINDING")
    s.add_argument("--exclude", action="append", default=[], metavar="FINDING")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=_search)


class _Bar:
    """A tqdm bar per stage, on stderr, so --json output on stdout stays clean."""

    def __init__(self) -> None:
        self.stage = ""
        self.bar: Any = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total or None, desc=stage, unit="img", file=sys.stderr,
                            dynamic_ncols=True, disable=None)
        if self.bar is not None:
            if total and self.bar.total != total:
                self.bar.total = total
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _user_error(exc: Exception) -> Exception:
    from cxrviewer.cli import UserError

    return UserError(str(exc))


def _build(args: argparse.Namespace) -> int:
    from cxrviewer.library import catalog
    from cxrviewer.library.build import BuildCancelled, BuildOptions, BuildResult, build_library
    from cxrviewer.library.errors import LibraryError

    bar = _Bar()
    try:
        if args.dataset == "demo" and args.root is None:
            folder = args.out or catalog.default_out(catalog.DEMO_NAME)
            root = catalog.demo_data_dir()
            if not (root / "demo_cases.jsonl").exists():
                from cxrviewer.demo import write_demo

                write_demo(root, n_cases=args.cases or catalog.DEMO_CASES,
                           progress=lambda d, t: bar("generating", d, t))
        elif args.root is None:
            raise _user_error(ValueError("--root is required for this dataset"))
        else:
            root = args.root
            folder = args.out or catalog.default_out(args.name or args.dataset)
        encoder = args.encoder
        if args.dataset == "demo" and args.root is None and not encoder:
            encoder = catalog.demo_encoder()
        options = BuildOptions(args.dataset, Path(root), Path(folder), name=args.name,
                               workers=args.workers, limit=args.limit, batch_size=args.batch_size,
                               encoder=encoder, index_kind=args.index_kind, device=args.device,
                               synthetic=args.dataset == "demo")
        repaired = None
        if args.repair and Path(folder).is_dir() and any(Path(folder).iterdir()):
            from cxrviewer.library.repair import repair_library

            repaired = repair_library(Path(folder), args.dataset, Path(root), encoder, args.workers, args.device,
                                      progress=lambda p: bar(p.stage, p.done, p.total))
        if args.ray:
            from cxrviewer.library.ray_build import build_with_ray

            result: BuildResult = build_with_ray(options, args.ray,
                                                 progress=lambda p: bar(p.stage, p.done, p.total))
        else:
            result = build_library(options, progress=lambda p: bar(p.stage, p.done, p.total))
    except (LibraryError, BuildCancelled) as exc:
        raise _user_error(exc) from None
    finally:
        bar.close()
    if args.json:
        print(json.dumps({**_build_json(result), "repair": repaired.to_json() if repaired else None}, indent=2))
        return 0
    if repaired is not None:
        _print_repair(repaired)
    verb = "resumed" if result.resumed else "built"
    print(f"{verb} {result.folder}: {result.total} cases ({result.added} added, "
          f"{result.skipped} images unusable) in {result.seconds:.1f} s")
    for problem in result.problems[:20]:
        print(f"  skipped {problem}")
    if len(result.problems) > 20:
        print(f"  ... and {len(result.problems) - 20} more (see `cxrviewer library info`)")
    return 0


def _build_json(result: Any) -> dict[str, Any]:
    out = {"library": str(result.folder), "resumed": result.resumed, "total": result.total,
           "added": result.added, "skipped": result.skipped, "seconds": round(result.seconds, 3),
           "problem_count": len(result.problems),
           "problems": [{"path": p.path, "line": p.line, "reason": p.reason}
                        for p in result.problems[:PROBLEMS_LISTED]]}
    if hasattr(result, "ray_json"):
        out["ray"] = result.ray_json()
    return out


def _repair(args: argparse.Namespace) -> int:
    from cxrviewer.library import catalog
    from cxrviewer.library.build import BuildCancelled
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.library.repair import repair_library

    if bool(args.dataset) != (args.root is not None) and not (args.dataset == "demo" and args.root is None):
        raise _user_error(ValueError("--dataset and --root go together"))
    root = args.root if args.root is not None or args.dataset != "demo" else catalog.demo_data_dir()
    bar = _Bar()
    try:
        result = repair_library(catalog.resolve(args.path), args.dataset, root, args.encoder, args.workers,
                                args.device, progress=lambda p: bar(p.stage, p.done, p.total))
    except (LibraryError, BuildCancelled) as exc:
        raise _user_error(exc) from None
    finally:
        bar.close()
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        _print_repair(result)
    return 0


def _print_repair(result: Any) -> None:
    for check in result.checks:
        print(f"checked {check.path}: {'sound' if check.sound else check.problem}")
    if not result.repaired:
        print(f"{result.folder}: every file is sound; nothing to repair")
    for action in result.actions:
        print(action)


def _info(args: argparse.Namespace) -> int:
    from cxrviewer.library import catalog
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.library.library import Library

    try:
        with Library.open(catalog.resolve(args.path)) as library:
            info = library.info()
            problems = library.store.problems(limit=PROBLEMS_LISTED)
            problem_count = library.store.problem_count()
    except LibraryError as exc:
        raise _user_error(exc) from None
    info["problem_count"] = problem_count  # the true number; "problems" lists the first ones
    info["problems"] = [{"path": p.path, "line": p.line, "reason": p.reason} for p in problems]
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    label = " (synthetic demo data)" if info["synthetic"] else ""
    print(f"{info['name']}{label}: {info['path']}")
    print(f"  route {info['route']}, format {info['format_version']}, updated {info['updated']}")
    for source in info["sources"]:
        print(f"  source {source['dataset']}: {source['root']}")
    c = info["counts"]
    print(f"  {c['cases']} cases, {c['patients']} patients, {c['studies']} studies, "
          f"{c['with_report']} with a report")
    print("  splits: " + ", ".join(f"{k} {v}" for k, v in sorted(info["splits"].items())))
    for label, statuses in sorted(info["findings"].items()):
        print(f"  {label:27s} " + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items())))
    if problem_count:
        shown = min(problem_count, PROBLEMS_PRINTED)
        more = f" (the first {shown} below; --json lists up to {PROBLEMS_LISTED:,})" if problem_count > shown else ""
        print(f"  {problem_count:,} problems{more}:")
        for p in problems[:PROBLEMS_PRINTED]:
            print(f"    {p}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from cxrviewer.library import catalog

    entries = catalog.list_libraries()
    rows = [{"name": e.name, "path": str(e.path), "error": e.error,
             "cases": e.manifest.counts.get("cases") if e.manifest else None,
             "route": e.manifest.route if e.manifest else None,
             "state": e.manifest.state if e.manifest else None,
             "synthetic": e.manifest.synthetic if e.manifest else None} for e in entries]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no libraries in {catalog.libraries_dir()} (the demo is built on first use)")
    for r in rows:
        if r["error"]:
            print(f"{r['name']:16s} unreadable: {r['error']}")
        else:
            tag = " (synthetic demo data)" if r["synthetic"] else ""
            print(f"{r['name']:16s} {r['cases'] or 0:8d} cases  {r['route']:10s} {r['state']}{tag}  {r['path']}")
    return 0


def _parse_age(text: str) -> tuple[float | None, float | None]:
    if not text:
        return None, None
    low, _, high = text.partition("-")
    try:
        return (float(low) if low else None), (float(high) if high else None)
    except ValueError:
        raise _user_error(ValueError(f"--age must look like 40-70, not {text!r}")) from None


def _search(args: argparse.Namespace) -> int:
    from cxrviewer.library import catalog
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.library.library import Filters, Library, SearchRequest

    if not args.text and not args.case and args.image is None:
        raise _user_error(ValueError("give a TEXT to search for, --case CASE_ID or --image FILE"))
    if args.k < 1:
        raise _user_error(ValueError(f"--k is the number of hits to return: at least 1, not {args.k}"))
    age_min, age_max = _parse_age(args.age)
    try:
        filters = Filters(tuple(args.view), args.sex, age_min, age_max, tuple(args.split),
                          tuple(args.require), tuple(args.exclude))
        filters.sql()
    except ValueError as exc:
        raise _user_error(exc) from None
    try:
        if args.library is None:
            bar = _Bar()
            try:
                folder = catalog.ensure_demo(progress=bar)
            finally:
                bar.close()
        else:
            folder = catalog.resolve(args.library)
        with Library.open(folder) as library:
            pixels, film_synthetic, film_generated = (_film_pixels(library, args.image, args.route) if args.image
                                                       else (None, False, False))
            result = library.search(SearchRequest(args.text, args.case, args.k, filters, args.route,
                                                  image=pixels, image_weight=args.image_weight,
                                                  image_synthetic=film_synthetic,
                                                  image_generated=film_generated))
            synthetic = library.manifest.synthetic
            name = library.name
    except LibraryError as exc:
        raise _user_error(exc) from None
    if args.json:
        out = result.to_json()
        out["library"] = {"name": name, "path": str(folder), "synthetic": synthetic}
        print(json.dumps(out, indent=2))
        return 0
    label = " - synthetic demo data" if synthetic else ""
    query = ", ".join(f"{k} ({v})" for k, v in result.query_findings.items()) or "-"
    print(f"library {name}{label}; query findings: {query}")
    if result.message:
        print(result.message)
    for hit in result.hits:
        c = hit.case
        positives = ", ".join(k for k, v in c.findings.items() if v == "positive") or "no finding coded"
        age = f"{c.age:.0f}" if c.age is not None else "?"
        print(f"{hit.rank:3d}. {hit.score:6.3f}  {c.case_id}  {c.view or '?'} {c.sex or '?'} {age}  "
              f"[{positives}]")
        if c.impression:
            print(f"       {c.impression[:150]}")
    print(f"{result.candidates} candidates, {result.seconds * 1000:.1f} ms")
    return 0


def _film_pixels(library: Any, path: Path, route: str) -> tuple[Any, bool, bool]:
    """The encoder's input for a film file, made as the library's own films were, and whether
    the film is a synthetic demo film or a generated one (which models may read it depends on that)."""
    from cxrviewer.imaging.records import ImageReadError
    from cxrviewer.library.prepare import film_input, load

    if route == "labels":
        raise _user_error(ValueError("--image needs an embedding route: pass --route "
                                     f"{library.manifest.route if library.manifest.route != 'labels' else 'MODEL'}"))
    try:
        image = load(str(path))
    except ImageReadError as exc:
        raise _user_error(exc) from None
    return film_input(image, library.encoder.spec), image.header.synthetic_demo, image.header.generated
