"""The portable archive: a .zip that another workstation's ``cxrviewer collection import``
restores exactly, and other viewers can read in part.

Layout::

    manifest.json                  format, version, "anonymised": true, the collection, every
                                   case's fields, presentation, annotations, report, findings
    README.txt                     what this is, and that it is anonymised
    cases/<n>/film.dcm             the film, anonymised (new UIDs, mapped consistently), or a
                                   Secondary Capture made from a PNG/JPEG film's pixels
    cases/<n>/film.png             the film's pixels (PNG/JPEG films: the film itself)
    cases/<n>/key-annotated.png    the key image as presented, annotations burned in
    cases/<n>/annotations.json     the annotations, in film pixel coordinates
    cases/<n>/gsps.dcm             Grayscale Softcopy Presentation State referencing film.dcm

``manifest.json`` is what import reads; films come back from ``film.dcm`` (or ``film.png``
for a film that was a PNG/JPEG).
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

from cxrviewer.fileio import atomic_write_bytes
from cxrviewer.imaging.generated import generated_reason
from cxrviewer.teaching.deidentify import UidMap, anonymise_dataset
from cxrviewer.teaching.export_common import ANONYMISED_NOTE, ExportCase, ExportPlan
from cxrviewer.teaching.model import Annotation, Film, KnownFinding, Presentation, TeachingError, TeachingFields, new_id
from cxrviewer.teaching.store import TeachingStore

ARCHIVE_FORMAT = "cxrviewer-teaching-archive"
ARCHIVE_VERSION = 1
MAX_MEMBER_BYTES = 2 * 1024**3


def archive_bytes(plan: ExportPlan, salt: str) -> bytes:
    """The archive for ``plan``; ``salt`` seeds the UID mapping (a new one per export)."""
    uids = UidMap(salt)
    out = io.BytesIO()
    cases = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for item in plan.cases:
            folder = f"cases/{item.number}"
            entry = _write_case(zf, folder, item, uids)
            cases.append(entry)
        manifest = {"format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION, "created": plan.created,
                    "anonymised": True, "note": ANONYMISED_NOTE,
                    "collection": {"name": plan.collection.name, "description": plan.collection.description},
                    "cases": cases}
        zf.writestr("manifest.json", json.dumps(manifest, indent=2))
        zf.writestr("README.txt", f"cxrviewer teaching file: {plan.collection.name}\n{ANONYMISED_NOTE}\n"
                                  "Import with: cxrviewer collection import THIS.zip\n"
                                  "Each case: film.dcm (anonymised DICOM), film.png, key-annotated.png, "
                                  "annotations.json (film pixel coordinates) and gsps.dcm (DICOM "
                                  "Grayscale Softcopy Presentation State).\n")
    return out.getvalue()


def write_archive(plan: ExportPlan, out: str | Path, salt: str) -> Path:
    out = Path(out)
    atomic_write_bytes(out, archive_bytes(plan, salt))
    return out


def _write_case(zf: zipfile.ZipFile, folder: str, item: ExportCase, uids: UidMap) -> dict[str, Any]:
    from cxrviewer.teaching.gsps import presentation_state

    case = item.case
    film, restore_from = _film_dataset(item, uids)
    dicom = io.BytesIO()
    film.save_as(dicom, enforce_file_format=True)
    zf.writestr(f"{folder}/film.dcm", dicom.getvalue())
    zf.writestr(f"{folder}/film.png", _film_png(item))
    zf.writestr(f"{folder}/key-annotated.png", item.annotated_png)
    annotations = [a.to_json() for a in case.annotations]
    zf.writestr(f"{folder}/annotations.json", json.dumps(
        {"coordinates": "film pixels: x = column, y = row, (0, 0) = top-left corner of the "
                        "top-left pixel (DICOM PIXEL units)", "annotations": annotations}, indent=2))
    state = presentation_state(film, case.presentation, case.annotations,
                               uids(f"gsps-instance-{case.case_id}"), uids(f"gsps-series-{case.case_id}"))
    out = io.BytesIO()
    state.save_as(out, enforce_file_format=True)
    zf.writestr(f"{folder}/gsps.dcm", out.getvalue())
    entry = case.to_json(include_source=False)
    entry["film"] = {"dicom": f"{folder}/film.dcm", "png": f"{folder}/film.png",
                     "key_annotated": f"{folder}/key-annotated.png", "gsps": f"{folder}/gsps.dcm",
                     "annotations": f"{folder}/annotations.json", "restore_from": restore_from,
                     "synthetic": case.film.synthetic, "burned_in_annotation": case.film.burned_in_annotation,
                     "sop_instance_uid": str(film.SOPInstanceUID)}
    entry["warnings"] = list(item.warnings)
    return entry


def _film_dataset(item: ExportCase, uids: UidMap) -> tuple[Any, str]:
    """The film as an anonymised pydicom Dataset, and which archive file import restores."""
    import pydicom

    if _is_dicom(item.path):
        ds = pydicom.dcmread(str(item.path), force=True)
        restore_from = "dicom"
    else:
        ds = _secondary_capture(item.path)
        restore_from = "png"
    anonymise_dataset(ds, uids, item.case.case_id)
    return ds, restore_from


def _secondary_capture(path: Path) -> Any:
    """A grey Secondary Capture of a PNG/JPEG film, with no identity but the pseudonym."""
    import tempfile

    import numpy as np
    import pydicom
    from PIL import Image

    from cxrviewer.imaging.synthetic import SyntheticStudy, write_dicom

    with Image.open(path) as image:
        pixels = np.asarray(image if image.mode in ("L", "I;16") else image.convert("L"))
    if pixels.dtype not in (np.uint8, np.uint16):
        pixels = pixels.astype(np.uint16)
    study = SyntheticStudy(patient_name="", patient_id="", patient_birth_date="", study_date="",
                           accession_number="", institution="", study_description="")
    with tempfile.TemporaryDirectory() as tmp:
        written = write_dicom(Path(tmp) / "film.dcm", pixels, study=study, modality="OT")
        return pydicom.dcmread(written)


def _is_dicom(path: Path) -> bool:
    from cxrviewer.imaging.sniffing import sniff

    return sniff(str(path)) not in ("png", "jpeg")


def _film_png(item: ExportCase) -> bytes:
    from cxrviewer.teaching.deidentify import clean_raster
    from cxrviewer.teaching.render import film_pixels, png_bytes

    if not _is_dicom(item.path):
        return clean_raster(item.path.read_bytes())
    from PIL import Image

    pixels = film_pixels(item.path, item.case.presentation)
    return png_bytes(Image.fromarray(pixels))


# -- import ------------------------------------------------------------------------------------


def import_archive(store: TeachingStore, path: str | Path, name: str = "") -> tuple[int, list[str]]:
    """Restore an archive as a new collection (named as in the archive unless ``name``);
    returns the collection id and its case ids. Films are copied into the teaching folder."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise TeachingError(f"{path}: not a readable archive ({exc})") from None
    with zf:
        manifest = _manifest(zf, path)
        collection = store.create_collection(name or manifest["collection"]["name"],
                                             manifest["collection"].get("description", ""))
        case_ids = []
        try:
            for entry in manifest["cases"]:
                case_ids.append(_import_case(store, zf, collection.collection_id, entry, path))
        except BaseException:
            store.delete_collection(collection.collection_id)
            raise
    return collection.collection_id, case_ids


