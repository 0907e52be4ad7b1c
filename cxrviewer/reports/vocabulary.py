"""The labeler's vocabulary: mention phrases per label, and the cue words around them.

Plain data, written from how chest radiograph reports are phrased (not mined from any one
report), so a radiologist can read and extend it. Phrases are lower-case words separated by
single spaces; plural ``-s``/``-ies`` forms match automatically (see ``rules.normalise``).
The de-identification token ``XXXX`` is neutral: it never forms part of a phrase.
"""

from __future__ import annotations

from cxrviewer.reports import labels as L

# Phrases that name a finding. One phrase may name several labels (roll-ups, see labels.py).
MENTIONS: dict[str, tuple[str, ...]] = {}


def _add(labels: tuple[str, ...], *phrases: str) -> None:
    for phrase in phrases:
        MENTIONS[phrase] = labels


_add((L.ATELECTASIS,), "atelectasis", "atelectases", "atelectatic", "atelectatic change",
     "collapse", "collapsed", "lobar collapse", "lung collapse", "lobe collapse", "collapsed lung",
     "subsegmental collapse", "segmental collapse", "platelike atelectasis")
_add((L.CARDIOMEGALY,), "cardiomegaly", "cardiac enlargement", "enlarged heart",
     "enlargement of the heart", "enlargement of the cardiac silhouette", "cardiac megaly",
     "enlarged cardiac silhouette", "enlarged cardiac shadow", "enlarged heart size",
     "cardiomegally", "cardiomyopathy")
_add((L.ENLARGED_CARDIOMEDIASTINUM,), "widened mediastinum", "mediastinal widening",
     "mediastinal enlargement", "enlarged cardiomediastinal silhouette", "mediastinal mass",
     "widening of the mediastinum", "enlarged mediastinum", "enlarged cardiomediastinum")
_add((L.LUNG_OPACITY,), "opacity", "opacities", "opacification", "opacified", "density",
     "airspace disease", "air space disease", "airspace opacity", "airspace process",
     "air space process", "haziness", "hazy opacity", "ground glass", "groundglass",
     "airspace", "air space")
_add((L.INFILTRATION, L.LUNG_OPACITY), "infiltrate", "infiltrates", "infiltration",
     "infiltrative", "infiltrative process")
_add((L.LUNG_LESION,), "lesion", "tumor", "neoplasm", "carcinoma", "malignancy", "metastasis",
     "metastases", "metastatic disease", "cavitary lesion", "cavity", "cavitation")
_add((L.NODULE, L.LUNG_LESION), "nodule", "micronodule", "pulmonary nodule", "lung nodule")
# "Nodular" describes the shape of an opacity; it is a lesion, not (yet) a nodule.
_add((L.LUNG_LESION, L.LUNG_OPACITY), "nodular opacity", "nodular density", "nodular",
     "micronodular", "nodular opacities", "nodular densities")
_add((L.MASS, L.LUNG_LESION), "mass", "masses", "masslike", "mass like", "lung mass",
     "pulmonary mass")
_add((L.EDEMA,), "edema", "pulmonary edema", "interstitial edema", "alveolar edema",
     "edematous", "fluid overload", "volume overload")
_add((L.CONSOLIDATION,), "consolidation", "consolidative", "consolidated",
     "airspace consolidation")
_add((L.PNEUMONIA,), "pneumonia", "pneumonias", "bronchopneumonia", "pneumonitis",
     "infection", "infectious process", "infectious", "aspiration")
_add((L.PNEUMOTHORAX,), "pneumothorax", "pneumothoraces", "pneumothoraxes", "ptx")
_add((L.PLEURAL_EFFUSION,), "effusion", "pleural effusion", "pleural fluid", "hydrothorax",
     "effusions", "fluid in the fissure", "hemothorax", "pleural effusions")
_add((L.PLEURAL_EFFUSION, L.PNEUMOTHORAX), "hydropneumothorax")
_add((L.PLEURAL_OTHER,), "fibrothorax", "pleural calcification", "calcified pleura",
     "pleural based opacity", "pleural opacity", "pleural disease")
_add((L.PLEURAL_THICKENING, L.PLEURAL_OTHER), "pleural thickening", "pleural plaque",
     "pleural plaques", "thickened pleura", "apical capping", "pleural reaction",
     "apical pleural thickening", "thickening of the pleura", "pleural thickenings",
     "fissural thickening", "thickening of the fissure", "thickened fissure",
     "fissure thickening", "thickening of the minor fissure", "thickening of the major fissure",
     "interlobar fissural thickening", "thickened minor fissure", "thickened major fissure",
     "pleural based thickening", "pleural fissural thickening")
