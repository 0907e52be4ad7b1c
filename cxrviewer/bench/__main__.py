"""``python -m cxrviewer.bench NAME [options]``: runs the benchmark module ``cxrviewer.bench.NAME``."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import cxrviewer.bench as bench_package


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(bench_package.__path__) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = available()
    if not argv or argv[0] in {"-h", "--help"}:
        print("usage: python -m cxrviewer.bench NAME [options]\nbenchmarks: " + ", ".join(names))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in names:
        print(f"unknown benchmark {name!r}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"cxrviewer.bench.{name}")
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
