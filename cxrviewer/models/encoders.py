"""Load an encoder and turn images and report text into L2-normalised embeddings.

Heavy: torch, transformers and timm are imported inside functions, so importing this module is
cheap, but calling :func:`load_encoder` is not; the services worker does it once, off the GUI
thread. Weights are read from local folders only (the hub is switched off before transformers
is imported); :mod:`cxrviewer.models.cli` ``download`` is the one place that goes online.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.models.card import ModelCard
from cxrviewer.models.errors import ModelError
from cxrviewer.models.formats import check_folder, detect_format, spec_from_folder
from cxrviewer.models.preprocess import ImageInput, as_float16, as_image_list, l2_normalise, prepare_batch
from cxrviewer.models.registry import EncoderSpec, all_specs, model_card

__all__ = ["Encoder", "ModelError", "as_float16", "load_encoder", "resolve_device"]

Progress = Callable[[int, int], None]


def go_offline() -> None:
    """Make transformers and huggingface_hub refuse the network (they read these at import)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def resolve_device(device: str | None = None) -> Any:
    """The torch device to run on: as asked, else CUDA, else Apple MPS, else the CPU."""
    import torch

    if device:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_label(device: Any) -> str:
    """A name to show the user: the GPU's model, "Apple GPU (MPS)" or "CPU"."""
    import torch

    if device.type == "cuda":
        return str(torch.cuda.get_device_name(device))
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return "CPU"


class Encoder:
    """A loaded model that embeds images (and, for joint models, text) into one space.

    Subclasses implement ``_image_features`` / ``_text_features`` on ready tensors; this class
    owns batching, preprocessing, inference mode, mixed precision on CUDA and normalisation.

    Attributes
    ----------
    spec : EncoderSpec
        What was loaded, with the preprocessing and size the folder itself declares.
    embed_dim : int
        Length of every embedding.
    device_name : str
        "CPU", "Apple GPU (MPS)" or the CUDA device's name, for the status bar and benchmarks.
    text_precision : str
        "float32", or "int8" for a large text tower on the CPU (:mod:`cxrviewer.models.quantize`).
    logit_scale : float or None
        exp(logit_scale) of a contrastive model (for zero-shot scoring), else None.
    label_names : tuple of str
        Findings that :meth:`predict_labels` scores (empty when the model has no label head).
    """

    in_chans = 3
    label_names: tuple[str, ...] = ()
    text_precision = "float32"
    card: ModelCard  # set by load_encoder: which films its numbers may be shown for
    _label_head: Any = None

    def __init__(self, spec: EncoderSpec, device: Any) -> None:
        self.spec = spec
        self.device = device
        self.device_name = device_label(device)
        self.embed_dim = spec.embed_dim
        self.logit_scale: float | None = None

    # --- subclass hooks -------------------------------------------------------------------
    def _image_features(self, pixels: Any) -> Any:
        raise NotImplementedError

    def _text_features(self, texts: list[str]) -> Any:
        raise NotImplementedError

    def _text_parts(self) -> list[tuple[Any, str]]:
        """(owner, attribute) of each module only the text path runs, for int8 on the CPU."""
        return []

    def prepare_images(self, images: Sequence[np.ndarray]) -> Any:
        """Films -> the model's input, a float32 CPU tensor (n, in_chans, size, size).

        The one place pixels become input: :meth:`encode_images`, :meth:`predict_labels` and
        the saliency methods (:mod:`cxrviewer.explain`) all call it, so a format whose models were
        trained on their own value range and geometry (torchxrayvision) overrides it here. The
        default scales each film to [0, 1] from its own range, squashes it to the square input
        and normalises with the spec's mean/std (:func:`~cxrviewer.models.preprocess.prepare_batch`).
        """
        return prepare_batch(list(images), self.spec.input_size, self.spec.mean, self.spec.std, self.in_chans)

    # --- public API -----------------------------------------------------------------------
    @property
    def has_text(self) -> bool:
        return self.spec.has_text

    def encode_images(self, images: ImageInput, batch_size: int = 32, dtype: Any = np.float32,
                      progress: Progress | None = None) -> np.ndarray:
        """Embed 2-D images (any numeric dtype; uint8 taken as windowed) -> (n, d), unit rows.

        Parameters
        ----------
        images
            A list of (H, W) or (H, W, C) arrays of any sizes, or one (n, H, W[, C]) array.
        batch_size
            Images per forward pass; bounds memory, not results.
        dtype
            ``np.float32`` (default) or ``np.float16`` for compact storage.
        progress
            Called with (done, total) after each batch.
        """
        if not self.spec.has_image:
            raise ModelError(f"model {self.spec.name!r} has no image tower")
        items = as_image_list(images)
        chunks = []
        for start in range(0, len(items), max(1, batch_size)):
            batch = self.prepare_images(items[start:start + batch_size])
            with self._running():
                features = self._image_features(batch.to(self.device))
            chunks.append(features.float().cpu().numpy())
            if progress is not None:
                progress(min(start + batch_size, len(items)), len(items))
        return self._finish(chunks, dtype)

    def predict_labels(self, images: ImageInput, batch_size: int = 32, logits: bool = False) -> np.ndarray:
        """Finding probabilities (n, len(label_names)) from the model's label head (its logits
        with ``logits=True``, which calibration fits on).

        The head reads the image embedding before normalisation, so it shares the search
        representation; only cxrviewer-format models trained with labels have one.
        """
        if self._label_head is None:
            raise ModelError(f"model {self.spec.name!r} has no label head")
        import torch

        items = as_image_list(images)
        chunks = [np.zeros((0, len(self.label_names)), np.float32)]
        for start in range(0, len(items), max(1, batch_size)):
            batch = self.prepare_images(items[start:start + batch_size])
            with self._running():
                scores = self._label_head(self._image_features(batch.to(self.device)).float())
            chunks.append((scores if logits else torch.sigmoid(scores)).float().cpu().numpy())
        return np.concatenate(chunks)

    def encode_texts(self, texts: Sequence[str], batch_size: int = 64, dtype: Any = np.float32) -> np.ndarray:
        """Embed report sentences or queries -> (n, d), unit rows; long text is truncated."""
        if not self.spec.has_text:
            raise ModelError(f"model {self.spec.name!r}: this model has no text tower (it searches by image only)")
        if isinstance(texts, str):
            texts = [texts]
        texts = [str(t) for t in texts]
        chunks = []
        for start in range(0, len(texts), max(1, batch_size)):
            with self._running():
                features = self._text_features(texts[start:start + batch_size])
            chunks.append(features.float().cpu().numpy())
        return self._finish(chunks, dtype)

    # --- helpers --------------------------------------------------------------------------
    def _finish(self, chunks: list[np.ndarray], dtype: Any) -> np.ndarray:
        if not chunks:
            return np.zeros((0, self.embed_dim), dtype=dtype)
        return l2_normalise(np.concatenate(chunks)).astype(dtype, copy=False)

    @contextlib.contextmanager
    def _running(self) -> Iterator[None]:
        import torch

        with torch.inference_mode():
            if self.device.type == "cuda":
                half = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
                with torch.autocast("cuda", dtype=half):
                    yield
            else:
                yield

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec.name} d={self.embed_dim} on {self.device_name}>"


