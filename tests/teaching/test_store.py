"""The teaching store: collections, cases, annotations, order, search, undo, durability settings."""

from __future__ import annotations

import sqlite3

import pytest

from cxrviewer.teaching import films
from cxrviewer.teaching.model import Annotation, Film, Presentation, TeachingError
from cxrviewer.teaching.store import TeachingStore


def _film(name: str = "x") -> Film:
    return Film("file", f"{name}/film.png")


def test_create_annotate_and_read_back_after_reopening(store, library, tmp_path):
    c = store.create_collection("Pleura", "effusions and pneumothoraces")
    added = films.add_library_cases(store, c.collection_id, library, ["DEMO0001_S1", "DEMO0005_S1"])
    case = added[1]
    assert case.film.source == "library" and case.film.library_case_id == "DEMO0005_S1"
    assert "pneumothorax" in case.report.lower()
    assert any(k.label == "Pneumothorax" and k.status == "positive" and k.laterality == "right"
               for k in case.known_findings)
    arrow = store.add_annotation(case.case_id, Annotation("arrow", ((10, 12), (40.5, 30)), "pleural line"))
    region = store.add_annotation(case.case_id, Annotation("freehand", ((1, 1), (20, 2), (15, 25), (2, 18))))
    store.add_annotation(case.case_id, Annotation("ellipse", ((5, 5), (50, 60)), color="#ff0000"))
    store.add_annotation(case.case_id, Annotation("line", ((0, 0), (127, 127))))
    store.add_annotation(case.case_id, Annotation("text", ((64, 10),), "R"))
    store.update_teaching(case.case_id, title="Right pneumothorax", diagnosis="Pneumothorax",
                          tags=("pleura", "emergency", "pleura"), difficulty="medium")
    store.set_presentation(case.case_id, Presentation(1000.0, 2000.0, zoom=2.0, pan_x=40, pan_y=50,
                                                      rotation=90, flip_h=True))
    store.update_annotation(Annotation("arrow", ((11, 12), (41, 31)), "pleural line!",
                                       annotation_id=arrow.annotation_id))
    expected = store.case(case.case_id)
    store.close()

    with TeachingStore(tmp_path / "teaching") as again:
        got = again.case(case.case_id)
        assert got == expected
        assert [a.kind for a in got.annotations] == ["arrow", "freehand", "ellipse", "line", "text"]
        assert got.annotations[0].points == ((11.0, 12.0), (41.0, 31.0))
        assert got.annotations[1].annotation_id == region.annotation_id
        assert got.teaching.tags == ("pleura", "emergency")
        assert got.presentation.rotation == 90 and got.presentation.zoom == 2.0
        assert [k.case_id for k in again.cases(c.collection_id)] == [a.case_id for a in added]
        assert again.collection("pleura").case_count == 2


def test_reorder_by_moving_and_by_full_order(store):
    c = store.create_collection("Order")
    ids = [store.add_case(c.collection_id, _film(str(n))).case_id for n in range(4)]
    assert [k.case_id for k in store.move_case(ids[3], 0)] == [ids[3], ids[0], ids[1], ids[2]]
    assert [k.case_id for k in store.move_case(ids[3], 99)] == ids
    store.reorder(c.collection_id, list(reversed(ids)))
    assert [k.case_id for k in store.cases(c.collection_id)] == list(reversed(ids))
    with pytest.raises(TeachingError, match="exactly once"):
        store.reorder(c.collection_id, ids[:3])


def test_deletions_are_undone_in_reverse_order(store):
    c = store.create_collection("Undo")
    first, second = (store.add_case(c.collection_id, _film(n)) for n in "ab")
    mark = store.add_annotation(first.case_id, Annotation("line", ((0, 0), (5, 5))))
    assert store.undo_label() == ""
    store.delete_annotation(mark.annotation_id)
    store.delete_case(second.case_id)
    assert store.case(first.case_id).annotations == ()
    assert [k.case_id for k in store.cases(c.collection_id)] == [first.case_id]
    assert store.undo_label().startswith("Undo delete case")
    assert store.undo_delete().kind == "case-restored"
    assert [k.case_id for k in store.cases(c.collection_id)] == [first.case_id, second.case_id]
    assert store.undo_delete().kind == "annotation-restored"
    assert store.case(first.case_id).annotations == (mark,)
    assert store.undo_delete() is None


