"""The viewer's three speed goals, measured in one run (``python -m cxrviewer.bench viewer``).

1. Open a 2k x 2k 16-bit DICOM to first frame drawn, as a ratio to pydicom's ``dcmread`` +
   ``pixel_array`` alone (goal <= 1.2).
2. Process start to window shown, as a ratio to a bare PySide6 window (goal <= 1.5).
3. A 5,000-file folder scan: files/s, and the longest event-loop stall meanwhile (goal <= 50 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Each child process stops at its window's first paint (closing the window ends the app); only
# what comes before differs.
PAINT_PROBE = r"""
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print("SHOWN", time.time(), flush=True)
            QTimer.singleShot(0, obj.close)
        return False
probe = FirstPaint()
"""

BARE_WINDOW = PAINT_PROBE + r"""
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.resize(1500, 950)
window.installEventFilter(probe)
window.show()
app.exec()
"""

# The real entry point, as `cxrviewer` with no arguments runs it (argument parsing, settings,
# the window, the start-up work queued behind the first paint); only the probe is added.
APP_WINDOW = PAINT_PROBE + r"""
from cxrviewer.gui import main_window
show = main_window.MainWindow.show
def probed_show(window):
    window.persist_settings = False
    window.installEventFilter(probe)
    show(window)
main_window.MainWindow.show = probed_show
from cxrviewer.app import main
sys.exit(main([]))
"""


def _time_to_shown(script: str, env: dict[str, str]) -> float:
    started = time.time()
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    for line in out.stdout.splitlines():
        if line.startswith("SHOWN"):
            return float(line.split()[1]) - started
    raise RuntimeError(f"window never shown: {out.stderr[-2000:]}")


def bench_startup(repeats: int, home: Path) -> dict[str, float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CXRVIEWER_HOME=str(home))
    # An installed app has its bytecode compiled; measure that state, not first-run compilation.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    _time_to_shown(BARE_WINDOW, env)
    _time_to_shown(APP_WINDOW, env)
    bare, ours = [], []
    for _ in range(repeats):  # interleaved, so drift in machine load hits both alike
        bare.append(_time_to_shown(BARE_WINDOW, env))
        ours.append(_time_to_shown(APP_WINDOW, env))
    b, o = statistics.median(bare), statistics.median(ours)
    return {"bare_s": b, "cxrviewer_s": o, "ratio": o / b}


def bench_first_frame(app, window, folder: Path, repeats: int) -> dict[str, float]:
    """Time from asking for an image to its first paint, against dcmread + pixel_array."""
    import numpy as np
    import pydicom
    from PySide6.QtCore import QEventLoop

    from cxrviewer.imaging.synthetic import write_dicom

    rng = np.random.default_rng(0)
    path = folder / "large_2k.dcm"
    ramp = np.linspace(0, 3000, 2048, dtype=np.uint16)[None, :]
    pixels = (rng.integers(0, 4096, (2048, 2048), dtype=np.uint16) // 4 + ramp).astype(np.uint16)
    write_dicom(path, pixels, bits_stored=12, pixel_spacing=(0.15, 0.15))

    def baseline() -> float:
        t0 = time.perf_counter()
        pydicom.dcmread(path).pixel_array  # noqa: B018 - decoding is the point
        return time.perf_counter() - t0

    painted: list[float] = []
    original_paint = window.viewer.item.paint

    def paint_probe(*args):
        original_paint(*args)
        if window.viewer.item.image is not None:  # not the paint of the cleared view
            painted.append(time.perf_counter())

    window.viewer.item.paint = paint_probe

    def ours() -> float:
        window.viewer.clear()
        app.processEvents()
        painted.clear()
        t0 = time.perf_counter()
        window.session.film.open(str(path))
        deadline = t0 + 30
        while not painted and time.perf_counter() < deadline:
            # Block like the real event loop does: a busy loop would steal the GIL from the worker.
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        if not painted:
            raise RuntimeError("the image was never painted")
        return painted[0] - t0

    for _ in range(2):  # warm the page cache, the decoders and pyqtgraph's LUT caches
        baseline()
        ours()
    base_times, our_times = [], []
    for _ in range(repeats):
        base_times.append(baseline())
        our_times.append(ours())
    window.viewer.item.paint = original_paint
    b, o = statistics.median(base_times), statistics.median(our_times)
    return {"dcmread_pixel_array_ms": b * 1000, "open_to_first_frame_ms": o * 1000, "ratio": o / b}


def make_folder(root: Path, files: int) -> Path:
    """``files`` small DICOMs: 1,000 patients' studies of a few images each, plus a few bad files."""
    import numpy as np

    from cxrviewer.imaging.synthetic import SyntheticStudy, write_dicom

    marker = root / f".complete-{files}"
    if marker.exists():
        return root
    pixels = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 3) & 0x0FFF
    per_study = 5
    for i in range(files):
        if i % per_study == 0:
            study = SyntheticStudy(patient_name=f"Patient^{i // per_study}", patient_id=f"P{i // per_study:05d}")
        write_dicom(root / f"p{i // per_study // 100:02d}" / f"s{i // per_study:05d}" / f"im{i % per_study}.dcm",
                    pixels, study=study, instance_number=i % per_study + 1)
    marker.touch()
    return root


