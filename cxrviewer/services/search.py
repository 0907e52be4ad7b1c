"""Search jobs for the GUI: the worker owns the open libraries and the encoders.

A ``SearchService`` lives on one executor thread: opening a library (building the demo on first
use), searching it, and "similar films" from a film on disk all run there, so the encoder and
the index are loaded once and never touched from two threads. Gallery thumbnails come from a
``GalleryThumbnails`` on another thread with its own SQLite connection, so scrolling a gallery
never waits behind a query; so does ``FilmCases``, the library case of a film opened from disk.
Everything returned is plain frozen data.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxrviewer.library.manifest import LABEL_ROUTE
from cxrviewer.services.executor import Cancelled, JobContext

if TYPE_CHECKING:  # the library pulls in numpy: imported when the first job runs, not at start-up
    from cxrviewer.explain.types import Target
    from cxrviewer.imaging.loaded import LoadedImage
    from cxrviewer.library.library import Hit, Library, SearchRequest, SearchResult
    from cxrviewer.library.store import Store



@dataclass(frozen=True)
class LibraryOpened:
    name: str
    path: str
    synthetic: bool
    count: int
    routes: tuple[str, ...]
    default_route: str
    available: tuple[tuple[str, str], ...] = ()  # (label, path) of every library, for the selector


@dataclass(frozen=True)
class SearchOutcome:
    """A search's result with the facts the status bar shows."""

    request: SearchRequest
    result: SearchResult
    library: str
    device: str = "CPU"
    model: str = "labels"
    seconds: float = 0.0  # the whole job, encoder included
    query_label: str = ""  # what was searched for, for the gallery's title
    licence: str = ""  # the route model's licence, shown wherever its output is

    @property
    def hits(self) -> tuple[Hit, ...]:
        return self.result.hits


@dataclass(frozen=True)
class GalleryThumb:
    case_id: str
    pixels: Any  # uint8 (h, w) or (h, w, 3)


@dataclass(frozen=True)
class SaliencyResult:
    """A map the viewer stretches over the whole film: the model input's map itself when the
    film was squashed into the input, else the map laid on a film-shaped grid (a model that saw
    only the film's central square has 0 over the rest; see models.film_fit)."""

    image_path: str
    frame: int
    values: Any  # float32 (size, size) in [0, 1]
    method: str
    target: str
    model: str
    seconds: float
    score: float
    licence: str = ""


@dataclass(frozen=True)
class FindingScores:
    """A finding model's probabilities for the viewed film with the figures that qualify them
    (``reading``), or why no model may read this film (``refused``)."""

    image_path: str
    labels: tuple[str, ...] = ()
    probabilities: tuple[float, ...] = ()
    model: str = ""
    reading: Any = None  # models.classify.FindingReading
    refused: str = ""


