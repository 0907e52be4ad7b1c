"""``library build --ray ADDRESS``: the decode and encode stages of a build on a Ray cluster.

The driver (this process) reads the dataset and cuts the cases to add into shards. Ray Data
runs a task per shard that reads and decodes its films (thumbnail, model input, report
details: ``prepare.prepare_image``), then an actor holding the encoder (one per GPU where the
cluster has GPUs) embeds them. Each finished shard comes back to the driver and is written to
``.<library>.ray-build/shards/`` beside the library. When every shard is there they are merged
into the library at once (``shard_merge``); until then the library is not touched.

Failures: a worker that dies (killed, out of memory, a lost node) has its task retried by Ray
(``MAX_TASK_RETRIES``). A shard whose task fails anyway is made again in a next round, with
the shards that had not finished (``SHARD_ROUNDS``). A shard still failing stops the build with
the reason and nothing merged; the finished shards are kept and a rerun makes only the missing
ones (a shard file's name says what it holds: ``shards``).

The dataset's films and the model folder must be at the same paths on every node, and each node
needs the same cxrviewer installed (``pip install cxrviewer[cluster]``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxrviewer.library.build import (
    BuildCancelled,
    BuildOptions,
    BuildProgress,
    BuildResult,
    CancelFn,
    ProgressFn,
    check_can_create,
    check_can_extend,
    load_build_encoder,
    read_dataset,
    route_of,
)
from cxrviewer.library.errors import LibraryError
from cxrviewer.library.manifest import MANIFEST_NAME, read_manifest
from cxrviewer.library.prepare import PreparedImage, prepare_image
from cxrviewer.library.shards import (
    SHARD_VERSION,
    Job,
    ShardPlan,
    finished,
    from_bytes,
    plan_shards,
    prepared_shard,
    to_bytes,
)
from cxrviewer.library.store import Store

LOCAL = "local"
INSTALL_HINT = "pip install 'cxrviewer[cluster]'"
MAX_TASK_RETRIES = 3  # Ray's retries of a task whose worker died
SHARD_ROUNDS = 3  # runs over the shards that have not finished, before giving up
SHARD_MIN, SHARD_MAX, SHARD_TARGET = 8, 256, 64  # cases per shard; about SHARD_TARGET shards
LOCAL_OBJECT_STORE = 256 * 1024 * 1024  # bytes; shards are a few MB each
STAGING_SUFFIX = ".ray-build"
CONNECT_TIMEOUT = 10.0  # seconds for a cluster's head to accept a connection

PrepareFn = Callable[[Job], PreparedImage]


@dataclass(frozen=True)
class RayBuildResult(BuildResult):
    address: str = ""
    shards: int = 0
    shards_reused: int = 0  # finished by an earlier run that stopped
    rounds: int = 0  # Ray Data runs it took (1 when no shard failed for good)
    gpus: int = 0

    def ray_json(self) -> dict[str, Any]:
        return {"address": self.address, "shards": self.shards, "shards_reused": self.shards_reused,
                "rounds": self.rounds, "gpus": self.gpus}


def staging_folder(folder: Path) -> Path:
    folder = Path(folder).resolve()
    return folder.with_name(f".{folder.name}{STAGING_SUFFIX}")


def build_with_ray(options: BuildOptions, address: str, progress: ProgressFn | None = None,
                   should_cancel: CancelFn | None = None, *, prepare: PrepareFn = prepare_image,
                   shard_size: int | None = None) -> RayBuildResult:
    """Build (or resume, or extend) ``options.out`` as ``build_library`` does, with the images
    prepared and encoded on the Ray cluster at ``address`` (``"local"``: a Ray instance of
    ``options.workers`` CPUs started here). ``prepare`` is the per-film work (a stand-in
    lets tests make a worker fail)."""
    started = time.perf_counter()
    ray = import_ray()
    folder = Path(options.out).resolve()
    options = dataclasses.replace(options, root=Path(options.root).resolve(), out=folder,
                                  name=options.name or folder.name)
    staging = staging_folder(folder)
    try:
        return _build(ray, options, address, progress or (lambda p: None), should_cancel or (lambda: False),
                      prepare, shard_size, started)
    except OSError as exc:
        raise LibraryError(exc.filename or folder, f"cannot build the library here "
                                                   f"({exc.strerror or exc})") from None
    finally:
        shards = staging / "shards"
        if staging.is_dir() and not (shards.is_dir() and any(shards.iterdir())):
            shutil.rmtree(staging, ignore_errors=True)  # nothing finished worth keeping


def _build(ray: Any, options: BuildOptions, address: str, report: ProgressFn, cancelled: CancelFn,
           prepare: PrepareFn, shard_size: int | None, started: float) -> RayBuildResult:
    from cxrviewer.library.shard_merge import merge_shards

    folder = options.out
    encoder = load_build_encoder(dataclasses.replace(options, device="cpu"), report)  # for its identity only
    known = _check_library(folder, encoder, report)
    report(BuildProgress("reading", 0, 0, f"reading {options.dataset} at {options.root}"))
    cases, problems = read_dataset(options.dataset, options.root, options.limit)
    todo = [c for c in cases if c.case_id not in known]
    model_size = int(encoder.spec.input_size) if encoder is not None else 0
    fit = encoder.spec.film_fit if encoder is not None else "squash"
    jobs = [(c.image, c.frame, options.thumb_size, model_size, c.report.body, fit) for c in todo]
    settings = {"version": SHARD_VERSION, "dataset": options.dataset, "root": str(options.root),
                "thumb": options.thumb_size, "model_size": model_size, "fit": fit,
                "weights": route_of(encoder)[2].get("encoder", {}).get("fingerprint", "")}
    plans = plan_shards([c.case_id for c in todo], jobs, shard_size or default_shard_size(len(todo)), settings)
    staging = staging_folder(folder)
    shards_dir = staging / "shards"
    _remove_stale_shards(shards_dir, plans)
    pending = [p for p in plans if not finished(shards_dir / p.file_name, p)]
    run = _Run(plans, shards_dir, len(todo), report, cancelled)
    run.done = len(todo) - sum(len(p.case_ids) for p in pending)
    report(BuildProgress("images", run.done, len(todo), f"{len(todo)} images to add in {len(plans)} shards"))
    gpus = rounds = 0
    if pending:
        with ray_session(ray, address, options.workers, report) as resources:
            gpus = int(resources.get("GPU", 0))
            rounds = run.all_rounds(ray, pending, options, resources, prepare)
    report(BuildProgress("finishing", 0, len(plans), "merging shards"))
    merged = merge_shards(folder, options, encoder, plans, shards_dir, staging / "library",
                          {c.case_id: c for c in todo}, problems, report)
    shutil.rmtree(staging, ignore_errors=True)
    counts = merged.manifest.counts
    return RayBuildResult(folder, merged.added, merged.skipped, counts["cases"], merged.resumed,
                          time.perf_counter() - started, tuple(problems), run.span(),
                          address=address, shards=len(plans), shards_reused=len(plans) - len(pending),
                          rounds=rounds, gpus=gpus)


def import_ray() -> Any:
    """Ray, or a clear message naming the extra that installs it."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing is sent anywhere
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise LibraryError("--ray", f"building on a Ray cluster needs Ray, which is not installed "
                                    f"({exc}): {INSTALL_HINT}") from None
    return ray


