"""``python -m cxrviewer.bench viewer``: the viewer's speed goals. The code measures the window,
so it lives with the Qt code in :mod:`cxrviewer.gui.bench_viewer`."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from cxrviewer.gui.bench_viewer import main as run

    return run(argv)