# Scarring is coded as scarring, not thickening; it is still a pleural abnormality.
_add((L.PLEURAL_OTHER,), "pleural scarring", "pleural parenchymal scarring",
     "pleuroparenchymal scarring", "parenchymal scarring")
_add((L.FRACTURE,), "fracture", "fractures", "fractured", "fx")
_add((L.SUPPORT_DEVICES,), "catheter", "picc", "picc line", "central line", "central venous line",
     "port", "porta cath", "portacath", "port a cath", "pacemaker", "pacer", "defibrillator",
     "aicd", "icd", "endotracheal tube", "et tube", "ett", "ng tube", "nasogastric tube",
     "og tube", "orogastric tube", "feeding tube", "chest tube", "tracheostomy", "drain",
     "stent", "sternotomy wire", "sternal wire", "sternotomy wires", "sternal wires",
     "pacing lead", "leads", "lead", "wire", "wires", "valve replacement", "prosthetic valve",
     "surgical clip", "clip", "hardware", "device", "swan ganz", "enteric tube", "tube",
     "loop recorder", "generator", "line", "lines", "catheters", "coil", "coils", "tip",
     "shunt", "tubing", "catheter tip", "tube tip")
# Hyperinflation and COPD are not emphysema (a radiograph shows air trapping, not the tissue
# loss): they only suggest it (``SUGGESTS`` below), and make a study abnormal.
_add((L.EMPHYSEMA,), "emphysema", "emphysematous", "bullous", "bulla", "bullae",
     "emphysematous change", "bullous disease")
_add((L.FIBROSIS,), "fibrosis", "fibrotic", "fibrotic change", "pulmonary fibrosis",
     "interstitial fibrosis", "honeycombing")
_add((L.HERNIA,), "hernia", "hiatal hernia", "hiatus hernia", "diaphragmatic hernia",
     "herniation")

# Phrase that are not devices even though they contain a device word.
NOT_MENTIONS: tuple[str, ...] = (
    "kerley b lines", "kerley lines", "septal lines", "midline", "line of", "linear",
    "pleural line", "skin fold", "skin line", "lead to", "pleural lines", "azygos fissure",
    "aspiration of", "soft tissue edema", "thyroid mass", "breast mass", "history of",
    "symptoms of infection", "signs of infection", "symptoms of pneumonia",
    "signs and symptoms of infection", "signs or symptoms of infection", "no change",
    "no interval change", "no significant change", "no significant interval change",
    "without change", "without interval change", "without significant change",
    "without significant interval change", "vertebral collapse", "compression collapse",
    "vertebral body collapse", "no other change", "joint effusion",
)

# Findings outside our labels: they make a report abnormal (Open-i "normal" = 0) but map to no
# label. Negation and uncertainty apply to them as to any mention.
OTHER_ABNORMAL: tuple[str, ...] = (
    # lungs and airways
    "granuloma", "granulomas", "granulomatous", "calcified granuloma",
    "granulomatous infection", "previous infection", "prior infection", "old infection",
    "remote infection", "scarring", "scar", "scars", "bronchiectasis", "bronchitis",
    "bronchitic", "peribronchial", "bronchial wall thickening", "cuffing", "markings",
    "interstitial", "cyst", "cystic", "cystic fibrosis", "lucency", "hyperdense", "cavitation",
    "volume loss", "hyperlucent", "hypoinflation", "hypoinflated",
    "hypoexpanded", "hypoexpansion", "hypoventilation", "hypoventilated", "low lung volumes",
    "low lung volume", "volume are low", "decreased lung volume", "poor inspiration",
    "shallow inspiration", "crowding", "congestion", "vascular congestion", "cephalization",
    "redistribution", "hypertension", "emboli", "embolism", "contusion", "tuberculosis", "tb",
    "sarcoidosis", "sarcoid", "heart failure", "cardiac failure", "congestive heart failure",
    "congestive cardiac failure", "chf",
    # pleura, diaphragm, mediastinum, vessels
    "blunting", "blunted", "thickening", "thickened", "eventration", "elevation", "elevated",
    "flattening", "flattened", "shift", "tortuous", "tortuosity", "ectatic", "ectasia",
    "atherosclerotic", "atherosclerosis", "aneurysm", "aneurysmal", "unfolding", "unfolded",
    "calcification", "calcifications", "calcified", "lymphadenopathy", "adenopathy", "nodes",
    "pericardial effusion", "pericardial effusions", "pericardial fluid",
    "node", "dilated", "dilatation", "dextrocardia",
    # bones and soft tissue
    "scoliosis", "dextroscoliosis", "levoscoliosis", "levocurvature", "dextrocurvature",
    "curvature", "kyphosis", "kyphotic", "straightening", "degenerative", "degeneration",
    "spondylosis", "osteophyte", "osteophytes", "spurring", "syndesmophyte", "hyperostosis",
    "osteopenia", "osteopenic", "arthritis", "arthritic", "arthroplasty", "compression",
    "wedging", "fusion", "deformity", "pectus", "excavatum", "carinatum", "cervical rib",
    "injury", "healed", "remote", "old", "irregularity", "foreign body", "piercing",
    # surgery
    "sternotomy", "cabg", "postsurgical", "post surgical", "postoperative", "surgical",
    "resection", "lobectomy", "pneumonectomy", "mastectomy", "cholecystectomy",
    # generic words that still say "something is there"
    "chronic", "changes", "abnormality", "abnormalities", "disease", "loss",
)

