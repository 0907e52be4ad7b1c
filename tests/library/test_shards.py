"""The parts of a Ray build that need no Ray: shard files, the folder swap of the merge, and the
message when the cluster extra is not installed."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from cxrviewer.cli import run
from cxrviewer.library import shard_merge
from cxrviewer.library.prepare import PreparedImage, prepare_image
from cxrviewer.library.shards import ShardError, from_bytes, plan_shards, prepared_shard, read_shard, to_bytes


def _demo_jobs(demo_dataset: Path, n: int, model_size: int = 0) -> tuple[list[str], list[tuple]]:
    records = [json.loads(line) for line in (demo_dataset / "demo_cases.jsonl").read_text().splitlines()[:n]]
    jobs = [(str(demo_dataset / r["image"]), 0, 64, model_size, (demo_dataset / r["report"]).read_text(), "squash")
            for r in records]
    return [r["case_id"] for r in records], jobs


def test_a_shard_file_gives_back_exactly_what_was_prepared(demo_dataset, tmp_path):
    ids, jobs = _demo_jobs(demo_dataset, 5, model_size=32)
    jobs[2] = (str(tmp_path / "gone.dcm"), *jobs[2][1:])  # an unusable film has its reason kept
    plan = plan_shards(ids, jobs, 8, {"thumb": 64})[0]
    images = [prepare_image(job) for job in jobs]
    shard = prepared_shard(plan, images)
    assert shard.model_inputs.shape == (4, 32, 32) and shard.usable == 4
    vectors = np.random.default_rng(0).standard_normal((4, 16)).astype(np.float32)
    back = from_bytes(to_bytes(shard.with_vectors(vectors, "weights-id")))
    assert back.case_ids == tuple(ids) and back.fingerprint == "weights-id"
    assert back.model_inputs is None and np.array_equal(back.vectors, vectors)
    for got, made in zip(back.images, images):
        assert (got.jpeg, got.size, got.error, got.details) == (made.jpeg, made.size, made.error, made.details)
    assert back.images[2].error and not back.images[2].jpeg
    assert any(image.details for image in back.images)  # the reports' severities and sides


def test_plans_are_the_same_in_every_run_and_change_with_the_settings(demo_dataset):
    ids, jobs = _demo_jobs(demo_dataset, 20)
    first = plan_shards(ids, jobs, 8, {"thumb": 64, "weights": "a"})
    assert [len(p.case_ids) for p in first] == [8, 8, 4]
    assert plan_shards(ids, jobs, 8, {"weights": "a", "thumb": 64}) == first
    assert all(a.key != b.key for a, b in zip(first, plan_shards(ids, jobs, 8, {"thumb": 64, "weights": "b"})))
    assert len({p.key for p in first}) == 3


def test_a_damaged_or_foreign_shard_file_is_refused(demo_dataset, tmp_path):
    ids, jobs = _demo_jobs(demo_dataset, 6)
    plans = plan_shards(ids, jobs, 3, {})
    data = to_bytes(prepared_shard(plans[0], [PreparedImage(b"\xff\xd8jpeg", (4, 4))] * 3))
    path = tmp_path / plans[0].file_name
    path.write_bytes(data)
    assert read_shard(path, plans[0]).case_ids == plans[0].case_ids
    with pytest.raises(ShardError, match="other cases"):
        read_shard(path, plans[1])
    path.write_bytes(data[:-40])
    with pytest.raises(ShardError, match="damaged"):
        read_shard(path, plans[0])
    flipped = bytearray(data)
    flipped[len(flipped) // 3] ^= 0xFF  # inside a member: the zip CRC catches it
    path.write_bytes(bytes(flipped))
    with pytest.raises(ShardError):
        read_shard(path, plans[0])


def _write_shards(demo_dataset: Path, cases: list, folder: Path) -> list:
    ids = [c.case_id for c in cases]
    jobs = [(c.image, c.frame, 256, 0, c.report.body, "squash") for c in cases]
    plans = plan_shards(ids, jobs, 8, {"thumb": 256})
    folder.mkdir()
    for plan in plans:
        shard = prepared_shard(plan, [prepare_image(job) for job in plan.jobs])
        (folder / plan.file_name).write_bytes(to_bytes(shard))
    return plans


def test_a_merge_into_a_finished_library_is_a_new_version_and_a_failed_one_leaves_no_trace(demo_dataset, tmp_path):
    """Versioned names (library.versions): the merge writes library-<n>.sqlite beside the current
    database and swaps the manifest last; a shard found damaged part-way removes that version."""
    from cxrviewer.library.build import BuildOptions, build_library, read_dataset
    from cxrviewer.library.errors import LibraryError
    from cxrviewer.library.library import Library
    from cxrviewer.library.manifest import read_manifest

    out = tmp_path / "lib"
    options = BuildOptions("demo", demo_dataset.resolve(), out, workers=1, synthetic=True, limit=20)
    build_library(options)
    cases, problems = read_dataset("demo", demo_dataset.resolve())
    todo = cases[20:44]
    plans = _write_shards(demo_dataset, todo, tmp_path / "shards")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    good = (tmp_path / "shards" / plans[-1].file_name).read_bytes()
    (tmp_path / "shards" / plans[-1].file_name).write_bytes(good[:-40])

    def merge():
        return shard_merge.merge_shards(out, options, None, plans, tmp_path / "shards", tmp_path / "staging",
                                        {c.case_id: c for c in todo}, problems, lambda p: None)

    with pytest.raises(LibraryError, match="damaged"):
        merge()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no library-000002.sqlite left

    (tmp_path / "shards" / plans[-1].file_name).write_bytes(good)
    reader = Library.open(out)
    result = merge()
    manifest = read_manifest(out)
    assert (result.added, manifest.store, manifest.counts["cases"]) == (24, "library-000002.sqlite", 44)
    assert (out / "library.sqlite").read_bytes() == before["library.sqlite"]  # kept for readers on it
    assert not (tmp_path / "staging").exists()
    assert reader.case(todo[0].case_id).case_id == todo[0].case_id and reader.count == 44
    reader.close()


def _folder(path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    return path


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "two-renames"])
def test_the_merged_library_replaces_the_old_one_and_set_aside_files_stay(tmp_path, monkeypatch, exchange):
    if exchange and not shard_merge.exchange(_folder(tmp_path / "a", {"x": "a"}), _folder(tmp_path / "b", {"x": "b"})):
        pytest.skip("this system cannot exchange two folders in one step")
    if not exchange:
        monkeypatch.setattr(shard_merge, "exchange", lambda a, b: False)
    library = _folder(tmp_path / "lib", {"manifest.json": "old", "library.sqlite": "old", "library.sqlite-wal": "old",
                                         "index-000001.faiss": "old", "damaged-20240101/library.sqlite": "kept",
                                         "notes.txt": "kept"})
    staged = _folder(tmp_path / ".lib.ray-build" / "library", {"manifest.json": "new", "library.sqlite": "new",
                                                               "index-000002.faiss": "new"})
    shard_merge.swap_in(staged, library)
    found = {str(p.relative_to(library)): p.read_text() for p in library.rglob("*") if p.is_file()}
    assert found == {"manifest.json": "new", "library.sqlite": "new", "index-000002.faiss": "new",
                     os.path.join("damaged-20240101", "library.sqlite"): "kept", "notes.txt": "kept"}
    assert not staged.exists() and not staged.with_name("library.replaced").exists()


def test_a_new_library_is_moved_into_place(tmp_path):
    staged = _folder(tmp_path / ".new.ray-build" / "library", {"manifest.json": "new"})
    shard_merge.swap_in(staged, tmp_path / "libraries" / "new")
    assert (tmp_path / "libraries" / "new" / "manifest.json").read_text() == "new"


def test_without_the_cluster_extra_the_message_says_what_to_install(demo_dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as it does without the extra
    code = run(["library", "build", "--dataset", "demo", "--root", str(demo_dataset), "--out",
                str(tmp_path / "lib"), "--ray", "local"])
    err = capsys.readouterr().err
    assert code == 1 and "pip install 'cxrviewer[cluster]'" in err and "Traceback" not in err
    assert not (tmp_path / "lib").exists()
