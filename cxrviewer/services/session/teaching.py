"""The teaching collections as a part of the session: the store, its changes, and the jobs that
must not run on the window's thread (copying a film into a collection, reading a library,
decoding a case's film, scoring an answer, the differential strip, exports and imports).

Qt-free, like the rest of the session. The store is opened on first use (the window shows
before any teaching code loads). Edits made on the session's own thread (a field typed, an
annotation drawn: one small SQLite transaction each) are announced at once through
``events.changed``; edits made by a job are announced on the session's thread when they commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from cxrviewer.services.events import Event, Events
from cxrviewer.services.jobs import Jobs

if TYPE_CHECKING:
    from cxrviewer.services.executor import JobContext
    from cxrviewer.services.session import Session
    from cxrviewer.services.study import OpenedImage
    from cxrviewer.teaching.model import Case, Presentation
    from cxrviewer.teaching.quiz import Verdict
    from cxrviewer.teaching.store import Change, TeachingStore

DIFFERENTIAL_FILMS = 6
THUMB_SIZE = 160


class TeachingEvents(Events):
    changed: Event  # (store.Change) a committed edit
    message: Event  # (text) what a teaching job did, or why it could not


class CaseFilm:
    """A case's film decoded for a viewer, with where the report states each finding."""

    __slots__ = ("case", "evidence", "opened")

    def __init__(self, case: Case, opened: OpenedImage, evidence: dict[str, list[tuple[int, int]]]) -> None:
        self.case, self.opened, self.evidence = case, opened, evidence


class DifferentialTile:
    """One film of the differential strip: the library's film (``DifferentialFilm``) and a
    small uint8 thumbnail (None when the library has none)."""

    __slots__ = ("film", "pixels")

    def __init__(self, film: Any, pixels: Any) -> None:
        self.film, self.pixels = film, pixels


class TeachingSession:
    """The session's teaching part (``session.teaching``)."""

    def __init__(self, session: Session, folder: str | None = None) -> None:
        self._session = session
        self._folder = folder
        self._store: TeachingStore | None = None
        self._owner = threading.get_ident()
        self.events = TeachingEvents()
        workers = session.workers
        self.jobs = Jobs("cxrviewer-teaching", workers.post, workers.activity, workers.synchronous)

    @property
    def store(self) -> TeachingStore:
        """The teaching database (opened on first use; a TeachingError says why it cannot be)."""
        if self._store is None:
            from cxrviewer.teaching.store import TeachingStore

            self._store = TeachingStore(self._folder)
            self._store.subscribe(self._changed)
        return self._store

    def _changed(self, change: Change) -> None:
        if threading.get_ident() == self._owner:
            self.events.changed.emit(change)
        else:
            self._session.workers.post(lambda: self.events.changed.emit(change))

    def submit(self, fn: Callable[..., Any], *args: Any, channel: str, **callbacks: Any) -> None:
        """Run ``fn(context, *args)`` in the teaching worker; callbacks come back on this thread."""
        self.jobs.submit(fn, *args, channel=channel, supersede=False, **callbacks)

    def _failed(self, what: str) -> Callable[[BaseException], None]:
        return lambda exc: self.events.message.emit(f"{what}: {getattr(exc, 'reason', None) or exc}")

    # -- adding films ---------------------------------------------------------------------------

    def add_film_on_screen(self, collection_id: int, on_done: Callable[[list[Case]], None]) -> bool:
        """Add the viewer's film: its library case when it is one, else a copy of the file
        (anonymised when the Anonymise switch is on), with the view as its key image."""
        film = self._session.film
        if not film.path:
            self.events.message.emit("Open a film first: the film on screen is what is added.")
            return False
        case, source = film.library_case, film.library_case_source
        presentation = film.presentation
        if case is not None and case.image == film.path and source:
            self.submit(add_library_cases, self.store, collection_id, source, [case.case_id], presentation,
                        channel="add", on_done=on_done, on_error=self._failed("Not added"))
        else:
            self.submit(add_file, self.store, collection_id, film.path, self._session.anonymise, presentation,
                        channel="add", on_done=on_done, on_error=self._failed("Not added"))
        return True

    def add_library_cases(self, collection_id: int, library: str, case_ids: Sequence[str],
                          on_done: Callable[[list[Case]], None]) -> None:
        """Add gallery results (one tile, or the whole result set) in their order."""
        self.submit(add_library_cases, self.store, collection_id, library, list(case_ids), None,
                    channel="add", on_done=on_done, on_error=self._failed("Not added"))

    # -- a case's film, the quiz ------------------------------------------------------------------

    def load_case_film(self, case: Case, on_done: Callable[[CaseFilm], None],
                       on_error: Callable[[BaseException], None]) -> None:
        """Decode a case's film (in the image worker: films never wait behind an export)."""
        self._session.workers.image.submit(load_case_film, self.store, case, channel="teaching-film",
                                           on_done=on_done, on_error=on_error)

    def film_path(self, case: Case, on_done: Callable[[str], None]) -> None:
        """Where a case's film is now (a library may have to be asked)."""
        self.submit(case_film_path, self.store, case, channel="film-path", on_done=on_done,
                    on_error=self._failed("The film cannot be opened"))

    def answer(self, case_id: str, answer: str, session_id: str,
               on_done: Callable[[Verdict], None]) -> None:
        """Score a student's answer and save the attempt."""
        self.submit(answer_case, self.store, case_id, answer, session_id, channel="answer", on_done=on_done,
                    on_error=self._failed("The answer could not be scored"))

    def differential(self, case: Case, verdict: Verdict | None,
                     on_done: Callable[[list[DifferentialTile]], None]) -> bool:
        """Films similar to the case whose findings differ (False when no library can be asked)."""
        library = case.film.library if case.film.source == "library" else ""
        if not library and self._session.search.library is not None:
            library = self._session.search.library.path
        if not library:
            return False
        self._session.workers.gallery.submit(differential_tiles, library, case, verdict, channel="differential",
                                             on_done=on_done, on_error=self._failed("No differential"))
        return True

    # -- exports ----------------------------------------------------------------------------------

    def export(self, collection_id: int, fmt: str, out: str, on_done: Callable[[Any], None],
               on_progress: Callable[[float, float | None, str], None] | None = None) -> None:
        self.submit(export_collection, self.store, collection_id, fmt, out, channel="export", on_done=on_done,
                    on_progress=on_progress, on_error=self._failed("Export failed"))

    def import_archive(self, path: str, on_done: Callable[[tuple[int, list[str]]], None]) -> None:
        self.submit(import_archive, self.store, path, channel="import", on_done=on_done,
                    on_error=self._failed("Import failed"))

    def export_results(self, out: str, session_id: str, collection_id: int | None,
                       on_done: Callable[[Any], None]) -> None:
        self.submit(write_results, self.store, out, session_id, collection_id, channel="results",
                    on_done=on_done, on_error=self._failed("Results not written"))

    def shutdown(self) -> None:
        self.jobs.cancel_all()
        self.jobs.shutdown()
        if self._store is not None:
            self._store.close()


