"""Search > Synthesize example films: a grid of marked films for the typed impression."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def test_the_dialog_shows_a_grid_of_marked_films(qtbot, tiny_generator: Path, tmp_path: Path) -> None:
    from cxrviewer.gui.synthesis_dialog import SynthesisDialog
    from cxrviewer.synthesis.marking import has_burned_in_mark

    dialog = SynthesisDialog(None, "moderate right pleural effusion", n=4, model=str(tiny_generator))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.generate()
    assert dialog.running()
    qtbot.waitUntil(lambda: not dialog.running(), timeout=60000)
    assert dialog.error == ""
    assert dialog.grid.count() == 4
    assert all(has_burned_in_mark(np.asarray(f)) for f in dialog.examples.films)
    assert "right pleural effusion" in dialog.status.text()  # what was asked for, as the labeler read it
    assert "not a patient's film" in dialog.warning.text()
    dialog.grab().save(str(tmp_path / "synthesis_dialog.png"))
    dialog.close()


def test_the_dialog_says_why_there_are_no_films(qtbot) -> None:
    from cxrviewer.gui.synthesis_dialog import SynthesisDialog

    dialog = SynthesisDialog(None, "effusion", model="no-such-generator")
    qtbot.addWidget(dialog)
    dialog.generate()
    qtbot.waitUntil(lambda: not dialog.running(), timeout=30000)
    assert "no generator named 'no-such-generator'" in dialog.status.text()
    dialog.close()
