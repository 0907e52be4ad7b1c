"""The image stage of a local build: films prepared in worker processes (decode, window, shrink,
thumbnail, model input) while this process encodes and writes them in batches."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from cxrviewer.datasets.case import Case
from cxrviewer.library.build_types import (
    BuildCancelled,
    BuildOptions,
    BuildProgress,
    CancelFn,
    ProgressFn,
)
from cxrviewer.library.prepare import PreparedImage, PrepareJob, prepare_image, warm_up
from cxrviewer.library.store import FindingDetail, PreparedCase, Store, encode_vector


def store_images(store: Store, pool: ImagePool, encoder: Any, todo: list[Case],
                  options: BuildOptions, report: ProgressFn, cancelled: CancelFn) -> tuple[int, int, float]:
    """Decode in the pool while this process encodes and writes: ``pool.map`` submits every
    job at once, so the workers keep decoding ahead (prefetch) while a batch is encoded."""
    added = skipped = 0
    total = len(todo)
    report(BuildProgress("images", 0, total, f"{total} images to add"))
    batch: list[PreparedCase] = []
    batch_skipped: list[tuple[str, str, str]] = []
    model_size = int(encoder.spec.input_size) if encoder is not None else 0
    fit: str = encoder.spec.film_fit if encoder is not None else "squash"
    jobs: list[PrepareJob] = [(c.image, c.frame, options.thumb_size, model_size, c.report.body, fit) for c in todo]
    first = None
    for n, (case, prepared) in enumerate(zip(todo, pool.map(jobs)), start=1):
        first = first if first is not None else time.perf_counter()
        added_now, skipped_now = _collect(case, prepared, batch, batch_skipped)
        added += added_now
        skipped += skipped_now
        stop = n < total and cancelled()
        if len(batch) + len(batch_skipped) >= options.batch_size or n == total or stop:
            if encoder is not None and batch:
                batch = _with_embeddings(encoder, batch)
            store.add_batch(batch, batch_skipped)
            batch, batch_skipped = [], []
            report(BuildProgress("images", n, total))
        if stop:
            raise BuildCancelled(f"cancelled after {n} of {total} images; run the build "
                                 f"again to resume")
    return added, skipped, (time.perf_counter() - first) if first is not None else 0.0


def _collect(case: Case, prepared: PreparedImage, batch: list[PreparedCase],
             batch_skipped: list[tuple[str, str, str]]) -> tuple[int, int]:
    if prepared.error:
        batch_skipped.append((case.case_id, case.image, prepared.error))
        return 0, 1
    details = {label: FindingDetail(severity, laterality) for label, severity, laterality in prepared.details}
    batch.append(PreparedCase(case, details, prepared.jpeg, prepared.size, model_input=prepared.model_input))
    return 1, 0


def _with_embeddings(encoder: Any, batch: list[PreparedCase]) -> list[PreparedCase]:
    import numpy as np

    vectors = encoder.encode_images([item.model_input for item in batch], batch_size=len(batch))
    return [dataclasses.replace(item, embedding=encode_vector(np.asarray(v, np.float32)), model_input=None)
            for item, v in zip(batch, vectors)]


class ImagePool:
    """Worker processes that prepare images, started before the dataset is read so that their
    start-up (imports) overlaps with reading the index files.

    Processes are spawned, not forked: the GUI runs builds from a thread, and forking a process
    with running Qt threads can deadlock the child. They die with this process even when it is
    killed outright (``cxrviewer.lifeline``), so the pool is created, used and closed by one
    thread, as ``build_library`` does.
    """

    def __init__(self, workers: int | None) -> None:
        from cxrviewer.lifeline import die_with_parent

        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.pool: ProcessPoolExecutor | None = None
        if self.workers > 1:
            context = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                            initializer=die_with_parent, initargs=(os.getpid(),))
            for _ in range(self.workers):
                self.pool.submit(warm_up)

    def map(self, jobs: Sequence[PrepareJob]) -> Iterator[PreparedImage]:
        if self.pool is None or len(jobs) < 2 * self.workers:
            return map(prepare_image, jobs)
        return self.pool.map(prepare_image, jobs, chunksize=8)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
