"""``cxrviewer eval pointing`` on the demo library, with a tiny text model."""

from __future__ import annotations

import json

from tiny_models import build_clip

from cxrviewer.cli import run


def test_eval_pointing_reports_hit_rate_per_finding(demo_library, tmp_path, capsys):
    model = build_clip(tmp_path / "clip")
    code = run(["eval", "pointing", "--library", str(demo_library), "--model", str(model),
                "--cases", "6", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_cases"] == 6 and report["n_maps"] > 0 and report["method"] == "attention"
    for r in report["findings"].values():
        assert r["target"] == "text" and 0.0 <= r["hit_rate"] <= 1.0 and r["n"] >= 1
        assert 0.0 <= r["centre_baseline"] <= 1.0
    assert run(["eval", "pointing", "--library", str(demo_library), "--model", str(model), "--cases", "2",
                "--method", "ig"]) == 0
    assert "hit rate" in capsys.readouterr().out


def test_eval_pointing_user_errors(demo_library, tmp_path, capsys):
    assert run(["eval", "pointing", "--library", str(tmp_path / "none")]) == 1
    assert run(["eval", "pointing", "--library", str(demo_library)]) == 1  # a label-route library has no encoder
    assert "cxrviewer:" in capsys.readouterr().err
