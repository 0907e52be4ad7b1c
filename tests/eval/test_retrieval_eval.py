"""``eval retrieval`` end to end on the small demo libraries."""

from __future__ import annotations

import json

import pytest

from cxrviewer.cli import run
from cxrviewer.eval.retrieval import evaluate, held_out
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.library import Library, SearchRequest


def _split_with_queries(library: Library) -> str:
    counts = library.store.split_counts()
    return "test" if counts.get("test") else "valid"


def test_text_queries_report_every_metric_for_both_rules(demo_library):
    with Library.open(demo_library) as library:
        split = _split_with_queries(library)
        report = evaluate(library, mode="text", split=split, ks=(1, 5))
        queries = held_out(library, split, None)
    assert report["n_queries"] == len({q.study_id for q in queries}) > 0
    for rule in ("exact", "any_shared"):
        assert set(report[rule]) >= {"hit@1", "p@5", "r@5", "ap@5", "ndcg@5", "mrr"}
        assert all(0.0 <= v <= 1.0 for v in report[rule].values())
    assert {"ndcg@5", "iou@5"} <= set(report["graded"])
    assert report["timing"]["n"] == report["n_queries"]
    assert split not in report["gallery_splits"]


def test_image_queries_on_the_findings_route_read_the_film_with_a_finding_model(demo_library):
    with Library.open(demo_library) as library:
        split = _split_with_queries(library)
        with pytest.raises(LibraryError, match="finding model"):
            evaluate(library, mode="image", split=split)
        report = evaluate(library, mode="image", split=split, label_model="demo-clip", ks=(5,))
        query = held_out(library, split, 1)[0]
        from cxrviewer.library.prepare import load, model_input

        reader = library.label_model("demo-clip")
        film = load(query.image)
        pixels = model_input(film, int(reader.spec.input_size))
        assert film.header.synthetic_demo
        result = library.search(SearchRequest(image=pixels, route="labels", label_model="demo-clip", k=5,
                                              image_synthetic=film.header.synthetic_demo))
        with pytest.raises(LibraryError, match="only on synthetic demo films"):  # the same pixels, said to be real
            library.search(SearchRequest(image=pixels, route="labels", label_model="demo-clip", k=5))
    assert report["label_model"] == "demo-clip" and report["n_queries"] > 0
    assert result.query_findings, "the model read some findings (or a normal film) from the pixels"


def test_image_queries_on_an_embedding_route(clip_library):
    with Library.open(clip_library) as library:
        split = _split_with_queries(library)
        report = evaluate(library, mode="image", split=split, route=library.manifest.route, ks=(5,))
    assert report["n_queries"] > 0 and 0.0 <= report["exact"]["ap@5"] <= 1.0


def test_eval_retrieval_command_json(demo_library, capsys):
    with Library.open(demo_library) as library:
        split = _split_with_queries(library)
    assert run(["eval", "retrieval", "--library", str(demo_library), "--mode", "text", "--split", split,
                "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["text"]["synthetic"] is True


def test_a_label_only_library_is_evaluated_on_text_and_says_why_not_on_images(demo_library, capsys):
    """The default (both modes) on a findings-route library with no finding model: text search
    is scored with the held-out impressions, and image search is explained, not an error."""
    with Library.open(demo_library) as library:
        assert library.routes() == ("labels",)
        split = _split_with_queries(library)
    assert run(["eval", "retrieval", "--library", str(demo_library), "--split", split]) == 0
    out = capsys.readouterr().out
    assert "text search, route labels" in out and "hit@1" in out and "query time" in out
    assert "image search not evaluated" in out and "--label-model" in out

    assert run(["eval", "retrieval", "--library", str(demo_library), "--split", split, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["text"]["n_queries"] > 0 and data["text"]["timing"]["n"] == data["text"]["n_queries"]
    assert "finding model" in data["image"]["skipped"]


def test_a_library_without_reports_says_so_instead_of_no_timings(tmp_path, capsys):
    """NIH ChestX-ray14 has labels and no reports: text search has no queries to run."""
    from dataset_trees import nih_tree

    from cxrviewer.library.build import BuildOptions, build_library

    root = nih_tree(tmp_path / "nih")
    (root / "test_list.txt").write_text("00000003_000.png\n")  # the official test split
    build_library(BuildOptions("nih", root, tmp_path / "lib", workers=1))
    assert run(["eval", "retrieval", "--library", str(tmp_path / "lib"), "--mode", "text"]) == 1
    err = capsys.readouterr().err
    assert "no timings" not in err
    assert "no test case has report text" in err and "labels only" in err
    assert run(["eval", "retrieval", "--library", str(tmp_path / "lib")]) == 1  # neither mode possible
    err = capsys.readouterr().err
    assert "report text" in err and "finding model" in err
    # The demo model may not read real films, even to be scored on them...
    assert run(["eval", "retrieval", "--library", str(tmp_path / "lib"), "--label-model", "demo-clip",
                "--k", "1", "--json"]) == 1
    assert "only on synthetic demo films" in capsys.readouterr().err
    # ...but with a finding model made for real films the same library is scored on images.
    _register_real_film_model("chest-model")
    assert run(["eval", "retrieval", "--library", str(tmp_path / "lib"), "--label-model", "chest-model",
                "--k", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "report text" in data["text"]["skipped"]
    assert data["image"]["n_queries"] == 1 and data["image"]["label_model"] == "chest-model"


def _register_real_film_model(name: str) -> None:
    """The demo weights registered under a card for real chest films (as an import records one)."""
    import shutil

    from cxrviewer.models.card import CHEST_RADIOGRAPH, ModelCard, write_card
    from cxrviewer.models.formats import spec_from_folder
    from cxrviewer.models.registry import get_spec, models_dir, record_import

    folder = models_dir() / name
    shutil.copytree(get_spec("demo-clip").local_path(), folder)
    write_card(folder / "card.json", ModelCard(CHEST_RADIOGRAPH, ("test",), True, "test", "MIT"))
    record_import(spec_from_folder(folder, name=name))
