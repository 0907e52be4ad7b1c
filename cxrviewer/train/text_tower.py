"""A new small text tower: a WordPiece tokenizer trained on the library's reports + a small BERT.

For libraries whose language no local pretrained model covers (and for the shipped demo
model), a tokenizer fitted to the reports' own vocabulary and a few-layer BERT trained from
scratch by the contrastive loss is enough: report language is narrow and repetitive.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def train_wordpiece(texts: Iterable[str], vocab_size: int = 2000, max_length: int = 64) -> Any:
    """A lower-casing WordPiece tokenizer (BERT layout) fitted to ``texts``, as a transformers
    fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast  # type: ignore[attr-defined]  # exported lazily: unseen by mypy

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                        min_frequency=1, show_progress=False)
    tokenizer.train_from_iterator(list(texts), trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tokenizer.decoder = decoders.WordPiece()
    return BertTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                             cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                             model_max_length=max_length)


def write_text_tower(folder: Path, texts: Iterable[str], *, layers: int = 2, hidden: int = 128,
                     heads: int = 2, vocab_size: int = 2000, max_length: int = 64, seed: int = 0) -> Path:
    """Save a randomly initialised BERT with a tokenizer fitted to ``texts`` (``save_pretrained``
    layout, loadable with AutoModel/AutoTokenizer and so usable as ``--text-encoder``)."""
    import torch
    from transformers import BertConfig, BertModel

    tokenizer = train_wordpiece(texts, vocab_size, max_length)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=hidden * 4,
                        max_position_embeddings=max_length, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def library_texts(library: Path, splits: tuple[str, ...] = ("train",)) -> list[str]:
    """Report texts (impression, else findings) of the library's ``splits``: what a tokenizer
    is fitted to. Only the training split by default, so validation words stay unseen."""
    from cxrviewer.library.library import Library
    from cxrviewer.train.data import report_text

    with Library.open(library, check_index=False) as lib:
        marks = ", ".join("?" * len(splits))
        rows = lib.store.db.execute(
            f"SELECT impression, findings_text FROM cases WHERE split IN ({marks})", splits).fetchall()
    return [t for t in (report_text(i, f) for i, f in rows) if t]
