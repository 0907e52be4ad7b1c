"""Starting the window: the QApplication, the main window, and ``--screenshot`` mode."""

from __future__ import annotations

import logging
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace

log = logging.getLogger(__name__)


def create_app(argv: list[str] | None = None):
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(argv or [sys.argv[0]])
        app.setApplicationName("cxrviewer")
        app.setOrganizationName("cxrviewer")
    return app


def start_logging(crashes_to_stderr: bool = False) -> Path | None:
    """The window's log file (a desktop launch has no console to read) and, beside it, the
    Python stacks of a fatal crash (faulthandler). Returns the log file, or None when its folder
    cannot be written (then messages stay on stderr only)."""
    import faulthandler
    import os

    from cxrviewer import paths
    from cxrviewer.logs import PatientDataFilter, quiet_library_loggers

    folder = paths.log_dir()
    log_file = folder / "cxrviewer.log"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if log_file.is_file() and log_file.stat().st_size > LOG_ROTATE_BYTES:
            os.replace(log_file, folder / "cxrviewer.1.log")  # one earlier run kept
        # logging.FileHandler, not logging.handlers: that module imports socket, pickle and queue (15 ms)
        handler = logging.FileHandler(log_file, encoding="utf-8")
        crash_file = None if crashes_to_stderr else open(folder / "crash.log", "a", encoding="utf-8")  # noqa: SIM115 - open for the process's life
    except OSError as exc:
        print(f"cxrviewer: no log file in {folder}: {exc}", file=sys.stderr)
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    for each in (handler, console):
        each.addFilter(PatientDataFilter())  # pydicom quotes the values of damaged elements
    quiet_library_loggers()
    root = logging.getLogger()
    root.addHandler(handler)
    root.addHandler(console)
    root.setLevel(logging.INFO)
    faulthandler.enable(crash_file or sys.stderr, all_threads=True)
    if crash_file is not None:
        _keep_open.append(crash_file)
    return Path(handler.baseFilename)


LOG_ROTATE_BYTES = 2_000_000
_keep_open: list = []  # faulthandler writes to the file's descriptor: it must outlive every thread