def default_shard_size(count: int) -> int:
    """About ``SHARD_TARGET`` shards, each between ``SHARD_MIN`` and ``SHARD_MAX`` cases: small
    enough to spread over a cluster and lose little to a failure, large enough that the
    per-task cost does not matter. It depends on the cases only, so a rerun plans the same."""
    return max(SHARD_MIN, min(SHARD_MAX, math.ceil(count / SHARD_TARGET)))


def _check_library(folder: Path, encoder: Any, report: ProgressFn) -> set[str]:
    """Refuse what the local build refuses, before any work; the cases the library has."""
    if not (folder / MANIFEST_NAME).exists():
        check_can_create(folder)
        return set()
    manifest = read_manifest(folder)
    check_can_extend(folder, manifest, encoder, report)
    store = Store(folder / manifest.store, read_only=manifest.state == "ready")
    try:
        return store.known_case_ids()
    finally:
        store.close()


def _remove_stale_shards(shards_dir: Path, plans: Sequence[ShardPlan]) -> None:
    """Shards of an earlier plan (other cases or settings) can never be merged: delete them."""
    if not shards_dir.is_dir():
        return
    wanted = {p.file_name for p in plans}
    for path in shards_dir.iterdir():
        if path.name not in wanted:
            path.unlink(missing_ok=True)


