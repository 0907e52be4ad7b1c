"""Search jobs for the GUI: the worker owns the open libraries and the encoders.

A ``SearchService`` lives on one executor thread: opening a library (building the demo on first
use), searching it, and "similar films" from a film on disk all run there, so the encoder and
the index are loaded once and never touched from two threads. Gallery thumbnails come from a
``GalleryThumbnails`` on another thread with its own SQLite connection, so scrolling a gallery
never waits behind a query. Everything returned is plain frozen data.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from cxrviewer.services.executor import Cancelled, JobContext

if TYPE_CHECKING:  # the library pulls in numpy: imported when the first job runs, not at start-up
    from cxrviewer.library.library import Hit, Library, SearchRequest, SearchResult
    from cxrviewer.library.store import Store

LABEL_ROUTE = "labels"


@dataclass(frozen=True)
class LibraryOpened:
    name: str
    path: str
    synthetic: bool
    count: int
    routes: tuple[str, ...]
    default_route: str


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

    @property
    def hits(self) -> tuple[Hit, ...]:
        return self.result.hits


@dataclass(frozen=True)
class GalleryThumb:
    case_id: str
    pixels: Any  # uint8 (h, w) or (h, w, 3)


@dataclass
class SearchService:
    """State owned by the search worker thread."""

    libraries: dict[str, Library] = field(default_factory=dict)

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
        return LibraryOpened(library.name, path, library.manifest.synthetic, library.count, routes, routes[0])

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
        if route == LABEL_ROUTE:
            from cxrviewer.reports.labeler import label_text

            label_text("warm up")
            return "CPU"
        return str(library.encoder.device_name)

    def search(self, context: JobContext, path: str, request: SearchRequest, label: str = "") -> SearchOutcome:
        started = time.perf_counter()
        library = self.library(path)
        result = library.search(request)
        context.check()
        device, model = "CPU", LABEL_ROUTE
        if request.route != LABEL_ROUTE:
            device, model = str(library.encoder.device_name), library.manifest.route
        return SearchOutcome(request, result, library.name, device, model,
                             time.perf_counter() - started, label or request.text)

    def similar_to_film(self, context: JobContext, path: str, image_path: str, request: SearchRequest,
                        report_text: str = "") -> SearchOutcome:
        """"Similar films" for a film on disk: by pixels on an embedding route; on the label
        route by the findings its report states (pixels mean nothing to labels)."""
        import dataclasses

        from cxrviewer.library.errors import LibraryError

        library = self.library(path)
        if request.route == LABEL_ROUTE:
            if not report_text.strip():
                raise LibraryError(image_path, "the label route finds similar films from the film's "
                                               "report, and this film has none; choose an image "
                                               "model in the route list")
            request = dataclasses.replace(request, text=report_text)
            return self.search(context, path, request, label=f"films like {Path(image_path).name} (by its report)")
        from cxrviewer.library.prepare import load, model_input

        pixels = model_input(load(image_path), int(library.encoder.spec.input_size))
        context.check()
        request = dataclasses.replace(request, image=pixels, text="")
        return self.search(context, path, request, label=f"films like {Path(image_path).name}")


@dataclass
class GalleryThumbnails:
    """Thumbnails for the gallery, on their own thread and SQLite connection."""

    stores: dict[str, Store] = field(default_factory=dict)

    def load(self, context: JobContext, path: str, case_ids: list[str]) -> int:
        import numpy as np
        from PIL import Image

        from cxrviewer.library.store import STORE_NAME, Store

        store = self.stores.get(path)
        if store is None:
            store = self.stores[path] = Store(Path(path) / STORE_NAME)
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
