"""Each published format end to end, from its replica: import -> library build on real-looking
films -> text search (joint models), image search, findings (torchxrayvision), saliency; after
the import nothing is unpickled and nothing reaches the network."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from replicas import sealed, write_films

from cxrviewer.cli import run
from cxrviewer.models import ModelError


@pytest.fixture(scope="module")
def films(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_films(tmp_path_factory.mktemp("films") / "chest", count=6)


def _build_and_open(name: str, films: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from cxrviewer.library.library import Library
    from cxrviewer.library.manifest import read_manifest

    out = tmp_path / "library"
    capsys.readouterr()
    assert run(["library", "build", "--dataset", "folder", "--root", str(films), "--out", str(out), "--encoder",
                name, "--workers", "1"]) == 0, capsys.readouterr().err
    manifest = read_manifest(out)
    assert manifest.route == name and manifest.index.count == 6 and not manifest.synthetic
    return Library.open(out)


def _image_search_finds_each_film(library, films: Path) -> None:
    from cxrviewer.library.library import SearchRequest
    from cxrviewer.library.prepare import film_input, load

    for film in sorted(films.rglob("pa.dcm"))[:3]:
        pixels = film_input(load(str(film)), library.encoder.spec)
        result = library.search(SearchRequest(image=pixels, k=3, route=library.manifest.route))
        assert Path(result.hits[0].case.image) == film and result.hits[0].score == pytest.approx(1.0, abs=1e-3)


def _film(library, films: Path) -> np.ndarray:
    from cxrviewer.library.prepare import film_input, load

    return film_input(load(str(sorted(films.rglob("pa.dcm"))[0])), library.encoder.spec)


def test_torchxrayvision_end_to_end(xrv_cache: Path, films: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from replicas import xrv_file_name

    from cxrviewer.explain import EmbeddingTarget, LabelTarget, explain
    from cxrviewer.library.library import SearchRequest

    assert run(["models", "import", str(xrv_cache / xrv_file_name("densenet121-res224-all")), "--trust"]) == 0
    name = "xrv-densenet121-res224-all"
    with sealed():
        library = _build_and_open(name, films, tmp_path, capsys)
        with library:
            _image_search_finds_each_film(library, films)
            encoder = library.encoder
            pixels = _film(library, films)
            probabilities = encoder.predict_labels([pixels])[0]
            by_findings = library.search(SearchRequest(image=pixels, k=3, route="labels"))  # its findings as a query
            label_map = explain(encoder, pixels, LabelTarget("Cardiomegaly"))
            vector = encoder.encode_images([pixels])[0]
            similar_map = explain(encoder, pixels, EmbeddingTarget(vector, "itself"), "gradcam")
            with pytest.raises(ModelError, match="no text tower"):
                library.search(SearchRequest(text="pleural effusion", k=3, route=name))
    assert len(probabilities) == 18 and ((probabilities >= 0) & (probabilities <= 1)).all()
    assert "Cardiomegaly" in encoder.label_names and by_findings.query_findings
    assert label_map.method == "layercam" and label_map.values.shape == (224, 224) and label_map.values.max() == 1
    assert similar_map.score == pytest.approx(1.0, abs=1e-4)
    # In the window the map lies over the film's central square, the only part the model saw
    from cxrviewer.services.search import SearchService

    class Context:
        def check(self) -> None: ...
        def should_cancel(self) -> bool: return False

    service = SearchService()
    try:
        shown = service.saliency(Context(), str(tmp_path / "library"), str(sorted(films.rglob("pa.dcm"))[0]), 0,
                                 "label", "Cardiomegaly").values
    finally:
        service.close()
    rows, cols = shown.shape
    assert rows / cols == pytest.approx(288 / 240, rel=0.02)  # the film's shape, not the input's square
    band = int(rows * 20 / 288)  # the crop drops 24 of 288 rows at the top and at the bottom
    assert shown[:band].max() == 0 and shown[-band:].max() == 0 and shown.max() > 0.5


@pytest.mark.parametrize("fmt", ["biomedclip", "chexzero"])
def test_open_clip_formats_end_to_end(fmt: str, biomedclip_replica: tuple[Path, Path], chexzero_replica: Path,
                                      films: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cxrviewer.explain import TextTarget, explain
    from cxrviewer.library.library import SearchRequest

    if fmt == "biomedclip":
        folder, text = biomedclip_replica
        argv = [str(folder), "--text-tower", str(text), "--trust", "--name", "biomed"]
    else:
        argv = [str(chexzero_replica), "--trust"]
    capsys.readouterr()
    assert run(["models", "import", *argv, "--json"]) == 0
    name = json.loads(capsys.readouterr().out)["imported"][0]["name"]
    with sealed():
        library = _build_and_open(name, films, tmp_path, capsys)
        with library:
            _image_search_finds_each_film(library, films)
            by_text = library.search(SearchRequest(text="small left pleural effusion", k=6, route=name))
            pixels = _film(library, films)
            saliency = explain(library.encoder, pixels, TextTarget("small left pleural effusion"))
            expected = float(library.encoder.encode_images([pixels])[0]
                             @ library.encoder.encode_texts(["small left pleural effusion"])[0])
    scores = [hit.score for hit in by_text.hits]
    assert len(scores) == 6 and scores == sorted(scores, reverse=True) and len(set(scores)) > 1
    assert saliency.method == "attention" and saliency.values.shape == (pixels.shape[0], pixels.shape[0])
    assert saliency.score == pytest.approx(expected, abs=1e-4)
