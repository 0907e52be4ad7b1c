"""``cxrviewer labels`` and inputs that must never raise."""

from __future__ import annotations

import json
import random

import pytest

from cxrviewer.cli import run
from cxrviewer.reports import labels as L
from cxrviewer.reports.labeler import label_text


def test_labels_json(capsys: pytest.CaptureFixture[str]) -> None:
    text = "No pneumothorax. Small left effusion."
    assert run(["labels", text, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    by_label = {f["label"]: f for f in out["findings"]}
    assert by_label["Pneumothorax"]["status"] == "negative"
    assert by_label["Pleural Effusion"]["status"] == "positive"
    a, b = by_label["Pleural Effusion"]["spans"][0]
    assert text[a:b] == "effusion" and by_label["Pleural Effusion"]["laterality"] == "left"
    assert out["chexpert"]["Pneumothorax"] == 0.0 and out["chexpert"]["Pleural Effusion"] == 1.0


def test_labels_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["labels", "Possible right lower lobe pneumonia."]) == 0
    out = capsys.readouterr().out
    assert "Pneumonia" in out and "uncertain" in out and "[" in out
    assert run(["labels", ""]) == 0
    assert "no findings" in capsys.readouterr().out


def test_command_is_registered() -> None:
    from cxrviewer.cli import command_names

    assert {"labels", "eval"} <= command_names()


def _garbage() -> str:
    rng = random.Random(3)
    return bytes(rng.randrange(256) for _ in range(50_000)).decode("latin-1")


BAD_INPUTS = {
    "empty": "",
    "whitespace": " \n\t\r\n  ",
    "garbage bytes": _garbage(),
    "utf8 garbage": bytes(range(256)).decode("utf-8", errors="replace") * 100,
    "non-English": "Kein Pleuraerguss. Herz normal groß. 心脏大小正常，未见胸腔积液。",
    "100k a": "a" * 100_000,
    "100k dots": "." * 100_000,
    "100k no": "no " * 33_334,
    "100k colon": "Findings:" * 11_112,
    "100k newlines": "\n " * 50_000,
    "surrogates": "\ud800 effusion \udfff",
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_never_raises(name: str) -> None:
    result = label_text(BAD_INPUTS[name])
    assert isinstance(result.to_chexpert_dict(), dict)
    if name in ("empty", "whitespace"):
        assert result.findings == ()


def test_non_text_input() -> None:
    assert label_text(None).findings == ()  # type: ignore[arg-type]
    assert label_text(b"no effusion").findings == ()  # type: ignore[arg-type]


def test_one_megabyte_report_gives_a_full_result() -> None:
    chunk = "Mild cardiomegaly. No pleural effusion or pneumothorax.\n"
    text = chunk * (1_000_000 // len(chunk) + 1)
    result = label_text(text)
    assert result.status_of(L.CARDIOMEGALY) == "positive"
    assert result.status_of(L.PLEURAL_EFFUSION) == "negative"
    assert len(result.finding(L.CARDIOMEGALY).spans) > 10_000  # type: ignore[union-attr]
