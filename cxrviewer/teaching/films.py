"""Putting films into collections and finding them again.

A library film is referenced (the library folder and its case id; its path when added); its
report and findings are copied into the case. A film from a study folder is copied into the
teaching folder (``films/<case id>/``), anonymised when the user asks, with the report found
beside it, so the collection survives the folder being deleted.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cxrviewer.fileio import atomic_write_bytes
from cxrviewer.teaching.deidentify import Redactor, UidMap, anonymise_dataset, burned_in_annotation, clean_raster
from cxrviewer.teaching.model import Case, Film, KnownFinding, Presentation, TeachingError, TeachingFields, new_id
from cxrviewer.teaching.store import TeachingStore

REPORT_HEADINGS = (("indication", "INDICATION"), ("comparison", "COMPARISON"),
                   ("findings", "FINDINGS"), ("impression", "IMPRESSION"))


def report_text(sections: Any) -> str:
    """A library report (``ReportSections``) as one text with headings the labeler knows."""
    parts = [f"{heading}: {getattr(sections, name).strip()}" for name, heading in REPORT_HEADINGS
             if getattr(sections, name, "").strip()]
    return "\n".join(parts)


def findings_from_report(report: str) -> tuple[KnownFinding, ...]:
    """What the labeler reads in a report: the known findings of a film with no labels."""
    from cxrviewer.reports.labeler import label_text

    return tuple(KnownFinding(f.label, f.status, f.severity, f.laterality, f.certainty)
                 for f in label_text(report).findings) if report.strip() else ()


def library_findings(row: Any, report: str) -> tuple[KnownFinding, ...]:
    """A library case's findings with their side and severity; an uncertain one takes its
    certainty from the report (``possible`` when the report does not say)."""
    from cxrviewer.reports.labeler import label_text

    read = label_text(report) if report.strip() else None
    out = []
    for label, status in row.findings.items():
        detail = row.details.get(label)
        certainty = None
        if status == "uncertain":
            said = read.finding(label) if read is not None else None
            certainty = said.certainty if said is not None and said.certainty else "possible"
        out.append(KnownFinding(label, status, detail.severity if detail else None,
                                detail.laterality if detail else None, certainty))
    return tuple(out)


def add_library_cases(store: TeachingStore, collection_id: int, library: Any,
                      case_ids: Sequence[str], presentation: Presentation | None = None) -> list[Case]:
    """Add library cases (a gallery tile, a whole result set) to a collection, in this order."""
    from cxrviewer.library.errors import LibraryError

    added = []
    for case_id in case_ids:
        try:
            row = library.case(case_id)
        except LibraryError as exc:
            raise TeachingError(str(exc)) from None
        report = report_text(row.report)
        film = Film("library", str(row.image), library=str(Path(library.folder).resolve()),
                    library_case_id=row.case_id, synthetic=bool(library.manifest.synthetic),
                    burned_in_annotation=_header_burned_in(row.image))
        teaching = TeachingFields(history=row.report.indication.strip())
        added.append(store.add_case(collection_id, film, report=report,
                                    known_findings=library_findings(row, report),
                                    teaching=teaching, presentation=presentation))
    return added


def add_query_results(store: TeachingStore, collection_id: int, library: Any, text: str, k: int) -> list[Case]:
    """Add the top ``k`` films of a findings-route search for ``text``."""
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.library.library import SearchRequest

    try:
        result = library.search(SearchRequest(text=text, k=k))
    except LibraryError as exc:
        raise TeachingError(str(exc)) from None
    if not result.hits:
        raise TeachingError(result.message or f"no films found for {text!r}")
    return add_library_cases(store, collection_id, library, [h.case.case_id for h in result.hits])


def add_file(store: TeachingStore, collection_id: int, path: str | Path, anonymise: bool = False,
             presentation: Presentation | None = None) -> Case:
    """Copy a film (DICOM, PNG or JPEG) from a study folder into a collection."""
    from cxrviewer.imaging.dicom import read_header
    from cxrviewer.imaging.records import ImageReadError
    from cxrviewer.imaging.study import find_report

    source = Path(path)
    try:
        header = read_header(source)
    except ImageReadError as exc:
        raise TeachingError(f"{source}: {exc.reason}") from None
    except OSError as exc:
        raise TeachingError(f"{source}: {exc.strerror or exc}") from None
    if header.is_report:
        raise TeachingError(f"{source}: a report, not a film")
    if header.generated:
        from cxrviewer.imaging.generated import GENERATED_REASON

        raise TeachingError(f"{source}: {GENERATED_REASON} (made by cxrviewer synthesize, marked SYNTHETIC); "
                            "a generated film cannot be added to a collection as a case")
    case_id = new_id("case")
    found = find_report([str(source)], [])
    report = found.text if found is not None else ""
    data = source.read_bytes()
    burned_in = False
    if header.kind == "dicom":
        data, burned_in = _dicom_copy(data, anonymise, UidMap(store.uid_salt), case_id)
        name = "film.dcm"
    elif anonymise:
        data, name = clean_raster(data), "film.png"
    else:
        name = "film" + source.suffix.lower()
    if anonymise and report:
        report = Redactor([header.patient_name], [header.patient_id, header.accession_number])(report)
    folder = store.films_dir / case_id
    atomic_write_bytes(folder / name, data)
    film = Film("file", f"{case_id}/{name}", original_name=source.name, anonymised=anonymise,
                burned_in_annotation=burned_in, synthetic=header.synthetic_demo)
    try:
        return store.add_case(collection_id, film, report=report, known_findings=findings_from_report(report),
                              teaching=TeachingFields(history=_indication(report)),
                              presentation=presentation, case_id=case_id)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _dicom_copy(data: bytes, anonymise: bool, uids: UidMap, case_id: str) -> tuple[bytes, bool]:
    import io

    import pydicom

    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    burned_in = burned_in_annotation(ds)
    if not anonymise:
        return data, burned_in
    anonymise_dataset(ds, uids, case_id)
    out = io.BytesIO()
    ds.save_as(out)
    return out.getvalue(), burned_in


def _indication(report: str) -> str:
    from cxrviewer.reports.sections import split_sections

    return split_sections(report).indication.strip()


def _header_burned_in(image: str) -> bool:
    """Whether a DICOM film's header says it has burned-in annotation (False for others)."""
    if not _looks_dicom(image):
        return False
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(image, stop_before_pixels=True, force=True)
    except (InvalidDicomError, OSError, ValueError, EOFError):
        return False
    return burned_in_annotation(ds)


