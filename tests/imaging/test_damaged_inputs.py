"""Issue 16, study folders: every damaged input gets its own clear message, and nothing stops the
rest. Each damaged file is made the same way the fuzzing met it: a valid file (pydicom writes it,
or a real one) with a few bytes changed."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from cxrviewer.imaging.dicom import load_image, read_header
from cxrviewer.imaging.records import FileIssue, ImageHeader, ImageReadError
from cxrviewer.imaging.scan import iter_folder

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:pydicom")


def element_at(data: bytes, group: int, element: int, vr: bytes) -> int:
    """Offset of an explicit-VR little-endian element header (the first such occurrence)."""
    at = data.find(struct.pack("<HH", group, element) + vr)
    assert at >= 0, f"({group:04X},{element:04X}) {vr!r} not in the file"
    return at


def damaged(path: Path, edit) -> Path:
    data = bytearray(path.read_bytes())
    edit(data)
    path.write_bytes(bytes(data))
    return path


def short_length(group: int, element: int, vr: bytes):
    """Make a short-form element's length field one less and drop its value's last byte: the file
    stays aligned, the element's value is no whole number of values (pydicom's BytesLength...)."""
    def edit(data: bytearray) -> None:
        at = element_at(data, group, element, vr)
        length = struct.unpack_from("<H", data, at + 6)[0]
        struct.pack_into("<H", data, at + 6, length - 1)
        del data[at + 8 + length - 1]
    return edit


def new_vr(group: int, element: int, vr: bytes, replacement: bytes):
    def edit(data: bytearray) -> None:
        at = element_at(data, group, element, vr)
        data[at + 4 : at + 6] = replacement
    return edit


# --------------------------------------------------------------------------- the file meta


def test_a_damaged_meta_group_length_is_a_reason_and_the_scan_goes_on(tmp_path, make_dicom) -> None:
    first = damaged(make_dicom(name="a.dcm"), short_length(0x0002, 0x0000, b"UL"))
    make_dicom(name="b.dcm")
    make_dicom(name="c.dcm")
    reason = "damaged file meta: (0002,0000) FileMetaInformationGroupLength: 3 bytes is not a whole number of UL values"
    with pytest.raises(ImageReadError) as info:
        read_header(first)
    assert info.value.reason == reason
    items = list(iter_folder(tmp_path))
    assert [(Path(i.path).name, type(i).__name__) for i in items] == [
        ("a.dcm", "FileIssue"), ("b.dcm", "ImageHeader"), ("c.dcm", "ImageHeader")]
    assert items[0].reason == reason


def test_info_lists_the_damaged_file_and_summarises_the_rest(tmp_path, make_dicom, capsys) -> None:
    from cxrviewer.cli import run

    damaged(make_dicom(name="a.dcm"), short_length(0x0002, 0x0000, b"UL"))
    make_dicom(name="b.dcm")
    assert run(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "images: 1" in out and "a.dcm: damaged file meta: (0002,0000)" in out


def test_the_scan_process_carries_on_past_a_damaged_file(tmp_path, make_dicom) -> None:
    """Big folders are scanned in a separate process: there the damaged file used to end the scan."""
    from cxrviewer.imaging.scan_process import iter_batches_in_process

    damaged(make_dicom(name="a.dcm"), short_length(0x0002, 0x0000, b"UL"))
    make_dicom(name="b.dcm")
    items = [item for batch, _ in iter_batches_in_process(str(tmp_path)) for item in batch]
    assert [type(i).__name__ for i in items] == ["FileIssue", "ImageHeader"]


def test_an_unforeseen_error_in_one_file_never_stops_the_scan(tmp_path, make_dicom, monkeypatch) -> None:
    from cxrviewer.imaging import sniffing

    bad = make_dicom(name="a.dcm")
    make_dicom(name="b.dcm")
    real = sniffing.sniff

    def sniff(path):
        if Path(path) == bad:
            raise RuntimeError("a bug nobody foresaw")
        return real(path)

    monkeypatch.setattr(sniffing, "sniff", sniff)
    items = list(iter_folder(tmp_path))
    assert isinstance(items[0], FileIssue)
    assert items[0].reason == "unexpected error (RuntimeError: a bug nobody foresaw)"
    assert isinstance(items[1], ImageHeader)


# --------------------------------------------------------------------------- one bad tag


def test_a_tag_with_a_garbage_vr_loses_nothing_and_is_marked(make_dicom, ramp16) -> None:
    path = damaged(make_dicom(ramp16, StudyDescription="Chest PA"), new_vr(0x0008, 0x1030, b"LO", b"XG"))
    image = load_image(path)
    assert np.array_equal(image.pixels[0], ramp16)
    assert image.header.study_description == "Chest PA"  # read by its dictionary VR
    note = "(0008,1030) StudyDescription: VR 'XG' is not a DICOM VR; read as LO"
    assert any(note in w for w in image.warnings), image.warnings
    node = next(n for n in image.tags if n.tag == "(0008,1030)")
    assert node.value == "Chest PA" and node.damaged == "VR 'XG' is not a DICOM VR; read as LO"
    assert read_header(path).study_description == "Chest PA"  # the scan reads it the same way


def test_a_garbage_vr_on_rows_still_shows_the_film(make_dicom, ramp16) -> None:
    image = load_image(damaged(make_dicom(ramp16), new_vr(0x0028, 0x0010, b"US", b"QQ")))
    assert image.pixels.shape == (1, 64, 48)
    assert any("(0028,0010) Rows: VR 'QQ' is not a DICOM VR; read as US" in w for w in image.warnings)


def test_an_element_damaged_beyond_reading_is_shown_as_damaged(make_dicom, ramp16) -> None:
    path = damaged(make_dicom(ramp16, DiffusionBValue=1000.0), short_length(0x0018, 0x9087, b"FD"))
    image = load_image(path)
    assert np.array_equal(image.pixels[0], ramp16)
    node = next(n for n in image.tags if n.tag == "(0018,9087)")
    assert node.damaged == "7 bytes is not a whole number of FD values"
    assert node.vr == "FD" and node.value.startswith("<damaged: 7 bytes is not a whole number of FD values>")


def test_a_needed_element_damaged_beyond_reading_is_the_reason(make_dicom) -> None:
    path = damaged(make_dicom(), short_length(0x0028, 0x0101, b"US"))
    with pytest.raises(ImageReadError) as info:
        load_image(path)
    assert info.value.reason == "damaged (0028,0101) BitsStored: 1 bytes is not a whole number of US values"


def test_a_damaged_sequence_item_is_marked_not_fatal(make_dicom, ramp16) -> None:
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "T-D3000", "SRT", "Chest"
    path = damaged(make_dicom(ramp16, AnatomicRegionSequence=[item]), new_vr(0x0008, 0x0104, b"LO", b"Z\x00"))
    image = load_image(path)
    assert np.array_equal(image.pixels[0], ramp16)
    sequence = next(n for n in image.tags if n.keyword == "AnatomicRegionSequence")
    meaning = next(n for n in sequence.children[0].children if n.tag == "(0008,0104)")
    assert meaning.value == "Chest" and "is not a DICOM VR" in meaning.damaged
    assert any("AnatomicRegionSequence item 1 > (0008,0104) CodeMeaning" in w for w in image.warnings)


# --------------------------------------------------------------------------- transfer syntax


def _meta_syntax(uid: bytes):
    def edit(data: bytearray) -> None:
        at = element_at(data, 0x0002, 0x0010, b"UI")
        length = struct.unpack_from("<H", data, at + 6)[0]
        assert len(uid) == length, "keep the length: the rest of the file stays where it is"
        data[at + 8 : at + 8 + length] = uid
    return edit


def test_a_uid_that_is_no_transfer_syntax_is_read_as_its_bytes_show(make_dicom, ramp16) -> None:
    from cxrviewer.imaging.isolated import is_compressed, load_image_isolated

    path = damaged(make_dicom(ramp16), _meta_syntax(b"1.2.840.10008.1.3.10"))  # a SOP class, not a syntax
    assert is_compressed(str(path)) is False
    image = load_image_isolated(str(path))
    assert np.array_equal(image.pixels[0], ramp16)
    assert ("Transfer Syntax UID '1.2.840.10008.1.3.10' is not a transfer syntax but 'Media Storage Directory "
            "Storage': read as Explicit VR Little Endian") in image.warnings


def test_compressed_pixels_under_a_damaged_syntax_uid_get_their_own_reason(tmp_path) -> None:
    from pydicom.data import get_testdata_file

    from cxrviewer.imaging.isolated import load_image_isolated

    source = Path(get_testdata_file("MR_small_RLE.dcm", download=False))
    path = tmp_path / "rle.dcm"
    path.write_bytes(source.read_bytes())
    damaged(path, _meta_syntax(b"1.2.840.10008.1.3.10"))
    with pytest.raises(ImageReadError) as info:
        load_image_isolated(str(path))
    assert info.value.reason == ("the pixel data is compressed but the transfer syntax (Explicit VR Little Endian) "
                                 "is not; the file's Transfer Syntax UID is damaged")


# --------------------------------------------------------------------------- image attributes


def test_palette_colour_without_a_lookup_table_has_its_own_reason(make_dicom) -> None:
    pixels = np.arange(64 * 48, dtype=np.uint8).reshape(64, 48)
    with pytest.raises(ImageReadError) as info:
        load_image(make_dicom(pixels, photometric="PALETTE COLOR"))
    assert info.value.reason == ("PALETTE COLOR image without a usable colour lookup table "
                                 "(RedPaletteColorLookupTableDescriptor missing)")


def test_palette_colour_with_a_short_lookup_table_has_its_own_reason(make_dicom) -> None:
    pixels = np.arange(64 * 48, dtype=np.uint8).reshape(64, 48)
    tables = {}
    for colour in ("Red", "Green", "Blue"):
        tables[f"{colour}PaletteColorLookupTableDescriptor"] = [256, 0, 8]
        tables[f"{colour}PaletteColorLookupTableData"] = bytes(range(100))
    with pytest.raises(ImageReadError) as info:
        load_image(make_dicom(pixels, photometric="PALETTE COLOR", **tables))
    assert info.value.reason.endswith("(RedPaletteColorLookupTableData has 100 bytes for 256 entries)")


@pytest.mark.parametrize("attrs, reason", [
    ({"SamplesPerPixel": 235}, "SamplesPerPixel is 235: an image has 1 (grey) or 3 (colour) samples per pixel"),
    ({"BitsAllocated": 12}, "BitsAllocated is 12: 1, 8, 16, 32 or 64 expected"),
    ({"BitsStored": 20, "HighBit": 19}, "BitsStored (20) is more than BitsAllocated (16)"),
    ({"PixelRepresentation": 2}, "PixelRepresentation is 2: 0 (unsigned) or 1 (signed) expected"),
])
def test_impossible_image_attributes_each_have_their_own_reason(make_dicom, attrs, reason) -> None:
    with pytest.raises(ImageReadError) as info:
        load_image(make_dicom(**attrs))
    assert info.value.reason == reason


# --------------------------------------------------------------------------- what is not a file


@pytest.mark.timeout(30)
def test_info_on_a_named_pipe_says_so_at_once(tmp_path, capsys) -> None:
    from cxrviewer.cli import run

    pipe = tmp_path / "pipe.dcm"
    os.mkfifo(pipe)
    assert run(["info", str(pipe)]) == 1
    assert "pipe.dcm: not a regular file (a named pipe (FIFO))" in capsys.readouterr().out


@pytest.mark.timeout(30)
def test_a_named_pipe_in_a_folder_is_listed_not_opened(tmp_path, make_dicom) -> None:
    make_dicom(name="a.dcm")
    os.mkfifo(tmp_path / "b.dcm")
    items = list(iter_folder(tmp_path))
    assert [(Path(i.path).name, getattr(i, "reason", "")) for i in items] == [
        ("a.dcm", ""), ("b.dcm", "not a regular file (a named pipe (FIFO))")]


def _deny(monkeypatch, locked: Path) -> None:
    """os.scandir refuses ``locked`` as it does without read permission (tests may run as root)."""
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(locked))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_info_on_a_folder_it_cannot_read_says_why(tmp_path, make_dicom, monkeypatch, capsys) -> None:
    from cxrviewer.cli import run

    locked = tmp_path / "locked"
    locked.mkdir()
    _deny(monkeypatch, locked)
    assert run(["info", str(locked)]) == 1
    assert f"{locked}: cannot read folder: Permission denied" in capsys.readouterr().out


def test_an_unreadable_subfolder_is_listed_and_the_rest_scanned(tmp_path, make_dicom, monkeypatch, capsys) -> None:
    from cxrviewer.cli import run

    make_dicom(name="a.dcm")
    locked = tmp_path / "locked"
    locked.mkdir()
    make_dicom(name="locked/b.dcm")
    _deny(monkeypatch, locked)
    assert run(["info", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 1
    assert summary["skipped"] == [{"path": str(locked), "reason": "cannot read folder: Permission denied"}]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any folder")
def test_without_read_permission_for_real(tmp_path, make_dicom) -> None:
    locked = tmp_path / "locked"
    make_dicom(name="locked/a.dcm")
    locked.chmod(0)
    try:
        assert [i.reason for i in iter_folder(locked)] == ["cannot read folder: Permission denied"]
    finally:
        locked.chmod(0o755)
