"""The display pipeline (levels + LUT on display_pixels) against pydicom's reference."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from cxrviewer.imaging import load_image
from cxrviewer.imaging.display import (
    auto_window,
    default_preset,
    mapping_for,
    presets_for,
    render_uint8,
    window_from_drag,
)
from cxrviewer.imaging.records import VoiPreset, Window

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning:pydicom"),
    pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning"),
]


def _reference(path: Path, window: Window | None, invert: bool, lut_index: int | None = None) -> np.ndarray:
    """pydicom: apply_modality_lut + apply_voi_lut (or windowing), normalised to 0..255."""
    import pydicom
    from pydicom.pixels import apply_modality_lut, apply_voi_lut, apply_windowing

    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    mod = apply_modality_lut(arr, ds)
    if lut_index is not None:
        out = apply_voi_lut(arr, ds, index=lut_index).astype(np.float64)
        bits = max(int(out.max()).bit_length(), 1)
        lo, hi = 0.0, float((1 << bits) - 1)
    else:
        assert window is not None
        ref_ds = copy.deepcopy(ds)
        ref_ds.WindowCenter, ref_ds.WindowWidth = window.center, window.width
        ref_ds.VOILUTFunction = window.function
        if "VOILUTSequence" in ref_ds:
            del ref_ds.VOILUTSequence
        out = apply_windowing(mod.astype(np.float64), ref_ds)
        lo, hi = apply_windowing(np.array([-1e12, 1e12]), ref_ds)
    norm = (out - lo) / (hi - lo) * 255.0
    return 255.0 - norm if invert else norm


CASES = [
    ("codecs/693_UNCI.dcm", Window(-600, 1500)),  # signed CT, lung window
    ("codecs/693_UNCI.dcm", Window(40, 100, "LINEAR_EXACT")),
    ("codecs/693_UNCI.dcm", Window(40, 400, "SIGMOID")),
    ("codecs/mlut_18.dcm", Window(32768, 40000)),  # modality LUT sequence
    ("chest/RG1_J2KI.dcm", Window(15000, 30000)),  # MONOCHROME1
    ("chest/nih_dx_mono2.dcm", Window(128, 200)),
    ("codecs/JLSL_16_15_1_1F.dcm", Window(0, 20000, "SIGMOID")),
]


@pytest.mark.parametrize("rel, window", CASES)
def test_levels_and_lut_match_pydicom(dicom_dir: Path, rel: str, window: Window) -> None:
    image = load_image(dicom_dir / rel)
    mapping = mapping_for(image, window, image.invert)
    ours = render_uint8(image, 0, mapping).astype(np.float64)
    ref = _reference(dicom_dir / rel, window, image.invert)
    diff = np.abs(ours - ref)
    assert diff.max() <= 2.0 and diff.mean() < 1.0, (diff.max(), diff.mean())
    assert mapping.lut is None or (mapping.lut.dtype == np.uint8 and len(mapping.lut) <= 4096)


def test_voi_lut_sequence_matches_pydicom(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "codecs/vlut_04.dcm")
    preset = image.presets[0]
    assert preset.source == "file" and preset.window is None and preset.lut is not None
    for invert in (False, True):
        ours = render_uint8(image, 0, mapping_for(image, preset, invert)).astype(np.float64)
        ref = _reference(dicom_dir / "codecs/vlut_04.dcm", None, invert, lut_index=0)
        assert np.abs(ours - ref).max() <= 1.0


def test_file_window_with_explanations_and_several_values(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "malformed/bad_sequence.dcm")
    files = [p for p in image.presets if p.source == "file"]
    assert [(p.name, p.window.center, p.window.width) for p in files] == [
        ("WINDOW1", 40.0, 350.0), ("WINDOW2", 450.0, 1500.0)
    ]
    assert default_preset(image) is files[0]
    names = [p.name for p in image.presets]
    assert names[2:] == ["Lung", "Mediastinum", "Bone", "Full range", "Auto (percentiles 0.5-99.5)"]


def test_ct_gets_standard_hu_windows(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "codecs/693_UNCI.dcm")
    by_name = {p.name: p.window for p in image.presets if p.source == "standard"}
    assert by_name["Lung"] == Window(-600, 1500)
    assert by_name["Mediastinum"] == Window(50, 350)
    assert by_name["Bone"] == Window(400, 1800)


def test_radiograph_presets_follow_inversion(make_dicom, ramp16) -> None:
    normal = load_image(make_dicom(ramp16))
    inverted = load_image(make_dicom(ramp16, photometric="MONOCHROME1"))
    lung = {p.name: p.window for p in normal.presets}["Lung"]
    lung_inv = {p.name: p.window for p in inverted.presets}["Lung"]
    lo, hi = normal.robust_range
    assert lung.center < (lo + hi) / 2 < lung_inv.center  # lungs: low values unless MONOCHROME1
    assert default_preset(normal).source == "auto"


def test_inverted_mapping_is_a_descending_ramp(make_dicom, ramp16) -> None:
    image = load_image(make_dicom(ramp16))
    window = Window(2048, 4096)
    plain = render_uint8(image, 0, mapping_for(image, window, False)).astype(int)
    inverted = mapping_for(image, window, True)
    assert inverted.lut is not None and inverted.lut[0] == 255 and inverted.lut[-1] == 0
    assert np.abs(render_uint8(image, 0, inverted).astype(int) - (255 - plain)).max() <= 1


def test_auto_window_and_drag(make_dicom, ramp16) -> None:
    image16 = load_image(make_dicom(ramp16))
    image8 = load_image(make_dicom((ramp16 // 16).astype(np.uint8)))
    w16, w8 = auto_window(image16), auto_window(image8)
    assert 3500 < w16.width < 4100 and 215 < w8.width < 260
    d16 = window_from_drag(w16, 50, 0, image16)
    d8 = window_from_drag(w8, 50, 0, image8)
    # the same drag moves both by the same fraction of their range
    assert (d16.width - w16.width) / w16.width == pytest.approx((d8.width - w8.width) / w8.width, rel=0.1)
    assert window_from_drag(w8, -10_000, 0, image8).width == 1.0


def test_colour_images_map_straight(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "codecs/OBXXXX1A_rle.dcm")
    mapping = mapping_for(image, default_preset(image), False)
    assert mapping.levels == (0.0, 255.0)
    out = render_uint8(image, 0, mapping)
    assert out.shape == (600, 800, 3) and np.array_equal(out, image.pixels[0])
    assert presets_for(image)[-1].source == "auto"


def test_long_voi_lut_is_resampled(make_dicom, ramp16) -> None:
    image = load_image(make_dicom(ramp16))
    lut = np.linspace(0, 65535, 10000)
    mapping = mapping_for(image, VoiPreset("long", None, 0.0, lut, "file"), False)
    assert len(mapping.lut) == 4096 and mapping.levels == (0.0, 9999.0)
