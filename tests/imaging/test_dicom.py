"""Reading real and damaged DICOM files: shapes, photometric handling, specific reasons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxrviewer.imaging import load_image, read_header
from cxrviewer.imaging.records import ImageReadError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:pydicom")

# file -> ("error", reason substring) or ("warning", warning substring): each reason distinct.
MALFORMED = {
    "MR_truncated.dcm": ("error", "truncated pixel data: 8,130 of 8,192 bytes"),
    "badVR.dcm": ("error", "invalid NumberOfFrames value '1A'"),
    "empty.dcm": ("error", "empty file (0 bytes)"),
    "html_named_dcm.dcm": ("error", "not a DICOM file (looks like an HTML page)"),
    "emri_small_jpeg_2k_lossless_too_short.dcm": ("error", "truncated pixel data (the file ends inside"),
    "meta_missing_tsyntax.dcm": ("error", "no image attributes (Rows, Columns, BitsAllocated missing)"),
    "no_meta.dcm": ("warning", "no DICOM file meta"),
    "bad_sequence.dcm": ("ok", ""),
    "J2K_pixelrep_mismatch.dcm": ("warning", "codestream is unsigned but PixelRepresentation is 1"),
    "693_J2KI.dcm": ("warning", "codestream has 16-bit samples, BitsStored is 14"),
}


def test_every_malformed_file_is_covered(dicom_dir: Path) -> None:
    assert {p.name for p in (dicom_dir / "malformed").iterdir()} == set(MALFORMED)
    reasons = [r for kind, r in MALFORMED.values() if r]
    assert len(set(reasons)) == len(reasons)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_reason(dicom_dir: Path, name: str) -> None:
    kind, text = MALFORMED[name]
    path = dicom_dir / "malformed" / name
    if kind == "error":
        with pytest.raises(ImageReadError) as info:
            load_image(path)
        assert text in info.value.reason
        assert info.value.path == str(path)
    else:
        image = load_image(path)
        assert image.pixels.shape[-2:] == (image.header.rows, image.header.columns)
        if kind == "warning":
            assert any(text in w for w in image.warnings), image.warnings


@pytest.mark.parametrize("name", ["no_meta.dcm", "meta_missing_tsyntax.dcm"])
def test_header_of_file_without_usable_meta_is_forced_with_warning(dicom_dir: Path, name: str) -> None:
    header = read_header(dicom_dir / "malformed" / name)
    assert header.warnings and ("file meta" in header.warnings[0])


def test_no_meta_decodes_as_the_ct_it_is(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "malformed" / "no_meta.dcm")
    assert image.header.modality == "CT" and image.pixels.shape == (1, 128, 128)
    assert image.units == "HU"


@pytest.mark.parametrize(
    "rel, shape, dtype, photometric",
    [
        ("chest/RG1_J2KI.dcm", (1, 1955, 1841), np.uint16, "MONOCHROME1"),
        ("chest/nih_dx_mono2.dcm", (1, 1024, 1024), np.uint8, "MONOCHROME2"),
        ("chest/nccid_sample.dcm", (1, 512, 512), np.uint8, "MONOCHROME2"),
        ("codecs/693_J2KR.dcm", (1, 512, 512), np.int16, "MONOCHROME2"),
        ("codecs/693_UNCI.dcm", (1, 512, 512), np.int16, "MONOCHROME2"),
        ("codecs/693_UNCR.dcm", (1, 512, 512), np.int16, "MONOCHROME2"),
        ("codecs/JLSL_16_15_1_1F.dcm", (1, 128, 128), np.int16, "MONOCHROME2"),
        ("codecs/JPEG-LL.dcm", (1, 1024, 256), np.int16, "MONOCHROME2"),
        ("codecs/JPGLosslessP14SV1_1s_1f_8b.dcm", (1, 768, 1024), np.uint8, "MONOCHROME2"),
        ("codecs/OBXXXX1A_rle.dcm", (1, 600, 800, 3), np.uint8, "PALETTE COLOR"),
        ("codecs/RG3_J2KI.dcm", (1, 1760, 1760), np.uint16, "MONOCHROME1"),
        ("codecs/RG3_J2KR.dcm", (1, 1760, 1760), np.uint16, "MONOCHROME1"),
        ("codecs/emri_small_RLE.dcm", (10, 64, 64), np.uint16, "MONOCHROME2"),
        ("codecs/mlut_18.dcm", (1, 512, 512), np.int16, "MONOCHROME2"),
        ("codecs/vlut_04.dcm", (1, 512, 512), np.uint8, "MONOCHROME2"),
    ],
)
def test_real_files_decode(dicom_dir: Path, rel: str, shape: tuple, dtype: type, photometric: str) -> None:
    image = load_image(dicom_dir / rel)
    assert image.pixels.shape == shape and image.pixels.dtype == dtype
    assert image.header.photometric == photometric
    assert image.display_pixels.flags.c_contiguous
    assert image.display_pixels.shape == shape
    assert image.display_pixels.dtype in (np.uint8, np.uint16)
    assert image.invert == (photometric == "MONOCHROME1")
    assert image.is_color == (len(shape) == 4)
    assert image.tags and any(t.keyword == "PixelData" and "<pixel data:" in t.value for t in image.tags)


def test_values_match_pydicom(dicom_dir: Path) -> None:
    import pydicom
    from pydicom.pixels import apply_modality_lut

    for rel in ("codecs/693_UNCI.dcm", "codecs/mlut_18.dcm", "codecs/JLSL_16_15_1_1F.dcm"):
        ds = pydicom.dcmread(dicom_dir / rel)
        ref = apply_modality_lut(ds.pixel_array, ds)
        image = load_image(dicom_dir / rel)
        assert np.array_equal(image.pixels[0], ds.pixel_array)
        for r, c in ((0, 0), (100, 77), (127, 127)):
            assert image.modality_value(0, r, c) == pytest.approx(float(ref[r, c]))
            assert image.stored_value(0, r, c) == int(ds.pixel_array[r, c])


def test_signed_ct_is_shifted_not_converted(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "codecs/693_UNCI.dcm")
    assert image.display_pixels.dtype == np.uint16
    assert np.array_equal(image.display_pixels.astype(np.int32) - 32768, image.pixels.astype(np.int32))
    assert image.units == "HU"
    assert image.to_modality(image.to_display(-600.0)) == pytest.approx(-600.0)


def test_palette_colour_uses_the_lut(dicom_dir: Path) -> None:
    import pydicom
    from pydicom.pixels import apply_color_lut

    ds = pydicom.dcmread(dicom_dir / "codecs/OBXXXX1A_rle.dcm")
    ref = (apply_color_lut(ds.pixel_array, ds) >> 8).astype(np.uint8)
    image = load_image(dicom_dir / "codecs/OBXXXX1A_rle.dcm")
    assert np.array_equal(image.pixels[0], ref)
    assert image.display_pixels is image.pixels


def test_spacing_zero_is_no_calibration(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "chest/RG1_J2KI.dcm")
    assert image.spacing is None
    assert "PixelSpacing is 0: no calibrated measurement" in image.warnings


def test_age_without_unit_is_shown_with_warning(dicom_dir: Path) -> None:
    header = read_header(dicom_dir / "chest/nih_dx_mono2.dcm")
    assert header.patient_age == "81"
    assert any("PatientAge '81'" in w for w in header.warnings)
    assert header.study_description == "No Finding"


def test_inversion_is_an_or_not_an_xor(make_dicom, ramp16) -> None:
    """MONOCHROME1 + PresentationLUTShape INVERSE is inverted once (Weasis/OHIF double-flip bug)."""
    both = load_image(make_dicom(ramp16, photometric="MONOCHROME1", PresentationLUTShape="INVERSE"))
    mono1 = load_image(make_dicom(ramp16, photometric="MONOCHROME1"))
    inverse = load_image(make_dicom(ramp16, PresentationLUTShape="INVERSE"))
    identity = load_image(make_dicom(ramp16, PresentationLUTShape="IDENTITY"))
    assert both.invert and mono1.invert and inverse.invert
    assert not identity.invert


def test_multiframe_and_tags(make_dicom) -> None:
    frames = np.stack([np.full((32, 16), i * 100, np.uint16) for i in range(5)])
    image = load_image(make_dicom(frames, PatientAge="045Y"))
    assert image.pixels.shape == (5, 32, 16) and image.frames == 5
    assert image.stored_value(3, 0, 0) == 300
    names = {t.keyword: t for t in image.tags}
    assert names["PatientName"].identifying and not names["Rows"].identifying
    assert names["PixelData"].value == "<pixel data: 5,120 bytes>"


def test_sequences_show_as_children(dicom_dir: Path) -> None:
    image = load_image(dicom_dir / "codecs/vlut_04.dcm")
    seq = next(t for t in image.tags if t.keyword == "VOILUTSequence")
    assert seq.vr == "SQ" and seq.children and seq.children[0].children
    assert all(len(node.value) <= 200 for node in seq.children[0].children)


def test_j2k_codestream_far_larger_than_header_is_refused(dicom_dir: Path, tmp_path: Path) -> None:
    import pydicom

    ds = pydicom.dcmread(dicom_dir / "codecs/693_J2KR.dcm")
    ds.Rows = ds.Columns = 16
    path = tmp_path / "lying_header.dcm"
    ds.save_as(path)
    with pytest.raises(ImageReadError, match="codestream is 512x512x1 but the header says 16x16x1: refused"):
        load_image(path)


def test_report_and_dicomdir_are_not_images(tmp_path: Path) -> None:
    from pydicom.data import get_testdata_file

    header = read_header(get_testdata_file("test-SR.dcm"))
    assert header.is_report
    with pytest.raises(ImageReadError, match="a report/document"):
        load_image(get_testdata_file("test-SR.dcm"))
    with pytest.raises(ImageReadError, match=r"DICOMDIR \(index of the folder, not an image\)"):
        read_header(get_testdata_file("DICOMDIR"))


def test_twelve_bit_jpeg_extended_decodes_with_pylibjpeg_libjpeg() -> None:
    """GDCM and Pillow refuse 12-bit JPEG Extended: pylibjpeg-libjpeg is its only decoder."""
    from pydicom import dcmread
    from pydicom.data import get_testdata_file

    path = get_testdata_file("JPGExtended.dcm")
    image = load_image(path)
    assert image.header.transfer_syntax_uid == "1.2.840.10008.1.2.4.51" and image.header.bits_stored == 12
    assert image.pixels.shape == (1, 1024, 256)
    np.testing.assert_array_equal(image.pixels[0], dcmread(path).pixel_array)


def test_without_its_only_decoder_the_reason_names_what_to_install(tmp_path: Path) -> None:
    """A GPL-free bundle leaves pylibjpeg-libjpeg out; such a file then says what would decode it."""
    import subprocess
    import sys

    from pydicom.data import get_testdata_file

    script = f"""
