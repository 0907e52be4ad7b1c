"""Tools > Train a model: the run's settings, then live loss and metric curves with cancel.

Training runs in its own worker thread (``services.training``); progress arrives as plain
``TrainProgress`` records and is drawn with pyqtgraph.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cxrviewer.gui.bridge import gui_jobs
from cxrviewer.services import JobEvent
from cxrviewer.services import training as jobs

CURVE_PENS = ("#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")
# (image tower, image size) per task: a GPU workstation's finding classifier, a small joint model
TASK_DEFAULTS = {"labels": ("densenet121", 320), "contrastive": ("resnet18", 224)}


def shown_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """The validation scores worth a curve (recalls, AUROC, F1 in [0, 1]); losses, epochs and
    learning rates are left out so the axis stays readable."""
    keep = ("r@", "auroc", "f1", "map", "ndcg")
    return {k: float(v) for k, v in metrics.items()
            if any(word in k.lower() for word in keep) and 0.0 <= float(v) <= 1.0}


class TrainingDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, library: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.resize(820, 620)
        self.jobs = gui_jobs("cxrviewer-train", self)
        self.result = None
        self.error = ""
        self.estimate = None
        self._confirmed_options = None
        self._pending = None
        self._started: tuple[float, int] | None = None  # (time, step) when training steps began
        self._build_form(library)
        self._build_curves()
        self.progress = QProgressBar()
        self.status = QLabel("Choose the settings and press Train.")
        self.status.setWordWrap(True)
        self.train_button = QPushButton("Train")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.train_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.metric_plot, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def _build_form(self, library: str) -> None:
        self.task = QComboBox()
        self.task.addItem("Finding classifier (labels)", "labels")
        self.task.addItem("Joint image-text model (contrastive)", "contrastive")
        self.task.currentIndexChanged.connect(self._task_defaults)
        self.library = QLineEdit(library)
        self.image_encoder = QLineEdit(TASK_DEFAULTS["labels"][0])
        self.image_encoder.setToolTip("a timm architecture name; ImageNet weights when timm's file is in the "
                                      "local cache, else random")
        self.text_encoder = QLineEdit()
        self.text_encoder.setPlaceholderText("a local transformers folder (e.g. Bio_ClinicalBERT)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_text)
        text_row = QHBoxLayout()
        text_row.addWidget(self.text_encoder, 1)
        text_row.addWidget(browse)
        self.name = QLineEdit()
        self.name.setPlaceholderText("model name (registered when done)")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        self.epochs.setValue(10)
        self.batch = QSpinBox()
        self.batch.setRange(1, 4096)
        self.batch.setValue(32)
        self.image_size = QSpinBox()
        self.image_size.setRange(32, 1024)
        self.image_size.setValue(TASK_DEFAULTS["labels"][1])
        self.resume = QCheckBox("Resume from the last checkpoint of this name")
        self.form = QFormLayout()
        self.form.addRow("Task", self.task)
        self.form.addRow("Library", self.library)
        self.form.addRow("Image tower", self.image_encoder)
        self.form.addRow("Text tower", text_row)
        self.form.addRow("Name", self.name)
        self.form.addRow("Epochs", self.epochs)
        self.form.addRow("Batch size", self.batch)
        self.form.addRow("Image size", self.image_size)
        self.form.addRow(self.resume)

    def _build_curves(self) -> None:
        self.loss_plot = pg.PlotWidget(title="training loss")
        self.loss_plot.setLabel("bottom", "step")
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen(CURVE_PENS[0], width=2))
        self.metric_plot = pg.PlotWidget(title="validation metrics")
        self.metric_plot.setLabel("bottom", "epoch")
        self.metric_plot.setYRange(0, 1)
        self.metric_plot.addLegend(offset=(10, 10))
        self.metric_curves: dict[str, pg.PlotDataItem] = {}
        self.loss_points: list[tuple[int, float]] = []
        self.metric_points: dict[str, list[tuple[int, float]]] = {}

    def _task_defaults(self) -> None:
        tower, size = TASK_DEFAULTS[self.task.currentData()]
        self.image_encoder.setText(tower)
        self.image_size.setValue(size)

    def _browse_text(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Text tower folder", str(Path.home()))
        if folder:
            self.text_encoder.setText(folder)

    def options(self) -> tuple[str, dict]:
        task = self.task.currentData()
        tower = self.image_encoder.text().strip()
        options = {"library": self.library.text().strip(), "image_encoder": tower,
                   "image_weights": jobs.resolve_weights(tower, "auto"),
                   "name": self.name.text().strip(), "epochs": self.epochs.value(),
                   "batch_size": self.batch.value(), "image_size": self.image_size.value(),
                   "resume": self.resume.isChecked()}
        if task == "contrastive":
            options["text_encoder"] = self.text_encoder.text().strip()
        return task, options

    # -- running -----------------------------------------------------------------------------------

    def start(self, task: str | None = None, options: dict | None = None, estimate_first: bool = False) -> None:
        """Train; with ``estimate_first`` (the Train button), time a few steps first and ask before
        a run that would be long on this machine (a CPU)."""
        if task is None or options is None:
            task, options = self.options()
            estimate_first = self._confirmed_options != (task, options)
        self.loss_points.clear()
        self.metric_points.clear()
        self.metric_plot.clear()
        self.metric_curves.clear()
        self.result, self.error, self.estimate = None, "", None
        self.train_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._started, self._pending = None, (task, options)
        if estimate_first:
            self.status.setText("Timing a few training steps on this machine…")
            self.jobs.submit(jobs.estimate, task, options, channel="estimate", on_event=self._on_estimate)
            return
        self.status.setText("Starting…")
        self.jobs.submit(jobs.train, task, options, channel="train", on_event=self._on_event)

    def _on_estimate(self, event: JobEvent) -> None:
        if event.kind == "progress":
            return
        self.train_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if event.kind != "done":
            reason = getattr(event.payload, "reason", None) or event.payload
            self.status.setText("Cancelled." if event.kind == "cancelled" else f"Cannot train: {reason}")
            return
        self.estimate = event.payload
        if self.estimate.needs_confirmation:
            self._confirmed_options = self._pending
            self.train_button.setText("Train anyway")
            self.status.setText(f"This run would take {self.estimate.describe()}. Press Train anyway to start, "
                                "lower the epochs or image size, or train on a GPU workstation.")
            return
        task, options = self._pending
        self.start(task, options)

    def cancel(self) -> None:
        self.jobs.cancel_channel("train")
        self.status.setText("Cancelling after the current step; the last checkpoint is kept…")

    def running(self) -> bool:
        return not self.train_button.isEnabled()

    def _on_event(self, event: JobEvent) -> None:
        if event.kind == "partial":
            self._show_progress(event.payload)
            return
        if event.kind == "progress":
            return
        self.train_button.setEnabled(True)
        self.train_button.setText("Train")
        self._confirmed_options = None
        self.cancel_button.setEnabled(False)
        if event.kind == "done":
            self.result = event.payload
            best = ", ".join(f"{k} {v:.3f}" for k, v in sorted(shown_metrics(self.result.best_metrics).items())[:6])
            where = self.result.model_dir or self.result.run_dir
            self.status.setText(f"Done in {self.result.seconds:.0f} s: best epoch {self.result.best_epoch + 1} "
                                f"({best}); saved to {where}")
        elif event.kind == "cancelled":
            self.status.setText("Cancelled. The last checkpoint is kept: tick Resume to go on.")
        else:
            self.error = str(getattr(event.payload, "reason", None) or event.payload)
            self.status.setText(f"Training stopped: {self.error}")

    def _show_progress(self, p) -> None:
        if p.stage == "loading" and p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
            self.status.setText(p.message or "Loading films…")
            return
        if p.total_steps:
            self.progress.setRange(0, p.total_steps)
            self.progress.setValue(p.step)
        if p.loss is not None and p.stage == "training":
            self.loss_points.append((p.step, p.loss))
            xs, ys = zip(*self.loss_points)
            self.loss_curve.setData(xs, ys)
        if p.metrics:
            for name, value in sorted(shown_metrics(p.metrics).items()):
                if name not in self.metric_curves:
                    pen = pg.mkPen(CURVE_PENS[len(self.metric_curves) % len(CURVE_PENS)], width=2)
                    self.metric_curves[name] = self.metric_plot.plot(pen=pen, symbol="o", symbolSize=5, name=name)
                points = self.metric_points.setdefault(name, [])
                points.append((p.epoch + 1, value))
                xs, ys = zip(*points)
                self.metric_curves[name].setData(xs, ys)
        self.status.setText(p.message or f"{p.stage}: epoch {p.epoch + 1} / {p.epochs}, step {p.step} / "
                            f"{p.total_steps}{self._eta(p.step, p.total_steps)}")

    def _eta(self, step: int, total: int) -> str:
        """", about 12 min left" from the pace of the steps so far."""
        import time

        now = time.perf_counter()
        if self._started is None or step < self._started[1]:
            self._started = (now, step)
            return ""
        began, first = self._started
        if step <= first or not total:
            return ""
        from cxrviewer.train.estimate import duration

        return f", about {duration((now - began) / (step - first) * (total - step))} left"

    def shutdown(self) -> None:
        """Stop a run and its worker thread (the checkpoint so far is kept)."""
        self.jobs.cancel_all()
        self.jobs.shutdown()

    def done(self, result: int) -> None:  # Qt override: closing stops the run
        self.shutdown()
        super().done(result)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.shutdown()
        super().closeEvent(event)