@dataclass
class SearchService:
    """State owned by the search worker thread."""

    libraries: dict[str, Library] = field(default_factory=dict)
    saliency_cache: Any = None
    fallback_encoders: dict[str, Any] = field(default_factory=dict)

    def library(self, path: str) -> Library:
        from cxrviewer.library.library import Library

        if path not in self.libraries:
            self.libraries[path] = Library.open(path)
        return self.libraries[path]

    def close(self) -> None:
        for library in self.libraries.values():
            library.close()
        self.libraries.clear()

    # -- jobs (run on the worker thread) ---------------------------------------------------

    def open_library(self, context: JobContext, name_or_path: str | None) -> LibraryOpened:
        """Open a library by name or path; with none, the demo (made on first use)."""
        from cxrviewer.library import catalog

        if not name_or_path or name_or_path == catalog.DEMO_NAME:
            def report(stage: str, done: int, total: int) -> None:
                context.check()
                what = "Generating the synthetic demo cases" if stage == "generating" else "Building the demo library"
                context.progress(done, total or None, what)
            folder = catalog.ensure_demo(progress=report)
        else:
            folder = catalog.resolve(name_or_path)
        path = str(Path(folder).resolve())
        library = self.library(path)
        routes = library.routes()
        return LibraryOpened(library.name, path, library.manifest.synthetic, library.count, routes, routes[0],
                             library_choices(path, library.name))

    def build(self, context: JobContext, dataset: str, root: str, out: str, name: str = "",
              encoder: str = "") -> LibraryOpened:
        """Build (or resume) a library with progress and cancel, then open it."""
        from cxrviewer.library.build import BuildCancelled, BuildOptions, build_library

        stages = {"reading": "Reading the dataset", "images": "Adding films", "finishing": "Writing the index"}

        def report(p) -> None:
            context.progress(p.done, p.total or None, stages.get(p.stage, p.stage))

        options = BuildOptions(dataset, Path(root), Path(out), name=name, encoder=encoder)
        try:
            build_library(options, progress=report, should_cancel=context.should_cancel)
        except BuildCancelled:
            raise Cancelled() from None  # what is built so far stays; building again resumes
        self.libraries.pop(str(Path(out).resolve()), None)
        return self.open_library(context, str(Path(out).resolve()))

    def warm_up(self, context: JobContext, path: str, route: str) -> str:
        """Load the route's encoder (imports torch) ahead of the first query; returns the device."""
        library = self.library(path)
        from cxrviewer.services.heap import freeze_long_lived

        if route == LABEL_ROUTE:
            from cxrviewer.reports.labeler import label_text

            label_text("warm up")
            library.label_index()  # the findings route's arrays: ~0.3 s at 224,000 cases, once
            freeze_long_lived()
            return "CPU"
        device = _device_text(library.encoder)
        freeze_long_lived()  # the model's objects stay for the session
        return device

    def search(self, context: JobContext, path: str, request: SearchRequest, label: str = "") -> SearchOutcome:
        started = time.perf_counter()
        library = self.library(path)
        result = library.search(request)
        context.check()
        device, model, licence = "CPU", LABEL_ROUTE, ""
        if request.route != LABEL_ROUTE:
            device, model = _device_text(library.encoder), library.manifest.route
            licence = library.encoder.spec.licence
        return SearchOutcome(request, result, library.name, device, model,
                             time.perf_counter() - started, label or request.text, licence)

    def similar_to_film(self, context: JobContext, path: str, film: str | LoadedImage, request: SearchRequest,
                        report_text: str = "") -> SearchOutcome:
        """"Similar films" for a film (the viewer's decoded film, or a path): by pixels on an
        embedding route; on the label route by the findings its report states (pixels mean
        nothing to labels)."""
        import dataclasses

        from cxrviewer.library.errors import LibraryError
        from cxrviewer.services.films import decoded, film_path, model_input

        library = self.library(path)
        name = Path(film_path(film)).name
        if request.route == LABEL_ROUTE:
            if not report_text.strip():
                raise LibraryError(film_path(film), "the label route finds similar films from the film's "
                                                    "report, and this film has none; choose an image "
                                                    "model in the route list")
            request = dataclasses.replace(request, text=report_text)
            return self.search(context, path, request, label=f"films like {name} (by its report)")
        image = decoded(film)
        pixels = model_input(image, library.encoder.spec)
        context.check()
        request = dataclasses.replace(request, image=pixels, text="", image_synthetic=image.header.synthetic_demo,
                                      image_generated=image.header.generated)
        return self.search(context, path, request, label=f"films like {name}")

    # -- explanations ------------------------------------------------------------------------

    def encoder_named(self, path: str, spec: Any) -> Any:
        """The library's own encoder when ``spec`` is its model, else ``spec`` loaded once."""
        library = self.library(path)
        if library.manifest.route != LABEL_ROUTE and library.manifest.route == spec.name:
            return library.encoder
        if spec.name not in self.fallback_encoders:
            from cxrviewer.models.encoders import load_encoder
            from cxrviewer.services.heap import freeze_long_lived

            self.fallback_encoders[spec.name] = load_encoder(spec)
            freeze_long_lived()
        return self.fallback_encoders[spec.name]

    def explaining_encoder(self, path: str, domain: str, need_text: bool = False) -> Any:
        """The model that may explain this film: the library's own when its card allows the
        film, else the installed finding model for films like it; a LibraryError says why not."""
        from cxrviewer.library.errors import LibraryError
        from cxrviewer.models.classify import choose_finding_model
        from cxrviewer.models.registry import model_card

        library = self.library(path)
        why = ""
        if library.manifest.route != LABEL_ROUTE:
            spec = library.encoder_spec()
            why = model_card(spec).refusal(domain, spec.name)
            if not why:
                return library.encoder
        choice = choose_finding_model(domain)
        if choice.spec is None:
            raise LibraryError(path, f"{why + '. ' if why else ''}saliency needs an image model made for "
                                     f"films like this one: {choice.refusal}")
        if need_text and choice.spec.kind != "joint":
            raise LibraryError(path, f"explaining a typed query needs an image-text model; "
                                     f"{choice.spec.name} reads images only (explain a finding instead)")
        return self.encoder_named(path, choice.spec)

    def saliency(self, context: JobContext, path: str, film: str | LoadedImage, frame: int, target_kind: str,
                 target_value: str, method: str = "auto") -> SaliencyResult:
        """Where in the film (the viewer's decoded film, or a path) the evidence for a query
        text, a library case or a label lies."""
        from cxrviewer.explain import Cancelled as ExplainCancelled
        from cxrviewer.explain import EmbeddingTarget, LabelTarget, SaliencyCache, TextTarget, explain
        from cxrviewer.models.classify import domain_of
        from cxrviewer.services.films import decoded, model_input, open_film

        image = decoded(film)
        image_path = image.header.path
        encoder = self.explaining_encoder(path, domain_of(image.header), need_text=target_kind == "text")
        library = self.library(path)
        target: Target
        if target_kind == "text":
            target = TextTarget(target_value)
        elif target_kind == "case":
            row = library.store.row_of(target_value)
            vector = (library.store.vector(row, library.manifest.dim)
                      if row is not None and encoder is library.encoder else None)
            if vector is None:  # a label-route library (or another model): embed the case's film on the fly
                case = library.case(target_value)
                vector = encoder.encode_images([model_input(open_film(case.image), encoder.spec, case.frame)])[0]
            target = EmbeddingTarget(vector, target_value)
        else:
            target = LabelTarget(target_value)
        if self.saliency_cache is None:
            self.saliency_cache = SaliencyCache()
        key = SaliencyCache.key((image_path, frame), target, encoder.spec.name, method)

        def compute():
            pixels = model_input(image, encoder.spec, frame)
            context.check()
            return explain(encoder, pixels, target, method, should_cancel=context.should_cancel)

        try:
            found = self.saliency_cache.get_or_compute(key, compute)
        except ExplainCancelled:
            raise Cancelled() from None
        values = found.values
        if encoder.spec.film_fit != "squash":
            from cxrviewer.explain import to_film_grid

            scale = min(1.0, 4 * max(values.shape) / max(image.rows, image.columns))
            values = to_film_grid(values, max(1, round(image.rows * scale)), max(1, round(image.columns * scale)),
                                  encoder.spec.film_fit)
        return SaliencyResult(image_path, frame, values, found.method, found.target, encoder.spec.name,
                              found.seconds, float(found.score), encoder.spec.licence)

    def finding_scores(self, context: JobContext, path: str, film: str | LoadedImage, frame: int = 0) -> FindingScores:
        """The finding probabilities of the model that may read this film (the viewer's decoded
        film, or a path) by its card, with each finding's validation figure; or, when none may,
        the reason in plain words."""
        from cxrviewer.models import ModelError
        from cxrviewer.models.classify import choose_finding_model, domain_of, reading
        from cxrviewer.services.films import decoded, model_input

        image = decoded(film)
        image_path = image.header.path
        library = self.library(path)
        preferred = None
        if library.manifest.route != LABEL_ROUTE:
            try:
                preferred = library.encoder_spec()
            except ModelError:
                preferred = None
        choice = choose_finding_model(domain_of(image.header), preferred)
        if choice.spec is None or choice.card is None:
            return FindingScores(image_path, refused=choice.refusal)
        encoder = self.encoder_named(path, choice.spec)
        labels = tuple(getattr(encoder, "label_names", ()) or ())
        if not labels:
            return FindingScores(image_path, refused=f"model {choice.spec.name} has no finding head")
        context.check()
        probabilities = encoder.predict_labels([model_input(image, encoder.spec, frame)])[0]
        read = reading(choice.card, choice.spec.name, choice.spec.licence, labels, probabilities)
        return FindingScores(image_path, labels, read.probabilities, choice.spec.name, read)


