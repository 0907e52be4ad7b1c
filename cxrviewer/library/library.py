"""An open case library and its search API, shared by the GUI's worker and the command line.

Search takes a ``SearchRequest`` (text or a case id, filters, k, route) and returns plain
frozen data, so the result can cross threads as it is.

An open library follows its folder: when a build has made a new version (``versions``), the
next search, case or thumbnail opens it (one ``stat`` of ``manifest.json`` per call), and the
files of the version it leaves are only closed, never written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.library import label_route as LR
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.locations import ImageLocator
from cxrviewer.library.manifest import LABEL_ROUTE, Manifest, read_manifest
from cxrviewer.library.filters import Filters, RowFilter
from cxrviewer.library.store import CaseRow, Store
from cxrviewer.library.versions import current_store_path, manifest_stamp

__all__ = ["Filters", "Hit", "Library", "SearchRequest", "SearchResult", "current_store_path"]


@dataclass(frozen=True)
class SearchRequest:
    """What to search for: text, a library case, a film's pixels, or pixels and text combined
    (``image_weight`` of the image, the rest of the text; embedding routes only)."""

    text: str = ""
    case_id: str = ""
    k: int = 10
    filters: Filters = field(default_factory=Filters)
    route: str = LABEL_ROUTE
    image: Any = field(default=None, compare=False, repr=False)  # 2-D/3-D array, ideally windowed uint8
    image_weight: float = 0.5
    label_model: str = ""  # label route from pixels: the finding model that reads the film
    image_synthetic: bool = False  # the query film carries the synthetic demo mark (see models.card)


@dataclass(frozen=True)
class Hit:
    """One result. ``agreement`` and ``overlap`` are the tie-breakers of the label route."""

    rank: int
    score: float
    case: CaseRow
    agreement: float = 0.0
    overlap: float = 0.0

    def to_json(self) -> dict[str, Any]:
        c = self.case
        return {
            "rank": self.rank, "case_id": c.case_id, "score": round(self.score, 6),
            "findings": c.findings, "impression": c.impression,
            "view": c.view, "sex": c.sex, "age": c.age, "split": c.split, "dataset": c.dataset,
            "patient_id": c.patient_id, "study_id": c.study_id, "image": c.image,
            "tie_break": {"detail_agreement": round(self.agreement, 6),
                          "text_overlap": round(self.overlap, 6)},
        }


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[Hit, ...]
    route: str
    query_findings: dict[str, str]
    seconds: float
    candidates: int = 0
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage (embedding route)

    def to_json(self) -> dict[str, Any]:
        return {"route": self.route, "query_findings": self.query_findings,
                "seconds": round(self.seconds, 6), "candidates": self.candidates,
                "message": self.message, "hits": [h.to_json() for h in self.hits]}


class Library:
    """A library folder opened for searching. Use from one thread at a time."""

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
                library.index
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
                self.index
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

    def route_refusal(self) -> str:
        """Why the library's model must not rank its films ("" when it may): a model made only
        from synthetic demo films, in a library of real films (built before models had cards)."""
        if self._route_refusal is None:
            self._route_refusal = ""
            if self.manifest.route != LABEL_ROUTE:
                from cxrviewer.models import ModelError
                from cxrviewer.models.classify import film_domain
                from cxrviewer.models.registry import model_card

                try:
                    card = model_card(self.encoder_spec())
                except (ModelError, LibraryError):
                    return ""  # an unreadable model: searching it reports that
                self._route_refusal = card.refusal(film_domain(self.manifest.synthetic), self.manifest.route)
        return self._route_refusal

    def encoder_spec(self) -> Any:
        """The route model's spec, from the registry or the folder recorded at build (no torch)."""
        from cxrviewer.models import ModelError
        from cxrviewer.models.encoders import resolve_spec

        path = self.manifest.preprocessing.get("encoder", {}).get("path", "")
        try:
            return resolve_spec(self.manifest.route)
        except ModelError:
            if path and os.path.isdir(path):
                return resolve_spec(Path(path))
            raise

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
                                 "exclude_studies": filters.exclude_studies + (study,)})
        else:
            query = LR.query_from_text(request.text)
        if query.is_empty:
            return SearchResult((), LABEL_ROUTE, {}, time.perf_counter() - started, 0,
                                "no findings recognised in the query (try e.g. \"mild "
                                "cardiomegaly, small left effusion\" or \"normal chest\")")
        hits, candidates = self._label_hits(query, filters, request.k)
        return SearchResult(tuple(hits), LABEL_ROUTE, dict(query.statuses),
                            time.perf_counter() - started, candidates)

    def label_model(self, name: str = "") -> Any:
        """A model with a finding head: ``name``, else this library's encoder when it has one."""
        if not name:
            if self.manifest.route != LABEL_ROUTE and getattr(self.encoder, "label_names", ()):
                return self.encoder
            raise LibraryError(self.folder, "the findings route reads a film's pixels only with a "
                                            "finding model; name one (e.g. demo-clip)")
        if name not in self._label_models:
            model = self._load_encoder(name, "")
            if not getattr(model, "label_names", ()):
                raise LibraryError(self.folder, f"model {name!r} has no finding head")
            self._label_models[name] = model
        return self._label_models[name]

    def _predicted_query(self, request: SearchRequest) -> LR.LabelQuery:
        """The findings a label model reads from the film: probable ones (p >= 0.5) as present,
        possible ones (p >= 0.25) as uncertain; nothing is asserted absent."""
        model = self.label_model(request.label_model)
        self._check_reads(model, request.image_synthetic)
        pixels = _as_input(request.image, model.spec)
        probabilities = model.predict_labels([pixels])[0]
        statuses = {label: ("positive" if p >= 0.5 else "uncertain")
                    for label, p in zip(model.label_names, probabilities) if p >= 0.25}
        if not any(s == "positive" for s in statuses.values()):
            statuses.setdefault("No Finding", "positive")
        return LR.query_from_findings(statuses)

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

    # -- embedding route -------------------------------------------------------------------

    @property
    def encoder(self) -> Any:
        """The route's encoder, loaded on first use (imports torch: call from the worker)."""
        if self._encoder is None:
            info = self.manifest.preprocessing.get("encoder", {})
            encoder = self._load_encoder(self.manifest.route, info.get("path", ""))
            self._check_weights(encoder, info.get("fingerprint", ""))
            self._encoder = encoder
        return self._encoder

    def _check_weights(self, encoder: Any, built_with: str) -> None:
        """Refuse weights other than those the library was built with: their query vectors would
        be compared with stored vectors of another model and rank films wrongly, with no error.
        (Libraries from before fingerprints were recorded are not checked.)"""
        spec = getattr(encoder, "spec", None)
        if not built_with or spec is None:
            return
        from cxrviewer.models import ModelError
        from cxrviewer.models.registry import weights_fingerprint

        folder = spec.local_path()
        try:
            found = weights_fingerprint(folder)
        except ModelError as exc:
            raise LibraryError(self.folder, f"this library's encoder cannot be checked: {exc}") from None
        if found != built_with:
            raise LibraryError(self.folder, f"the weights of encoder {self.manifest.route!r} in {folder} are not "
                                            f"the ones this library was built with (they were changed or "
                                            f"replaced), so its stored vectors would not match the queries; "
                                            f"rebuild the library with these weights, or put the original "
                                            f"weights back")

    def _load_encoder(self, name: str, path: str) -> Any:
        from cxrviewer.models import ModelError

        if self._encoder_loader is not None:
            return self._encoder_loader(name)
        from cxrviewer.models.encoders import load_encoder

        try:
            return load_encoder(name)
        except ModelError as first:
            if path and os.path.isdir(path):
                try:
                    return load_encoder(Path(path))
                except ModelError as exc:
                    raise LibraryError(self.folder, f"this library's encoder cannot be loaded: {exc}") from None
            raise LibraryError(self.folder, f"this library's encoder cannot be loaded: {first}") from None

    @property
    def index(self) -> Any:
        if self._index is None:
            from cxrviewer.library.index_files import load_index

            assert self.manifest.index is not None
            self._index = load_index(self.folder, self.manifest.index)
        return self._index

    def query_vector(self, request: SearchRequest) -> np.ndarray:
        """The unit query vector of a request: text, a case's stored embedding, pixels, or a
        weighted sum of pixels and text."""
        parts: list[tuple[float, np.ndarray]] = []
        if request.case_id:
            row = self._row(request.case_id)
            vector = self.store.vector(row, self.manifest.dim)
            if vector is None:
                raise LibraryError(self.folder, f"case {request.case_id!r} has no stored embedding")
            parts.append((1.0, vector))
        elif request.image is not None:
            self._check_reads(self.encoder, request.image_synthetic)
            pixels = _as_input(request.image, self.encoder.spec)
            weight = request.image_weight if request.text.strip() else 1.0
            parts.append((weight, self.encoder.encode_images([pixels])[0]))
        if request.text.strip() and not request.case_id:
            weight = 1.0 - request.image_weight if parts else 1.0
            parts.append((weight, self.encoder.encode_texts([request.text])[0]))
        if not parts:
            raise LibraryError(self.folder, "nothing to search for: give text, a case or an image")
        vector = sum(w * v.astype(np.float32) for w, v in parts)
        return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)

    def _embedding_search(self, request: SearchRequest, started: float) -> SearchResult:
        filters = request.filters
        if request.case_id:
            study = self.store.study_of(self._row(request.case_id))[0]
            filters = Filters(**{**filters.__dict__,
                                 "exclude_studies": filters.exclude_studies + (study,)})
        t0 = time.perf_counter()
        query = self.query_vector(request)
        t1 = time.perf_counter()
        allowed = self.allowed_rows(filters)
        if allowed is not None and allowed.size == 0:
            return SearchResult((), request.route, {}, time.perf_counter() - started, 0,
                                "no case matches the filters")
        t2 = time.perf_counter()
        scores, rows = self.index.search(query, request.k, allowed)
        t3 = time.perf_counter()
        found = [(float(s), int(r)) for s, r in zip(scores[0], rows[0]) if r >= 0]
        cases = self.store.cases([r for _, r in found])
        t4 = time.perf_counter()
        timings = {"encode": t1 - t0, "filter": t2 - t1, "index": t3 - t2, "fetch": t4 - t3}
        hits = tuple(Hit(n, s, c) for n, ((s, _), c) in enumerate(zip(found, cases), 1))
        query_findings = {}
        if request.text.strip() and not request.case_id:
            query_findings = dict(LR.query_from_text(request.text).statuses)
        return SearchResult(hits, request.route, query_findings, time.perf_counter() - started,
                            len(found), timings=timings)

    def _check_reads(self, model: Any, synthetic: bool) -> None:
        """A query film is read only by a model validated for films like it (its card)."""
        from cxrviewer.models.classify import film_domain

        card = getattr(model, "card", None)
        refusal = card.refusal(film_domain(synthetic), model.spec.name) if card is not None else ""
        if refusal:
            raise LibraryError(self.folder, f"{refusal}, so it cannot read this film; search with the "
                                            "film's report on the findings route instead")

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


def _as_input(image: Any, spec: Any) -> np.ndarray:
    """A query film given as pixels, as the model's input: a film already fitted to the model
    (``prepare.film_input``) passes unchanged; other 2-D pixels are squashed (as before fits)."""
    from cxrviewer.library.prepare import square

    pixels = np.asarray(image)
    size = int(spec.input_size)
    if pixels.shape[-2:] == (size, size) or spec.film_fit != "squash":
        return pixels
    return square(pixels, size)
