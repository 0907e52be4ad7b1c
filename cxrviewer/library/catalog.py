"""Where libraries live and how a name finds one; the demo library made on first use.

Libraries are folders under ``<user data>/libraries/<name>`` unless the user built one
elsewhere (any folder with a manifest can be opened by path).
"""

from __future__ import annotations

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
    the first time (resuming if a previous first start was interrupted)."""
    from cxrviewer.library.build import BuildOptions, build_library

    folder = libraries_dir() / DEMO_NAME
    try:
        if read_manifest(folder).state == "ready":
            return folder
    except LibraryError:
        if (folder / MANIFEST_NAME).exists():
            raise
    report = progress or (lambda stage, done, total: None)
    data = demo_data_dir()
    if not (data / "demo_cases.jsonl").exists():
        from cxrviewer.datasets.demo import write_demo

        write_demo(data, n_cases=n_cases, progress=lambda done, total: report("generating", done, total))
    build_library(BuildOptions("demo", data, folder, name=DEMO_NAME, synthetic=True, encoder=demo_encoder()),
                  progress=lambda p: report("building", p.done, p.total))
    return folder


def demo_encoder() -> str:
    """The shipped demo model when its weights are there (a source checkout or the bundle), so
    the demo has an embedding route and saliency with nothing downloaded; "" otherwise."""
    from cxrviewer.models.registry import all_specs, weights_present

    spec = all_specs().get(DEMO_MODEL)
    return DEMO_MODEL if spec is not None and weights_present(spec) else ""
