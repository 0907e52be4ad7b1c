"""The patient-disjoint train / valid / test split for data that ships none.

Below every dataset adapter and the demo generator (which writes the split into its index),
so both use the one rule.
"""

from __future__ import annotations

import hashlib


def split_for_patient(patient_id: str, valid: float = 0.1, test: float = 0.1, salt: str = "") -> str:
    """A stable, patient-disjoint split for datasets that ship none: every image of a patient
    lands in the same split because the split is a hash of the patient id alone."""
    digest = hashlib.sha256(f"{salt}{patient_id}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < test:
        return "test"
    if u < test + valid:
        return "valid"
    return "train"
