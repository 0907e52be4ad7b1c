"""A model's numbers appear only on films of the kind it was validated on: the shipped demo model
(synthetic phantoms only) never ranks, reads or explains a real film, in the library, the search
service or a build."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cxrviewer.imaging.synthetic import chest_phantom, write_dicom
from cxrviewer.library.build import BuildOptions, build_library
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.library import Library, SearchRequest
from cxrviewer.library.manifest import read_manifest, write_manifest


class Context:
    """The part of a services JobContext that jobs use."""

    def check(self) -> None: ...
    def should_cancel(self) -> bool: return False
    def progress(self, *args) -> None: ...
    def emit(self, payload) -> None: ...


@pytest.fixture(scope="module")
def real_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("real-films")
    for n in range(3):
        write_dicom(folder / f"p{n}" / "pa.dcm", chest_phantom(200, 200, seed=n))
    return folder


@pytest.fixture(scope="module")
def demo_clip_library(demo_dataset, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("libs") / "demo-clip-lib"
    build_library(BuildOptions("demo", demo_dataset, folder, synthetic=True, workers=1, encoder="demo-clip"))
    return folder


def test_a_real_dataset_cannot_be_built_with_the_demo_model(real_folder, tmp_path):
    with pytest.raises(LibraryError, match="only on synthetic demo films"):
        build_library(BuildOptions("folder", real_folder, tmp_path / "lib", workers=1, encoder="demo-clip"))
    assert not (tmp_path / "lib" / "manifest.json").exists()


def test_a_real_library_built_with_the_demo_model_before_cards_loses_its_model_route(demo_clip_library, tmp_path):
    """A library of real films made with the demo model by an older version: the model route is
    switched off with its reason, the findings route stays."""
    folder = tmp_path / "legacy"
    shutil.copytree(demo_clip_library, folder)
    with Library.open(folder) as library:
        assert library.routes() == ("demo-clip", "labels")
    write_manifest(folder, read_manifest(folder).touched(synthetic=False))
    with Library.open(folder) as library:
        assert library.routes() == ("labels",)
        with pytest.raises(LibraryError, match=r"switched off.*only on synthetic demo films"):
            library.search(SearchRequest(text="cardiomegaly", route="demo-clip"))
        assert library.search(SearchRequest(text="cardiomegaly", route="labels")).hits


def test_the_search_service_never_lets_the_demo_model_read_a_real_film(demo_clip_library, real_folder, demo_dataset):
    from cxrviewer.services.search import SearchService

    service = SearchService()
    path = str(demo_clip_library)
    real = str(real_folder / "p0" / "pa.dcm")
    demo = str(sorted(demo_dataset.glob("*/*/image.dcm"))[0])
    try:
        refused = service.finding_scores(Context(), path, real)
        assert refused.refused.startswith("demo-clip was trained and validated only on synthetic")
        assert "No model validated on real films is installed" in refused.refused
        assert refused.probabilities == () and refused.reading is None
        with pytest.raises(LibraryError, match="only on synthetic demo films"):
            service.saliency(Context(), path, real, 0, "label", "Cardiomegaly")
        with pytest.raises(LibraryError, match="only on synthetic demo films"):
            service.similar_to_film(Context(), path, real, SearchRequest(route="demo-clip", k=5))
        scores = service.finding_scores(Context(), path, demo)
        assert scores.model == "demo-clip" and len(scores.probabilities) == len(scores.labels) > 0
        assert scores.reading.figures_source == "here" and scores.reading.auroc[0] is not None
        assert service.saliency(Context(), path, demo, 0, "label", "Cardiomegaly").model == "demo-clip"
        assert service.similar_to_film(Context(), path, demo, SearchRequest(route="demo-clip", k=5)).hits
    finally:
        service.close()
