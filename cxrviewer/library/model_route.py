"""The model route of an open library: its encoder (loaded on first use, checked against the
weights the library was built with and against the films it may read), its FAISS index, and
search by text, case or pixels; also the finding models that read a film for the findings route.

``ModelRoute`` is a part of ``Library`` (a base class that holds no state of its own): the
library owns the attributes it reads.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cxrviewer.library import label_route as LR
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.filters import Filters
from cxrviewer.library.manifest import LABEL_ROUTE, Manifest
from cxrviewer.library.search_types import Hit, SearchRequest, SearchResult
from cxrviewer.library.store import Store


class ModelRoute:
    """The embedding route's half of ``Library``."""

    folder: Path
    manifest: Manifest
    store: Store
    _encoder: Any
    _encoder_loader: Callable[[str], Any] | None
    _index: Any
    _label_models: dict[str, Any]
    _route_refusal: str | None

    def _row(self, case_id: str) -> int:
        raise NotImplementedError  # Library's

    def allowed_rows(self, filters: Filters) -> np.ndarray | None:
        raise NotImplementedError  # Library's

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

    def label_model(self, name: str = "") -> Any:
        """A model with a finding head: ``name``, else this library's encoder when it has one."""
        if not name:
            if self.manifest.route != LABEL_ROUTE and getattr(self.encoder, "label_names", None):
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
        self._check_reads(model, request.image_synthetic, request.image_generated)
        pixels = _as_input(request.image, model.spec)
        probabilities = model.predict_labels([pixels])[0]
        statuses = {label: ("positive" if p >= 0.5 else "uncertain")
                    for label, p in zip(model.label_names, probabilities) if p >= 0.25}
        if not any(s == "positive" for s in statuses.values()):
            statuses.setdefault("No Finding", "positive")
        return LR.query_from_findings(statuses)

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
            self._check_reads(self.encoder, request.image_synthetic, request.image_generated)
            pixels = _as_input(request.image, self.encoder.spec)
            weight = request.image_weight if request.text.strip() else 1.0
            parts.append((weight, self.encoder.encode_images([pixels])[0]))
        if request.text.strip() and not request.case_id:
            weight = 1.0 - request.image_weight if parts else 1.0
            parts.append((weight, self.encoder.encode_texts([request.text])[0]))
        if not parts:
            raise LibraryError(self.folder, "nothing to search for: give text, a case or an image")
        combined = np.sum([w * v.astype(np.float32) for w, v in parts], axis=0)
        return (combined / max(float(np.linalg.norm(combined)), 1e-12)).astype(np.float32)

    def _embedding_search(self, request: SearchRequest, started: float) -> SearchResult:
        filters = request.filters
        if request.case_id:
            study = self.store.study_of(self._row(request.case_id))[0]
            filters = Filters(**{**filters.__dict__,
                                 "exclude_studies": (*filters.exclude_studies, study)})
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

    def _check_reads(self, model: Any, synthetic: bool, generated: bool = False) -> None:
        """A query film is read only by a model validated for films like it (its card)."""
        from cxrviewer.models.classify import film_domain

        card = getattr(model, "card", None)
        refusal = card.refusal(film_domain(synthetic, generated), model.spec.name) if card is not None else ""
        if refusal:
            raise LibraryError(self.folder, f"{refusal}, so it cannot read this film; search with the "
                                            "film's report on the findings route instead")


def _as_input(image: Any, spec: Any) -> np.ndarray:
    """A query film given as pixels, as the model's input: a film already fitted to the model
    (``prepare.film_input``) passes unchanged; other 2-D pixels are squashed (as before fits)."""
    from cxrviewer.library.prepare import square

    pixels = np.asarray(image)
    size = int(spec.input_size)
    if pixels.shape[-2:] == (size, size) or spec.film_fit != "squash":
        return pixels
    return square(pixels, size)
