"""``library build --ray``: a build whose decode and encode stages run as Ray Data tasks gives
the library a local build gives, survives a worker that dies and a shard that fails, and never
leaves a library half-merged. Run on a local Ray instance the tests start themselves."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="Ray is the cluster extra: pip install -e '.[cluster]'")
pytest.importorskip("ray.data", reason="Ray Data is part of the cluster extra: pip install -e '.[cluster]'")

from cxrviewer.library.build import BuildCancelled, BuildOptions, build_library  # noqa: E402
from cxrviewer.library.errors import LibraryError  # noqa: E402
from cxrviewer.library.library import Library, SearchRequest  # noqa: E402
from cxrviewer.library.manifest import read_manifest  # noqa: E402
from cxrviewer.library.prepare import prepare_image  # noqa: E402
from cxrviewer.library.ray_build import build_with_ray, staging_folder  # noqa: E402

TABLES = ("cases", "findings", "thumbs", "embeddings", "skipped", "problems")
SHARD = 8  # cases per shard: the 48 demo cases make 6 shards


def _contents(folder: Path) -> dict[str, object]:
    """Every row of every table, and what the manifest says about the contents (not its dates,
    name or where the library sits)."""
    manifest = read_manifest(folder)
    with sqlite3.connect(folder / manifest.store) as db:
        rows = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}
    index = manifest.index
    rows["manifest"] = (manifest.route, manifest.dim, manifest.preprocessing, manifest.counts, manifest.state,
                        manifest.synthetic, [(s["dataset"], s["root"]) for s in manifest.sources],
                        index and (index.kind, index.count, index.sha256))
    return rows


def _assert_same_library(built: Path, reference: Path) -> None:
    got, expected = _contents(built), _contents(reference)
    assert got["cases"] and len(got["cases"]) == len(expected["cases"])
    for part in expected:
        assert got[part] == expected[part], f"{part} differ"


def _search(folder: Path, route: str) -> list[tuple[str, float]]:
    with Library.open(folder) as library:
        hits = []
        for text in ("small left pleural effusion", "mild cardiomegaly", "no acute cardiopulmonary process"):
            result = library.search(SearchRequest(text=text, k=10, route=route))
            hits += [(h.case.case_id, round(float(h.score), 6)) for h in result.hits]
    return hits


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance for the module's in-process builds (they use it as it is)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=200 * 1024 * 1024, log_to_driver=False,
             logging_level=logging.WARNING)
    yield
    ray.shutdown()


def _crash_once(marker: Path, victim: str, every_time: bool = False) -> Callable:
    """The per-film work, except that the worker process dies outright (no exception, no
    cleanup) the first time it reaches ``victim`` (or every time)."""
    def prepare(job):
        if job[0] == victim and (every_time or not marker.exists()):
            marker.write_text(str(os.getpid()))
            os._exit(1)
        return prepare_image(job)
    return prepare


def _fail(attempts: Path, victim: str, times: int) -> Callable:
    """The per-film work, raising at ``victim`` on its first ``times`` attempts."""
    def prepare(job):
        if job[0] == victim:
            attempts.mkdir(exist_ok=True)
            tried = len(list(attempts.iterdir()))
            (attempts / str(tried)).touch()
            if tried < times:
                raise RuntimeError(f"decoder exploded on attempt {tried + 1}")
        return prepare_image(job)
    return prepare


def _film(demo_dataset: Path, index: int) -> str:
    record = json.loads((demo_dataset / "demo_cases.jsonl").read_text().splitlines()[index])
    return str((demo_dataset / record["image"]).resolve())


def test_the_command_starts_a_local_ray_and_builds_what_a_local_build_does(demo_dataset, demo_library, tmp_path):
    """First in the module: `--ray local` starts (and stops) its own Ray instance."""
    out = tmp_path / "lib"
    done = subprocess.run([sys.executable, "-m", "cxrviewer", "library", "build", "--dataset", "demo", "--root",
                           str(demo_dataset), "--out", str(out), "--ray", "local", "--workers", "2", "--json"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)  # progress and Ray's own lines stay on stderr
    assert result["total"] == result["added"] == 48 and result["ray"]["address"] == "local"
    assert result["ray"]["shards"] >= 1 and result["ray"]["rounds"] == 1
    _assert_same_library(out, demo_library)
    assert _search(out, "labels") == _search(demo_library, "labels")
    assert not staging_folder(out).exists()


def test_a_cluster_address_where_nothing_answers_is_a_message_not_a_hang(demo_dataset, tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run([sys.executable, "-m", "cxrviewer", "library", "build", "--dataset", "demo", "--root",
                           str(demo_dataset), "--out", str(tmp_path / "lib"), "--ray", f"127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr[-3000:]
    assert f"nothing answers at 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "lib").exists() and not staging_folder(tmp_path / "lib").exists()


def test_vectors_thumbnails_and_search_match_a_local_build(ray_instance, demo_dataset, clip_folder, clip_library,
                                                          tmp_path):
    out = tmp_path / "lib"
    stages = []
    result = build_with_ray(BuildOptions("demo", demo_dataset, out, workers=2, encoder=str(clip_folder),
                                         batch_size=16), "local", progress=lambda p: stages.append(p.stage))
    assert (result.added, result.total, result.rounds, result.shards) == (48, 48, 1, 6)
    assert {"reading", "images", "finishing"} <= set(stages)
    _assert_same_library(out, clip_library)  # embeddings byte for byte, and the index's hash
    route = read_manifest(out).route
    assert _search(out, route) == _search(clip_library, route)
    with Library.open(out) as library:
        assert len(library.store.embedding(0)) == 2 * library.manifest.dim  # float16, as a local build stores
        vectors = library.store.vector(0, library.manifest.dim)
    assert vectors.shape == (library.manifest.dim,) and abs(float(np.linalg.norm(vectors)) - 1) < 1e-3


def test_a_worker_that_dies_mid_build_is_retried(ray_instance, demo_dataset, demo_library, tmp_path):
    marker = tmp_path / "crashed"
    out = tmp_path / "lib"
    result = build_with_ray(BuildOptions("demo", demo_dataset, out, synthetic=True), "local",
                            prepare=_crash_once(marker, _film(demo_dataset, 20)), shard_size=SHARD)
    assert marker.exists(), "the worker should have died once"
    assert result.rounds == 1  # Ray retried the task on a new worker: no shard had to be made again
    _assert_same_library(out, demo_library)


def test_a_failed_shard_is_made_again(ray_instance, demo_dataset, demo_library, tmp_path):
    attempts = tmp_path / "attempts"
    out = tmp_path / "lib"
    result = build_with_ray(BuildOptions("demo", demo_dataset, out, synthetic=True), "local",
                            prepare=_fail(attempts, _film(demo_dataset, 9), times=1), shard_size=SHARD)
    assert len(list(attempts.iterdir())) == 2 and result.rounds == 2
    _assert_same_library(out, demo_library)


def test_a_shard_that_keeps_failing_merges_nothing_and_a_rerun_makes_only_it(ray_instance, demo_dataset,
                                                                           demo_library, tmp_path):
    out = tmp_path / "lib"
    build_library(BuildOptions("demo", demo_dataset, out, workers=1, synthetic=True, limit=20))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    victim = _film(demo_dataset, 33)  # one of the 28 cases the Ray build adds
    with pytest.raises(LibraryError, match="decoder exploded") as failure:
        build_with_ray(BuildOptions("demo", demo_dataset, out, synthetic=True), "local",
                       prepare=_fail(tmp_path / "attempts", victim, times=99), shard_size=SHARD)
    assert "nothing was merged" in str(failure.value)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the library as it was
    with Library.open(out) as library:
        assert library.count == 20
    kept = list((staging_folder(out) / "shards").iterdir())
    assert len(kept) == 3  # of the 4 shards of 28 new cases, all but the failing one

    reader = Library.open(out)  # a workstation searching the library while it is extended
    result = build_with_ray(BuildOptions("demo", demo_dataset, out, synthetic=True), "local", shard_size=SHARD)
    assert (result.added, result.total, result.shards, result.shards_reused) == (28, 48, 4, 3)
    _assert_same_library(out, demo_library)
    assert not staging_folder(out).exists()
    # a new version beside the old one, which stays unchanged for readers still on it
    assert read_manifest(out).store == "library-000002.sqlite"
    assert (out / "library.sqlite").read_bytes() == before["library.sqlite"]
    assert reader.count == 20 and len(reader.search(SearchRequest(text="cardiomegaly", k=5)).hits) == 5
    assert reader.count == 48 and reader.store.path.name == "library-000002.sqlite"  # followed on its search
    reader.close()


def test_a_film_that_kills_every_worker_stops_the_build_instead_of_retrying_for_ever(ray_instance, demo_dataset,
                                                                                    tmp_path, monkeypatch):
    import cxrviewer.library.ray_build as ray_build

    monkeypatch.setattr(ray_build, "MAX_TASK_RETRIES", 1)  # Ray Data's own default retries for ever
    monkeypatch.setattr(ray_build, "SHARD_ROUNDS", 1)
    out = tmp_path / "lib"
    with pytest.raises(LibraryError, match=r"WorkerCrashedError.*nothing was merged"):
        build_with_ray(BuildOptions("demo", demo_dataset, out, synthetic=True), "local", shard_size=SHARD,
                       prepare=_crash_once(tmp_path / "never", _film(demo_dataset, 0), every_time=True))
    assert not out.exists()


def test_a_cancelled_build_leaves_no_library_and_the_rerun_goes_on(ray_instance, demo_dataset, demo_library,
                                                                  tmp_path):
    out = tmp_path / "lib"
    with pytest.raises(BuildCancelled, match="run the build again"):
        build_with_ray(BuildOptions("demo", demo_dataset, out, synthetic=True), "local", shard_size=SHARD,
                       should_cancel=lambda: True)
    assert not out.exists()
    result = build_with_ray(BuildOptions("demo", demo_dataset, out, synthetic=True), "local", shard_size=SHARD)
    assert result.shards_reused >= 1 and result.total == 48
    _assert_same_library(out, demo_library)
    shutil.rmtree(out)
