"""Images in, pixel arrays and metadata out: DICOM / PNG / JPEG reading, the display pipeline
(Modality LUT, VOI LUT, presentation), study-folder scanning, thumbnails and measurements.

numpy, pydicom and Pillow only; never Qt, never torch. Names are imported lazily so that the
command line (which imports ``cxrviewer.imaging.cli`` at start-up) does not pay for pydicom.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ImageReadError": "records", "FileIssue": "records", "ImageHeader": "records",
    "PixelSpacing": "records", "Window": "records", "VoiPreset": "records",
    "DisplayMapping": "records", "TagNode": "records",
    "LoadedImage": "loaded",
    "read_header": "dicom", "load_image": "dicom",
    "presets_for": "display", "default_preset": "display", "mapping_for": "display",
    "window_from_drag": "display", "render_uint8": "display", "auto_window": "display",
    "iter_folder": "scan", "StudyTree": "study_tree", "summarize": "study_tree",
    "thumbnail": "thumbnails",
    "is_identifying": "anonymise", "masked_header": "anonymise", "redact_text": "anonymise",
    "sr_text": "sr",
    "ReportText": "study", "find_report": "study",
    "spacing_of": "measure", "length": "measure", "cardiothoracic_ratio": "measure",
    "Orientation": "orientation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