def _install_excepthook(window, log_file: Path | None = None) -> None:
    """An unexpected error in a slot goes to the log and the status bar, never a traceback dialog."""
    where = f"details in {log_file}" if log_file else "details on the console"

    def hook(exc_type, exc, tb) -> None:
        log.error("unexpected error:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        try:
            window.statusBar().showMessage(f"Unexpected error: {exc_type.__name__}: {exc} ({where})")
        except RuntimeError:
            pass

    sys.excepthook = hook


def launch(args: argparse.Namespace | SimpleNamespace) -> int:  # a plain start skips argparse
    if args.screenshot:
        import os

        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    log_file = start_logging(crashes_to_stderr=bool(args.screenshot))
    import warnings

    # pydicom sends each of its warnings to its logger too (the log gets them with the values
    # taken out); as Python warnings on stderr they would show the values.
    warnings.filterwarnings("ignore", module=r"pydicom(\..*)?$")
    from cxrviewer import __version__

    log.info("cxrviewer %s (Python %s, %s) started: %s", __version__, sys.version.split()[0],
             "bundle" if getattr(sys, "frozen", False) else "install", describe_options(args))
    from cxrviewer.gui.platform_check import platform_problem

    problem = platform_problem()  # before Qt, which would abort the process instead
    if problem:
        log.error("%s", problem)  # on stderr too (the console handler), for a launch from a shell
        return 1
    try:
        app = create_app()
        from cxrviewer import settings as settings_store
        from cxrviewer.gui.main_window import MainWindow

        settings, settings_notice = settings_store.load_with_notice()  # the notice is logged (and on stderr)
        if args.anonymise:
            settings.anonymise = True
        window = MainWindow(settings)
    except Exception as exc:  # noqa: BLE001 - shown to the user, not as a traceback
        return _startup_failed(exc)
    _install_excepthook(window, log_file)
    if settings_notice:
        show_settings_notice(window, settings_notice)
    if args.screenshot:
        return take_screenshot(app, window, args)
    if getattr(args, "saliency", False):
        window.auto_explain_action.setChecked(True)
    window.show()
    if args.path:
        window.after_first_paint(lambda: window.session.open_path(args.path))
    window.after_first_paint(lambda: window.search.start(getattr(args, "library", None), getattr(args, "query", None)))
    status = app.exec()
    return int(status)


def show_settings_notice(window, notice: str) -> None:
    """Say in the status bar that the settings were reset, for the session: a temporary message
    would be replaced within seconds by a first start's search results. Status messages cover it
    while they show."""
    from PySide6.QtWidgets import QLabel, QSizePolicy

    label = QLabel(notice)
    label.setObjectName("settings_notice")
    label.setToolTip(notice)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # clipped, never widening the window
    window.statusBar().addWidget(label, 1)


# Options whose values can identify a patient or a person's files: logged as placeholders.
_PLACEHOLDERS = {"path": "<path>", "screenshot": "<file>", "library": "<library>"}


def describe_options(args: argparse.Namespace | SimpleNamespace) -> str:
    """The options a start used, for the log: paths and the query as placeholders, since folder
    names and typed impressions can carry patient data."""
    from cxrviewer.arguments import NO_ARGUMENTS

    parts = []
    for key, default in NO_ARGUMENTS.items():
        value = getattr(args, key, default)
        if value == default:
            continue
        option = "--" + key.replace("_", "-")
        if key == "query":
            parts.append(f"{option} <query: {len(value)} chars>")
        elif key in _PLACEHOLDERS:
            parts.append(_PLACEHOLDERS[key] if key == "path" else f"{option} {_PLACEHOLDERS[key]}")
        else:
            parts.append(option if value is True else f"{option} {value}")
    return " ".join(parts) or "(no arguments)"


def _startup_failed(exc: Exception) -> int:
    message = f"cxrviewer could not start: {type(exc).__name__}: {exc}"
    if isinstance(exc, ImportError):  # PySide6 on a bare system: libEGL.so.1, libfontconfig.so.1, ...
        from cxrviewer.gui.platform_check import libraries_in_error, package_hint

        hint = package_hint(libraries_in_error(str(exc)))
        message += f"\n  {hint}" if hint else ""
    log.error("%s", message)  # on stderr too (the console handler)
    log.debug("start-up failure", exc_info=True)
    try:
        from PySide6.QtWidgets import QApplication, QMessageBox

        app = QApplication.instance()
        # No dialog without a screen: offscreen (--screenshot) nobody could close it, and it would
        # wait forever.
        if app is not None and app.platformName() not in ("offscreen", "minimal"):
            QMessageBox.critical(None, "cxrviewer", message)
    except Exception:  # noqa: BLE001 - nothing more we can do
        pass
    return 1


def take_screenshot(app, window, args: argparse.Namespace) -> int:
    """Open offscreen, wait until everything requested has been drawn, save a PNG and exit."""
    from PySide6.QtCore import QEventLoop

    width, height = (int(v) for v in args.size.lower().split("x"))
    window.persist_settings = False
    window.resize(width, height)
    window.show()
    if args.path:
        window.session.open_path(args.path)
    query = getattr(args, "query", None)
    saliency = bool(getattr(args, "saliency", False))
    if saliency:
        window.auto_explain_action.setChecked(True)
    if query or getattr(args, "library", None):
        window.search.start(getattr(args, "library", None), query)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if (screenshot_ready(window, requested_path=bool(args.path)) and search_ready(window, bool(query))
                and saliency_ready(window, saliency and bool(query))):
            break
        time.sleep(0.01)
    else:
        print(f"cxrviewer: gave up waiting after {args.timeout:.0f} s; saving what is shown", file=sys.stderr)
    # A few more turns of the event loop so queued paints (thumbnails, overlays) land.
    for _ in range(3):
        app.processEvents()
    out = Path(args.screenshot)
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(out), "PNG")
    error = window.viewer.error if window.viewer_built() else None
    shown = Path(window.session.film.path or "").name
    window.close()
    app.processEvents()
    if not ok:
        print(f"cxrviewer: could not write {out}", file=sys.stderr)
        return 1
    print(f"saved {out}")
    if error is not None:  # the screenshot shows the reason; a script checking films needs it too
        print(f"cxrviewer: cannot show {shown}: {error}", file=sys.stderr)
        return 1
    return 0


def saliency_ready(window, requested: bool) -> bool:
    """The viewed film's map is drawn (or the bar says why there is none)."""
    if not requested:
        return True
    overlay = window.viewer.saliency
    caption = overlay.bar.caption.text()
    return window.is_idle() and (overlay.shown or caption.startswith("No map"))


def search_ready(window, requested_query: bool) -> bool:
    """The query's gallery is shown with the thumbnails of the tiles in view."""
    if not requested_query:
        return True
    outcome = window.session.search.outcome
    if outcome is None or not window.search.gallery_settled() or not window.is_idle():
        return False
    if outcome.hits and window.session.film.path is None:
        return False
    pane = window.results
    return pane.model.thumbnails_complete(pane.visible_rows())


def screenshot_ready(window, requested_path: bool) -> bool:
    if not window.is_idle() or not window.viewer_built():  # the viewer follows the first paint
        return False
    if not requested_path:
        return True
    if window.session.study.root is None:
        return False
    # Idle means the scan, the image, its series' thumbnails and the report have all arrived
    # (a job's partial results are delivered before its "done"); a film that cannot be decoded
    # has arrived too, as its reason.
    viewer = window.viewer
    return viewer.image is not None or viewer.error is not None or window.session.study.tree.image_count == 0
