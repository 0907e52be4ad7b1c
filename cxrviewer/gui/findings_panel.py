"""The findings panel: the model's probability for each finding of the viewed film, as bars, next
to what the report states about the same finding."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

STATED_MARK = {"positive": "present", "uncertain": "uncertain", "negative": "absent"}
STATED_COLOUR = {"positive": (181, 71, 60), "uncertain": (192, 138, 30), "negative": (61, 122, 82)}


class FindingsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note = QLabel("Open a film: the model's finding probabilities appear here.")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid);")
        self.plot = pg.PlotWidget(background=None)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setXRange(0, 1, padding=0.02)
        self.plot.getAxis("bottom").setLabel("probability")
        self.bars: pg.BarGraphItem | None = None
        self.labels: tuple[str, ...] = ()
        self.probabilities: tuple[float, ...] = ()
        self.stated: dict[str, str] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.note)
        layout.addWidget(self.plot, 1)

    def show_scores(self, scores, stated: dict[str, str]) -> None:
        """``scores`` is a services.search.FindingScores, or None when no model has a label head."""
        self.stated = dict(stated)
        if scores is None:
            self.labels, self.probabilities = (), ()
            self._draw()
            self.note.setText("No finding model for this library (the demo model or a model trained "
                              "with `cxrviewer train labels` provides one).")
            return
        self.labels, self.probabilities = tuple(scores.labels), tuple(scores.probabilities)
        self.note.setText(f"Model {scores.model}: probability per finding; the report's statement in brackets.")
        self._draw()

    def set_stated(self, stated: dict[str, str]) -> None:
        self.stated = dict(stated)
        self._draw()

    def _draw(self) -> None:
        self.plot.clear()
        if not self.labels:
            return
        n = len(self.labels)
        ys = list(range(n))
        brushes = [pg.mkBrush(*STATED_COLOUR.get(self.stated.get(label, ""), (110, 130, 170)))
                   for label in self.labels]
        self.bars = pg.BarGraphItem(x0=[0] * n, y=ys, height=0.7, width=list(self.probabilities), brushes=brushes)
        self.plot.addItem(self.bars)
        ticks = []
        for y, label in zip(ys, self.labels):
            stated = STATED_MARK.get(self.stated.get(label, ""), "")
            ticks.append((y, f"{label} [{stated}]" if stated else label))
        self.plot.getAxis("left").setTicks([ticks])
        self.plot.setYRange(-0.5, n - 0.5, padding=0)
        self.plot.setXRange(0, 1, padding=0.02)
