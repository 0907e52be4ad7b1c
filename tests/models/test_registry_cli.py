"""The registry as data, the ``models`` commands, and that listing models stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cxrviewer.cli import run
from cxrviewer.models import ModelError
from cxrviewer.models.registry import BUILTIN, all_specs, get_spec, imported_file, models_dir


def test_builtin_specs_are_complete() -> None:
    assert {"xrayclip", "xraysiglip", "biomedclip", "rad-dino"} <= set(BUILTIN)
    for spec in BUILTIN.values():
        assert spec.hub_id and spec.licence and len(spec.mean) == len(spec.std) == 3
        assert spec.local_path() == models_dir() / spec.name
    assert BUILTIN["rad-dino"].kind == "image" and not BUILTIN["rad-dino"].has_text
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        get_spec("nope")


def test_importing_registry_and_cli_does_not_import_torch() -> None:
    code = (
        "import sys, cxrviewer.models.registry, cxrviewer.models.cli, cxrviewer.models.encoders, cxrviewer.cli\n"
        "cxrviewer.cli.build_parser()\n"
        "heavy = [m for m in ('torch', 'transformers', 'timm', 'faiss') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def _list(capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert run(["models", "list", "--json"]) == 0
    return {row["name"]: row for row in json.loads(capsys.readouterr().out)["models"]}


def test_import_list_verify(tiny_models: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    rows = _list(capsys)
    assert rows["xrayclip"]["present"] is False
    assert run(["models", "import", str(tiny_models["hf_image"]), "--name", "tiny-dino"]) == 0
    assert "licence: mit" in capsys.readouterr().out
    row = _list(capsys)["tiny-dino"]
    assert row["present"] and row["source"] == "imported" and row["format"] == "hf_image"
    assert row["path"] == str(tiny_models["hf_image"].resolve())
    assert list(row["sha256"]) == ["model.safetensors"] and len(row["sha256"]["model.safetensors"]) == 64
    assert json.loads(imported_file().read_text())["models"][0]["name"] == "tiny-dino"
    assert run(["models", "verify", "tiny-dino"]) == 0
    assert "tiny-dino: OK (1 weight file(s) match" in capsys.readouterr().out
    assert run(["models", "list"]) == 0
    assert "tiny-dino" in capsys.readouterr().out
    from cxrviewer.models.encoders import load_encoder

    assert load_encoder("tiny-dino", device="cpu").spec.name == "tiny-dino"


def test_import_copy_then_damage(model_copy, capsys: pytest.CaptureFixture[str]) -> None:
    source = model_copy("cxrviewer")
    assert run(["models", "import", str(source), "--name", "ours", "--copy"]) == 0
    copied = models_dir() / "ours"
    spec = all_specs()["ours"]
    assert spec.folder == "ours" and spec.local_path() == copied and spec.licence == "CC0 test weights"
    assert set(dict(spec.sha256)) == {"image.safetensors", "heads.safetensors", "text/model.safetensors"}
    heads = copied / "heads.safetensors"
    data = bytearray(heads.read_bytes())
    data[-1] ^= 0xFF  # same size, flipped byte: only the hash notices
    heads.write_bytes(bytes(data))
    capsys.readouterr()
    assert run(["models", "verify", "ours"]) == 1
    err = capsys.readouterr().err
    assert "heads.safetensors has changed since import" in err and "Traceback" not in err
    image = copied / "image.safetensors"
    image.write_bytes(image.read_bytes()[:100])
    assert run(["models", "verify", "ours"]) == 1
    assert "image.safetensors is truncated" in capsys.readouterr().err


def test_import_errors_are_clean(model_copy, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["models", "import", str(tmp_path / "missing")]) == 1
    assert "no such model folder" in capsys.readouterr().err
    folder = model_copy("clip")
    assert run(["models", "import", str(folder), "--name", "xrayclip"]) == 1
    assert "already exists" in capsys.readouterr().err
    (folder / "model.safetensors").write_bytes((folder / "model.safetensors").read_bytes()[:-10])
    assert run(["models", "import", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "model.safetensors is truncated" in err and str(folder) in err
    assert not imported_file().exists()


def test_corrupt_imported_list_is_reported_not_replaced(capsys: pytest.CaptureFixture[str]) -> None:
    imported_file().parent.mkdir(parents=True)
    imported_file().write_text("{oops")
    assert run(["models", "list"]) == 1
    assert "imported-models list" in capsys.readouterr().err
    assert imported_file().read_text() == "{oops"


def test_verify_and_download_messages(tiny_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    import huggingface_hub

    assert run(["models", "verify", "rad-dino"]) == 1
    assert "cxrviewer models download rad-dino" in capsys.readouterr().err

    def offline(**kwargs: object) -> str:
        raise OSError("offline mode is enabled")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    assert run(["models", "download", "rad-dino"]) == 1
    err = capsys.readouterr().err
    assert "could not download microsoft/rad-dino" in err and "models import" in err

    def fake(repo_id: str, local_dir: str, **kwargs: object) -> str:
        shutil.copytree(tiny_models["hf_image"], local_dir)
        return local_dir

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    assert run(["models", "download", "rad-dino"]) == 0
    assert _list(capsys)["rad-dino"]["present"] is True
    assert run(["models", "verify", "rad-dino"]) == 0
    assert "no hashes recorded" in capsys.readouterr().out


def test_json_of_list_import_and_verify(tiny_models: dict[str, Path], model_copy,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    rows = _list(capsys)
    for row in rows.values():  # every model carries its card and licence
        assert row["licence"] and row["card"]["domain"] in ("chest-radiograph", "synthetic-demo")
    assert rows["demo-clip"]["card"]["domain"] == "synthetic-demo"
    assert rows["rad-dino"]["card"]["training_data"][:2] == ["MIMIC-CXR", "CheXpert"]
    capsys.readouterr()
    assert run(["models", "import", str(tiny_models["clip"]), "--name", "tiny", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["imported"]
    assert (row["name"], row["action"], row["format"], row["source"]) == ("tiny", "recorded", "clip", "imported")
    assert row["card"]["validation"] is None and row["from"] == str(tiny_models["clip"].resolve())
    assert run(["models", "verify", "tiny", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["has_text"] is True and result["hashes_checked"] == 1
    broken = model_copy("hf_image")
    assert run(["models", "import", str(broken), "--name", "broken"]) == 0
    (broken / "model.safetensors").write_bytes(b"\x00" * 8)
    capsys.readouterr()
    assert run(["models", "verify", "broken", "--json"]) == 1
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["ok"] is False and "model.safetensors" in result["problem"] and "Traceback" not in captured.err


def test_a_damaged_card_is_reported_in_the_list(model_copy, capsys: pytest.CaptureFixture[str]) -> None:
    source = model_copy("hf_image")
    assert run(["models", "import", str(source), "--name", "carded", "--copy"]) == 0
    (models_dir() / "carded" / "card.json").write_text("{oops")
    row = _list(capsys)["carded"]
    assert row["card"] is None and "card.json" in row["card_error"]
