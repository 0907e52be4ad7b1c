"""An open case library and its search API, shared by the GUI's worker and the command line.

Search takes a ``SearchRequest`` (text or a case id, filters, k, route) and returns plain
frozen data, so the result can cross threads as it is.

An open library follows its folder: when a build has made a new version (``versions``), the
next search, case or thumbnail opens it (one ``stat`` of ``manifest.json`` per call), and the
files of the version it leaves are only closed, never written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.library import label_route as LR
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.filters import Filters, RowFilter
from cxrviewer.library.locations import ImageLocator
from cxrviewer.library.manifest import LABEL_ROUTE, Manifest, read_manifest
from cxrviewer.library.model_route import ModelRoute
from cxrviewer.library.search_types import Hit, SearchRequest, SearchResult
from cxrviewer.library.store import CaseRow, Store
from cxrviewer.library.versions import current_store_path, manifest_stamp

__all__ = ["Filters", "Hit", "Library", "SearchRequest", "SearchResult", "current_store_path"]


class Library(ModelRoute):
    """A library folder opened for searching (the model route's part: ``model_route``). Use from
    one thread at a time."""

    def __init__(self, folder: Path, manifest: Manifest, store: Store,
                 encoder_loader: Callable[[str], Any] | None = None,
                 stamp: tuple[int, int, int] | None = None) -> None:
        self.folder = folder
        self.manifest = manifest
        self.store = store
        self.image_path = ImageLocator(folder, manifest.sources)  # stored path -> where the film is now
        store.image_path = self.image_path
        self._encoder_loader = encoder_loader
        self._route_refusal: str | None = None
        self._encoder: Any = None
        self._label_models: dict[str, Any] = {}
        # the manifest file's stamp when ``manifest`` was read (refresh compares with it)
        self._manifest_stamp = stamp or manifest_stamp(folder)
        self._use_version(manifest, store)

    def _use_version(self, manifest: Manifest, store: Store) -> None:
        """Search ``store`` and the index ``manifest`` names (loaded on first use)."""
        self.manifest = manifest
        self.store = store
        store.image_path = self.image_path
        self._label_index: Any = None
        self._row_filter: RowFilter | None = None
        self._index: Any = None
        patterns = store.patterns()
        self._patterns = [p for p, _ in patterns]
        self._pattern_counts = np.array([n for _, n in patterns], np.int64)

    @classmethod
    def open(cls, folder: str | Path, encoder_loader: Callable[[str], Any] | None = None,
             check_index: bool = True) -> Library:
        """Open a finished library, checking its index file (hash, size) unless told not to;
        the encoder loads on the first search that needs it (``encoder_loader`` maps a model
        name to an encoder, for tests)."""
        folder = Path(folder)
        stamp = manifest_stamp(folder)  # before reading: a newer manifest is then followed
        manifest = read_manifest(folder)
        if manifest.state != "ready":
            raise LibraryError(folder, "the library's build did not finish; run the same "
                                       "`cxrviewer library build` again to resume it")
        if manifest.route != LABEL_ROUTE and manifest.index is None:
            raise LibraryError(folder / "manifest.json", "the manifest names no index file")
        store = Store(folder / manifest.store, read_only=True)
        try:
            library = cls(folder, manifest, store, encoder_loader, stamp)
        except BaseException:
            store.close()
            raise
        if check_index and manifest.index is not None:
            try:
                _ = library.index  # hashed and mapped now: a damaged file is said at open
            except LibraryError:
                library.close()
                raise
        return library

    def close(self) -> None:
        self.store.close()

    def refresh(self) -> bool:
        """Move to the version of the library its manifest names now, if a build made a new one
        since this library was opened or refreshed (True then). A manifest of an unfinished
        build (a repair) is not followed: this version stays open until it is finished."""
        stamp = manifest_stamp(self.folder)
        if stamp == self._manifest_stamp:
            return False
        manifest = read_manifest(self.folder)
        if manifest.state != "ready" or (manifest.route, manifest.dim) != (self.manifest.route, self.manifest.dim):
            return False
        if (manifest.store, manifest.index) == (self.manifest.store, self.manifest.index):
            self.manifest, self._manifest_stamp = manifest, stamp
            return False
        store = Store(self.folder / manifest.store, read_only=True)
        old = (self.manifest, self.store, self.image_path)
        try:
            self.image_path = ImageLocator(self.folder, manifest.sources)
            self._use_version(manifest, store)
            if manifest.index is not None:
                _ = self.index
        except BaseException:  # the version open before stays in use
            store.close()
            self.image_path = old[2]
            self._use_version(old[0], old[1])
            raise
        old[1].close()
        self._manifest_stamp = stamp
        return True

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def count(self) -> int:
        return int(self._pattern_counts.sum())

    def routes(self) -> tuple[str, ...]:
        """The findings route, after the model route when the library's model may rank its films."""
        if self.manifest.route == LABEL_ROUTE or self.route_refusal():
            return (LABEL_ROUTE,)
        return (self.manifest.route, LABEL_ROUTE)

    # -- search ----------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        self.refresh()
        if request.k < 1:  # the routes would each read it their own way: -5 as "all but five"
            raise LibraryError(self.folder, f"the number of hits must be at least 1, not {request.k}")
        if request.route not in self.routes():
            if request.route == self.manifest.route and self.route_refusal():
                raise LibraryError(self.folder, f"the model route is switched off in this library: "
                                                f"{self.route_refusal()}s; use the findings route")
            raise LibraryError(self.folder, f"route {request.route!r} is not available in this "
                                            f"library (it has: {', '.join(self.routes())})")
        if request.route != LABEL_ROUTE:
            return self._embedding_search(request, started)
        filters = request.filters
        if request.image is not None:
            query = self._predicted_query(request)
        elif request.case_id:
            query, study = self._case_query(request.case_id)
            filters = Filters(**{**filters.__dict__,
                                 "exclude_studies": (*filters.exclude_studies, study)})
        else:
            query = LR.query_from_text(request.text)
        if query.is_empty:
            return SearchResult((), LABEL_ROUTE, {}, time.perf_counter() - started, 0,
                                "no findings recognised in the query (try e.g. \"mild "
                                "cardiomegaly, small left effusion\" or \"normal chest\")")
        hits, candidates = self._label_hits(query, filters, request.k)
        return SearchResult(tuple(hits), LABEL_ROUTE, dict(query.statuses),
                            time.perf_counter() - started, candidates)

    def _case_query(self, case_id: str) -> tuple[LR.LabelQuery, str]:
        (case,) = self.store.cases([self._row(case_id)])
        return LR.query_from_findings(case.findings, case.details, case.impression), case.study_id

    def _label_hits(self, query: LR.LabelQuery, filters: Filters, k: int) -> tuple[list[Hit], int]:
        """Rank by findings (see :mod:`.label_route`) over the library's arrays
        (:class:`.label_index.LabelIndex`, built on the first query of this open library)."""
        ranked = self.label_index().rank(query, k, self.allowed_rows(filters))
        cases = self.store.cases([int(r) for r in ranked.rows])
        return [Hit(n, round(int(t) / 1e9, 9), case, float(d), float(o))
                for n, (t, d, o, case) in enumerate(zip(ranked.totals, ranked.details, ranked.overlaps, cases), 1)
                ], ranked.candidates

    def allowed_rows(self, filters: Filters) -> np.ndarray | None:
        """The rows ``filters`` keep (ascending), None when they keep all; the filter columns
        are loaded on the first filtered search of this version (see filters.RowFilter)."""
        if not filters.sql()[0]:
            return None
        if self._row_filter is None:
            self._row_filter = RowFilter(self.store)
        return self._row_filter.rows(filters)

    def label_index(self) -> Any:
        """The findings route's arrays over this library (loaded once; see label_index)."""
        if self._label_index is None:
            from cxrviewer.library.label_index import LabelIndex

            self._label_index = LabelIndex(self.store)
        return self._label_index

    def _row(self, case_id: str) -> int:
        row = self.store.row_of(case_id)
        if row is None:
            raise LibraryError(self.folder, f"no case {case_id!r} in this library")
        return row

    # -- cases -----------------------------------------------------------------------------

    def case(self, case_id: str) -> CaseRow:
        self.refresh()
        row = self.store.row_of(case_id)
        if row is None:
            raise LibraryError(self.folder, f"no case {case_id!r} in this library")
        return self.store.cases([row])[0]

    def case_for_image(self, path: str) -> CaseRow | None:
        """The case of the film at ``path`` (a file opened from the dataset's folder rather than
        from a search), or None when this library does not hold it. Its ``image`` is ``path``."""
        self.refresh()
        rows = self.store.rows_of_images(self.image_path.stored_forms(path))
        return replace(self.store.cases(rows[:1])[0], image=path) if rows else None

    def thumbnail(self, case_id: str) -> bytes | None:
        self.refresh()
        row = self.store.row_of(case_id)
        return None if row is None else self.store.thumbnail(row)

    def info(self) -> dict[str, Any]:
        m = self.manifest
        return {
            "name": m.name, "path": str(self.folder), "route": m.route, "dim": m.dim,
            "synthetic": m.synthetic, "state": m.state, "sources": list(m.sources),
            "counts": self.store.counts(), "splits": self.store.split_counts(),
            "findings": self.store.label_counts(), "created": m.created, "updated": m.updated,
            "format_version": m.file_version(), "store": m.store,
            "index": None if m.index is None else {"file": m.index.file, "kind": m.index.kind,
                                                   "count": m.index.count},
        }


