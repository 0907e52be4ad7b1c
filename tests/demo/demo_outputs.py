"""What a demo dataset folder holds, file by file, as digests that leave out only the random UIDs.

Used by ``test_demo_golden.py`` and, as a script, to compare two generator versions::

    python tests/demo/demo_outputs.py generate ROOT --cases 40 --size 128 --seed 1 [--workers 2]
    python tests/demo/demo_outputs.py reports OUT.jsonl --plans 20000 --seed 0
    python tests/demo/demo_outputs.py compare ROOT_A ROOT_B     # or two reports files

``generate`` and ``reports`` import the generator from whichever checkout is on PYTHONPATH
(``cxrviewer.demo``, or ``cxrviewer.datasets.demo`` before the generator became a package), so
the same script runs against the old and the new code.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np

# Every SOP instance / study / series gets a fresh random UID; everything else must repeat.
RANDOM_UIDS = {"SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "MediaStorageSOPInstanceUID"}


def dicom_digests(path: Path) -> tuple[str, str]:
    """(header, pixels): every element of file meta and dataset (tag, VR, value) except the random
    UIDs and the pixel data; and the pixel data as stored bytes."""
    import pydicom

    ds = pydicom.dcmread(path)
    h = hashlib.sha256()
    for part in (ds.file_meta, ds):
        for elem in part:
            if elem.keyword in RANDOM_UIDS or elem.keyword in ("FileMetaInformationGroupLength", "PixelData"):
                continue  # the group length counts the UID's characters
            value = elem.value if isinstance(elem.value, bytes) else repr(elem.value).encode()
            h.update(f"{elem.tag}|{elem.VR}|".encode() + value + b"\n")
    return h.hexdigest(), hashlib.sha256(ds.PixelData).hexdigest()


def npz_digest(path: Path) -> str:
    """Array names, dtypes, shapes and contents (the zip's own timestamps are left out)."""
    h = hashlib.sha256()
    with np.load(path) as arrays:
        for name in sorted(arrays.files):
            a = arrays[name]
            h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode() + np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def dataset_digests(root: Path) -> dict[str, str]:
    """Relative path -> digest for every file under ``root``; a DICOM file gives two entries,
    ``<path>#header`` and ``<path>#pixels``."""
    out: dict[str, str] = {}
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".dcm":
            out[f"{rel}#header"], out[f"{rel}#pixels"] = dicom_digests(path)
        elif path.suffix == ".npz":
            out[rel] = npz_digest(path)
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def dataset_digest(root: Path, part: str = "all") -> str:
    """One digest for the folder: ``all`` files, ``pixels`` (the DICOM pixel data only) or
    ``without pixels`` (index, README, reports, masks and DICOM headers)."""
    keep = {"all": lambda rel: True, "pixels": lambda rel: rel.endswith("#pixels"),
            "without pixels": lambda rel: not rel.endswith("#pixels")}[part]
    text = "".join(f"{rel} {digest}\n" for rel, digest in dataset_digests(root).items() if keep(rel))
    return hashlib.sha256(text.encode()).hexdigest()


def _generator():  # whichever module the checkout on PYTHONPATH has
    try:
        import cxrviewer.demo as generator
    except ModuleNotFoundError:
        import cxrviewer.datasets.demo as generator  # the generator before it became a package
    return generator


def reports_text(n_plans: int, seed: int) -> str:
    """Plans and their reports, one JSON line per plan; the phantom's details (lesion size, rib)
    are drawn from their own stream, so every template is reached without rendering a film."""
    g = _generator()
    detail_rng = np.random.default_rng(seed + 1000)
    buf = io.StringIO()
    for plan in g.plan_cases(n_plans, seed):
        details = {f[0]: {"size_mm": int(detail_rng.integers(4, 70)), "rib": int(detail_rng.integers(1, 25))}
                   for f in plan.findings}
        sections, truth = g.write_report(plan, details, np.random.default_rng(plan.seed + 1))
        buf.write(json.dumps({"plan": repr(plan), "text": g.report_text(sections),
                              "truth": list(truth.items())}) + "\n")
    return buf.getvalue()


def _compare(a: Path, b: Path) -> int:
    if a.is_file():
        same = a.read_bytes() == b.read_bytes()
        print(f"{a} vs {b}: {'identical' if same else 'DIFFERENT'} ({len(a.read_bytes())} bytes)")
        return 0 if same else 1
    da, db = dataset_digests(a), dataset_digests(b)
    differ = sorted(k for k in set(da) | set(db) if da.get(k) != db.get(k))
    for rel in differ[:20]:
        print(f"differs: {rel}")
    print(f"{a} vs {b}: {len(da)} / {len(db)} entries (a DICOM file is two: header, pixels), {len(differ)} differ")
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("root", type=Path)
    gen.add_argument("--cases", type=int, default=40)
    gen.add_argument("--size", type=int, default=128)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--workers", type=int, default=1)
    rep = sub.add_parser("reports")
    rep.add_argument("out", type=Path)
    rep.add_argument("--plans", type=int, default=20000)
    rep.add_argument("--seed", type=int, default=0)
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("a", type=Path)
    cmp_.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    if args.command == "generate":
        summary = _generator().write_demo(args.root, n_cases=args.cases, size=args.size, seed=args.seed,
                                          workers=args.workers)
        print(f"{summary.n_cases} cases in {args.root}")
        for part in ("all", "without pixels", "pixels"):
            print(f"  {part}: {dataset_digest(args.root, part)}")
        return 0
    if args.command == "reports":
        text = reports_text(args.plans, args.seed)
        args.out.write_text(text, encoding="utf-8")
        print(f"{args.plans} reports in {args.out}: {hashlib.sha256(text.encode()).hexdigest()}")
        return 0
    return _compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
