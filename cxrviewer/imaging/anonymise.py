"""Which attributes identify a patient (in the spirit of DICOM PS3.15's basic profile), masking
headers for teaching screens, and redacting names/IDs from report text."""

from __future__ import annotations

import dataclasses
import re

from cxrviewer.imaging.records import ImageHeader

# A teaching subset of PS3.15 Table E.1-1: what a viewer shows or a header carries.
IDENTIFYING_KEYWORDS: frozenset[str] = frozenset(
    {
        "PatientName", "PatientID", "OtherPatientIDs", "OtherPatientIDsSequence",
        "OtherPatientNames", "PatientBirthDate", "PatientBirthTime", "PatientBirthName",
        "PatientMotherBirthName", "PatientAddress", "PatientTelephoneNumbers",
        "MilitaryRank", "MedicalRecordLocator", "EthnicGroup", "Occupation",
        "AdditionalPatientHistory", "PatientComments", "IssuerOfPatientID",
        "InsurancePlanIdentification", "PatientInsurancePlanCodeSequence",
        "AccessionNumber", "StudyID", "InstitutionName", "InstitutionAddress",
        "InstitutionalDepartmentName", "StationName", "DeviceSerialNumber",
        "ReferringPhysicianName", "ReferringPhysicianAddress",
        "ReferringPhysicianTelephoneNumbers", "PerformingPhysicianName",
        "NameOfPhysiciansReadingStudy", "PhysiciansOfRecord", "OperatorsName",
        "RequestingPhysician", "ScheduledPerformingPhysicianName", "PerformedStationName",
        "PerformedLocation", "StudyDate", "StudyTime", "SeriesDate", "SeriesTime",
        "AcquisitionDate", "AcquisitionTime", "AcquisitionDateTime", "ContentDate",
        "ContentTime", "InstanceCreationDate", "InstanceCreationTime",
        "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime",
        "PerformedProcedureStepID", "RequestedProcedureID", "AdmissionID",
        "RequestAttributesSequence", "FillerOrderNumberImagingServiceRequest",
        "PlacerOrderNumberImagingServiceRequest", "ProtocolName", "DetectorID",
        "GantryID", "RegionOfResidence", "CountryOfResidence", "PatientState",
        "CurrentPatientLocation", "ResponsiblePerson", "ResponsibleOrganization",
    }
)


def is_identifying(keyword: str, vr: str) -> bool:
    """True for attributes that may identify the patient or the site.

    Every person name (VR PN) counts, wherever it is; private tags (no keyword) are not flagged
    because their meaning is unknown (PS3.15 removes them wholesale; a viewer hides the values).
    """
    return vr == "PN" or keyword in IDENTIFYING_KEYWORDS


def masked_header(header: ImageHeader, patient_index: int) -> ImageHeader:
    """A copy for teaching screens: name -> "Patient N", IDs and dates blanked.

    Sex, age, modality and view stay: they matter for reading the film and do not identify.
    """
    return dataclasses.replace(
        header,
        patient_name=f"Patient {patient_index}",
        patient_id="",
        patient_birth_date="",
        study_date="",
        study_time="",
        accession_number="",
        institution="",
        referring_physician="",
    )


def _name_parts(name: str) -> list[str]:
    parts = re.split(r"[\^=\s,]+", name)
    return [p for p in parts if len(p) >= 2]


def redact_text(text: str, header: ImageHeader) -> str:
    """Replace the patient's name parts, ID and accession number where they appear in a report."""
    targets: list[tuple[str, str]] = []
    for part in _name_parts(header.patient_name):
        targets.append((part, "[name]"))
    for value in (header.patient_id, header.accession_number):
        if value and len(value.strip()) >= 2:
            targets.append((value.strip(), "[id]"))
    # longest first so "Anne-Marie" goes before "Anne"
    for value, replacement in sorted(targets, key=lambda t: -len(t[0])):
        pattern = r"(?<!\w)" + re.escape(value) + r"(?!\w)"
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    return text
