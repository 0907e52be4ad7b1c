"""Drivers of the real window for the benchmarks (``python -m cxrviewer.bench viewer|search``)
and the self-test's window steps (``cxrviewer --self-test``).

Qt code, so it lives in ``cxrviewer.gui`` (the only Qt code), apart from the application: only
``cxrviewer.bench`` and ``cxrviewer.selftest`` import it, and nothing in the application does
(a contract in pyproject.toml; tests/app/test_layout.py for the rest of ``cxrviewer.gui``).
"""
