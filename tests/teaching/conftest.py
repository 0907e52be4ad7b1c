"""Teaching-file fixtures: a store in tmp_path, the demo library, and a film that identifies
its patient everywhere it can (header, report) so exports can be checked for leaks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from teaching_helpers import IdentifiedFilm, make_identified_film


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[object]:
    from cxrviewer.teaching.store import TeachingStore

    with TeachingStore(tmp_path / "teaching") as opened:
        yield opened


@pytest.fixture()
def library(demo_library: Path) -> Iterator[object]:
    from cxrviewer.library.library import Library

    with Library.open(demo_library) as opened:
        yield opened


@pytest.fixture()
def identified_film(tmp_path: Path) -> IdentifiedFilm:
    """A study folder with a DICOM film and a report that name the patient, with burned-in text."""
    return make_identified_film(tmp_path / "study-folder")
