"""Drivers of the real window for the benchmarks (``python -m cxrviewer.bench viewer|search``)
and the self-test's window steps (``cxrviewer --self-test``).

Qt code, kept out of ``cxrviewer.gui`` (the application): only ``cxrviewer.bench`` and
``cxrviewer.selftest`` import it, and nothing in the application imports it (a contract in
pyproject.toml).
"""
