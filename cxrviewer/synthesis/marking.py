"""Every generated film says what it is: in its pixels and in its file.

Pixels: a black band above the film with "SYNTHETIC" in white (a 5 x 7 pixel font drawn at
twice its size, so it reads at any zoom and is the same on every platform), and the word again
inside the film, in its lower right corner (over the abdomen, away from the lungs). The band
sits outside the film so that no finding is covered (an apical pneumothorax lies in the top
rows).

Files: a DICOM Secondary Capture (Conversion Type SYN, synthetic image) with ``ImageType``
DERIVED\\SECONDARY, ``BurnedInAnnotation`` YES, a ``DerivationDescription`` naming the
generator and the text, and :data:`~cxrviewer.imaging.generated.GENERATED_MARK` in
``ImageComments``; or a PNG with the same description in a text chunk. The header marks are what
:func:`cxrviewer.imaging.generated.generated_reason` reads when a library or a collection refuses
the film.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cxrviewer.imaging.generated import DERIVATION_PREFIX, GENERATED_MARK, PNG_KEY

WORD = "SYNTHETIC"
BAND = 20  # rows added above the film
_GLYPHS = {
    "S": (".###.", "#...#", "#....", ".###.", "....#", "#...#", ".###."),
    "Y": ("#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."),
    "N": ("#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#", "#...#"),
    "T": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
    "H": ("#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "E": ("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
    "I": (".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "C": (".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."),
}
DEMO_INSTITUTION_OF_GENERATED = "CXRVIEWER GENERATED FILM"


def word_bitmap(scale: int = 1) -> np.ndarray:
    """"SYNTHETIC" as a bool array, 7 * scale rows, letters 1 column apart."""
    letters = [np.array([[c == "#" for c in row] for row in _GLYPHS[ch]]) for ch in WORD]
    gap = np.zeros((7, 1), bool)
    parts: list[np.ndarray] = []
    for i, letter in enumerate(letters):
        parts += ([gap] if i else []) + [letter]
    word = np.concatenate(parts, axis=1)
    return np.kron(word, np.ones((scale, scale), bool))


def burn_in(film: np.ndarray) -> np.ndarray:
    """The film (uint8, H x W) with the band on top and the corner mark: (H + BAND) x W."""
    film = np.asarray(film, np.uint8)
    h, w = film.shape
    big = word_bitmap(2 if w >= 120 else 1)
    band = np.zeros((BAND, w), np.uint8)
    top, left = (BAND - big.shape[0]) // 2, max(0, (w - big.shape[1]) // 2)
    region = band[top:top + big.shape[0], left:left + big.shape[1]]
    region[big[:, :region.shape[1]]] = 255
    out = np.concatenate([band, film])
    small = word_bitmap(1)
    sh, sw = small.shape
    if h > 3 * sh and w > sw + 4:
        y, x = BAND + h - sh - 3, w - sw - 3
        out[y - 1:y + sh + 1, x - 1:x + sw + 1] = 0
        out[y:y + sh, x:x + sw][small] = 255
    return out


def has_burned_in_mark(pixels: np.ndarray) -> bool:
    """Whether the band with "SYNTHETIC" is in the pixels (as :func:`burn_in` writes it)."""
    pixels = np.asarray(pixels)
    if pixels.ndim != 2 or pixels.shape[0] <= BAND:
        return False
    w = pixels.shape[1]
    big = word_bitmap(2 if w >= 120 else 1)
    top, left = (BAND - big.shape[0]) // 2, max(0, (w - big.shape[1]) // 2)
    region = pixels[top:top + big.shape[0], left:left + big.shape[1]]
    if region.shape != big.shape:
        return False
    return bool((region[big] >= 200).all() and (region[~big] <= 55).all())


def derivation(generator: str, text: str, seed: int, index: int) -> str:
    """The DerivationDescription (DICOM ST, at most 1,024 characters)."""
    head = f"{DERIVATION_PREFIX} synthesis: generator {generator}, seed {seed}, film {index + 1}; text: "
    tail = ". Not a patient's film."
    room = 1024 - len(head) - len(tail) - 2
    quoted = text if len(text) <= room else text[:room - 3] + "..."
    return f'{head}"{quoted}"{tail}'


def write_png(path: Path, film: np.ndarray, description: str) -> Path:
    """The marked film as a grey PNG with the description in a ``cxrviewer:generated`` chunk."""
    from PIL import Image, PngImagePlugin

    from cxrviewer.fileio import atomic_write_bytes

    info = PngImagePlugin.PngInfo()
    info.add_text(PNG_KEY, description)
    info.add_text("Comment", GENERATED_MARK)
    import io

    buffer = io.BytesIO()
    Image.fromarray(burn_in(film)).save(buffer, format="PNG", pnginfo=info)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def write_dicom(path: Path, film: np.ndarray, description: str, synthetic_demo: bool) -> Path:
    """The marked film as a DICOM Secondary Capture that says it is generated.

    A film made by a generator trained only on the synthetic demo films is itself synthetic demo
    data, and carries that mark too (the demo's finding model may read it); any other generated
    film names itself as such in InstitutionName."""
    from cxrviewer.imaging.synthetic import DEMO_INSTITUTION, SyntheticStudy
    from cxrviewer.imaging.synthetic import write_dicom as write

    study = SyntheticStudy(patient_name="SYNTHETIC^GENERATED", patient_id="GENERATED", patient_sex="O",
                           patient_age="", patient_birth_date="", study_description="GENERATED FILM - NOT A PATIENT",
                           accession_number="", institution=DEMO_INSTITUTION if synthetic_demo
                           else DEMO_INSTITUTION_OF_GENERATED)
    extra = {"ImageType": ["DERIVED", "SECONDARY"], "BurnedInAnnotation": "YES", "ConversionType": "SYN",
             "DerivationDescription": description, "ImageComments": GENERATED_MARK,
             "SeriesDescription": "SYNTHETIC (generated by cxrviewer)", "RecognizableVisualFeatures": "NO"}
    return write(path, burn_in(film), study=study, modality="OT", view_position="PA", extra=extra)
