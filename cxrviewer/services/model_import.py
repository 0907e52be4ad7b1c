"""Importing a model for the GUI: ``cxrviewer models import`` in a child process.

A model file may be a pickle (torchxrayvision's and CheXzero's weights are), and unpickling runs
whatever code the file holds. The window asks the user first; the import then runs in a process of
its own (the window starts it with QProcess), so even a file the user wrongly trusted cannot touch
the window's memory, and a crash or a hang in it ends only that process. The command's ``--json``
output and its ``cxrviewer: reason`` line on failure are the contract read here.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl")


@dataclass(frozen=True)
class ImportOutcome:
    ok: bool
    name: str = ""
    message: str = ""


def needs_trust(path: str) -> bool:
    """Whether importing ``path`` unpickles: a weight file in a pickle format, or a folder with
    one and no safetensors (the importer then converts it once)."""
    from pathlib import Path

    target = Path(path)
    if target.is_file():
        return target.suffix.lower() in PICKLE_SUFFIXES
    try:
        names = [p.name.lower() for p in target.rglob("*") if p.is_file()]
    except OSError:
        return False
    return any(n.endswith(PICKLE_SUFFIXES) for n in names) and not any(n.endswith(".safetensors") for n in names)


def command(path: str, name: str = "", trust: bool = False) -> list[str]:
    """The import command line for this install (the frozen bundle is its own interpreter)."""
    base = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "cxrviewer"]
    args = ["models", "import", path, "--copy", "--json"]
    if name:
        args += ["--name", name]
    if trust:
        args.append("--trust")
    return base + args


def outcome(exit_code: int, stdout: str, stderr: str, path: str) -> ImportOutcome:
    """What an import command's exit status and output mean for the user."""
    if exit_code == 0:
        try:
            data = json.loads(stdout)
        except ValueError:
            data = {}
        model = str(data.get("name", "")) if isinstance(data, dict) else ""
        return ImportOutcome(True, model, f"imported {model or path}")
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    reason = lines[-1].removeprefix("cxrviewer: ") if lines else f"exit status {exit_code}"
    return ImportOutcome(False, message=reason)
