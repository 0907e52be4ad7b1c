"""Exports: HTML handout, PowerPoint deck, portable archive (with GSPS); anonymised to the byte;
the archive restores the collection on another workstation exactly."""

from __future__ import annotations

import html
import io
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from teaching_helpers import demo_secrets, make_identified_film

from cxrviewer.teaching import films
from cxrviewer.teaching.archive import import_archive
from cxrviewer.teaching.export_common import ANONYMISED_NOTE, BURNED_IN_WARNING
from cxrviewer.teaching.exports import export_collection
from cxrviewer.teaching.model import Annotation, Presentation
from cxrviewer.teaching.render import key_image_png
from cxrviewer.teaching.store import TeachingStore

MARKS = (Annotation("arrow", ((30, 40), (60, 70)), "pleural line"),
         Annotation("ellipse", ((20, 30), (70, 90)), color="#00ff00"),
         Annotation("freehand", ((10, 10), (40, 12), (35, 40), (12, 35))),
         Annotation("line", ((5, 100), (100, 100))),
         Annotation("text", ((64, 8),), "R"))


@dataclass(frozen=True)
class Exported:
    folder: Path  # the teaching folder
    collection_id: int
    html: Path
    pptx: Path
    zip: Path
    secrets: tuple[bytes, ...]


@pytest.fixture(scope="module")
def exported(demo_library, tmp_path_factory) -> Exported:
    from cxrviewer.library.library import Library

    tmp = tmp_path_factory.mktemp("exports")
    film = make_identified_film(tmp / "study-folder")
    folder = tmp / "teaching"
    with TeachingStore(folder) as store, Library.open(demo_library) as library:
        c = store.create_collection("Pleural disease", "Effusions and their mimics")
        added = films.add_library_cases(store, c.collection_id, library, ["DEMO0005_S1", "DEMO0007_S1"])
        for mark in MARKS:
            store.add_annotation(added[0].case_id, mark)
        store.update_teaching(added[0].case_id, title="Right pneumothorax", findings="Visible pleural line",
                              diagnosis="Pneumothorax",
                              teaching_points="Look at the apex.\nCheck the costophrenic angle.",
                              difficulty="medium", tags=("pleura", "emergency"))
        store.set_presentation(added[0].case_id, Presentation(window_center=1800.0, window_width=3000.0, zoom=1.5,
                                                              pan_x=70, pan_y=60, rotation=90, flip_h=True))
        own = films.add_file(store, c.collection_id, film.path)  # kept with its identity in the store
        store.add_annotation(own.case_id, Annotation("arrow", ((10, 50), (30, 60)), "effusion"))
        store.update_teaching(own.case_id, title="Large effusion", diagnosis="Right pleural effusion")
        shutil.rmtree(film.path.parent)  # the study folder goes; the collection keeps its copy
        secrets = film.secrets + demo_secrets([library.case("DEMO0005_S1"), library.case("DEMO0007_S1")])
        outputs = {fmt: export_collection(store, c.name, fmt, tmp / f"handout.{fmt}").path
                   for fmt in ("html", "pptx", "zip")}
    return Exported(folder, c.collection_id, outputs["html"], outputs["pptx"], outputs["zip"], secrets)


def _every_byte(path: Path) -> list[tuple[str, bytes]]:
    """The file, and each member of it when it is a zip (the archive, the PPTX), recursively."""
    data = path.read_bytes()
    out = [(str(path), data)]
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            out += [(f"{path}!{name}", zf.read(name)) for name in zf.namelist()]
    return out


def test_no_export_holds_a_byte_of_the_patients_identity(exported):
    checked = 0
    for path in (exported.html, exported.pptx, exported.zip):
        for where, data in _every_byte(path):
            for secret in exported.secrets:
                assert secret not in data, f"{secret!r} found in {where}"
                assert secret.lower() not in data.lower(), f"{secret!r} (any case) found in {where}"
            checked += 1
    assert checked > 20  # the archive's and the deck's members were looked into


def test_exports_say_they_are_anonymised_and_warn_of_burned_in_text(exported):
    page = exported.html.read_text(encoding="utf-8")
    assert ANONYMISED_NOTE in page and page.count(html.escape(BURNED_IN_WARNING)) == 1
    assert page.count('src="data:image/png;base64,') == 3 and "Right pneumothorax" in page
    with zipfile.ZipFile(exported.zip) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert ANONYMISED_NOTE in zf.read("README.txt").decode()
    assert manifest["anonymised"] is True and manifest["note"] == ANONYMISED_NOTE
    assert [c["warnings"] for c in manifest["cases"]] == [[], [], [BURNED_IN_WARNING]]


