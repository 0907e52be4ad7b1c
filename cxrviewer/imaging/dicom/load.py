"""``load_image``: a DICOM (or PNG/JPEG) file decoded for display, measurement and the tag
browser, assembled from the header, the pixels, the colour or grey display mapping, the ranges
and the presets."""

from __future__ import annotations

import os
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import UID

from cxrviewer.imaging import sniffing
from cxrviewer.imaging.dicom.colour import colour_pixels
from cxrviewer.imaging.dicom.errors import only_image_read_errors
from cxrviewer.imaging.dicom.geometry import assumed, check_damage, check_geometry
from cxrviewer.imaging.dicom.header import header_of, read_dataset
from cxrviewer.imaging.dicom.modality import file_presets, grey_display
from cxrviewer.imaging.dicom.pixels import as_frames, decode_pixels
from cxrviewer.imaging.dicom.tags import sanitise, tag_tree, where_damaged
from cxrviewer.imaging.loaded import LoadedImage
from cxrviewer.imaging.measure import spacing_of
from cxrviewer.imaging.ranges import display_ranges
from cxrviewer.imaging.records import ImageHeader, VoiPreset


def load_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Decode a DICOM, PNG or JPEG file for display, measurement and the tag browser.

    Raises
    ------
    ImageReadError
        With a specific reason for unusable files; usable oddities become ``warnings``.
    """
    path = os.fspath(path)
    with only_image_read_errors(path, "decoding"):
        return _load_image(path)


def _load_image(path: str) -> LoadedImage:
    kind = sniffing.sniff(path)
    if kind in ("png", "jpeg"):
        from cxrviewer.imaging import raster

        return raster.load_image(path, kind)
    # header first (0.3-0.5 ms): it validates the attributes the decode relies on, and
    # pixel_array(path) then reads only the pixel data; ds_out would hold group 0028 only
    ds, notes = read_dataset(path, kind, header_only=True)
    astray = where_damaged(ds) if _lacks_image_attributes(ds) else None  # before sanitise converts
    damage = sanitise(ds)  # a damaged element can no longer raise below; the tag tree marks it
    check_damage(path, damage)
    assume, assumed_notes = assumed(ds.__contains__)
    header = header_of(path, ds, notes + [w for w in (damage.warning(),) if w] + assumed_notes)
    check_geometry(path, header, astray)
    arr, nbytes, decode_notes = decode_pixels(path, kind, ds, header, bool(damage.elements), assume)
    arr = as_frames(path, arr, header)
    warn = list(header.warnings) + decode_notes
    is_color = header.samples_per_pixel == 3 or header.photometric == "PALETTE COLOR"
    fields: dict[str, Any]
    if is_color:
        pixels = colour_pixels(path, ds, header, arr)
        fields = dict(display_pixels=pixels)
    else:
        pixels = arr
        fields = grey_display(ds, arr, warn)
    sample, robust = display_ranges(fields["display_pixels"], fields.get("display_scale", 1.0),
                             fields.get("display_offset", 0.0), is_color)
    spacing, spacing_note = spacing_of(ds)
    if spacing is None and ("PixelSpacing" in ds or "ImagerPixelSpacing" in ds):
        warn.append(spacing_note)
    header = _replace_warnings(header, warn)
    shape = str(ds.get("PresentationLUTShape", "") or "").upper()
    image = LoadedImage(
        header=header,
        pixels=pixels,
        is_color=is_color,
        invert=not is_color and (header.photometric == "MONOCHROME1" or shape == "INVERSE"),
        sample_range=sample,
        robust_range=robust,
        file_presets=() if is_color else file_presets(ds),
        spacing=spacing,
        spacing_note=spacing_note,
        warnings=tuple(warn),
        tags=tag_tree(ds, nbytes, damage),
        sop_class_name=UID(header.sop_class_uid).name if header.sop_class_uid else "",
        **fields,
    )
    from cxrviewer.imaging.display import presets_for

    return _with_presets(image, presets_for(image))


def _lacks_image_attributes(ds: Dataset) -> bool:
    return not all(tag in ds for tag in (0x00280010, 0x00280011, 0x00280100))


def _replace_warnings(header: ImageHeader, warn: list[str]) -> ImageHeader:
    import dataclasses

    return dataclasses.replace(header, warnings=tuple(dict.fromkeys(warn)))


def _with_presets(image: LoadedImage, presets: tuple[VoiPreset, ...]) -> LoadedImage:
    import dataclasses

    return dataclasses.replace(image, presets=presets)
