"""DICOM files in, headers and decoded pixels out, with a specific reason when a file is unusable.

The viewer must survive whatever a user's folder holds, so every failure path ends in
``ImageReadError(path, reason)`` with a reason a radiologist can act on, and every usable-but-odd
file decodes with a warning. Decoding order follows the measured handler speeds in design.md.

- :mod:`.header`: reading the dataset and the header (a scan's per-file work);
- :mod:`.pixels`: decoding the pixels, with the guards;
- :mod:`.load`: ``load_image``, assembling header, pixels, display mapping, ranges and presets;
- :mod:`.tags`: the tag tree, damaged elements kept and marked; :mod:`.errors`: reasons;
- :mod:`.modality`, :mod:`.colour`: grey and colour display; :mod:`.geometry`, :mod:`.syntax`,
  :mod:`.j2k`, :mod:`.jpeg`: checks before a decoder sees the data.
"""

from __future__ import annotations

from cxrviewer.imaging.dicom.header import DICOMDIR_REASON, is_report_sop, read_header
from cxrviewer.imaging.dicom.load import load_image
from cxrviewer.imaging.dicom.modality import file_presets
from cxrviewer.imaging.dicom.pixels import SKIPPED_PLUGINS
from cxrviewer.imaging.dicom.tags import tag_tree

__all__ = [
           "DICOMDIR_REASON",
           "SKIPPED_PLUGINS",
           "file_presets",
           "is_report_sop",
           "load_image",
           "read_header",
           "tag_tree",
]