def library_choices(current: str, current_name: str) -> tuple[tuple[str, str], ...]:
    """(label, path) of the libraries in the user data folder (manifests read here, in the
    worker, not on the GUI thread), with the open one first if it lives elsewhere."""
    from cxrviewer.library import catalog

    entries = [(f"{e.name} ({e.manifest.counts.get('cases', 0):,})" + (" — synthetic" if e.manifest.synthetic else ""),
                str(e.path.resolve())) for e in catalog.list_libraries() if e.manifest is not None]
    if not any(path == current for _, path in entries):
        entries.insert(0, (current_name, current))
    return tuple(entries)


@dataclass
class GalleryThumbnails:
    """Thumbnails for the gallery, on their own thread and SQLite connection."""

    stores: dict[str, Store] = field(default_factory=dict)

    def load(self, context: JobContext, path: str, case_ids: list[str]) -> int:
        import numpy as np
        from PIL import Image

        from cxrviewer.library.library import current_store_path
        from cxrviewer.library.store import Store

        current = current_store_path(path)  # a build may have made a new version since
        store = self.stores.get(path)
        if store is None or store.path != current:
            if store is not None:
                store.close()
            store = self.stores[path] = Store(current, read_only=True)
        for case_id in case_ids:
            context.check()
            row = store.row_of(case_id)
            jpeg = store.thumbnail(row) if row is not None else None
            if jpeg is None:
                continue
            pixels = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"))
            context.emit(GalleryThumb(case_id, np.ascontiguousarray(pixels)))
        return len(case_ids)

    def close(self) -> None:
        for store in self.stores.values():
            store.close()
        self.stores.clear()


@dataclass
class FilmCases:
    """The library case of a film opened from a dataset's folder (its labels, its report), found
    on the gallery's thread with its own connection: the answer never waits behind a query, a
    model load or a build in the search worker."""

    libraries: dict[str, Library] = field(default_factory=dict)

    def find(self, context: JobContext, path: str, image_path: str) -> tuple[str, Any]:
        """(image_path, the case of that film in the library at ``path``, or None)."""
        from cxrviewer.library.library import Library

        library = self.libraries.get(path)
        if library is None:
            library = self.libraries[path] = Library.open(path, check_index=False)
        return image_path, library.case_for_image(image_path)

    def close(self) -> None:
        for library in self.libraries.values():
            library.close()
        self.libraries.clear()


def _device_text(encoder: Any) -> str:
    """Where the model runs, for the status bar: "CPU", "CPU, text int8", a GPU's name."""
    precision = getattr(encoder, "text_precision", "float32")
    return str(encoder.device_name) + (f", text {precision}" if precision != "float32" else "")
