"""The findings panel: a finding model's probability for each finding of the viewed film, as bars,
next to what the report states and the finding's validation AUROC; or, when no model validated
for films like this one is installed, why, with what the user can do about it."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

STATED_MARK = {"positive": "present", "uncertain": "uncertain", "negative": "absent"}
STATED_COLOUR = {"positive": (181, 71, 60), "uncertain": (192, 138, 30), "negative": (61, 122, 82)}
MODEL_COLOUR = (110, 130, 170)
WEAK_COLOUR = (170, 170, 170)
LOW_NOTE = "grey: AUROC below 0.7 or none, do not rely on it"


class FindingsPanel(QWidget):
    importRequested = Signal()
    trainRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note = QLabel("Open a film: the model's finding probabilities appear here.")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(mid);")
        self.plot = pg.PlotWidget(background=None)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setXRange(0, 1, padding=0.02)
        self.footer = QLabel()
        self.footer.setWordWrap(True)
        self.footer.setStyleSheet("color: palette(mid); font-size: small;")
        self.import_button = QPushButton("Import a model…")
        self.import_button.setToolTip("Import chest X-ray model weights (torchxrayvision, CheXzero, "
                                      "BiomedCLIP, or a cxrviewer model folder)")
        self.train_button = QPushButton("Train a model on this library…")
        self.train_button.setToolTip("Train a finding classifier on the open library's labelled films")
        self.import_button.clicked.connect(self.importRequested)
        self.train_button.clicked.connect(self.trainRequested)
        self.actions = QWidget()
        row = QHBoxLayout(self.actions)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.import_button)
        row.addWidget(self.train_button)
        row.addStretch(1)
        self.actions.hide()
        self.bars: pg.BarGraphItem | None = None
        self.labels: tuple[str, ...] = ()
        self.probabilities: tuple[float, ...] = ()
        self.auroc: tuple[float | None, ...] = ()
        self.weak: tuple[bool, ...] = ()
        self.stated: dict[str, str] = {}
        self.refused = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.note)
        layout.addWidget(self.actions)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.footer)

    def show_scores(self, scores, stated: dict[str, str]) -> None:
        """``scores`` is a services.search.FindingScores: a reading, or a refusal with its reason."""
        self.stated = dict(stated)
        reading = getattr(scores, "reading", None)
        self.refused = getattr(scores, "refused", "") or ("" if reading is not None else
                                                           "No finding model can read this film.")
        if self.refused:
            self.labels, self.probabilities, self.auroc, self.weak = (), (), (), ()
            self.note.setText(self.refused[0].upper() + self.refused[1:])
            self.note.setStyleSheet("")
            self.footer.setText("")
            self.actions.show()
            self.plot.hide()
            self._draw()
            return
        self.labels, self.probabilities = tuple(reading.labels), tuple(reading.probabilities)
        self.auroc, self.weak = tuple(reading.auroc), tuple(reading.weak)
        self.note.setText(f"{reading.model}: probability · validation AUROC; [the report's statement]")
        self.note.setStyleSheet("color: palette(mid);")
        licence = reading.licence.split(" (")[0]
        self.footer.setText(f"{reading.status} · {licence}" + (f" · {LOW_NOTE}" if any(self.weak) else ""))
        self.footer.setToolTip(f"{reading.model}: {reading.validation}. Licence: {reading.licence}.")
        self.actions.hide()
        self.plot.show()
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
        brushes = [pg.mkBrush(*(WEAK_COLOUR if weak else
                                STATED_COLOUR.get(self.stated.get(label, ""), MODEL_COLOUR)))
                   for label, weak in zip(self.labels, self.weak)]
        self.bars = pg.BarGraphItem(x0=[0] * n, y=ys, height=0.7, width=list(self.probabilities), brushes=brushes)
        self.plot.addItem(self.bars)
        ticks = []
        for y, label, p, auroc, weak in zip(ys, self.labels, self.probabilities, self.auroc, self.weak):
            stated = STATED_MARK.get(self.stated.get(label, ""), "")
            ticks.append((y, f"{label} [{stated}]" if stated else label))
            figure = "not validated" if auroc is None else f"AUROC {auroc:.2f}"
            inside = float(p) > 0.5  # long bars carry their text inside, right-aligned
            colour = (255, 255, 255) if inside else WEAK_COLOUR if weak else (80, 80, 80)
            text = pg.TextItem(f"{p:.2f} · {figure}", color=colour, anchor=(1, 0.5) if inside else (0, 0.5))
            text.setPos(float(p) - 0.01 if inside else float(p) + 0.01, y)
            self.plot.addItem(text)
        self.plot.getAxis("left").setTicks([ticks])
        self.plot.setYRange(-0.5, n - 0.5, padding=0)
        self.plot.setXRange(0, 1, padding=0.02)

    def row_text(self, label: str) -> str:
        """What the panel shows for one finding (for tests and accessibility)."""
        i = self.labels.index(label)
        figure = "not validated" if self.auroc[i] is None else f"AUROC {self.auroc[i]:.2f}"
        return f"{label}: {self.probabilities[i]:.2f} · {figure}" + (" (greyed)" if self.weak[i] else "")
