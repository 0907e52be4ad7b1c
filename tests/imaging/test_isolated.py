"""Compressed files decode in a worker process that is abandoned when it runs away."""

from __future__ import annotations

import numpy as np
import pytest

from cxrviewer.imaging.dicom import load_image
from cxrviewer.imaging.isolated import DecodeAbandoned, IsolatedWorker, is_compressed, load_image_isolated
from cxrviewer.imaging.records import ImageReadError


@pytest.fixture
def worker():
    w = IsolatedWorker(timeout=20)
    yield w
    w.close()


def test_a_runaway_call_is_abandoned_and_the_worker_replaced(worker):
    with pytest.raises(DecodeAbandoned, match="longer than 1 s"):
        worker.call("time:sleep", 30, timeout=1)
    assert worker.call("math:sqrt", 16.0) == 4.0  # a fresh process serves the next request


def test_a_crash_costs_only_the_worker(worker):
    with pytest.raises(DecodeAbandoned, match="crashed"):
        worker.call("os:_exit", 3)
    assert worker.call("math:sqrt", 9.0) == 3.0


def test_errors_come_back_as_exceptions(worker, tmp_path):
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty file"):
        worker.call("cxrviewer.imaging.dicom:load_image", str(empty))


def test_compressed_real_files_decode_in_the_worker_identically(dicom_dir):
    path = str(dicom_dir / "codecs" / "RG3_J2KR.dcm")
    assert is_compressed(path)
    isolated = load_image_isolated(path)
    direct = load_image(path)
    assert np.array_equal(isolated.pixels, direct.pixels)
    assert isolated.presets == direct.presets


def test_uncompressed_files_stay_in_process(dicom_dir):
    assert not is_compressed(str(dicom_dir / "codecs" / "693_UNCI.dcm"))