def resolve_spec(spec_or_path: EncoderSpec | str | os.PathLike[str]) -> EncoderSpec:
    """A spec from a spec, a registered name, or a model folder path."""
    if isinstance(spec_or_path, EncoderSpec):
        return spec_or_path
    text = os.fspath(spec_or_path)
    if not isinstance(spec_or_path, Path):
        specs = all_specs()
        if text in specs:
            return specs[text]
    path = Path(text)
    if path.is_dir():
        return spec_from_folder(path)
    raise ModelError(f"{text!r} is neither a registered model nor a model folder")


def _folder_spec(spec: EncoderSpec, folder: Path) -> EncoderSpec:
    """The spec, with size and preprocessing taken from the folder's own configs."""
    if not folder.is_dir():
        hint = f"; run `cxrviewer models download {spec.name}`" if spec.hub_id else ""
        raise ModelError(f"model {spec.name!r}: folder {folder} does not exist{hint}")
    found = detect_format(folder)
    if found != spec.format:
        raise ModelError(f"model folder {folder} holds a {found} model, but {spec.name!r} expects {spec.format}")
    check_folder(folder, spec.format)
    declared = spec_from_folder(folder, name=spec.name, licence=spec.licence, fmt=spec.format)
    return dataclasses.replace(spec, kind=declared.kind, input_size=declared.input_size, mean=declared.mean,
                               std=declared.std, embed_dim=declared.embed_dim, film_fit=declared.film_fit)


def load_encoder(spec_or_path: EncoderSpec | str | os.PathLike[str], device: str | None = None,
                 text_int8: bool | None = None) -> Encoder:
    """Load an encoder from local files.

    Parameters
    ----------
    spec_or_path
        An :class:`EncoderSpec`, a registered model name, or a model folder.
    device
        "cpu", "cuda", "cuda:1", "mps"; None picks CUDA, then MPS, then the CPU.
    text_int8
        Int8 Linear layers in the text tower; None decides (on the CPU, for large towers):
        see :mod:`cxrviewer.models.quantize`.

    Raises
    ------
    ModelError
        The folder is missing, incomplete, corrupt or not the expected format; the message names
        the folder and the file.
    """
    spec = resolve_spec(spec_or_path)
    folder = spec.local_path()
    spec = _folder_spec(spec, folder)
    go_offline()
    from cxrviewer.models import backends

    factory = backends.BACKENDS[spec.format]
    try:
        torch_device = resolve_device(device)
        encoder = factory(spec, folder, torch_device)
        if spec.format == "cxrviewer":
            _attach_label_head(encoder, folder)
        _maybe_int8_text(encoder, text_int8)
        encoder.card = model_card(spec)
        return encoder
    except ModelError:
        raise
    except Exception as exc:  # a library's own error while reading a folder we already checked
        raise ModelError(f"model folder {folder}: cannot load the {spec.format} model "
                         f"({type(exc).__name__}: {exc})") from exc


def _maybe_int8_text(encoder: Encoder, requested: bool | None) -> None:
    from cxrviewer.models import quantize

    parts = encoder._text_parts()
    modules = [getattr(owner, name) for owner, name in parts]
    if parts and quantize.wants_int8(encoder.device, modules, requested) and quantize.quantize_parts(parts):
        encoder.text_precision = "int8"


def _attach_label_head(encoder: Encoder, folder: Path) -> None:
    """Give a cxrviewer-format encoder its optional label head (labels.safetensors)."""
    import torch

    from cxrviewer.models.cxrformat import load_label_head

    found = load_label_head(folder)
    if found is None:
        return
    names, tensors = found
    weight, bias = tensors["label_head.weight"], tensors.get("label_head.bias")
    head = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        head.weight.copy_(weight)
        if bias is not None:
            head.bias.copy_(bias)
    encoder._label_head = head.eval().to(encoder.device)
    encoder.label_names = tuple(names)
