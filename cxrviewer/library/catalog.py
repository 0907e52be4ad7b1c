"""Where libraries live and how a name finds one; the demo library made on first use.

Libraries are folders under ``<user data>/libraries/<name>`` unless the user built one
elsewhere (any folder with a manifest can be opened by path).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cxrviewer import paths
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.manifest import MANIFEST_NAME, Manifest, read_manifest

DEMO_NAME = "demo"
DEMO_MODEL = "demo-clip"
DEMO_CASES = 400
SYNTHETIC_LABEL = "synthetic demo data"


def libraries_dir() -> Path:
    return paths.data_dir() / "libraries"


def demo_data_dir() -> Path:
    return paths.data_dir() / "demo-data"


@dataclass(frozen=True)
class LibraryEntry:
    name: str
    path: Path
    manifest: Manifest | None
    error: str = ""


def list_libraries() -> list[LibraryEntry]:
    """Every library folder under the user data folder, readable or not (with the reason)."""
    root = libraries_dir()
    entries: list[LibraryEntry] = []
    if not root.is_dir():
        return entries
    for folder in sorted(p for p in root.iterdir() if (p / MANIFEST_NAME).exists()):
        try:
            entries.append(LibraryEntry(folder.name, folder, read_manifest(folder)))
        except LibraryError as exc:
            entries.append(LibraryEntry(folder.name, folder, None, exc.reason))
    return entries


def resolve(name_or_path: str | None) -> Path:
    """The folder of a library given by path or by name (the demo when none is given)."""
    if not name_or_path:
        return libraries_dir() / DEMO_NAME
    as_path = Path(name_or_path).expanduser()
    if (as_path / MANIFEST_NAME).exists() or as_path.is_absolute() or name_or_path.startswith("."):
        return as_path
    return libraries_dir() / name_or_path


def default_out(name: str) -> Path:
    return libraries_dir() / name


def ensure_demo(progress: Callable[[str, int, int], None] | None = None,
                n_cases: int = DEMO_CASES) -> Path:
    """The demo library's folder, generating the synthetic dataset and building the library
    the first time (resuming if a previous first start was interrupted).

    A demo library built with other demo weights (an older release's model) is rebuilt: its
    vectors would not match the shipped model's queries. It is synthetic and regenerable, so the
    new one is built beside it and swapped in."""
    from cxrviewer.library.build import BuildOptions, build_library

    folder = libraries_dir() / DEMO_NAME
    encoder = demo_encoder()
    target = folder
    try:
        manifest = read_manifest(folder)
        if manifest.state == "ready":
            if _built_with_current_demo_model(manifest, encoder):
                return folder
            target = libraries_dir() / f".{DEMO_NAME}-rebuild"
            if target.exists() and not _is_resumable(target, encoder):
                shutil.rmtree(target)
    except LibraryError:
        if (folder / MANIFEST_NAME).exists():
            raise
    report = progress or (lambda stage, done, total: None)
    data = demo_data_dir()
    if not (data / "demo_cases.jsonl").exists():
        from cxrviewer.demo import write_demo

        write_demo(data, n_cases=n_cases, progress=lambda done, total: report("generating", done, total))
    build_library(BuildOptions("demo", data, target, name=DEMO_NAME, synthetic=True, encoder=encoder),
                  progress=lambda p: report("building", p.done, p.total))
    if target != folder:  # swap the rebuilt library in; an interruption here leaves no demo, rebuilt next time
        retired = libraries_dir() / f".{DEMO_NAME}-retired"
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(folder, retired)
        os.replace(target, folder)
        shutil.rmtree(retired, ignore_errors=True)
    return folder


def _built_with_current_demo_model(manifest: Manifest, encoder: str) -> bool:
    if not encoder:  # no demo weights in this install: whatever was built stays
        return True
    if manifest.route != encoder:
        return False
    from cxrviewer.models import ModelError
    from cxrviewer.models.registry import get_spec, weights_fingerprint

    built_with = manifest.preprocessing.get("encoder", {}).get("fingerprint")
    try:
        return built_with == weights_fingerprint(get_spec(encoder).local_path())
    except ModelError:
        return True  # unreadable weights: the search reports that, a rebuild would not help


def _is_resumable(folder: Path, encoder: str) -> bool:
    """An interrupted rebuild for the same model is resumed rather than started again."""
    try:
        manifest = read_manifest(folder)
    except LibraryError:
        return False
    return manifest.state == "building" and _built_with_current_demo_model(manifest, encoder)


def demo_encoder() -> str:
    """The shipped demo model when its weights are there (a source checkout or the bundle), so
    the demo has an embedding route and saliency with nothing downloaded; "" otherwise."""
    from cxrviewer.models.registry import all_specs, weights_present

    spec = all_specs().get(DEMO_MODEL)
    return DEMO_MODEL if spec is not None and weights_present(spec) else ""