import sys, importlib.metadata as md
sys.modules["libjpeg"] = None  # as if pylibjpeg-libjpeg were not installed
entry_points = md.entry_points
md.entry_points = lambda **kw: md.EntryPoints([e for e in entry_points(**kw) if not e.value.startswith("libjpeg")])
from cxrviewer.imaging import load_image
from cxrviewer.imaging.records import ImageReadError
try:
    load_image({str(get_testdata_file("JPGExtended.dcm"))!r})
except ImageReadError as exc:
    print(exc.reason)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    reason = done.stdout.strip()
    assert reason.startswith("cannot decode JPEG Extended"), reason
    assert "GDCM does not support 'JPEG Extended' for samples with 12-bit precision" in reason
    assert "Unable to decode as exceptions" not in reason, "pydicom's wrapper is dropped, the plugin's reason kept"
    assert "not installed: pylibjpeg needs" in reason and "pylibjpeg-libjpeg" in reason


def test_text_and_other_files_get_specific_reasons(tmp_path: Path) -> None:
    cases = {
        "notes.dcm": (b"Patient seen today.\nNo findings.\n", "looks like a text file"),
        "doc.dcm": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(200), "looks like a PDF document"),
        "zip.dcm": (b"PK\x03\x04" + bytes(300), "looks like a ZIP archive"),
    }
    for name, (data, reason) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ImageReadError, match=reason):
            read_header(tmp_path / name)


