"""The synthetic demo dataset generator: phantom radiographs as real DICOM files, reports, masks.

Lets the app be tried, tested and benchmarked with no real data (and no patient data at all).
``plan`` draws the cases, ``phantom`` renders the films, ``reports`` writes the reports from
``report_templates.json`` (package data), ``writer`` writes the folder and its index. The
dataset adapter that reads the folder back is ``cxrviewer.datasets.demo``.

For a seed the output is fixed (the shipped demo model's validation figures were measured on
seed-1 data): planning, template options and their order are part of the contract.
"""

from __future__ import annotations

from cxrviewer.demo.plan import KIND_WEIGHTS, ONE_SIDED, SIDE_WORD, Plan, plan_cases
from cxrviewer.demo.reports import NOT_REAL, Truth, report_text, write_report
from cxrviewer.demo.writer import (
    INDEX,
    MASK_SIZE,
    README,
    DemoSummary,
    downsample_mask,
    make_case,
    render_plan,
    write_demo,
)

__all__ = [
    "INDEX", "KIND_WEIGHTS", "MASK_SIZE", "NOT_REAL", "ONE_SIDED", "README", "SIDE_WORD", "DemoSummary", "Plan",
    "Truth", "downsample_mask", "make_case", "plan_cases", "render_plan", "report_text", "write_demo",
    "write_report",
]
