"""Coverage-guided fuzz targets (atheris, libFuzzer) for the DICOM header reader and the report labeler.

Not part of the test suite: run by hand for as long as you like, e.g.::

    pip install atheris            # or: pip install -e .[fuzz]
    mkdir -p /tmp/corpus-header
    python -m cxrviewer.bench._atheris header /tmp/corpus-header ../shared/data/dicom -max_total_time=600
    python -m cxrviewer.bench._atheris labeler /tmp/corpus-labeler -max_total_time=600 -timeout=5

Arguments after the target name go to libFuzzer: corpus folders (the first one collects new
inputs; the real files make a good start), ``-max_total_time``, ``-runs``, ``-timeout`` (a slow
input counts as a failure), ``-rss_limit_mb``. A failure is written as ``crash-<sha1>`` in the
current folder; rerun it with ``python -m cxrviewer.bench._atheris header crash-<sha1>``.

``header``: :func:`cxrviewer.imaging.dicom.read_header` and then what loading does before the
pixels (the header-only read, :func:`~cxrviewer.imaging.dicom.tags.sanitise`, the tag tree). Only
ImageReadError may come out, and never as "unexpected error". ``labeler``:
:func:`cxrviewer.reports.labeler.label_text` must return a result for any text.
"""

from __future__ import annotations

import os
import sys
import tempfile


def _header_target():
    from cxrviewer.imaging import dicom, sniffing
    from cxrviewer.imaging.dicom.errors import UNEXPECTED
    from cxrviewer.imaging.dicom.header import read_dataset
    from cxrviewer.imaging.dicom.tags import sanitise, tag_tree
    from cxrviewer.imaging.records import ImageReadError

    folder = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    path = os.path.join(folder, f"cxrviewer-atheris-{os.getpid()}.dcm")

    def one(data: bytes) -> None:
        with open(path, "wb") as handle:
            handle.write(data)
        try:
            dicom.read_header(path)
            kind = sniffing.sniff(path)
            if kind in ("png", "jpeg"):
                return
            ds, _notes = read_dataset(path, kind, header_only=True)
            tag_tree(ds, None, sanitise(ds))
        except ImageReadError as exc:
            if exc.reason.startswith(UNEXPECTED):
                raise AssertionError(exc.reason) from exc.__cause__

    return one


def _labeler_target():
    import atheris

    from cxrviewer.reports.labeler import LabelResult, label_text

    def one(data: bytes) -> None:
        text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
        result = label_text(text)
        if not isinstance(result, LabelResult):
            raise AssertionError(f"label_text returned {type(result).__name__}")

    return one


TARGETS = {"header": ("cxrviewer.imaging", "pydicom"), "labeler": ("cxrviewer.reports",)}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) < 2 or argv[1] not in TARGETS:
        print(__doc__)
        return 2
    import logging
    import warnings

    import atheris

    name = argv[1]
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    with atheris.instrument_imports(include=list(TARGETS[name])):
        target = _header_target() if name == "header" else _labeler_target()
    atheris.Setup([argv[0], *argv[2:]], target)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
