"""Benchmarks: ``python -m cxrviewer.bench <name>``. Figures, not pass/fail tests."""
