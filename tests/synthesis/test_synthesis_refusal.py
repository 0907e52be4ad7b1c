"""Generated films are never taken in as patients' cases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def mixed_folder(tiny_generator: Path, demo_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two generated films (DICOM + PNG each) beside one synthetic demo film."""
    from cxrviewer.synthesis.service import synthesize_to_folder

    root = tmp_path_factory.mktemp("mixed")
    synthesize_to_folder("Large right pleural effusion.", root / "generated", n=2, model=str(tiny_generator),
                         device="cpu")
    (root / "generated" / "synthesis.json").unlink()
    demo_film = next(demo_dataset.rglob("*.dcm"))
    (root / "demo").mkdir()
    shutil.copy(demo_film, root / "demo" / "image.dcm")
    return root


def test_generated_reason_reads_the_header_marks(mixed_folder: Path) -> None:
    from cxrviewer.imaging.generated import GENERATED_REASON, generated_reason

    generated = sorted((mixed_folder / "generated").iterdir())
    assert generated and all(generated_reason(p) == GENERATED_REASON for p in generated)
    assert generated_reason(mixed_folder / "demo" / "image.dcm") == ""
    assert generated_reason(mixed_folder / "missing.dcm") == ""  # unreadable: its reader says why


def test_a_library_build_refuses_generated_films(mixed_folder: Path, tmp_path: Path) -> None:
    from cxrviewer.imaging.generated import GENERATED_REASON
    from cxrviewer.library.build import BuildOptions, build_library
    from cxrviewer.library.store import Store

    result = build_library(BuildOptions("folder", mixed_folder, tmp_path / "lib", workers=1))
    assert result.added == 1  # the demo film
    assert result.skipped == 4  # two DICOMs, two PNGs
    store = Store(tmp_path / "lib" / "library.sqlite")
    try:
        reasons = {Path(p.path).suffix: p.reason for p in store.problems() if "generated" in p.path}
    finally:
        store.close()
    assert reasons == {".dcm": GENERATED_REASON, ".png": GENERATED_REASON}


def test_a_teaching_collection_refuses_generated_films(mixed_folder: Path, tmp_path: Path) -> None:
    from cxrviewer.teaching import films
    from cxrviewer.teaching.model import TeachingError
    from cxrviewer.teaching.store import TeachingStore

    with TeachingStore(tmp_path / "teaching") as store:
        collection = store.create_collection("Effusions")
        for path in sorted((mixed_folder / "generated").iterdir()):
            for anonymise in (False, True):
                with pytest.raises(TeachingError, match="a generated film, not a patient's"):
                    films.add_file(store, collection.collection_id, path, anonymise=anonymise)
        assert store.cases(collection.collection_id) == []
        assert not store.films_dir.exists() or not any(store.films_dir.iterdir())  # nothing copied
        kept = films.add_file(store, collection.collection_id, mixed_folder / "demo" / "image.dcm")
        assert [c.case_id for c in store.cases(collection.collection_id)] == [kept.case_id]


def test_an_archive_whose_film_was_swapped_for_a_generated_one_is_refused(mixed_folder: Path, tmp_path: Path) -> None:
    """`collection import` restored any film the archive held, a generated one as a patient case."""
    import json
    import zipfile

    from cxrviewer.teaching import films
    from cxrviewer.teaching.archive import import_archive
    from cxrviewer.teaching.exports import export_collection
    from cxrviewer.teaching.model import TeachingError
    from cxrviewer.teaching.store import TeachingStore

    with TeachingStore(tmp_path / "teaching") as store:
        collection = store.create_collection("Effusions")
        films.add_file(store, collection.collection_id, mixed_folder / "demo" / "image.dcm")
        honest = export_collection(store, "Effusions", "zip", tmp_path / "honest.zip").path
    generated = sorted((mixed_folder / "generated").glob("*.dcm"))[0].read_bytes()
    swapped = tmp_path / "swapped.zip"
    with zipfile.ZipFile(honest) as source, zipfile.ZipFile(swapped, "w") as target:
        film = json.loads(source.read("manifest.json"))["cases"][0]["film"]["dicom"]
        for info in source.infolist():
            target.writestr(info, generated if info.filename == film else source.read(info))
    with TeachingStore(tmp_path / "elsewhere") as other:
        import_archive(other, honest)  # the honest one imports
        with pytest.raises(TeachingError, match="a generated film, not a patient's"):
            import_archive(other, swapped, name="Swapped")
        assert [c.name for c in other.collections()] == ["Effusions"]