def bench_scan(app, window, folder: Path) -> dict[str, float]:
    from PySide6.QtCore import QEventLoop, QTimer

    stalls: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        stalls.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    last[0] = time.perf_counter()
    t0 = time.perf_counter()
    scan_done: list[float] = []
    window.study.scanFinished.connect(lambda _: scan_done.append(time.perf_counter()))
    # The app's own event loop, sleeping between events: a busy processEvents() loop here would
    # wake the GUI thread a thousand times a second and take the GIL from the scan.
    loop = QEventLoop()
    check = QTimer()
    check.setInterval(50)
    check.timeout.connect(lambda: loop.quit() if (scan_done and window.is_idle())
                          or time.perf_counter() - t0 > 600 else None)
    window.session.open_path(str(folder))
    check.start()
    loop.exec()
    check.stop()
    heartbeat.stop()
    elapsed = (scan_done[0] if scan_done else time.perf_counter()) - t0
    tree = window.session.study.tree
    files = tree.image_count + tree.issue_count()
    longest = max(stalls) - 0.010 if stalls else 0.0  # lateness beyond the 10 ms period
    return {"files": files, "seconds": elapsed, "files_per_s": files / elapsed,
            "longest_stall_ms": max(0.0, longest) * 1000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cxrviewer.bench viewer", description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000, help="files in the scanned folder")
    parser.add_argument("--repeats", type=int, default=7, help="repetitions of each timing (median reported)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep generated files here (reused between runs)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cxrviewer-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        home = work / "home"
        os.environ["CXRVIEWER_HOME"] = str(home)

        startup = bench_startup(max(3, args.repeats), home)
        print(f"start to window shown: bare PySide6 {startup['bare_s'] * 1000:.0f} ms, "
              f"cxrviewer {startup['cxrviewer_s'] * 1000:.0f} ms, ratio {startup['ratio']:.2f} (goal <= 1.5)")

        from cxrviewer.gui.launch import create_app
        from cxrviewer.gui.main_window import MainWindow
        from cxrviewer.settings import Settings

        app = create_app()
        window = MainWindow(Settings())
        window.persist_settings = False
        window.resize(1500, 950)
        window.show()
        app.processEvents()

        frame = bench_first_frame(app, window, work, args.repeats)
        print(f"open 2048x2048 16-bit DICOM to first frame drawn: {frame['open_to_first_frame_ms']:.1f} ms; "
              f"dcmread + pixel_array {frame['dcmread_pixel_array_ms']:.1f} ms; "
              f"ratio {frame['ratio']:.2f} (goal <= 1.2)")

        folder = make_folder(work / f"scan{args.files}", args.files)
        scan = bench_scan(app, window, folder)
        print(f"scan of {scan['files']:,} files: {scan['seconds']:.1f} s, {scan['files_per_s']:.0f} files/s, "
              f"longest event-loop stall {scan['longest_stall_ms']:.0f} ms (goal <= 50)")
        window.close()
        app.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
