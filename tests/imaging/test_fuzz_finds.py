"""Damage the fuzz runs (``python -m cxrviewer.bench fuzz``, the atheris header target) met
beyond the issue's list, each made again by hand: a film is shown whenever its pixels can be,
and otherwise the reason names what is wrong."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from cxrviewer.imaging.dicom import load_image, read_header
from cxrviewer.imaging.records import ImageReadError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:pydicom")


def patch(path: Path, find: bytes, replace: bytes, count: int = 1) -> Path:
    data = path.read_bytes()
    assert data.count(find) >= count, f"{find!r} not in {path.name}"
    path.write_bytes(data.replace(find, replace, count))
    return path


def test_a_damaged_modality_lut_costs_the_lut_not_the_film(dicom_dir: Path, tmp_path: Path) -> None:
    """mlut_18 with its LUT Data's length field one less (mutant 321 of seed 1)."""
    data = bytearray((dicom_dir / "codecs" / "mlut_18.dcm").read_bytes())
    at = data.find(struct.pack("<HH", 0x0028, 0x3006) + b"US")
    struct.pack_into("<H", data, at + 6, struct.unpack_from("<H", data, at + 6)[0] - 1)
    path = tmp_path / "mlut.dcm"
    path.write_bytes(bytes(data))
    image = load_image(path)
    assert image.pixels.shape[1:] == (512, 512) and not image.has_modality_lut
    assert any(w.startswith("the Modality LUT is damaged") and w.endswith("stored values shown")
               for w in image.warnings)


def test_pixel_data_with_a_garbage_vr_is_the_reason(tmp_path: Path) -> None:
    """Big endian goes through pydicom's dataset (mutant 1335 of seed 1 was such a file); there
    Pixel Data with a garbage VR was read with a short length field, its value is not the pixels."""
    path = tmp_path / "big.dcm"
    path.write_bytes(Path(get_testdata_file("MR_small_bigendian.dcm", download=False)).read_bytes())
    patch(path, struct.pack(">HH", 0x7FE0, 0x0010) + b"OW", struct.pack(">HH", 0x7FE0, 0x0010) + b"QW")
    with pytest.raises(ImageReadError) as info:
        load_image(path)
    assert info.value.reason == "damaged (7FE0,0010) PixelData: VR 'QW' is not a DICOM VR"


def test_a_missing_pixel_representation_is_assumed_unsigned(make_dicom, ramp16, tmp_path) -> None:
    import pydicom

    path = make_dicom(ramp16)
    ds = pydicom.dcmread(path)
    del ds.PixelRepresentation
    ds.save_as(path)
    image = load_image(path)
    assert np.array_equal(image.pixels[0], ramp16)
    assert "PixelRepresentation missing: 0 (unsigned) assumed" in image.warnings


def test_a_garbage_vr_on_the_transfer_syntax_is_named(make_dicom) -> None:
    path = patch(make_dicom(), struct.pack("<HH", 0x0002, 0x0010) + b"UI", struct.pack("<HH", 0x0002, 0x0010) + b"QQ")
    with pytest.raises(ImageReadError) as info:
        read_header(path)
    assert info.value.reason == "damaged file meta: (0002,0010) TransferSyntaxUID: VR 'QQ' is not a DICOM VR"


def test_a_sequence_where_text_belongs_is_no_text(make_dicom, tmp_path) -> None:
    """The atheris header target's first find: ImageComments written as a sequence whose item
    holds a damaged element; reading the header for the scan converted the item and raised."""
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodeValue, item.CodeMeaning = "T-D3000", "Chest"  # (a first element that is fine: read as explicit VR)
    path = make_dicom(name="seq.dcm")
    import pydicom

    ds = pydicom.dcmread(path)
    ds.add_new(0x00204000, "SQ", [item])  # ImageComments (LT) as a sequence
    ds.save_as(path)
    patch(path, struct.pack("<HH", 0x0008, 0x0104) + b"LO", struct.pack("<HH", 0x0008, 0x0104) + b"Z\x00")
    header = read_header(path)
    assert header.rows == 64 and not header.synthetic_demo
    image = load_image(path)
    assert image.pixels.shape == (1, 64, 48)