def test_png_and_jpeg(tmp_path: Path) -> None:
    from PIL import Image

    grey8 = (np.arange(100 * 80) % 256).astype(np.uint8).reshape(100, 80)
    grey16 = (np.arange(100 * 80) * 7).astype(np.uint16).reshape(100, 80)
    rgb = np.dstack([grey8, grey8[::-1], np.full_like(grey8, 40)])
    Image.fromarray(grey8).save(tmp_path / "a.png")
    Image.fromarray(grey16).save(tmp_path / "b.png")
    Image.fromarray(rgb).save(tmp_path / "c.jpg", quality=95)
    a, b, c = (load_image(tmp_path / n) for n in ("a.png", "b.png", "c.jpg"))
    assert a.pixels.shape == (1, 100, 80) and a.pixels.dtype == np.uint8 and np.array_equal(a.pixels[0], grey8)
    assert b.pixels.dtype == np.uint16 and np.array_equal(b.pixels[0], grey16)
    assert c.is_color and c.pixels.shape == (1, 100, 80, 3)
    assert read_header(tmp_path / "c.jpg").kind == "jpeg"
    assert read_header(tmp_path / "b.png").rows == 100
    assert a.spacing is None


@pytest.mark.parametrize(
    ("dtype", "bits_stored", "signed"),
    [(np.uint16, 12, False), (np.uint16, 16, False), (np.int16, 12, True), (np.uint8, 8, False), (np.uint8, 6, False)],
)
def test_direct_native_read_matches_pydicom_bit_for_bit(tmp_path, dtype, bits_stored, signed) -> None:
    """The fast uncompressed path must give exactly pydicom's pixels, stray high bits included."""
    import pydicom

    from cxrviewer.imaging.dicom.pixels import _read_native_directly

    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    raw = rng.integers(info.min, info.max, (3, 33, 47), dtype=dtype, endpoint=True)  # junk above BitsStored
    ds = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    ds.NumberOfFrames = 3
    ds.Rows, ds.Columns = 33, 47
    ds.BitsAllocated = np.dtype(dtype).itemsize * 8
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = int(signed)
    ds.PixelData = raw.tobytes()
    path = tmp_path / "native.dcm"
    ds.save_as(path)
    header = read_header(path)
    direct = _read_native_directly(str(path), header, raw.nbytes)
    assert direct is not None, "the fast path should take this file"
    reference = pydicom.dcmread(path).pixel_array
    assert direct.dtype == reference.dtype and np.array_equal(direct, reference)
    assert np.array_equal(load_image(path).pixels, reference)


def test_direct_native_read_matches_pydicom_on_real_files(dicom_dir) -> None:
    import pydicom

    from cxrviewer.imaging.dicom.pixels import _read_native_directly

    taken = 0
    for path in sorted(dicom_dir.glob("*/*.dcm")):
        try:
            header = read_header(path)
        except ImageReadError:
            continue
        expected = header.rows * header.columns * header.frames * header.samples_per_pixel * header.bits_allocated // 8
        direct = _read_native_directly(str(path), header, expected)
        if direct is not None:
            taken += 1
            assert np.array_equal(direct, pydicom.dcmread(path).pixel_array), path.name
    assert taken >= 5  # the uncompressed chest, CT and LUT files go the fast way
