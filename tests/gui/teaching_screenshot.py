"""Render the README's teaching-session screenshot offscreen: an annotated case of a synthetic demo
library, revealed after a quiz answer (also saves OUT-unknown.png, before the reveal, and
OUT-pane.png, the main window with the Collections pane). Not a test: run it by hand::

    CXRVIEWER_HOME=$(mktemp -d) QT_QPA_PLATFORM=offscreen PYTHONPATH=. \\
        python tests/gui/teaching_screenshot.py resources/teaching-session.png [WORK_DIR]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def demo_library(root: Path) -> Path:
    """A findings-route library of 60 synthetic 512 px films (built once in ``root``)."""
    from cxrviewer.demo import write_demo
    from cxrviewer.library.build import BuildOptions, build_library

    lib = root / "lib"
    if not (lib / "manifest.json").exists():
        write_demo(root / "data", n_cases=60, size=512, seed=11, workers=1)
        build_library(BuildOptions("demo", root / "data", lib, synthetic=True, workers=1))
    return lib


def right_effusion(lib: Path) -> Any:
    from cxrviewer.library.library import Library

    with Library.open(lib) as library:
        return next(r for r in library.store.cases(list(range(library.count)))
                    if r.findings.get("Pleural Effusion") == "positive" and r.details.get("Pleural Effusion")
                    and r.details["Pleural Effusion"].laterality == "right" and r.details["Pleural Effusion"].severity)


def main(out: Path, root: Path) -> None:
    from cxrviewer.gui.launch import create_app
    from cxrviewer.gui.main_window import MainWindow
    from cxrviewer.gui.teaching import controller_for
    from cxrviewer.settings import Settings
    from cxrviewer.teaching.model import Annotation

    lib = demo_library(root)
    row = right_effusion(lib)
    app = create_app()

    def wait(cond: Callable[[], bool], seconds: float = 60) -> None:
        end = time.time() + seconds
        while time.time() < end and not cond():
            app.processEvents()
            time.sleep(0.01)
        assert cond()

    window = MainWindow(Settings())
    window.persist_settings = False
    window.resize(1500, 950)
    window.show()
    window.session.search.start(str(lib))
    wait(lambda: window.session.search.library is not None and window.is_idle())
    teaching = controller_for(window)
    cid = teaching.pane.new_collection("Pleural disease")
    added: list[Any] = []
    teaching.teaching.add_library_cases(cid, str(lib), [row.case_id], added.extend)
    wait(lambda: bool(added) and window.is_idle())
    case = added[0]
    store = teaching.store
    points = "Meniscus sign; blunted right costophrenic angle; look for mediastinal shift."
    store.update_teaching(case.case_id, title="Right pleural effusion", diagnosis="Small right pleural effusion",
                          teaching_points=points, difficulty="easy", tags=("pleura", "first-year"))
    store.add_annotation(case.case_id, Annotation("arrow", ((150.0, 260.0), (95.0, 370.0)), "meniscus"))
    store.add_annotation(case.case_id, Annotation("ellipse", ((40.0, 300.0), (200.0, 470.0))))
    store.add_annotation(case.case_id, Annotation("text", ((40.0, 478.0),), "blunted CP angle"))
    teaching.start_session("unknown")
    session = teaching.session_window
    session.showNormal()
    session.resize(1600, 950)
    wait(lambda: session.film is not None and window.is_idle())
    session.grab().save(str(out.with_name(out.stem + "-unknown.png")))
    session.panel.answer.setText("small left pleural effusion")  # as typed by the student
    session.answer(session.panel.answer.text())
    wait(lambda: session.state.revealed and bool(session.panel.tiles) and window.is_idle())
    for _ in range(10):  # the last paints
        app.processEvents()
        time.sleep(0.02)
    session.grab().save(str(out))
    teaching.pane.select_case(case.case_id)
    app.processEvents()
    window.grab().save(str(out.with_name(out.stem + "-pane.png")))
    session.close()
    window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.mkdtemp()))