@contextmanager
def ray_session(ray: Any, address: str, cpus: int | None, report: ProgressFn) -> Iterator[dict[str, float]]:
    """Connected to Ray for the block: a local instance started here (and stopped after), a
    cluster at ``address``, or the session this process already has (left as it is)."""
    owned = not ray.is_initialized()
    if owned:
        quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        try:
            if address == LOCAL:
                report(BuildProgress("reading", 0, 0, "starting a local Ray instance"))
                ray.init(num_cpus=cpus or os.cpu_count() or 1, object_store_memory=LOCAL_OBJECT_STORE, **quiet)
            else:
                report(BuildProgress("reading", 0, 0, f"connecting to the Ray cluster at {address}"))
                silent = _silent_port(address)
                if silent:  # Ray itself would go on trying for ever
                    raise ConnectionError(f"nothing answers at {silent}")
                ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise LibraryError(address, f"cannot start or reach Ray here ({_gist(exc)})") from None
    _quiet_ray_data()
    try:
        yield dict(ray.cluster_resources())
    finally:
        if owned:
            ray.shutdown()


def _silent_port(address: str, timeout: float = CONNECT_TIMEOUT) -> str:
    """``host:port`` of a ``[ray://]host:port`` address where no connection opens, else ""."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return ""  # "auto" and the like: Ray answers those itself at once
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            return ""
    except OSError:
        return f"{host}:{port}"


def _quiet_ray_data() -> None:
    """No progress bars or execution banners from Ray Data: the build reports its own."""
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled"


class _Run:
    """The driver's side of the shard rounds: it writes each shard as it comes back."""

    def __init__(self, plans: Sequence[ShardPlan], shards_dir: Path, total: int, report: ProgressFn,
                 cancelled: CancelFn) -> None:
        self.plans = {p.key: p for p in plans}
        self.shards_dir = shards_dir
        self.total = total
        self.report = report
        self.cancelled = cancelled
        self.done = 0
        self.first: float | None = None
        self.last: float | None = None

    def span(self) -> float:
        return (self.last - self.first) if self.first is not None and self.last is not None else 0.0

    def all_rounds(self, ray: Any, pending: Sequence[ShardPlan], options: BuildOptions,
                   resources: dict[str, float], prepare: PrepareFn) -> int:
        error = ""
        for round_number in range(1, SHARD_ROUNDS + 1):
            error = self.one_round(ray, pending, options, resources, prepare)
            pending = [p for p in pending if not (self.shards_dir / p.file_name).exists()]
            if not pending:
                return round_number
            if round_number < SHARD_ROUNDS:
                self.report(BuildProgress("images", self.done, self.total,
                                          f"{len(pending)} shards failed ({error}); making them again"))
        made = len(self.plans) - len(pending)
        kept = (f" The {made} finished shards are kept here: run the same build again to make only the "
                f"failed ones." if made else "")
        raise LibraryError(self.shards_dir.parent,
                           f"{len(pending)} of {len(self.plans)} shards could not be made in {SHARD_ROUNDS} "
                           f"tries (last error: {error}); nothing was merged into the library.{kept}")

    def one_round(self, ray: Any, pending: Sequence[ShardPlan], options: BuildOptions,
                  resources: dict[str, float], prepare: PrepareFn) -> str:
        """Make ``pending`` shards; the last error met ("" when there was none)."""
        error = ""
        rows = [{"plan": json.dumps({"key": p.key, "case_ids": p.case_ids, "jobs": p.jobs})} for p in pending]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        dataset = _bounded(dataset.map, _prepare_row, fn_kwargs={"prepare": prepare}, num_cpus=1,
                           retries={"max_retries": MAX_TASK_RETRIES})
        if options.encoder:
            dataset = _bounded(dataset.map, _EncodeShard, **_encoder_resources(ray, options, resources),
                               retries={"max_restarts": MAX_TASK_RETRIES, "max_task_retries": MAX_TASK_RETRIES})
        results = iter(dataset.iter_rows())
        try:
            while True:
                try:
                    row = next(results)
                except StopIteration:
                    return error
                except Exception as exc:  # noqa: BLE001 - whatever failed the round: its shards go again
                    return _gist(exc)
                if row["error"]:
                    error = row["error"]
                else:
                    self.keep(row["key"], row["payload"])
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()  # stops the execution when the driver gives up early (cancel)

    def keep(self, key: str, payload: bytes) -> None:
        from cxrviewer.fileio import atomic_write_bytes

        plan = self.plans[key]
        shard = from_bytes(payload)
        if shard.case_ids != plan.case_ids:
            raise LibraryError(self.shards_dir, f"shard {key} came back with other cases than were sent")
        atomic_write_bytes(self.shards_dir / plan.file_name, payload)
        now = time.perf_counter()
        self.first = self.first if self.first is not None else now
        self.last = now
        self.done += len(plan.case_ids)
        self.report(BuildProgress("images", self.done, self.total))
        if self.done < self.total and self.cancelled():
            raise BuildCancelled(f"cancelled after {self.done} of {self.total} images; the finished shards "
                                 f"are kept in {self.shards_dir}: run the build again to go on from them")