@pytest.mark.filterwarnings("ignore")
def test_when_gdcm_crashes_the_other_decoders_still_show_the_film(tmp_path) -> None:
    """pydicom's SC_rgb_jpeg.dcm with 128 bytes of its JPEG stream zeroed: GDCM aborts its
    process (an uncaught C++ exception), pylibjpeg decodes it (mutant 1282 of seed 0)."""
    pytest.importorskip("gdcm")
    pytest.importorskip("libjpeg")
    from cxrviewer.imaging.isolated import load_image_isolated

    data = bytearray(Path(get_testdata_file("SC_rgb_jpeg.dcm", download=False)).read_bytes())
    data[1005:1133] = bytes(128)
    path = tmp_path / "jpeg.dcm"
    path.write_bytes(bytes(data))
    image = load_image_isolated(str(path))
    assert image.pixels.shape == (1, 256, 256, 3)
    assert "the GDCM decoder crashed on this file: decoded without it" in image.warnings


def test_a_jpeg_frame_that_disagrees_with_the_header_is_refused_before_decoding(tmp_path) -> None:
    """pydicom's JPEGLSNearLossless_08.dcm with Rows 65535 (mutant 1498 of seed 0): numpy's
    "could not broadcast" from one decoder, an abort from GDCM; now the frame's own size."""
    from cxrviewer.imaging.isolated import load_image_isolated

    path = tmp_path / "jls.dcm"
    path.write_bytes(Path(get_testdata_file("JPEGLSNearLossless_08.dcm", download=False)).read_bytes())
    rows = struct.pack("<HH", 0x0028, 0x0010) + b"US" + struct.pack("<H", 2)
    patch(path, rows + struct.pack("<H", 45), rows + struct.pack("<H", 65535))
    with pytest.raises(ImageReadError) as info:
        load_image_isolated(str(path))
    assert info.value.reason == "the JPEG codestream is 10x45x1 but the header says 10x65535x1"


def test_a_number_written_as_a_sequence_is_named(make_dicom) -> None:
    """The atheris header target's second find: Columns with VR SQ, its item damaged; the
    message quoting the value converted the item and raised."""
    import pydicom
    from pydicom.dataelem import DataElement
    from pydicom.dataset import Dataset

    path = make_dicom(name="columns.dcm")
    ds = pydicom.dcmread(path)
    item = Dataset()
    item.add_new(0x00091010, "UL", [7, 8])  # a private element: nothing else reads it
    ds[0x00280011] = DataElement(0x00280011, "SQ", [item])
    ds.save_as(path)
    data = bytearray(path.read_bytes())
    at = data.find(struct.pack("<HH", 0x0009, 0x1010) + b"UL" + struct.pack("<H", 8))
    struct.pack_into("<H", data, at + 6, 7)  # 7 bytes: no whole number of UL values
    del data[at + 8]
    path.write_bytes(bytes(data))
    with pytest.raises(ImageReadError) as info:
        read_header(path)
    assert info.value.reason == "damaged (0028,0011) Columns: a sequence where a number belongs"


def test_a_transfer_syntax_uid_damaged_into_a_sequence_is_replaced(make_dicom, ramp16) -> None:
    """The atheris header target's third find: (0002,0010) with VR SQ; replacing its value
    raised pydicom's "Sequence contents must be 'Dataset' instances"."""
    path = make_dicom(ramp16)
    data = path.read_bytes()
    syntax = struct.pack("<HH", 0x0002, 0x0010) + b"UI" + struct.pack("<H", 20) + b"1.2.840.10008.1.2.1\x00"
    path.write_bytes(data.replace(syntax, struct.pack("<HH", 0x0002, 0x0010) + b"SQ\x00\x00" + struct.pack("<I", 0)))
    note = "Transfer Syntax UID is damaged (its VR says SQ): read as Explicit VR Little Endian"
    assert note in read_header(path).warnings
    image = load_image(path)
    assert np.array_equal(image.pixels[0], ramp16) and note in image.warnings


def test_a_damaged_private_block_header_read_out_of_order_is_marked(make_dicom, ramp16) -> None:
    """The atheris header target's fourth find: a private element listed before its block's
    (0019,0000), which has a garbage VR; pydicom looks that element up whenever one of its block
    is set, so repairing them in file order raised."""
    import pydicom

    path = make_dicom(ramp16)
    ds = pydicom.dcmread(path)
    ds.add_new(0x00190001, "LO", "ACME")
    ds.save_as(path)  # (pydicom writes no group lengths: the damaged one is added by hand)
    block = struct.pack("<HH", 0x0019, 0x0001) + b"LO" + struct.pack("<H", 4) + b"ACME"
    length = struct.pack("<HH", 0x0019, 0x0000) + b"CM" + struct.pack("<HI", 4, 12)
    patch(path, block, block + length)
    image = load_image(path)
    assert np.array_equal(image.pixels[0], ramp16)
    assert any("(0019,0000): VR 'CM' is not a DICOM VR" in w for w in image.warnings), image.warnings