# Signs that suggest a finding without establishing it: COPD and hyperinflated lungs suggest
# emphysema. The labeler records the finding as uncertain with certainty "possible" (never
# "probable", whatever the hedge: the Open-i coders code COPD as emphysema in 1 report of 25),
# so "findings of COPD" searches for emphysema, and a library case that says "hyperexpanded
# lungs" answers a search for emphysema at half weight. Affirmed, a sign also makes the study
# abnormal, as any finding outside the label set does.
SUGGESTS: dict[str, tuple[str, ...]] = dict.fromkeys(
    (
        "copd", "chronic obstructive pulmonary disease", "chronic obstructive lung disease",
        "chronic obstructive airway disease", "obstructive lung disease",
        "obstructive pulmonary disease", "hyperinflation", "hyperinflated", "hyperinflated lungs",
        "hyperexpanded", "hyperexpansion", "hyperexpanded lungs", "hyperaerated", "hyperaeration",
        "overinflated", "overinflation", "overexpanded", "overexpansion", "air trapping",
        "flattened hemidiaphragms", "flattening of the hemidiaphragms",
        "flattening of the diaphragms", "flattened diaphragms",
    ),
    (L.EMPHYSEMA,),
)

# Anatomy whose size/appearance is stated with a predicate ("heart size is normal",
# "enlarged cardiac silhouette"): label to give when the predicate says "enlarged".
ANATOMY: dict[str, tuple[str, ...]] = {}
for _phrase in ("heart", "heart size", "cardiac silhouette", "cardiac size", "cardiac shadow",
                "cardiac contour", "cardiac contours", "heart shadow", "cardiac", "heart contour",
                "cardiac silhouette size", "size of the heart", "cardiac diameter"):
    ANATOMY[_phrase] = (L.CARDIOMEGALY,)
for _phrase in ("mediastinum", "mediastinal contour", "mediastinal contours",
                "mediastinal silhouette", "mediastinal width", "superior mediastinum",
                "cardiomediastinal silhouette", "cardiomediastinal contour",
                "cardiomediastinal contours", "cardiomediastinal shadow", "cardiomediastinum",
                "cardiomediastinal size", "cardiomediastinal"):
    ANATOMY[_phrase] = (L.ENLARGED_CARDIOMEDIASTINUM,)
ANATOMY["heart and mediastinum"] = (L.CARDIOMEGALY, L.ENLARGED_CARDIOMEDIASTINUM)

# Predicates for anatomy.
PRED_ENLARGED: tuple[str, ...] = ("enlarged", "enlargement", "large", "increased", "widened",
                                  "widening", "prominent", "prominence", "mildly enlarged",
                                  "globular", "big", "larger", "increase in size", "increase")
PRED_NORMAL: tuple[str, ...] = ("normal", "within normal limits", "unremarkable", "wnl",
                                "normal in size", "normal size", "within normal", "appropriate",
                                "upper limits of normal", "upper limit of normal", "top normal",
                                "top of normal", "upper normal limits", "top normal size",
                                "at the upper limits of normal", "high normal", "upper normal",
                                "upper limits normal",
                                "normal limits")
PRED_BORDERLINE: tuple[str, ...] = ("borderline", "borderline enlarged", "mildly prominent",
                                    "borderline in size", "borderline enlargement")

