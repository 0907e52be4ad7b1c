"""A text-only transformers folder (a BERT) is not an image encoder: import refuses it, and
verify of one recorded by an older release says so instead of printing a traceback."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from cxrviewer.cli import run
from cxrviewer.models.registry import EncoderSpec, imported_file, record_import


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BertModel folder as `save_pretrained` writes it (config, weights, vocabulary)."""
    import torch
    from tiny_models import write_bert_tokenizer
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("text-only") / "tiny-bert"
    tokenizer = write_bert_tokenizer(folder)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=32)).save_pretrained(folder)
    return folder


def test_import_refuses_a_text_only_folder(bert_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["models", "import", str(bert_folder), "--name", "bert"]) == 1
    err = capsys.readouterr().err
    assert "text-only" in err and "'bert'" in err and "no image tower" in err
    assert f"train contrastive --text-encoder {bert_folder}" in err and "Traceback" not in err
    assert not imported_file().exists()


def test_verify_of_a_recorded_text_only_folder_is_a_message(bert_folder: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # what `models import` of a BERT folder recorded before it was refused
    spec = EncoderSpec(name="old-bert", kind="image", format="hf_image", architecture="bert", input_size=224,
                       mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), embed_dim=32, licence="unknown",
                       folder=str(bert_folder), source="path")
    record_import(dataclasses.replace(spec))
    assert run(["models", "verify", "old-bert"]) == 1
    err = capsys.readouterr().err
    assert "old-bert" in err and "text-only" in err and "Traceback" not in err


def test_verify_reports_an_encoding_failure_without_a_traceback(tiny_models: dict[str, Path],
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from cxrviewer.models.backends import HFImageEncoder

    assert run(["models", "import", str(tiny_models["hf_image"]), "--name", "dino"]) == 0

    def broken(self, pixels):  # a library error deep inside the forward pass
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(HFImageEncoder, "_image_features", broken)
    capsys.readouterr()
    assert run(["models", "verify", "dino"]) == 1
    err = capsys.readouterr().err
    assert "dino" in err and "cannot encode" in err and "mat1 and mat2" in err and "Traceback" not in err
