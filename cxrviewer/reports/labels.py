"""Label names, and the one place where the CheXpert, ChestX-ray14 and Open-i label sets meet.

The labeler speaks one vocabulary (``ALL_LABELS``): the 14 CheXpert observations plus the
ChestX-ray14 findings CheXpert does not have. Dataset adapters, the search box and the
evaluation translate to and from other label sets only through the tables below, so a
mismatch is fixed here and nowhere else.

Mapping
-------
==========================  ==========================  ==================================
ours (CheXpert first)       ChestX-ray14 (NIH)          Open-i gold (NegBio CSV column)
==========================  ==========================  ==================================
No Finding                  No Finding                  normal (stricter: see below)
Enlarged Cardiomediastinum  --                          --
Cardiomegaly                Cardiomegaly                Cardiomegaly
Lung Opacity                --                          --
Lung Lesion                 (Nodule, Mass roll up)      --
Edema                       Edema                       Edema
Consolidation               Consolidation               Consolidation
Pneumonia                   Pneumonia                   Pneumonia
Atelectasis                 Atelectasis                 Atelectasis
Pneumothorax                Pneumothorax                Pneumothorax
Pleural Effusion            Effusion                    Effusion
Pleural Other               (Pleural_Thickening rolls up) --
Fracture                    --                          --
Support Devices             --                          --
Emphysema                   Emphysema                   Emphysema
Fibrosis                    Fibrosis                    Fibrosis
Pleural Thickening          Pleural_Thickening          Pleural_Thickening
Hernia                      Hernia                      Hernia
Nodule                      Nodule                      Nodule
Mass                        Mass                        Mass
Infiltration                Infiltration                Infiltration
==========================  ==========================  ==================================

torchxrayvision's models name their outputs as ChestX-ray14 does (``Effusion``,
``Pleural_Thickening``) plus Lung Lesion, Fracture, Lung Opacity and Enlarged Cardiomediastinum
as CheXpert does (``TORCHXRAYVISION_TO_OURS``).

Roll-ups: a nodule or mass is also a CheXpert Lung Lesion, pleural thickening is also Pleural
Other, and an infiltrate is also a Lung Opacity; the labeler emits both labels for one mention.
COPD and hyperinflated lungs only suggest Emphysema: uncertain, certainty "possible"
(``vocabulary.SUGGESTS``), so a search for either finds emphysema while the Open-i scoring,
whose coders do not count COPD as emphysema, does not.

Open-i ``normal`` is stricter than CheXpert's No Finding: CheXpert's rule looks only at its
13 pathologies (a report with a calcified granuloma or scoliosis is still "No Finding"), while
the Open-i coders mark ``normal`` only when the report describes no abnormality at all and no
device. ``LabelResult.is_normal()`` implements that stricter reading.
"""

from __future__ import annotations

NO_FINDING = "No Finding"
ENLARGED_CARDIOMEDIASTINUM = "Enlarged Cardiomediastinum"
CARDIOMEGALY = "Cardiomegaly"
LUNG_OPACITY = "Lung Opacity"
LUNG_LESION = "Lung Lesion"
EDEMA = "Edema"
CONSOLIDATION = "Consolidation"
PNEUMONIA = "Pneumonia"
ATELECTASIS = "Atelectasis"
PNEUMOTHORAX = "Pneumothorax"
PLEURAL_EFFUSION = "Pleural Effusion"
PLEURAL_OTHER = "Pleural Other"
FRACTURE = "Fracture"
SUPPORT_DEVICES = "Support Devices"

EMPHYSEMA = "Emphysema"
FIBROSIS = "Fibrosis"
PLEURAL_THICKENING = "Pleural Thickening"
HERNIA = "Hernia"
NODULE = "Nodule"
MASS = "Mass"
INFILTRATION = "Infiltration"

# CheXpert's column order (as in its labeler's output and the CheXpert CSVs).
CHEXPERT_LABELS: tuple[str, ...] = (
    NO_FINDING,
    ENLARGED_CARDIOMEDIASTINUM,
    CARDIOMEGALY,
    LUNG_LESION,
    LUNG_OPACITY,
    EDEMA,
    CONSOLIDATION,
    PNEUMONIA,
    ATELECTASIS,
    PNEUMOTHORAX,
    PLEURAL_EFFUSION,
    PLEURAL_OTHER,
    FRACTURE,
    SUPPORT_DEVICES,
)