def _looks_dicom(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def film_path(store: TeachingStore, case: Case) -> Path:
    """Where the case's film is now: the copy in the teaching folder, or the library's file
    (found again through its library when it moved)."""
    if case.film.source == "file":
        path = store.films_dir / case.film.image
        if not path.is_file():
            raise TeachingError(f"the film of case {case.teaching.title or case.case_id} is missing "
                                f"from the teaching folder ({path})")
        return path
    if os.path.isfile(case.film.image):
        return Path(case.film.image)
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.library.library import Library

    try:
        with Library.open(case.film.library, check_index=False) as library:
            image = library.case(case.film.library_case_id).image
    except LibraryError as exc:
        raise TeachingError(f"the film of case {case.teaching.title or case.case_id} is in a library "
                            f"that cannot be read: {exc}") from None
    if not os.path.isfile(image):
        raise TeachingError(f"the film of case {case.teaching.title or case.case_id} is missing: {image}")
    return Path(image)


def redactor_for(case: Case, path: Path) -> Redactor:
    """What identifies the patient of a case's film: its header's name and IDs, and for a
    library film the library's patient, study and case ids."""
    from cxrviewer.imaging.dicom import read_header
    from cxrviewer.imaging.records import ImageReadError

    names: list[str] = []
    ids = [case.film.library_case_id]
    try:
        header = read_header(path)
        names.append(header.patient_name)
        ids += [header.patient_id, header.accession_number, header.institution]
    except (ImageReadError, OSError):
        pass
    if case.film.source == "library":
        ids += _library_ids(case)
    return Redactor(names, [i for i in ids if i])


def _library_ids(case: Case) -> list[str]:
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.library.library import Library

    try:
        with Library.open(case.film.library, check_index=False) as library:
            row = library.case(case.film.library_case_id)
    except LibraryError:
        return []
    return [row.patient_id, row.study_id]
