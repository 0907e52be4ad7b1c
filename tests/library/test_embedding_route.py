"""The embedding route end to end with a tiny random CLIP: build, index, and search by text,
by case, and by a film's pixels (the same preprocessing at build and query time)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cxrviewer.library.build import BuildOptions, build_library
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.library import Filters, Library, SearchRequest
from cxrviewer.library.manifest import read_manifest
from cxrviewer.library.prepare import load, model_input


def test_build_writes_a_checked_index_of_every_case(clip_library):
    manifest = read_manifest(clip_library)
    assert manifest.route == "tiny-clip" and manifest.dim > 0
    assert manifest.index.kind == "flat" and manifest.index.count == manifest.counts["cases"] == 48
    assert (clip_library / manifest.index.file).is_file()


def test_a_film_finds_itself_first(clip_library, demo_dataset):
    record = json.loads((demo_dataset / "demo_cases.jsonl").read_text().splitlines()[5])
    with Library.open(clip_library) as library:
        size = library.encoder.spec.input_size
        pixels = model_input(load(str(demo_dataset / record["image"])), size)
        result = library.search(SearchRequest(image=pixels, k=3, route=library.manifest.route))
    assert result.hits[0].case.case_id == record["case_id"]
    assert result.hits[0].score == pytest.approx(1.0, abs=1e-3)


def test_text_case_and_combined_queries(clip_library):
    with Library.open(clip_library) as library:
        route = library.manifest.route
        assert library.routes() == (route, "labels")
        text = library.search(SearchRequest(text="small left pleural effusion", k=5, route=route))
        scores = [h.score for h in text.hits]
        assert len(scores) == 5 and scores == sorted(scores, reverse=True)
        assert text.query_findings == {"Pleural Effusion": "positive"}
        seed = text.hits[0].case
        by_case = library.search(SearchRequest(case_id=seed.case_id, k=10, route=route))
        assert by_case.hits and all(h.case.study_id != seed.study_id for h in by_case.hits)
        pixels = np.full((64, 64), 128, np.uint8)
        mixed = library.search(SearchRequest(text="cardiomegaly", image=pixels, k=5, route=route,
                                             image_weight=0.3))
        only_text = library.search(SearchRequest(text="cardiomegaly", k=5, route=route))
        assert [h.case.case_id for h in mixed.hits] != [] and mixed.hits[0].score <= 1.0
        assert mixed.hits != only_text.hits or mixed.hits[0].score != only_text.hits[0].score
        labels = library.search(SearchRequest(text="cardiomegaly", k=5))
        assert labels.route == "labels"


def test_filters_apply_to_the_embedding_route(clip_library):
    with Library.open(clip_library) as library:
        result = library.search(SearchRequest(text="effusion", k=48, route=library.manifest.route,
                                              filters=Filters(sex="M", views=("PA",))))
    assert result.hits
    assert all(h.case.sex == "M" and h.case.view == "PA" for h in result.hits)


def test_damaged_index_and_other_encoder_are_refused(clip_library, demo_dataset, tmp_path):
    copy = Path(shutil.copytree(clip_library, tmp_path / "copy"))
    info = read_manifest(copy).index
    data = (copy / info.file).read_bytes()
    (copy / info.file).write_bytes(data[:-100])
    with pytest.raises(LibraryError, match=info.file):
        Library.open(copy)
    with pytest.raises(LibraryError, match="built with encoder 'tiny-clip', not the label route"):
        build_library(BuildOptions("demo", demo_dataset, copy, workers=1))


def test_missing_encoder_is_a_clear_message(clip_library, tmp_path):
    copy = Path(shutil.copytree(clip_library, tmp_path / "copy"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["preprocessing"]["encoder"]["path"] = str(tmp_path / "gone")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with Library.open(copy) as library, pytest.raises(LibraryError, match="encoder cannot be loaded"):
        library.search(SearchRequest(text="effusion", route="tiny-clip"))


def test_a_case_without_its_stored_embedding_is_a_clear_error(clip_library, tmp_path):
    """A damaged store (a case row whose vector is gone) says so, instead of a TypeError from
    numpy deep in the search."""
    import sqlite3

    folder = tmp_path / "clip"
    shutil.copytree(clip_library, folder)
    with Library.open(folder) as library:
        route = library.manifest.route
        seed = library.search(SearchRequest(text="cardiomegaly", k=1, route=route)).hits[0].case
    db = sqlite3.connect(folder / "library.sqlite")
    with db:
        db.execute("DELETE FROM embeddings WHERE row = (SELECT row FROM cases WHERE case_id = ?)", (seed.case_id,))
    db.close()
    with Library.open(folder) as library, pytest.raises(LibraryError, match="no stored embedding"):
        library.search(SearchRequest(case_id=seed.case_id, k=5, route=route))