def test_the_deck_reads_back_with_python_pptx(exported):
    from pptx import Presentation as Deck

    deck = Deck(str(exported.pptx))
    slides = list(deck.slides)
    assert len(slides) == 1 + 2 * 3
    texts = ["\n".join(s.text_frame.text for s in slide.shapes if s.has_text_frame) for slide in slides]
    assert ANONYMISED_NOTE in texts[0] and "Pleural disease" in texts[0]
    assert texts[1].startswith("Case 1: unknown") and "Right pneumothorax" not in texts[1]
    assert "Right pneumothorax" in texts[2] and "Look at the apex." in texts[2] and "Pneumothorax" in texts[2]
    assert BURNED_IN_WARNING in texts[5] and BURNED_IN_WARNING in texts[6]
    pictures = [sum(1 for s in slide.shapes if s.shape_type == 13) for slide in slides]  # 13: PICTURE
    assert pictures == [0] + [1] * 6
    assert "Check the costophrenic angle." in slides[2].notes_slide.notes_text_frame.text
    assert deck.core_properties.comments == ANONYMISED_NOTE


def test_the_presentation_state_reads_back_with_pydicom(exported):
    with zipfile.ZipFile(exported.zip) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        first = manifest["cases"][0]
        film = pydicom.dcmread(io.BytesIO(zf.read(first["film"]["dicom"])))
        state = pydicom.dcmread(io.BytesIO(zf.read(first["film"]["gsps"])))
    assert state.SOPClassUID == "1.2.840.10008.5.1.4.1.1.11.1" and state.Modality == "PR"
    assert state.StudyInstanceUID == film.StudyInstanceUID and str(state.PatientName) == str(film.PatientName)
    referenced = state.ReferencedSeriesSequence[0].ReferencedImageSequence[0]
    assert referenced.ReferencedSOPInstanceUID == film.SOPInstanceUID == first["film"]["sop_instance_uid"]
    annotation = state.GraphicAnnotationSequence[0]
    objects = [(o.GraphicType, [float(v) for v in o.GraphicData]) for o in annotation.GraphicObjectSequence]
    assert [t for t, _ in objects] == ["POLYLINE", "POLYLINE", "ELLIPSE", "POLYLINE", "POLYLINE"]
    assert objects[0][1] == [30, 40, 60, 70]  # the arrow's shaft, in film pixels
    assert objects[1][1][2:4] == [60, 70]  # its head's tip
    assert objects[2][1] == [45, 30, 45, 90, 20, 60, 70, 60]  # ellipse: major (vertical) axis, then minor
    assert objects[3][1] == [10, 10, 40, 12, 35, 40, 12, 35, 10, 10]  # the closed freehand region
    assert objects[4][1] == [5, 100, 100, 100]
    texts = [t.UnformattedTextValue for t in annotation.TextObjectSequence]
    assert texts == ["pleural line", "R"]
    assert state.GraphicLayerSequence[0].GraphicLayer == annotation.GraphicLayer
    voi = state.SoftcopyVOILUTSequence[0]
    assert float(voi.WindowCenter) == 1800.0 and float(voi.WindowWidth) == 3000.0
    assert (int(state.ImageRotation), state.ImageHorizontalFlip) == (270, "Y")  # rot 90 after mirror
    area = state.DisplayedAreaSelectionSequence[0]
    assert area.PresentationSizeMode == "SCALE TO FIT"
    assert area.DisplayedAreaBottomRightHandCorner[0] - area.DisplayedAreaTopLeftHandCorner[0] < film.Columns


