"""Weight files that are Python pickles: what they name, read without running them, and the one
load that ``cxrviewer models import --trust`` does before converting them to safetensors.

Unpickling a file runs whatever callables it names, so cxrviewer never unpickles at run time:
published checkpoints that only exist as pickles (torchxrayvision's ``.pt``, CheXzero's, an
open_clip ``.bin``) are read once, at an import the user confirmed with ``--trust``, and then
loaded from safetensors. Even then torch's restricted ``weights_only`` unpickler is used, with an
explicit allowlist of classes where a file holds whole modules. :func:`inspect_pickle` reads the opcodes
with :mod:`pickletools`, which parses and executes nothing, to say what a file names before the
user decides. Standard library only at import time.
"""

from __future__ import annotations

import io
import pickle
import pickletools
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

from cxrviewer.models.errors import ModelError

PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl")
LEGACY_PICKLES = 5  # torch's pre-1.6 format: magic, protocol, sys info, the object, storage keys
_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}
_MAX_STRINGS = 100_000


@dataclass(frozen=True)
class PickleContents:
    """What a pickle names: the callables it would import (``module.name``) and its string
    constants (a state dict's keys among them)."""

    globals: tuple[str, ...]
    strings: frozenset[str]
    archive: bool  # torch's zip format (else the legacy one or a bare pickle)

    def has_keys(self, *keys: str) -> bool:
        return all(key in self.strings for key in keys)


def _scan(stream: IO[bytes], names: set[str], strings: set[str]) -> None:
    """One pickle's opcodes: GLOBAL / STACK_GLOBAL targets and string constants (memo followed
    so a STACK_GLOBAL built from memoised strings is still named)."""
    memo: dict[int, Any] = {}
    recent: list[Any] = []
    last: Any = None
    arg: Any  # the opcode's argument: an int for the memo opcodes, text for strings and globals
    for opcode, arg, _ in pickletools.genops(stream):
        value: Any = None
        if opcode.name in _STRING_OPS:
            value = arg.decode("latin-1") if isinstance(arg, bytes) else arg
            if len(strings) < _MAX_STRINGS:
                strings.add(value)
        elif opcode.name == "GLOBAL":
            names.add(str(arg).replace(" ", "."))
        elif opcode.name == "STACK_GLOBAL" and len(recent) >= 2:
            names.add(f"{recent[-2]}.{recent[-1]}")
        elif opcode.name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(arg)] = last
        elif opcode.name == "MEMOIZE":
            memo[len(memo)] = last
        elif opcode.name in ("BINGET", "LONG_BINGET", "GET"):
            value = memo.get(int(arg))
        if isinstance(value, str):
            recent = [*recent[-1:], value]
        if opcode.name not in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
            last = value


def inspect_pickle(path: Path) -> PickleContents:
    """What ``path`` (a torch checkpoint or a bare pickle) names, without unpickling it.

    Raises
    ------
    ModelError
        The file cannot be read or is not a pickle at all.
    """
    names: set[str] = set()
    strings: set[str] = set()
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                inner = [n for n in archive.namelist() if n.endswith("data.pkl")]
                if not inner:
                    raise ModelError(f"{path} is a zip archive without a pickle (not a torch checkpoint)")
                _scan(io.BytesIO(archive.read(inner[0])), names, strings)
            return PickleContents(tuple(sorted(names)), frozenset(strings), True)
        with path.open("rb") as handle:
            for count in range(LEGACY_PICKLES):
                try:
                    _scan(handle, names, strings)
                except (ValueError, EOFError) as exc:
                    if count == 0:
                        raise ModelError(f"{path} is not a pickle ({exc})") from None
                    break
    except OSError as exc:
        raise ModelError(f"{path} cannot be read ({exc.strerror or exc})") from None
    except zipfile.BadZipFile as exc:
        raise ModelError(f"{path} is a damaged zip archive ({exc})") from None
    return PickleContents(tuple(sorted(names)), frozenset(strings), False)


def refusal(path: Path, origin: str, contents: PickleContents | None, target: Path) -> str:
    """Why ``models import`` stops before a pickle, and what ``--trust`` would do."""
    named = [n for n in (contents.globals if contents else ()) if not n.startswith(("torch._utils.", "collections."))]
    shown = sorted(named, key=lambda n: (n.startswith(("torch.", "__builtin__.", "builtins.")), n))  # its own first
    names = f" (it names {', '.join(shown[:8])}{', ...' if len(shown) > 8 else ''})" if shown else ""
    return (f"{path} is a Python pickle: loading a pickle can run any code it names{names}. "
            f"{origin}. cxrviewer reads it once, with an unpickler restricted to tensors (and, for a pickled "
            f"model, the classes it is made of), converts it to "
            f"safetensors in {target} and never unpickles it again. If you trust where the file came "
            f"from, run the import again with --trust")


# What any torch checkpoint is made of besides its own classes: tensors, parameters, dicts, sets.
BASE_GLOBALS = frozenset({
    "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
    "collections.OrderedDict", "builtins.set", "__builtin__.set",
})


def _allowlisted_pickle_module(allowed: frozenset[str]) -> Any:
    """A stand-in for the ``pickle`` module whose Unpickler finds only ``allowed`` globals
    ("module.name"); torch's loader resolves storages itself before asking it."""

    class AllowlistUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if f"{module}.{name}" not in allowed:
                raise pickle.UnpicklingError(f"it names {module}.{name}, which is not on the allowlist")
            return super().find_class(module, name)

    def load(file: Any, **kwargs: Any) -> Any:
        return AllowlistUnpickler(file, **kwargs).load()

    return SimpleNamespace(__name__="cxrviewer_allowlist_pickle", Unpickler=AllowlistUnpickler, load=load)


def trusted_load(path: Path, classes: Sequence[str] = (), what: str = "") -> tuple[Any, str]:
    """Unpickle ``path`` once, at a --trust import; returns (object, how it was read).

    Without ``classes`` the file must be a plain state dict and torch's ``weights_only``
    unpickler reads it. With ``classes`` (the "module.Class" names a pickled model is made of:
    torchxrayvision's DenseNet files hold whole modules, in torch's legacy format that
    ``weights_only`` cannot read) an unpickler that finds only those classes, tensors and
    containers reads it: a file naming anything else is refused, so even a trusted file runs no
    code but those classes' own.

    Raises
    ------
    ModelError
        The file is damaged, or names something outside what it may hold (``what`` says what).
    """
    import torch

    try:
        if not classes:
            return torch.load(str(path), map_location="cpu", weights_only=True), "torch's weights_only unpickler"
        module = _allowlisted_pickle_module(BASE_GLOBALS | frozenset(classes))
        loaded = torch.load(str(path), map_location="cpu", weights_only=False, pickle_module=module)
        return loaded, f"an unpickler that admits only the {len(classes)} classes {what or 'it holds'} is made of"
    except pickle.UnpicklingError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        found = next((line for line in lines if "allowlist" in line or "GLOBAL" in line), lines[-1] if lines else "")
        holds = f"more than {what} is made of" if classes else "more than tensors: it is not a plain state dict"
        raise ModelError(f"{path} holds {holds} ({found[:300]}); cxrviewer does not unpickle it") from None
    except (RuntimeError, EOFError, OSError, ValueError, AttributeError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{path} cannot be read as a torch checkpoint ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
