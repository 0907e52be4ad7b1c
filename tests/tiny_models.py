"""Tiny random models in every supported format, written to a folder (reusable by other tests).

Each builder writes exactly what a real checkpoint folder holds (config, safetensors weights,
tokenizer files, preprocessor config), from scratch with no downloads, so tests load them through
the same code paths as real weights. Models are seeded: the same call gives the same weights.

It sits at the top of tests/ (on sys.path through tests/conftest.py), so any test folder can
``from tiny_models import build_clip``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]
WORDS = ("no acute cardiopulmonary process . small left pleural effusion , right lower lobe "
         "opacity consolidation pneumonia the heart is enlarged normal lungs clear pneumothorax "
         "edema atelectasis of and with without mild moderate severe").split()
IMAGE_SIZE = 32
EMBED_DIM = 16


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(keep, (chr(c) for c in chars)))


def _tokenizer_config(folder: Path, tokenizer_class: str, max_length: int, **extra: Any) -> None:
    # from_pretrained on plain vocab files works the same in transformers 4.x and 5.x
    config = {"tokenizer_class": tokenizer_class, "model_max_length": max_length, **extra}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")


def write_clip_tokenizer(folder: Path, max_length: int = 16) -> Any:
    """A byte-level BPE CLIPTokenizer with a few merges (any text tokenises, byte by byte)."""
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    base = list(_bytes_to_unicode().values())
    vocab_list = base + [c + "</w>" for c in base]
    merges = [("t", "h"), ("th", "e</w>"), ("l", "u"), ("lu", "n"), ("lun", "g</w>"), ("e", "d</w>")]
    vocab_list += ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(vocab_list))}
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n",
                                       encoding="utf-8")
    _tokenizer_config(folder, "CLIPTokenizer", max_length, bos_token="<|startoftext|>",
                      eos_token="<|endoftext|>", pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    tokenizer = CLIPTokenizer.from_pretrained(folder, local_files_only=True)
    tokenizer.save_pretrained(folder)
    return tokenizer


def write_bert_tokenizer(folder: Path, max_length: int = 32) -> Any:
    """A word-piece BertTokenizer over a small radiology vocabulary."""
    from transformers import BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(WORDS)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    _tokenizer_config(folder, "BertTokenizer", max_length, do_lower_case=True)
    tokenizer = BertTokenizer.from_pretrained(folder, local_files_only=True)
    tokenizer.save_pretrained(folder)
    return tokenizer


def _preprocessor(folder: Path, mean: list[float], std: list[float], size: int = IMAGE_SIZE) -> None:
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "crop_size": {"height": size, "width": size}, "do_center_crop": True, "do_normalize": True,
        "do_resize": True, "image_mean": mean, "image_std": std, "size": {"shortest_edge": size},
    }), encoding="utf-8")


def _small(**extra: Any) -> dict[str, Any]:
    return dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, **extra)


def build_clip(folder: Path, seed: int = 0) -> Path:
    """A transformers CLIPModel folder (16-d embeddings, 32 px input) with its tokenizer."""
    import torch
    from transformers import CLIPConfig, CLIPModel

    tokenizer = write_clip_tokenizer(folder)
    ids = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id)
    config = CLIPConfig(
        text_config=_small(vocab_size=len(tokenizer), max_position_embeddings=16, **ids),
        vision_config=_small(image_size=IMAGE_SIZE, patch_size=8),
        projection_dim=EMBED_DIM,
    )
    torch.manual_seed(seed)
    CLIPModel(config).save_pretrained(folder)
    _preprocessor(folder, OPENAI_MEAN, OPENAI_STD)
    return folder


def build_siglip(folder: Path, seed: int = 0) -> Path:
    """A transformers SiglipModel folder (32-d embeddings) with a word-piece tokenizer."""
    import torch
    from transformers import SiglipConfig, SiglipModel

    tokenizer = write_bert_tokenizer(folder, max_length=16)
    config = SiglipConfig(
        text_config=_small(vocab_size=len(tokenizer), max_position_embeddings=16,
                           pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.cls_token_id,
                           eos_token_id=tokenizer.sep_token_id),
        vision_config=_small(image_size=IMAGE_SIZE, patch_size=8),
    )
    torch.manual_seed(seed)
    SiglipModel(config).save_pretrained(folder)
    _preprocessor(folder, [0.5] * 3, [0.5] * 3)
    return folder


def build_dinov2(folder: Path, seed: int = 0) -> Path:
    """An image-only Dinov2Model folder, like microsoft/rad-dino but 32-d at 32 px."""
    import torch
    from transformers import Dinov2Config, Dinov2Model

    config = Dinov2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, mlp_ratio=2,
                          patch_size=8, image_size=IMAGE_SIZE)
    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    Dinov2Model(config).save_pretrained(folder)
    _preprocessor(folder, [0.5307] * 3, [0.2583] * 3)
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# tiny rad-dino\n", encoding="utf-8")
    return folder


def build_cxrviewer(folder: Path, seed: int = 0, with_text: bool = True) -> Path:
    """Our own format: a one-block timm ViT, a one-layer BERT text tower and linear heads."""
    import timm
    import torch
    from transformers import BertConfig, BertModel

    from cxrviewer.models.cxrformat import save_cxrviewer_encoder

    torch.manual_seed(seed)
    timm_kwargs = dict(img_size=IMAGE_SIZE, patch_size=8, embed_dim=32, depth=1, num_heads=2)
    tower = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=0, **timm_kwargs)
    heads: dict[str, Any] = {"image_proj.weight": torch.randn(EMBED_DIM, 32) * 0.2,
                             "logit_scale": torch.tensor(math.log(1 / 0.07))}
    text_model = tokenizer = None
    if with_text:
        tokenizer = write_bert_tokenizer(folder.parent / f".{folder.name}-tokenizer")
        text_model = BertModel(BertConfig(vocab_size=len(tokenizer), max_position_embeddings=32,
                                          **_small()))
        heads["text_proj.weight"] = torch.randn(EMBED_DIM, 32) * 0.2
    config = {
        "image": {"timm_name": "vit_tiny_patch16_224", "timm_kwargs": timm_kwargs, "input_size": IMAGE_SIZE,
                  "mean": [0.5] * 3, "std": [0.25] * 3, "in_chans": 3},
        "text": {"pooling": "mean", "max_length": 32},
        "licence": "CC0 test weights",
    }
    return save_cxrviewer_encoder(folder, tower, text_model, tokenizer, heads, config)


BUILDERS = {"clip": build_clip, "siglip": build_siglip, "hf_image": build_dinov2, "cxrviewer": build_cxrviewer}


def build_cxrviewer_cnn(folder: Path, seed: int = 0) -> Path:
    """Our own format with a convolutional tower (timm resnet10t, 64 px: a 4 x 4 last stage)."""
    import timm
    import torch
    from transformers import BertConfig, BertModel

    from cxrviewer.models.cxrformat import save_cxrviewer_encoder

    torch.manual_seed(seed)
    timm_kwargs = dict(output_stride=16)
    tower = timm.create_model("resnet10t", pretrained=False, num_classes=0, **timm_kwargs)
    tokenizer = write_bert_tokenizer(folder.parent / f".{folder.name}-tokenizer")
    text_model = BertModel(BertConfig(vocab_size=len(tokenizer), max_position_embeddings=32, **_small()))
    heads: dict[str, Any] = {"image_proj.weight": torch.randn(EMBED_DIM, tower.num_features) * 0.05,
                             "text_proj.weight": torch.randn(EMBED_DIM, 32) * 0.2,
                             "logit_scale": torch.tensor(math.log(1 / 0.07))}
    config = {
        "image": {"timm_name": "resnet10t", "timm_kwargs": timm_kwargs, "input_size": 64,
                  "mean": [0.5] * 3, "std": [0.25] * 3, "in_chans": 3},
        "text": {"pooling": "mean", "max_length": 32},
        "licence": "CC0 test weights",
    }
    return save_cxrviewer_encoder(folder, tower, text_model, tokenizer, heads, config)