def test_import_restores_the_collection_exactly_on_another_workstation(exported, tmp_path):
    from cxrviewer.teaching.films import film_path

    with TeachingStore(exported.folder) as source:
        original = source.cases(exported.collection_id)
        name = source.collection(exported.collection_id).name
        originals = [key_image_png(film_path(source, c), c.presentation, c.annotations) for c in original]
    with TeachingStore(tmp_path / "elsewhere") as target:
        cid, case_ids = import_archive(target, exported.zip)
        restored = target.cases(cid)
        assert target.collection(cid).name == name and [c.case_id for c in restored] == case_ids
        for before, after, png in zip(original, restored, originals):
            assert after.annotations == before.annotations
            assert after.presentation == before.presentation
            assert after.known_findings == before.known_findings
            assert after.case_id == before.case_id and after.film.source == "file" and after.film.anonymised
            assert key_image_png(film_path(target, after), after.presentation, after.annotations) == png
        for before, after in zip(original[:2], restored[:2]):  # texts without identifiers: unchanged
            assert after.teaching == before.teaching and after.report == before.report
        own_before, own_after = original[2], restored[2]
        assert own_after.teaching.title == own_before.teaching.title
        assert own_after.teaching.history == "[name] [name] (MRN [id]), cough and fever."
        assert own_after.report == own_before.report.replace("Jane Doe", "[name] [name]").replace("PAT778899", "[id]")
        with pytest.raises(Exception, match="already exists"):
            import_archive(target, exported.zip)
        again, _ = import_archive(target, exported.zip, name="Pleural disease (2)")
        assert len(target.cases(again)) == 3 and len({c.case_id for c in target.cases(again)} & set(case_ids)) == 0


def test_a_film_copied_anonymised_keeps_no_identity(identified_film, store):
    c = store.create_collection("Anon")
    case = films.add_file(store, c.collection_id, identified_film.path, anonymise=True)
    copied = (store.films_dir / case.film.image).read_bytes()
    for secret in identified_film.secrets:
        assert secret not in copied
    assert "Jane" not in case.report and "PAT778899" not in case.report and "effusion" in case.report
    ds = pydicom.dcmread(store.films_dir / case.film.image)
    assert ds.PatientIdentityRemoved == "YES" and ds.PatientID == case.case_id
    assert case.film.burned_in_annotation and case.film.anonymised
    kept = films.add_file(store, c.collection_id, identified_film.path)
    assert b"PAT778899" in (store.films_dir / kept.film.image).read_bytes()  # only when asked


def test_bad_archives_are_refused_with_a_reason(store, tmp_path):
    from cxrviewer.teaching.model import TeachingError

    (tmp_path / "not.zip").write_bytes(b"hello")
    with pytest.raises(TeachingError, match="not a readable archive"):
        import_archive(store, tmp_path / "not.zip")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "something else"}))
    with pytest.raises(TeachingError, match="not a cxrviewer teaching archive"):
        import_archive(store, tmp_path / "other.zip")
    assert store.collections() == []


def test_a_png_film_travels_as_png_and_as_a_secondary_capture(store, tmp_path):
    import numpy as np
    from PIL import Image, PngImagePlugin

    from cxrviewer.teaching.films import film_path

    folder = tmp_path / "Doe_Jane"
    folder.mkdir()
    pixels = (np.add.outer(np.arange(60), np.arange(40)) * 2).astype(np.uint8)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Patient Doe^Jane, ID PAT778899")
    Image.fromarray(pixels).save(folder / "film.png", pnginfo=info)
    c = store.create_collection("Png")
    case = films.add_file(store, c.collection_id, folder / "film.png")
    store.add_annotation(case.case_id, Annotation("line", ((1, 1), (30, 50))))
    case = store.case(case.case_id)
    out = export_collection(store, "Png", "zip", tmp_path / "png.zip").path
    for where, data in _every_byte(out):
        assert b"Doe^Jane" not in data and b"PAT778899" not in data, where
    with zipfile.ZipFile(out) as zf:
        entry = json.loads(zf.read("manifest.json"))["cases"][0]
        capture = pydicom.dcmread(io.BytesIO(zf.read(entry["film"]["dicom"])))
        png = Image.open(io.BytesIO(zf.read(entry["film"]["png"])))
    assert entry["film"]["restore_from"] == "png" and png.info.get("Comment") is None
    assert np.array_equal(capture.pixel_array, pixels) and np.array_equal(np.asarray(png), pixels)
    with TeachingStore(tmp_path / "elsewhere") as target:
        _cid, (restored_id,) = import_archive(target, out)
        restored = target.case(restored_id)
        assert restored.annotations == case.annotations
        assert key_image_png(film_path(target, restored), restored.presentation, restored.annotations) == \
            key_image_png(film_path(store, case), case.presentation, case.annotations)
