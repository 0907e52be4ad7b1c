"""One damaged file through everything the app does with a file, in the process that fuzzes.

The path is the app's own: the folder scan's header read, the header, the decode through the
isolated decoder (compressed data) or in process (uncompressed), the display mapping of every
preset, the thumbnail, the tag tree and the ``info`` summary. The only exception allowed out of
the app's functions is its own :class:`ImageReadError`; anything else is "foreign".
"""

from __future__ import annotations

import os
import re
import resource
import time
import traceback
from pathlib import Path
from typing import Any

from cxrviewer.imaging.dicom.errors import UNEXPECTED
from cxrviewer.imaging.records import FileIssue, ImageHeader, ImageReadError


def reason_key(reason: str) -> str:
    """An app error's reason without its particulars (numbers, values, paths), for counting."""
    text = re.split(r"[:(\"']", reason, maxsplit=1)[0]
    text = re.sub(r"\d[\d,.]*", "#", text)
    return text.strip() or reason[:40]


def _walk_tags(nodes: Any) -> int:
    count = 0
    for node in nodes:
        for text in (node.tag, node.keyword, node.vr, node.value):
            if not isinstance(text, str):
                raise TypeError(f"tag node field is {type(text).__name__}, not str: {node!r}")
        count += 1 + _walk_tags(node.children)
    return count


def check_file(path: str) -> dict[str, Any]:
    """The outcome of one file: ok, the app's error (with its reason) or a foreign exception."""
    stage = "imports"  # inside the try: a harness that cannot import the app reports it, never "died"
    out: dict[str, Any] = {"decode_s": 0.0}
    try:
        from cxrviewer.imaging.dicom import read_header
        from cxrviewer.imaging.display import (
            apply_mapping,
            auto_window,
            default_preset,
            mapping_for,
            window_from_drag,
        )
        from cxrviewer.imaging.isolated import load_image_isolated
        from cxrviewer.imaging.scan import scan_file
        from cxrviewer.imaging.study_tree import StudyTree, summarize
        from cxrviewer.imaging.thumbnails import thumbnail

        stage = "scan"
        item = scan_file(path)
        if item is not None and not isinstance(item, (ImageHeader, FileIssue)):
            raise TypeError(f"scan_file returned {type(item).__name__}")
        tree = StudyTree()
        if item is not None:
            tree.add(item)
        summarize(tree)
        stage = "header"
        try:
            read_header(path)
        except ImageReadError as exc:
            if exc.reason.startswith(UNEXPECTED):
                raise
        if isinstance(item, FileIssue) and item.reason.startswith(UNEXPECTED):
            raise RuntimeError(f"the scan met {item.reason}")
        stage = "decode"
        started = time.perf_counter()
        try:
            image = load_image_isolated(path)
        except ImageReadError as exc:
            out["decode_s"] = time.perf_counter() - started
            if exc.reason.startswith(UNEXPECTED):  # caught at the boundary, but nobody foresaw it
                return {**out, "outcome": "foreign", "stage": stage, "exception": exc.reason,
                        "where": _where(exc.__cause__ or exc)}
            return {**out, "outcome": "app_error", "reason": exc.reason, "key": reason_key(exc.reason)}
        out["decode_s"] = time.perf_counter() - started
        stage = "display"
        sub = image.display_pixels[0, ::16, ::16]
        for preset in image.presets:
            for invert in (image.invert, not image.invert):
                apply_mapping(sub, mapping_for(image, preset, invert))
        window = auto_window(image)
        apply_mapping(sub, mapping_for(image, window_from_drag(window, 40, -25, image), image.invert))
        default_preset(image)
        image.stored_value(0, 0, 0)
        image.modality_value(0, image.rows - 1, image.columns - 1)
        stage = "thumbnail"
        thumbnail(image, 96)
        stage = "tags"
        tags = _walk_tags(image.tags)
        return {**out, "outcome": "ok", "warnings": len(image.warnings), "tags": tags}
    except ImageReadError as exc:  # an unexpected error caught at a boundary, or one escaping a step
        return {**out, "outcome": "foreign", "stage": stage,
                "exception": f"ImageReadError in {stage}: {exc.reason}", "where": _where(exc.__cause__ or exc)}
    except Exception as exc:  # noqa: BLE001 - this is what the fuzz looks for
        return {**out, "outcome": "foreign", "stage": stage,
                "exception": f"{type(exc).__name__}: {str(exc)[:300]}", "where": _where(exc)}


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "cxrviewer" in f.filename] or frames
    last = ours[-1] if ours else None
    return f"{Path(last.filename).name}:{last.lineno} {last.name}" if last else ""


def _decoder_peak_kb() -> int:
    """The isolated decoder's peak resident memory (Linux /proc; 0 elsewhere)."""
    from cxrviewer.imaging import isolated

    worker = isolated._shared
    process = getattr(worker, "_process", None) if worker is not None else None
    if process is None or process.pid is None:
        return 0
    try:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def serve(conn: Any, seed_paths: list[str], seed: int, start: int, stop: int, folder: str) -> None:
    """The fuzzing process: mutants ``start`` to ``stop - 1``, one result message each."""
    import logging
    import warnings

    from cxrviewer.bench._mutants import load_seeds, mutant

    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    # Decoders write their complaints ("Corrupt JPEG data") straight to file descriptor 2; the
    # isolated decoder started from here inherits this one.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    seeds = load_seeds([Path(p) for p in seed_paths])
    decoder_peak = 0
    for index in range(start, stop):
        m = mutant(seeds, seed, index)
        path = os.path.join(folder, f"mutant-{index}.dcm")
        with open(path, "wb") as handle:
            handle.write(m.data)
        result = check_file(path)
        os.unlink(path)
        decoder_peak = max(decoder_peak, _decoder_peak_kb())
        result.update(index=index, source=m.source, operations=list(m.operations),
                      rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, decoder_rss_kb=decoder_peak)
        conn.send(result)
    conn.send(None)