def test_a_deleted_collection_comes_back_even_when_its_name_was_taken(store):
    c = store.create_collection("Cardiac")
    case = store.add_case(c.collection_id, _film())
    store.delete_collection(c.collection_id)
    assert store.collections() == []
    with pytest.raises(TeachingError, match="no case"):
        store.case(case.case_id)  # the cases go with their collection
    store.create_collection("cardiac")  # names are unique among live collections, in any case
    with pytest.raises(TeachingError, match="already exists"):
        store.create_collection("CARDIAC")
    store.undo_delete()
    names = sorted(k.name for k in store.collections())
    assert names == ["Cardiac (restored 1)", "cardiac"]
    assert store.collection("Cardiac (restored 1)").case_count == 1


def test_search_by_text_finding_and_tag(store, library):
    c = store.create_collection("Mixed")
    cases = films.add_library_cases(store, c.collection_id, library, ["DEMO0001_S1", "DEMO0005_S1", "DEMO0002_S1"])
    store.update_teaching(cases[0].case_id, title="Collapse", tags=("lobar",))
    store.update_teaching(cases[2].case_id, teaching_points="A normal film for comparison", tags=("Normal",))
    assert [k.case_id for k in store.search(text="collapse")] == [cases[0].case_id]
    assert [k.case_id for k in store.search(finding="pneumothorax")] == [cases[1].case_id]
    assert [k.case_id for k in store.search(finding="Atelectasis")] == [cases[0].case_id]
    assert [k.case_id for k in store.search(tag="normal")] == [cases[2].case_id]
    assert store.search(text="comparison", tag="lobar") == []
    assert store.search(finding="zebra stripes") == []


def test_subscribers_hear_of_committed_edits_only(store):
    heard = []
    stop = store.subscribe(heard.append)
    c = store.create_collection("Heard")
    case = store.add_case(c.collection_id, _film())
    store.update_teaching(case.case_id, title="t")
    with pytest.raises(TeachingError):
        store.create_collection("heard")  # refused inside its transaction: nothing to hear
    stop()
    store.update_teaching(case.case_id, title="u")
    assert [h.kind for h in heard] == ["collection-added", "case-added", "case-changed"]
    assert heard[2].case_id == case.case_id and heard[2].collection_id == c.collection_id


def test_durable_settings_and_schema_version(tmp_path):
    with TeachingStore(tmp_path) as opened:
        db = opened.db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert opened.check() == ""
    raw = sqlite3.connect(tmp_path / "collections.sqlite")
    raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    raw.commit()
    raw.close()
    with pytest.raises(TeachingError, match="newer cxrviewer"):
        TeachingStore(tmp_path)


def test_bad_inputs_are_refused_with_a_reason(store):
    c = store.create_collection("Checks")
    case = store.add_case(c.collection_id, _film())
    with pytest.raises(TeachingError, match="needs 2 points"):
        Annotation("arrow", ((1, 1),))
    with pytest.raises(TeachingError, match="needs its text"):
        Annotation("text", ((1, 1),))
    with pytest.raises(TeachingError, match="rotation"):
        Presentation(rotation=45)
    with pytest.raises(TeachingError, match="difficulty"):
        store.update_teaching(case.case_id, difficulty="impossible")
    with pytest.raises(TeachingError, match="a collection needs a name"):
        store.create_collection("   ")
    with pytest.raises(TeachingError, match=r"unknown teaching field.*colour"):
        store.update_teaching(case.case_id, colour="red")
    assert store.case(case.case_id).teaching.difficulty == ""


def test_a_damaged_database_is_reported_not_overwritten(tmp_path):
    (tmp_path / "collections.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(TeachingError, match="cannot be opened"):
        TeachingStore(tmp_path)
    assert (tmp_path / "collections.sqlite").read_bytes().startswith(b"not a database")
