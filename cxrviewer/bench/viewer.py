"""``python -m cxrviewer.bench viewer``: the viewer's speed goals. The code measures the window,
so it lives with the window drivers in :mod:`cxrviewer.gui.harness.viewer_bench`."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from cxrviewer.gui.harness.viewer_bench import main as run

    return run(argv)