def _manifest(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(_member(zf, "manifest.json", path))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TeachingError(f"{path}: its manifest.json is damaged ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise TeachingError(f"{path}: not a cxrviewer teaching archive")
    if int(manifest.get("version", 0)) > ARCHIVE_VERSION:
        raise TeachingError(f"{path}: made by a newer cxrviewer (archive version {manifest['version']}); "
                            "update cxrviewer to import it")
    return manifest


def _member(zf: zipfile.ZipFile, name: str, path: Path) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise TeachingError(f"{path}: {name} is missing from the archive") from None
    if info.file_size > MAX_MEMBER_BYTES:
        raise TeachingError(f"{path}: {name} is too large ({info.file_size:,} bytes)")
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise TeachingError(f"{path}: {name} cannot be read ({exc})") from None


def _import_case(store: TeachingStore, zf: zipfile.ZipFile, collection_id: int, entry: dict[str, Any],
                 path: Path) -> str:
    film_entry = entry["film"]
    restore_from = film_entry.get("restore_from", "dicom")
    data = _member(zf, film_entry["png" if restore_from == "png" else "dicom"], path)
    name = "film.png" if restore_from == "png" else "film.dcm"
    case_id = entry.get("case_id", "")
    if not case_id or store.case_exists(case_id):
        case_id = new_id("case")
    folder = store.films_dir / case_id
    atomic_write_bytes(folder / name, data)
    refusal = generated_reason(folder / name)
    if refusal:  # an archive is only as honest as whoever handled it last
        shutil.rmtree(folder, ignore_errors=True)
        raise TeachingError(f"{path}: case {entry.get('case_id') or '?'} holds {refusal} (marked SYNTHETIC); "
                            "a generated film cannot be imported as a case")
    film = Film("file", f"{case_id}/{name}", anonymised=True,
                burned_in_annotation=bool(film_entry.get("burned_in_annotation")),
                synthetic=bool(film_entry.get("synthetic")))
    annotations = [Annotation.from_json(a) for a in entry.get("annotations", [])]
    annotations = [a if not a.annotation_id or not store.annotation_exists(a.annotation_id)
                   else Annotation.from_json({**a.to_json(), "annotation_id": ""}) for a in annotations]
    store.add_case(collection_id, film, report=entry.get("report", ""),
                   known_findings=[KnownFinding.from_json(k) for k in entry.get("known_findings", [])],
                   teaching=TeachingFields.from_json(entry.get("teaching", {})),
                   presentation=Presentation.from_json(entry.get("presentation", {})),
                   annotations=annotations, case_id=case_id)
    return case_id
