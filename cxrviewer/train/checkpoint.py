"""Checkpoints written atomically (temp file + ``os.replace``) and read without unpickling code.

A checkpoint holds everything a run needs to continue exactly where it stopped: model,
optimizer, scheduler and grad-scaler states, the step/epoch/batch counters, RNG states, the
metric history and the early-stopping record. ``torch.load(weights_only=True)`` reads it back,
so a checkpoint file can never run code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"


def save_atomic(obj: Any, path: Path) -> None:
    """torch.save to a temp file beside ``path``, fsync, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load(path: Path) -> dict[str, Any]:
    """A checkpoint dict, on the CPU; ValueError naming the file when it cannot be read."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, foreign pickle, ...
        raise ValueError(f"checkpoint {path} cannot be read ({type(exc).__name__}: {exc})") from exc


def load_to_resume(path: Path, settings: dict[str, Any], rename_hint: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` when it was made with these ``settings`` (those a run cannot
    change and still resume); None when there is none (a fresh start). A ValueError names the
    settings that differ, since resuming with them would silently train another model."""
    if not path.is_file():
        return None
    data = load(path)
    changed = [k for k in settings if data["config"].get(k) != settings[k]]
    if changed:
        raise ValueError(f"checkpoint {path} was made with other settings ({', '.join(changed)}); "
                         f"use the same settings to resume, or {rename_hint}")
    return data


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