def _bounded(map_fn: Callable[..., Any], *args: Any, retries: dict[str, int], **kwargs: Any) -> Any:
    """``map_fn`` with Ray's retries bounded (Ray Data's own default retries a task whose
    worker died for ever: a film that crashes its decoder every time would never end the
    build). Ray deprecates passing them this way; a Ray that no longer takes them keeps its own."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated")
        try:
            return map_fn(*args, **kwargs, **retries)
        except TypeError:
            return map_fn(*args, **kwargs)


def _encoder_resources(ray: Any, options: BuildOptions, resources: dict[str, float]) -> dict[str, Any]:
    """One encoder actor per GPU where the cluster has GPUs (unless --device asks for another),
    else one per 8 CPUs on the CPU; the rest of the CPUs decode."""
    gpus = int(resources.get("GPU", 0))
    device = options.device
    if gpus and (device is None or device.startswith("cuda")):
        actors, per_actor, device = gpus, {"num_gpus": 1, "num_cpus": 1}, "cuda"
    else:
        cpus = int(resources.get("CPU", 1))  # with one CPU the actor holds none, or no decode task could run
        actors, per_actor, device = max(1, cpus // 8), {"num_cpus": 1 if cpus > 1 else 0}, device or "cpu"
    return {"compute": ray.data.ActorPoolStrategy(size=actors), **per_actor,
            "fn_constructor_kwargs": {"encoder": options.encoder, "device": device,
                                      "batch_size": options.batch_size}}


def _prepare_row(row: dict[str, Any], prepare: PrepareFn = prepare_image) -> dict[str, Any]:
    """Ray Data task: decode the films of one shard (thumbnails, model inputs, report details).
    An error comes back as the shard's row rather than aborting the other shards' tasks."""
    data = json.loads(row["plan"])
    plan = ShardPlan(data["key"], tuple(data["case_ids"]), tuple(tuple(job) for job in data["jobs"]))
    try:
        images = [prepare(job) for job in plan.jobs]
        return {"key": plan.key, "payload": to_bytes(prepared_shard(plan, images)), "error": ""}
    except Exception as exc:  # noqa: BLE001 - the driver makes this shard again, and names the error
        return _failed(plan.key, exc)


def _failed(key: str, exc: Exception) -> dict[str, Any]:
    return {"key": key, "payload": b"", "error": f"{type(exc).__name__}: {exc}"}


class _EncodeShard:
    """Ray Data actor: the encoder, loaded once, embedding shard after shard."""

    def __init__(self, encoder: str, device: str, batch_size: int) -> None:
        from cxrviewer.models.encoders import load_encoder
        from cxrviewer.models.registry import weights_fingerprint

        self.encoder = load_encoder(encoder, device=device)
        self.fingerprint = weights_fingerprint(self.encoder.spec.local_path())
        self.batch_size = batch_size

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        if row["error"]:
            return row
        try:
            shard = from_bytes(row["payload"])
            if shard.model_inputs is None:
                vectors = np.zeros((0, int(self.encoder.embed_dim)), np.float32)
            else:
                vectors = self.encoder.encode_images(list(shard.model_inputs), batch_size=self.batch_size)
            return {"key": row["key"], "payload": to_bytes(shard.with_vectors(vectors, self.fingerprint)),
                    "error": ""}
        except Exception as exc:  # noqa: BLE001 - as in _prepare_row
            return _failed(row["key"], exc)


def _gist(exc: BaseException) -> str:
    """The kind and first line of an error from Ray (its text goes on with remote tracebacks)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
