"""Shard files of a distributed build: the prepared films of a slice of the cases, kept on disk
until every slice is done and the library is merged from them (``library.ray_build``).

A shard is an ``.npz`` archive (no pickles): the thumbnails as one byte array with offsets,
their sizes, the encoder's vectors, and a JSON header with the case ids, the unusable images'
reasons and the finding details. Its name is a hash of what it was made from (the build's
settings and its case ids), so a rerun knows a finished shard by its name alone, and a zip
member's CRC makes a damaged file fail to load rather than give other pixels.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.library.prepare import PreparedImage, PrepareJob

SHARD_FORMAT = "cxrviewer-shard"
SHARD_VERSION = 1
SHARD_SUFFIX = ".npz"

Job = PrepareJob  # prepare.prepare_image's job


class ShardError(Exception):
    """A shard file is missing, damaged or from another build."""


@dataclass(frozen=True)
class ShardPlan:
    """A slice of the build's cases: what a task prepares and a shard file holds."""

    key: str  # also the file's stem
    case_ids: tuple[str, ...]
    jobs: tuple[Job, ...]

    @property
    def file_name(self) -> str:
        return f"shard-{self.key}{SHARD_SUFFIX}"


@dataclass(frozen=True)
class Shard:
    """The prepared films of one shard, in case order. ``vectors`` holds one row per usable
    film (those without an error), ``model_inputs`` the encoder's inputs until it ran."""

    key: str
    case_ids: tuple[str, ...]
    images: tuple[PreparedImage, ...]  # jpeg, size, error and details; model_input dropped
    vectors: np.ndarray | None = None
    model_inputs: np.ndarray | None = None
    fingerprint: str = ""  # the encoder weights' identity (models.registry.weights_fingerprint)

    @property
    def usable(self) -> int:
        return sum(1 for image in self.images if not image.error)

    def with_vectors(self, vectors: np.ndarray, fingerprint: str) -> Shard:
        return replace(self, vectors=np.ascontiguousarray(vectors, np.float32), model_inputs=None,
                       fingerprint=fingerprint)


def plan_shards(case_ids: Sequence[str], jobs: Sequence[Job], size: int, settings: dict[str, Any]
                ) -> list[ShardPlan]:
    """Consecutive slices of ``size`` cases, each keyed by ``settings`` and its case ids (the
    same cases built the same way give the same keys in every run)."""
    head = json.dumps(settings, sort_keys=True)
    plans = []
    for start in range(0, len(case_ids), max(1, size)):
        ids = tuple(case_ids[start:start + size])
        digest = hashlib.sha256(head.encode())
        for case_id in ids:
            digest.update(b"\0" + case_id.encode())
        plans.append(ShardPlan(digest.hexdigest()[:24], ids, tuple(jobs[start:start + size])))
    return plans


def prepared_shard(plan: ShardPlan, images: Sequence[PreparedImage]) -> Shard:
    """The shard of ``plan`` from its prepared images, the encoder's inputs stacked."""
    inputs = [image.model_input for image in images if not image.error and image.model_input is not None]
    stacked = np.stack(inputs) if inputs else None
    kept = tuple(replace(image, model_input=None) for image in images)
    return Shard(plan.key, plan.case_ids, kept, model_inputs=stacked)


def to_bytes(shard: Shard) -> bytes:
    jpegs = [image.jpeg for image in shard.images]
    offsets = np.cumsum([0, *(len(j) for j in jpegs)], dtype=np.int64)
    header = {"format": SHARD_FORMAT, "version": SHARD_VERSION, "key": shard.key,
              "case_ids": list(shard.case_ids), "fingerprint": shard.fingerprint,
              "errors": [image.error for image in shard.images],
              "details": [[list(d) for d in image.details] for image in shard.images]}
    arrays: dict[str, np.ndarray] = {
        "header": np.frombuffer(json.dumps(header).encode(), np.uint8),
        "thumbs": np.frombuffer(b"".join(jpegs), np.uint8), "offsets": offsets,
        "sizes": np.asarray([image.size for image in shard.images], np.int32).reshape(-1, 2)}
    if shard.vectors is not None:
        arrays["vectors"] = shard.vectors
    if shard.model_inputs is not None:
        arrays["model_inputs"] = shard.model_inputs
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub: **arrays might fill allow_pickle
    return buffer.getvalue()


def from_bytes(data: bytes) -> Shard:
    """A shard read back; anything that is not a whole shard of this version is a ShardError."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        header = json.loads(arrays["header"].tobytes().decode())
        if header.get("format") != SHARD_FORMAT or header.get("version") != SHARD_VERSION:
            raise ShardError(f"not a version {SHARD_VERSION} shard")
        thumbs, offsets, sizes = arrays["thumbs"].tobytes(), arrays["offsets"], arrays["sizes"]
        images = tuple(
            PreparedImage(thumbs[offsets[i]:offsets[i + 1]], (int(sizes[i][0]), int(sizes[i][1])), error,
                          None, tuple((d[0], d[1], d[2]) for d in details))
            for i, (error, details) in enumerate(zip(header["errors"], header["details"])))
        shard = Shard(header["key"], tuple(header["case_ids"]), images, arrays.get("vectors"),
                      arrays.get("model_inputs"), header.get("fingerprint", ""))
    except ShardError:
        raise
    except (OSError, ValueError, KeyError, IndexError, TypeError, zipfile.BadZipFile, EOFError) as exc:
        raise ShardError(f"damaged shard ({type(exc).__name__}: {exc})") from None
    if len(shard.images) != len(shard.case_ids) or (
            shard.vectors is not None and len(shard.vectors) != shard.usable):
        raise ShardError("the shard's parts do not agree in length")
    return shard


def read_shard(path: Path, plan: ShardPlan) -> Shard:
    """The finished shard of ``plan`` in ``path``, checked to be that plan's."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ShardError(f"{path}: {exc.strerror or exc}") from None
    shard = from_bytes(data)
    if shard.key != plan.key or shard.case_ids != plan.case_ids:
        raise ShardError(f"{path}: the shard holds other cases than its name says")
    return shard


def finished(path: Path, plan: ShardPlan) -> bool:
    try:
        read_shard(path, plan)
    except ShardError:
        return False
    return True
