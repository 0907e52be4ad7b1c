"""``cxrviewer collection ...`` and ``cxrviewer quiz ...``: the command names and options others
rely on, all with --json, and clear errors."""

from __future__ import annotations

import json
import zipfile

import pytest

from cxrviewer.cli import run


def _json(capsys, *argv: str) -> dict:
    code = run([*argv, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_the_collection_commands_end_to_end(demo_library, identified_film, capsys, tmp_path, monkeypatch):
    lib = str(demo_library)
    assert _json(capsys, "collection", "new", "Teaching set")["name"] == "Teaching set"
    added = _json(capsys, "collection", "add", "Teaching set", "--library", lib, "--case", "DEMO0005_S1")
    assert [c["library_case_id"] for c in added["added"]] == ["DEMO0005_S1"]
    queried = _json(capsys, "collection", "add", "Teaching set", "--library", lib, "--query",
                    "pleural effusion", "--k", "2")
    assert len(queried["added"]) == 2
    assert all(any(k["label"] == "Pleural Effusion" and k["status"] == "positive" for k in c["known_findings"])
               for c in queried["added"])
    copied = _json(capsys, "collection", "add", "Teaching set", "--file", str(identified_film.path), "--anonymise")
    assert copied["added"][0]["film"]["anonymised"] is True and copied["collection"]["case_count"] == 4

    shown = _json(capsys, "collection", "show", "Teaching set")
    ids = [c["case_id"] for c in shown["cases"]]
    assert len(ids) == 4 and len(set(ids)) == 4 and ids[0] == added["added"][0]["case_id"]
    listed = _json(capsys, "collection", "list")
    assert [(c["name"], c["case_count"]) for c in listed["collections"]] == [("Teaching set", 4)]

    edited = _json(capsys, "collection", "edit", "Teaching set", "--case", ids[0], "--title", "Pneumothorax",
                   "--teaching-points", "Find the pleural line", "--tag", "pleura", "--difficulty", "easy")
    assert edited["teaching"]["title"] == "Pneumothorax" and edited["teaching"]["tags"] == ["pleura"]
    mark = _json(capsys, "collection", "annotate", "Teaching set", "--case", ids[0], "--kind", "arrow",
                 "--point", "20,30", "--point", "50,60", "--text", "line")
    assert mark["points"] == [[20.0, 30.0], [50.0, 60.0]]

    outputs = {}
    for fmt in ("html", "pptx", "zip"):
        result = _json(capsys, "collection", "export", "Teaching set", "--format", fmt,
                       "--out", str(tmp_path / f"set.{fmt}"))
        assert result["anonymised"] is True and result["cases"] == 4 and result["format"] == fmt
        outputs[fmt] = tmp_path / f"set.{fmt}"
    assert zipfile.is_zipfile(outputs["zip"]) and zipfile.is_zipfile(outputs["pptx"])
    assert "Find the pleural line" in outputs["html"].read_text(encoding="utf-8")
    assert run(["collection", "export", "Teaching set", "--format", "html", "--out",
                str(outputs["zip"] / "inside-a-file.html")]) == 1  # its folder is a file
    err = capsys.readouterr().err
    assert err.startswith("cxrviewer: ") and "Traceback" not in err and "set.zip" in err

    monkeypatch.setenv("CXRVIEWER_HOME", str(tmp_path / "another-workstation"))
    assert _json(capsys, "collection", "list")["collections"] == []
    imported = _json(capsys, "collection", "import", str(outputs["zip"]))
    assert imported["collection"]["name"] == "Teaching set" and imported["case_ids"] == ids
    again = _json(capsys, "collection", "show", "Teaching set")
    assert [c["teaching"] for c in again["cases"]] == [c["teaching"] | (
        {"title": "Pneumothorax", "teaching_points": "Find the pleural line", "tags": ["pleura"],
         "difficulty": "easy"} if n == 0 else {}) for n, c in enumerate(shown["cases"])]
    assert again["cases"][0]["annotations"] == [mark]


def test_quiz_on_a_collection_case_saves_the_attempt(demo_library, capsys, tmp_path):
    _json(capsys, "collection", "new", "Quiz")
    case_id = _json(capsys, "collection", "add", "Quiz", "--library", str(demo_library),
                    "--case", "DEMO0005_S1")["added"][0]["case_id"]
    verdict = _json(capsys, "quiz", "score", "--collection", "Quiz", "--case", case_id,
                    "moderate right pneumothorax", "--session", "s1")
    assert verdict["found"] == ["Pneumothorax"] and verdict["score"] == 1.0 and verdict["attempt"] >= 1
    assert verdict["differential"] and all(f["case_id"] != "DEMO0005_S1" for f in verdict["differential"])
    # a collection's case id is understood with --library alone too
    by_library = _json(capsys, "quiz", "score", "--library", str(demo_library), "--case", case_id,
                       "left pneumothorax")
    assert by_library["findings"][0]["side"] == "wrong"
    assert run(["quiz", "results", "--collection", "Quiz", "--out", str(tmp_path / "r.csv")]) == 0
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert rows[0].startswith("attempt,session,case") and len(rows) == 2
    assert ",s1," in rows[1] and "moderate right pneumothorax" in rows[1] and ",1.000," in rows[1]


@pytest.mark.parametrize("argv, message", [
    (["collection", "show", "Missing"], "no collection named 'Missing'"),
    (["collection", "add", "X"], "give one of --case"),
    (["collection", "export", "X", "--format", "html", "--out", "/tmp/x.html"], "no collection named 'X'"),
    (["collection", "import", "/nonexistent/archive.zip"], "not a readable archive"),
])
def test_errors_are_one_clear_line(argv, message, capsys):
    assert run(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_an_empty_collection_is_not_exported(capsys, tmp_path):
    _json(capsys, "collection", "new", "Empty")
    assert run(["collection", "export", "Empty", "--format", "zip", "--out", str(tmp_path / "e.zip")]) == 1
    assert "has no cases" in capsys.readouterr().err and not (tmp_path / "e.zip").exists()
    assert run(["collection", "new", "empty"]) == 1
    assert "already exists" in capsys.readouterr().err
