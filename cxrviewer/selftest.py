"""``cxrviewer --self-test``: check that an install (or the desktop bundle) works end to end.

It decodes compressed DICOM (JPEG 2000, JPEG lossless, JPEG-LS, RLE) with every pixel handler
the install should have; writes a small synthetic demo dataset and builds a case library from it
with the shipped ``demo-clip`` encoder (both in spawned worker processes, as the app does);
searches it by the findings route and by the embedding route and computes a saliency map through
the library API; then drives the real window offscreen: opens a DICOM from the demo, runs both
searches, opens the top result with automatic saliency and waits until the map is drawn.

Each step is printed with its timing. The exit status is 0 only when every step worked; a
failing step prints its message (never a traceback: that goes to the log file named at the end).
Everything is written to a temporary folder (``CXRVIEWER_HOME`` points there while it runs), so
the user's settings and libraries are never touched; the folder is removed after a pass and kept
after a failure, with the log in it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxrviewer.logs import quiet_library_loggers

log = logging.getLogger("cxrviewer.selftest")

QUERY = "Mild cardiomegaly. Small left pleural effusion."
N_CASES = 60
IMAGE_SIZE = 256
MODEL = "demo-clip"
STEP_TIMEOUT = 120.0  # seconds the window may take for one step (a cold torch import included)

# Pixel handlers each compressed transfer syntax must decode with: what pyproject installs.
# Every one of them is found at run time (pylibjpeg's plugins through package metadata), which is
# what a frozen bundle gets wrong.
CODECS: dict[str, tuple[str, ...]] = {
    "JPEG 2000 lossless": ("gdcm", "pylibjpeg"),
    "JPEG lossless SV1": ("gdcm", "pylibjpeg"),
    "JPEG-LS lossless": ("pyjpegls", "gdcm", "pylibjpeg"),
    "RLE lossless": ("pylibjpeg", "pydicom"),
}
# pylibjpeg-libjpeg is GPL-3.0: a bundle may leave it out on purpose (README). Its pylibjpeg plugin
# is then not required; when the module is there, its plugin must be found (the metadata check).
OPTIONAL_MODULE = {"JPEG lossless SV1": "libjpeg", "JPEG-LS lossless": "libjpeg"}


class StepFailed(Exception):
    """A check did not hold; the message says what was expected and what was found."""


@dataclass
class Context:
    """What the steps share: the temporary folder and what earlier steps made."""

    folder: Path
    values: dict[str, Any] = field(default_factory=dict)

    def need(self, key: str) -> Any:
        if key not in self.values:
            raise StepSkipped(f"needs {key.replace('_', ' ')} from an earlier step")
        return self.values[key]


class StepSkipped(Exception):
    """An earlier step that this one builds on failed."""


# -- the steps ---------------------------------------------------------------------------------------


def step_environment(ctx: Context) -> str:
    import platform

    from cxrviewer import __version__

    frozen = "bundle" if getattr(sys, "frozen", False) else "Python install"
    return f"cxrviewer {__version__}, {frozen}, Python {platform.python_version()} on {platform.system()}"


def step_codecs(ctx: Context) -> str:
    """Write one small 12-bit film in each compressed syntax, decode it with every handler."""
    import numpy as np
    import pydicom
    from pydicom.pixels import get_decoder, pixel_array

    from cxrviewer.imaging.dicom import load_image

    pixels = (np.add.outer(np.arange(128), np.arange(96)) * 37 % 4096).astype(np.uint16)
    folder = ctx.folder / "codecs"
    folder.mkdir()
    notes = []
    for name, wanted in CODECS.items():
        path = _write_compressed(name, pixels, folder)
        ds = pydicom.dcmread(path)
        available = set(get_decoder(ds.file_meta.TransferSyntaxUID).available_plugins)
        optional = OPTIONAL_MODULE.get(name)
        if optional and importlib.util.find_spec(optional) is None:
            wanted = tuple(p for p in wanted if p != "pylibjpeg")
        missing = [p for p in wanted if p not in available]
        if missing:
            raise StepFailed(f"{name}: no {', '.join(missing)} decoder "
                             f"(available: {', '.join(sorted(available)) or 'none'})")
        for plugin in wanted:
            try:
                decoded = pixel_array(ds, decoding_plugin=plugin)
            except BaseException as exc:  # pylibjpeg-rle raises a Rust PanicException
                raise StepFailed(f"{name}: {plugin} failed: {type(exc).__name__}: {exc}") from exc
            if not np.array_equal(decoded, pixels):
                raise StepFailed(f"{name}: {plugin} decoded different pixels")
        image = load_image(str(path))  # the viewer's own loader, with its handler order
        if not np.array_equal(np.asarray(image.pixels).reshape(pixels.shape), pixels):
            raise StepFailed(f"{name}: the viewer's loader decoded different pixels")
        notes.append(f"{name} ({'/'.join(wanted)})")
    return "; ".join(notes)


def _plain_dataset(pixels: Any) -> Any:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.1.1")  # DX for presentation
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.PatientName = "Selftest^Codec"
    ds.PatientID = "SELFTEST"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels.tobytes()
    return ds


def _write_compressed(name: str, pixels: Any, folder: Path) -> Path:
    """pydicom's encoders for JPEG 2000 (pylibjpeg-openjpeg), JPEG-LS (pyjpegls) and RLE; GDCM for
    JPEG lossless, which pydicom cannot encode."""
    from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

    path = folder / (name.replace(" ", "_") + ".dcm")
    ds = _plain_dataset(pixels)
    if name == "JPEG lossless SV1":
        plain = folder / "plain.dcm"
        ds.save_as(plain, enforce_file_format=True)
        _gdcm_jpeg_lossless(plain, path)
        return path
    syntax = {"JPEG 2000 lossless": JPEG2000Lossless, "JPEG-LS lossless": JPEGLSLossless,
              "RLE lossless": RLELossless}[name]
    try:
        ds.compress(syntax, pixels)
    except Exception as exc:  # reported as the step's message
        raise StepFailed(f"{name}: could not encode a test file: {exc}") from exc
    ds.save_as(path, enforce_file_format=True)
    return path


def _gdcm_jpeg_lossless(source: Path, out: Path) -> None:
    import gdcm

    reader = gdcm.ImageReader()
    reader.SetFileName(str(source))
    if not reader.Read():
        raise StepFailed("JPEG lossless SV1: GDCM could not read the test file")
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
    change.SetInput(reader.GetImage())
    if not change.Change():
        raise StepFailed("JPEG lossless SV1: GDCM could not encode the test file")
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(out))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    if not writer.Write():
        raise StepFailed("JPEG lossless SV1: GDCM could not write the test file")


def step_demo_data(ctx: Context) -> str:
    """The synthetic demo dataset, written by spawned worker processes."""
    from cxrviewer.demo import write_demo

    root = ctx.folder / "demo-data"
    summary = write_demo(root, n_cases=N_CASES, size=IMAGE_SIZE, workers=2)
    dicoms = sorted(root.rglob("*.dcm"))
    if summary.n_cases != N_CASES or not dicoms:
        raise StepFailed(f"expected {N_CASES} cases with DICOM files, got {summary.n_cases} and {len(dicoms)} files")
    ctx.values["demo_root"] = root
    ctx.values["dicom"] = dicoms[0]
    return f"{summary.n_cases} cases, {len(dicoms)} DICOM files (2 worker processes)"


def step_scan_in_process(ctx: Context) -> str:
    """A folder scan handed over to a spawned process after its first files, as the window's
    scan of a big folder is (the frozen bundle must be able to start that process)."""
    from cxrviewer.imaging.scan import iter_folder
    from cxrviewer.services.executor import Executor
    from cxrviewer.services.study import ScanBatch, scan_folder

    root = ctx.need("demo_root")
    events: list[Any] = []
    executor = Executor("selftest-scan", listener=events.append)
    try:
        seen = executor.submit(scan_folder, str(root), 8, channel="scan").result(120)
    finally:
        executor.shutdown()
    paths = [item.path for e in events if e.kind == "partial" and isinstance(e.payload, ScanBatch)
             for item in e.payload.items]
    expected = [item.path for item in iter_folder(root)]
    if paths != expected:
        raise StepFailed(f"the scan gave {len(paths)} entries, the walk {len(expected)}")
    return f"{seen} files, 8 in the app's thread, the rest in a worker process"


def step_build_library(ctx: Context) -> str:
    """A library with the demo-clip embedding route, images prepared by spawned workers."""
    from cxrviewer.library.build import BuildOptions, build_library

    out = ctx.folder / "libraries" / "selftest"
    result = build_library(BuildOptions("demo", ctx.need("demo_root"), out, name="selftest", encoder=MODEL,
                                        synthetic=True, workers=2, batch_size=32))
    if result.total != N_CASES:
        raise StepFailed(f"the library has {result.total} cases, expected {N_CASES}")
    ctx.values["library"] = out
    return f"{result.total} cases, routes {MODEL} + labels (2 worker processes)"


def step_api_label_search(ctx: Context) -> str:
    from cxrviewer.library.library import Library, SearchRequest

    library = Library.open(ctx.need("library"))
    ctx.values["api_library"] = library
    result = library.search(SearchRequest(text=QUERY, route="labels", k=5))
    if not result.hits:
        raise StepFailed(f"no results ({result.message or 'no message'})")
    found = ", ".join(f"{k} {v}" for k, v in result.query_findings.items())
    return f"{len(result.hits)} hits for [{found}]; top {result.hits[0].case.case_id}"


def step_api_embedding_search(ctx: Context) -> str:
    library = ctx.need("api_library")
    from cxrviewer.library.library import SearchRequest

    result = library.search(SearchRequest(text=QUERY, route=MODEL, k=5))
    if not result.hits:
        raise StepFailed("no results")
    return f"{len(result.hits)} hits; top {result.hits[0].case.case_id} (score {result.hits[0].score:.3f}); {_device()}"


def step_api_saliency(ctx: Context) -> str:
    import numpy as np

    from cxrviewer.explain import TextTarget, explain
    from cxrviewer.library import prepare

    library = ctx.need("api_library")
    encoder = library.encoder
    pixels = prepare.film_input(prepare.load(str(ctx.need("dicom"))), encoder.spec)
    saliency = explain(encoder, pixels, TextTarget(QUERY))
    values = np.asarray(saliency.values)
    if values.ndim != 2 or not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
        raise StepFailed(f"a malformed map: shape {values.shape}, range {values.min()}..{values.max()}")
    return f"{saliency.method}, {values.shape[0]}x{values.shape[1]}, score {saliency.score:.3f}"


def _device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"torch {torch.__version__}, CUDA: {torch.cuda.get_device_name(0)}"
    return f"torch {torch.__version__}, CPU (no CUDA device)"


# -- the window (its Qt code lives in cxrviewer.gui.harness.selftest_window) -----------------------------


def _window_step(name: str) -> Callable[[Context], str]:
    def step(ctx: Context) -> str:
        from cxrviewer.gui.harness import selftest_window as window

        try:
            return getattr(window, name)(ctx, window.Check(QUERY, MODEL, STEP_TIMEOUT))
        except window.WindowStepFailed as exc:
            raise StepFailed(str(exc)) from exc.__cause__

    return step


def close_window(ctx: Context) -> None:
    if "window" in ctx.values:
        from cxrviewer.gui.harness.selftest_window import close_window as close

        close(ctx)
    library = ctx.values.pop("api_library", None)
    if library is not None:
        library.close()


STEPS: list[tuple[str, Callable[[Context], str]]] = [
    ("environment", step_environment),
    ("compressed DICOM decodes", step_codecs),
    ("demo dataset written", step_demo_data),
    ("folder scanned (worker process)", step_scan_in_process),
    ("library built", step_build_library),
    ("label-route search (API)", step_api_label_search),
    ("embedding-route search (API)", step_api_embedding_search),
    ("saliency map (API)", step_api_saliency),
    ("window opened offscreen", _window_step("step_window")),
    ("DICOM shown in the window", _window_step("step_window_open")),
    ("label-route search (window)", _window_step("step_window_label_search")),
    ("embedding-route search (window)", _window_step("step_window_embedding_search")),
    ("saliency drawn (window)", _window_step("step_window_saliency")),
]


# -- running -----------------------------------------------------------------------------------------


def run_steps(ctx: Context, out: Callable[[str], None]) -> list[str]:
    """Run every step; the names of those that failed or were skipped."""
    failed = []
    for name, step in STEPS:
        started = time.perf_counter()
        try:
            detail = step(ctx)
        except StepSkipped as exc:
            failed.append(name)
            out(f"  skip  {name}: {exc}")
            continue
        except StepFailed as exc:
            failed.append(name)
            log.error("step %r failed: %s", name, exc, exc_info=exc.__cause__ is not None)
            out(f"  FAIL  {name} ({time.perf_counter() - started:.2f} s): {exc}")
            continue
        except BaseException as exc:  # a Rust panic in a codec is a BaseException
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            failed.append(name)
            log.error("step %r failed:\n%s", name, "".join(traceback.format_exception(exc)))
            out(f"  FAIL  {name} ({time.perf_counter() - started:.2f} s): {type(exc).__name__}: {_short(exc)}")
            continue
        log.info("step %r passed in %.2f s: %s", name, time.perf_counter() - started, detail)
        out(f"  ok    {name} ({time.perf_counter() - started:.2f} s): {detail}")
    return failed


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    """Run the self-test; 0 when everything worked, 1 otherwise."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    folder = Path(tempfile.mkdtemp(prefix="cxrviewer-selftest-"))
    saved_home = os.environ.get("CXRVIEWER_HOME")
    os.environ["CXRVIEWER_HOME"] = str(folder / "home")  # never the user's settings or libraries
    log_file = folder / "selftest.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root_logger = logging.getLogger()
    saved_level = root_logger.level
    root_logger.addHandler(handler)
    root_logger.setLevel(logging.INFO)
    quiet_library_loggers()

    def out(line: str) -> None:
        print(line, flush=True)

    started = time.perf_counter()
    out(f"cxrviewer self-test (working in {folder})")
    ctx = Context(folder)
    try:
        failed = run_steps(ctx, out)
        close_window(ctx)
    finally:
        root_logger.removeHandler(handler)
        root_logger.setLevel(saved_level)
        handler.close()
        if saved_home is None:
            os.environ.pop("CXRVIEWER_HOME", None)
        else:
            os.environ["CXRVIEWER_HOME"] = saved_home
    seconds = time.perf_counter() - started
    if failed:
        out(f"self-test FAILED in {seconds:.1f} s: {len(failed)} of {len(STEPS)} steps "
            f"({', '.join(failed)}); details in {log_file}")
        return 1
    shutil.rmtree(folder, ignore_errors=True)
    out(f"self-test passed: {len(STEPS)} steps in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