# Negation and uncertainty cues. "pre" cues reach forward, "post" cues reach back to the
# mentions of their clause, "both" either way.
NEG_PRE: tuple[str, ...] = (
    "no", "not", "without", "negative for", "free of", "clear of", "absence of", "absent",
    "no evidence of", "no sign of", "no signs of", "nor", "never", "resolution of", "resolved",
    "removal of", "rather than", "no new", "without evidence of", "no longer",
    "near complete resolution of", "lack of", "negative", "not appear", "does not appear",
    "do not appear", "not appear to be", "not demonstrate", "not show", "not reveal",
    "does not demonstrate", "do not demonstrate", "does not show", "do not show", "is not",
    "are not", "not significantly", "was not", "were not", "no definite", "no convincing",
    "no clear", "lungs are clear of", "lungs clear of", "lung are clear of", "no obvious",
)
NEG_POST: tuple[str, ...] = (
    "not seen", "not identified", "not present", "not visualized", "not appreciated",
    "not demonstrated", "not evident", "not detected", "not noted", "not visible",
    "not apparent", "not seen today", "is absent", "are absent", "absent", "resolved",
    "has resolved", "have resolved", "no longer seen", "no longer visualized",
    "no longer present", "no longer evident", "unlikely", "less likely", "removed",
    "has been removed", "have been removed", "is not", "are not", "not clearly seen",
    "not well seen", "is gone", "excluded", "ruled out", "negative", "not definitely seen",
    "no longer identified", "not significantly",
)
UNC_PRE: tuple[str, ...] = (
    "possible", "possibly", "probable", "probably", "may", "might", "could", "questionable",
    "question of", "questionably", "suspicious for", "suspicious", "suspected", "suspect",
    "suggest", "suggests", "suggestive of", "suggesting", "concerning for", "concern for",
    "concern", "worrisome for", "cannot exclude", "can not exclude", "cannot rule out",
    "can not rule out", "rule out", "r o", "borderline", "equivocal", "indeterminate",
    "differential", "differential diagnosis", "not definite", "not clearly", "likely",
    "most likely", "presumed", "presumably", "could represent", "may represent", "potential",
    "potentially", "may reflect", "cannot be excluded", "versus", "vs", "either", "favor",
    "favored", "uncertain", "unclear", "difficult to exclude", "not excluded", "not ruled out",
    "would be difficult to exclude", "can't exclude", "exclude", "to exclude", "may be",
    "could be", "might be", "question", "maybe", "correlate clinically for", "correlate for",
    "clinical correlation for", "evaluate for", "evaluation for", "assess for", "may be due to",
    "could be due to", "may be related to", "could be related to", "may be secondary to",
    "may be compatible with", "most suggestive of", "favoring", "most compatible with",
    "cannot be ruled out",
)
UNC_POST: tuple[str, ...] = (
    "cannot be excluded", "can not be excluded", "cannot be ruled out", "can not be ruled out",
    "not excluded", "not ruled out", "could not be excluded", "not entirely excluded",
    "is not excluded", "are not excluded", "is possible", "are possible", "is suspected",
    "are suspected", "is questioned", "is likely", "are likely", "likely",
    "is not entirely excluded", "versus", "vs", "is suggested", "cannot be entirely excluded",
    "could be present", "may be present", "may be", "could be", "is questionable",
    "not completely excluded", "difficult to exclude", "is not ruled out", "also possible",
    "are also possible", "is also possible",
)

# Hedges that lean towards "present" (the ACR-style "probably"/"likely" tier, and a
# differential of two named findings): findings under them are uncertain with certainty
# "probable"; every other hedge gives "possible". Open-i's coders count the former as present.
UNC_PROBABLE: tuple[str, ...] = ("probable", "probably", "likely", "most likely", "borderline",
                                 "either", "presumed", "presumably", "favor", "favored",
                                 "difficult to exclude", "would be difficult to exclude",
                                 "versus", "vs", "is likely", "are likely", "most suggestive of",
                                 "favoring", "most compatible with")

# Words that end a cue's scope.
TERMINATORS: tuple[str, ...] = (
    "but", "however", "although", "though", "except", "aside from", "apart from", "which",
    "whereas", "while", "otherwise", "there is", "there are", "there has been", "with",
    "and there", "also", "now", "again", "that", "who", "where", "is seen", "are seen",
    "is noted", "are noted", "is present", "are present", "is identified", "in addition",
    "additionally", "given",
)

# Verbs that end a pre cue's reach (a cue before a verb belongs to an earlier subject:
# "no pneumothorax, heart is enlarged"), but let post cues through ("effusion is not seen").
VERBS: tuple[str, ...] = ("is", "are", "was", "were", "has", "have", "shows", "show",
                          "demonstrates", "demonstrate", "appears", "appear", "measures",
                          "persists", "persist", "remains", "remain", "has been", "have been")