# -- the jobs (each runs in a worker; plain data in, plain data out) -------------------------------


def add_library_cases(context: JobContext, store: TeachingStore, collection_id: int, library_path: str,
                      case_ids: list[str], presentation: Presentation | None) -> list[Case]:
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.library.library import Library
    from cxrviewer.teaching import films
    from cxrviewer.teaching.model import TeachingError

    try:
        library = Library.open(library_path, check_index=False)
    except LibraryError as exc:
        raise TeachingError(f"the library cannot be read: {exc}") from None
    with library:
        return films.add_library_cases(store, collection_id, library, case_ids, presentation)


def add_file(context: JobContext, store: TeachingStore, collection_id: int, path: str, anonymise: bool,
             presentation: Presentation | None) -> list[Case]:
    from cxrviewer.teaching import films

    return [films.add_file(store, collection_id, path, anonymise, presentation)]


def case_film_path(context: JobContext, store: TeachingStore, case: Case) -> str:
    from cxrviewer.teaching.films import film_path

    return str(film_path(store, case))


def load_case_film(context: JobContext, store: TeachingStore, case: Case) -> CaseFilm:
    from cxrviewer.services.study import open_image
    from cxrviewer.teaching.films import film_path
    from cxrviewer.teaching.quiz import score_case

    opened = open_image(context, str(film_path(store, case)))
    return CaseFilm(case, opened, score_case(case, "").evidence if case.report.strip() else {})


def answer_case(context: JobContext, store: TeachingStore, case_id: str, answer: str, session_id: str) -> Verdict:
    from cxrviewer.teaching.quiz import answer_case as answer_and_save

    return answer_and_save(store, case_id, answer, session_id)[0]


def differential_tiles(context: JobContext, library_path: str, case: Case,
                       verdict: Verdict | None) -> list[DifferentialTile]:
    import io

    import numpy as np
    from PIL import Image

    from cxrviewer.library.library import Library
    from cxrviewer.teaching.differential import differential
    from cxrviewer.teaching.quiz import case_truth

    with Library.open(library_path, check_index=False) as library:
        films = differential(library, case_truth(case), case.report, DIFFERENTIAL_FILMS,
                             case.film.library_case_id, verdict)
        tiles = []
        for film in films:
            context.check()
            jpeg = library.thumbnail(film.case_id)
            pixels = None
            if jpeg:
                image = Image.open(io.BytesIO(jpeg)).convert("L")
                image.thumbnail((THUMB_SIZE, THUMB_SIZE))
                pixels = np.ascontiguousarray(np.asarray(image))
            tiles.append(DifferentialTile(film, pixels))
    return tiles


def export_collection(context: JobContext, store: TeachingStore, collection_id: int, fmt: str, out: str) -> Any:
    from cxrviewer.teaching.exports import export_collection as export

    return export(store, collection_id, fmt, out,
                  progress=lambda done, total: context.progress(done, total, f"Exporting case {done} of {total}"))


def import_archive(context: JobContext, store: TeachingStore, path: str) -> tuple[int, list[str]]:
    """Restore an archive as a new collection; named "NAME (2)" when this workstation has a NAME."""
    import json
    import zipfile

    from cxrviewer.teaching.archive import import_archive as restore

    name = ""
    try:
        with zipfile.ZipFile(path) as zf:
            name = str(json.loads(zf.read("manifest.json"))["collection"]["name"])
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile):
        pass  # the import itself says what is wrong with the file
    taken = {c.name.casefold() for c in store.collections()}
    free, n = name, 2
    while free and free.casefold() in taken:
        free, n = f"{name} ({n})", n + 1
    return restore(store, path, free)


def write_results(context: JobContext, store: TeachingStore, out: str, session_id: str,
                  collection_id: int | None) -> str:
    from cxrviewer.teaching.exports import write_results_csv

    return str(write_results_csv(store, out, session_id, collection_id))
