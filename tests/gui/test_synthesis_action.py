"""Search > Synthesize example films: the window's action draws marked films for the typed
impression with the shipped generator, and closing the window stops the dialog's worker."""

from __future__ import annotations

import numpy as np


def test_the_action_draws_marked_films_for_the_typed_impression(qtbot, main_window) -> None:
    from PySide6.QtGui import QAction

    from cxrviewer.synthesis.marking import BAND, has_burned_in_mark

    main_window.results.query.setText("large right pleural effusion")
    action = next(a for a in main_window.findChildren(QAction)
                  if a.text().replace("&", "").startswith("Synthesize example films"))
    action.trigger()
    dialog = main_window.synthesis_dialog
    assert dialog.text.text() == "large right pleural effusion"
    qtbot.waitUntil(lambda: dialog.examples is not None or bool(dialog.error), timeout=60000)
    assert dialog.error == ""
    films = dialog.examples.films
    assert dialog.grid.count() == len(films) == 8
    assert all(f.shape == (128 + BAND, 128) and has_burned_in_mark(np.asarray(f)) for f in films)
    assert "demo-synth" in dialog.status.text() and "right pleural effusion" in dialog.status.text()
    # the window's fixture closes it and checks that no cxrviewer- thread (the dialog's included) is left