# A comma followed by one of these starts a new phrase rather than continuing a list.
NEW_PHRASE_AFTER_COMMA: tuple[str, ...] = (
    "mild", "mildly", "moderate", "moderately", "severe", "small", "trace", "tiny", "minimal",
    "there", "cannot", "can", "may", "could", "might", "the", "a", "an", "stable", "unchanged",
    "persistent", "new", "increased", "decreased", "improved", "worsening", "which", "likely",
    "probably", "possibly", "possible", "this", "these", "but",
)

SEVERITY: dict[str, str] = {
    "minimal": "minimal", "minimally": "minimal", "trace": "minimal", "tiny": "minimal",
    "slight": "minimal", "slightly": "minimal", "mild": "mild", "mildly": "mild",
    "small": "mild", "moderate": "moderate", "moderately": "moderate", "severe": "severe",
    "severely": "severe", "large": "severe", "massive": "severe", "marked": "severe",
    "markedly": "severe", "extensive": "severe", "significant": "moderate",
    "borderline": "borderline",
}

LATERALITY: dict[str, str] = {
    "left": "left", "right": "right", "bilateral": "bilateral", "bilaterally": "bilateral",
    "bibasilar": "bilateral", "bibasal": "bilateral", "both": "bilateral", "lingula": "left",
    "lingular": "left",
}

# Phrases that say a study (or an organ) is normal; kept as evidence for No Finding.
NORMAL_PHRASES: tuple[str, ...] = (
    "lungs are clear", "lungs clear", "clear lungs", "lungs are normal", "normal chest",
    "no acute cardiopulmonary abnormality", "no acute cardiopulmonary disease",
    "no acute cardiopulmonary process", "no acute disease", "no active disease",
    "no acute abnormality", "no acute findings", "lungs are well expanded and clear",
    "normal study", "no acute pulmonary disease", "no acute cardiopulmonary findings",
    "no acute cardiopulmonary", "negative chest", "no acute process",
)

# Words for the examination itself. A phrase made only of these, fillers and a normal word
# ("Normal exam.", "Unremarkable examination of the chest.", "Negative.", "otherwise clear")
# calls the study normal (see ``normal_statements``).
STUDY_WORDS: tuple[str, ...] = (
    "chest", "exam", "examination", "study", "radiograph", "radiographs", "radiography", "film",
    "films", "x", "ray", "xray", "cxr", "view", "views", "image", "images", "lung", "lungs",
    "thorax",
)
STUDY_NORMAL_WORDS: tuple[str, ...] = ("normal", "unremarkable", "negative", "clear")
STUDY_FILLERS: tuple[str, ...] = (
    "of", "the", "a", "two", "both", "and", "otherwise", "overall", "grossly", "essentially",
    "entirely", "completely", "is", "are", "appears", "appear", "radiographic", "frontal",
    "lateral", "pa", "ap", "preoperative", "within", "limits", "current", "today", "portable",
)

# A denial of a generic abnormality under qualifiers calls the study (or a part) normal: "No
# acute radiographic cardiopulmonary process", "No evidence of active disease", "Negative for
# acute abnormality", "without demonstration of an acute intrathoracic abnormality". Heads in
# ``GENERIC_AFTER_ACUTE`` count only after "acute" or "active" ("no acute changes", but "no
# change" is a comparison), and so does a phrase that ends after one ("No acute thoracic XXXX.").
GENERIC_ABNORMAL: tuple[str, ...] = (
    "disease", "diseases", "abnormality", "abnormalities", "process", "processes", "finding",
    "findings", "pathology", "injury", "injuries", "complication", "complications",
)
GENERIC_AFTER_ACUTE: tuple[str, ...] = ("change", "changes")
# Words that join a generic head to its complement ("no findings to suggest ...").
GENERIC_CONNECTORS: tuple[str, ...] = (
    "of", "to", "for", "suggest", "suggestive", "suggesting", "consistent", "compatible", "with",
    "indicate", "indicating", "indicative",
)
ACUTE_WORDS: tuple[str, ...] = ("acute", "active")
NORMAL_QUALIFIERS: tuple[str, ...] = (
    "acute", "active", "radiographic", "radiographically", "radiologic", "evidence", "of", "for",
    "sign", "signs", "visible", "visualized", "significant", "definite", "definitive", "focal",
    "superimposed", "new", "other", "any", "a", "an", "the", "demonstrable", "demonstration",
    "identifiable", "obvious", "gross", "overt", "major", "or", "and", "cardiopulmonary",
    "cardio", "pulmonary", "intrathoracic", "thoracic", "cardiothoracic", "chest", "lung",
    "parenchymal", "osseous", "bony", "bone", "skeletal", "preoperative", "right", "left",
    "bilateral", "intrapulmonary", "evident", "apparent", "cardiac", "pleural",
)
