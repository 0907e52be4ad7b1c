"""Helpers of the teaching tests: picking demo library cases, what identifies a patient."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


def library_case(library: object, want) -> object:
    """The first library case (a ``CaseRow``) for which ``want(row)`` holds."""
    store = library.store  # type: ignore[attr-defined]
    for row in store.cases(list(range(library.count))):  # type: ignore[attr-defined]
        if want(row):
            return row
    pytest.fail("the demo library has no case of the kind this test needs")


def demo_secrets(rows: list[object]) -> tuple[bytes, ...]:
    """What identifies demo library cases: the films' names and IDs and the library's ids."""
    import pydicom

    out: list[bytes] = []
    for row in rows:
        ds = pydicom.dcmread(row.image, stop_before_pixels=True)  # type: ignore[attr-defined]
        out += [str(ds.PatientName).encode(), str(ds.PatientID).encode(), str(ds.StudyInstanceUID).encode(),
                str(ds.SOPInstanceUID).encode(), row.case_id.encode()]  # type: ignore[attr-defined]
    return tuple(out)


def effusion_case(library: object) -> object:
    """A demo case with a pleural effusion whose side and severity the library records."""
    def want(row: object) -> bool:
        detail = row.details.get("Pleural Effusion")  # type: ignore[attr-defined]
        return (row.findings.get("Pleural Effusion") == "positive"  # type: ignore[attr-defined]
                and detail is not None and detail.severity is not None and detail.laterality in ("left", "right"))
    return library_case(library, want)


@dataclass(frozen=True)
class IdentifiedFilm:
    path: Path
    secrets: tuple[bytes, ...]  # byte strings that must never appear in an export


PATIENT_NAME = "Doe^Jane"
PATIENT_ID = "PAT778899"
ACCESSION = "ACC55555"
INSTITUTION = "St Elsewhere General"
BIRTH_DATE = "19610203"
OTHER_ID = "MRN424242"
REFERRER = "House^Gregory"
REPORT = ("INDICATION: Jane Doe (MRN PAT778899), cough and fever.\n"
          "FINDINGS: Large right pleural effusion. Heart size is normal.\n"
          "IMPRESSION: Large right pleural effusion.\n")


def make_identified_film(root: Path) -> IdentifiedFilm:
    """A study folder with a DICOM film and a report that name the patient, with burned-in text."""
    from cxrviewer.imaging.synthetic import SyntheticStudy, chest_phantom, write_dicom

    study = SyntheticStudy(patient_name=PATIENT_NAME, patient_id=PATIENT_ID, accession_number=ACCESSION,
                           institution=INSTITUTION, patient_birth_date=BIRTH_DATE)
    folder = root / "Doe_Jane"
    path = write_dicom(folder / "IM0001.dcm", chest_phantom(96, 80, bits=12, seed=3), study=study,
                       bits_stored=12, window=(2000.0, 4000.0),
                       extra={"BurnedInAnnotation": "YES", "ReferringPhysicianName": REFERRER,
                              "OtherPatientIDs": OTHER_ID})
    (folder / "report.txt").write_text(REPORT, encoding="utf-8")
    import pydicom

    ds = pydicom.dcmread(path)
    secrets = (PATIENT_NAME, "Jane Doe", PATIENT_ID, ACCESSION, INSTITUTION, BIRTH_DATE, OTHER_ID,
               REFERRER, str(ds.StudyInstanceUID), str(ds.SOPInstanceUID), str(ds.SeriesInstanceUID))
    return IdentifiedFilm(path, tuple(s.encode() for s in secrets))