# ChestX-ray14 findings that CheXpert lacks.
CXR14_EXTRA_LABELS: tuple[str, ...] = (
    EMPHYSEMA,
    FIBROSIS,
    PLEURAL_THICKENING,
    HERNIA,
    NODULE,
    MASS,
    INFILTRATION,
)

ALL_LABELS: tuple[str, ...] = CHEXPERT_LABELS + CXR14_EXTRA_LABELS

# Labels that are findings (everything except No Finding and Support Devices): CheXpert's
# No Finding is positive only when none of these is positive or uncertain.
PATHOLOGY_LABELS: tuple[str, ...] = tuple(
    label for label in ALL_LABELS if label not in (NO_FINDING, SUPPORT_DEVICES)
)

# ChestX-ray14 (NIH Data_Entry_2017 "Finding Labels", spelled as there) -> ours.
CXR14_TO_OURS: dict[str, str] = {
    "Atelectasis": ATELECTASIS,
    "Cardiomegaly": CARDIOMEGALY,
    "Effusion": PLEURAL_EFFUSION,
    "Infiltration": INFILTRATION,
    "Mass": MASS,
    "Nodule": NODULE,
    "Pneumonia": PNEUMONIA,
    "Pneumothorax": PNEUMOTHORAX,
    "Consolidation": CONSOLIDATION,
    "Edema": EDEMA,
    "Emphysema": EMPHYSEMA,
    "Fibrosis": FIBROSIS,
    "Pleural_Thickening": PLEURAL_THICKENING,
    "Hernia": HERNIA,
    "No Finding": NO_FINDING,
}

# Open-i gold CSV column (NegBio layout, header spelled as there) -> ours. ``normal`` is scored
# with ``LabelResult.is_normal()``, not with CheXpert's looser No Finding.
OPENI_TO_OURS: dict[str, str] = {
    "Atelectasis": ATELECTASIS,
    "Cardiomegaly": CARDIOMEGALY,
    "Effusion": PLEURAL_EFFUSION,
    "Infiltration": INFILTRATION,
    "Mass": MASS,
    "Nodule": NODULE,
    "Pneumonia": PNEUMONIA,
    "Pneumothorax": PNEUMOTHORAX,
    "Consolidation": CONSOLIDATION,
    "Edema": EDEMA,
    "Emphysema": EMPHYSEMA,
    "Fibrosis": FIBROSIS,
    "Pleural_Thickening": PLEURAL_THICKENING,
    "Hernia": HERNIA,
    "normal": NO_FINDING,
}
OPENI_NORMAL = "normal"

# Open-i gold columns that ``eval labels --skip-uncoded`` leaves out, with the reason. The Open-i
# coders never code Hernia (0 positives in 3,080 dev reports, while dozens describe a hiatal
# hernia), so that column measures the gold's coding more than the labeler. Scored by default.
OPENI_UNSCORED: dict[str, str] = {
    "Hernia": "never coded in the Open-i gold (hiatal hernias are indexed as 'Hernia, Hiatal')",
}

# torchxrayvision's pathology names (its models' ``targets``: ChestX-ray14's spelling plus four
# CheXpert findings) -> ours. Its "" outputs (a finding a weight was not trained on) map to nothing.
TORCHXRAYVISION_TO_OURS: dict[str, str] = {
    **{name: ours for name, ours in CXR14_TO_OURS.items() if ours != NO_FINDING},
    "Lung Lesion": LUNG_LESION,
    "Fracture": FRACTURE,
    "Lung Opacity": LUNG_OPACITY,
    "Enlarged Cardiomediastinum": ENLARGED_CARDIOMEDIASTINUM,
}

# CheXpert's numeric coding of a status (blank / None when not mentioned).
CHEXPERT_VALUES: dict[str, float | None] = {
    "positive": 1.0,
    "negative": 0.0,
    "uncertain": -1.0,
    "not_mentioned": None,
}
