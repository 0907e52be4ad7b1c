"""The training dialog: a tiny run shows live loss and metric curves; cancel keeps a checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxrviewer.train.text_tower import library_texts, write_text_tower


@pytest.fixture(scope="module")
def tiny_text(demo_library, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("gui-text") / "bert"
    return write_text_tower(folder, library_texts(demo_library), layers=1, hidden=32, heads=2,
                            vocab_size=300, max_length=32)


def _options(demo_library, tiny_text, tmp_path, **changes):
    options = dict(library=str(demo_library), image_encoder="resnet10t",
                   timm_kwargs={"channels": [8, 16, 16, 32], "stem_width": 8}, text_encoder=str(tiny_text),
                   name="gui-tiny", out=tmp_path / "model", run_dir=tmp_path / "run", epochs=2, batch_size=8,
                   embed_dim=16, image_size=32, max_text_length=32, device="cpu", augment=False, register=False)
    options.update(changes)
    return options


def test_a_run_draws_loss_and_validation_curves(qtbot, demo_library, tiny_text, tmp_path):
    from cxrviewer.gui.launch import create_app
    from cxrviewer.gui.training_dialog import TrainingDialog

    create_app()
    dialog = TrainingDialog(None, str(demo_library))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start("contrastive", _options(demo_library, tiny_text, tmp_path))
    qtbot.waitUntil(lambda: not dialog.running(), timeout=120000)
    assert dialog.result is not None, dialog.error
    assert len(dialog.loss_points) >= 2
    assert dialog.metric_curves and all(len(v) == 2 for v in dialog.metric_points.values())
    xs, _ys = dialog.loss_curve.getData()
    assert len(xs) == len(dialog.loss_points)
    assert "Done" in dialog.status.text()
    dialog.close()


def test_cancel_stops_the_run_and_says_resume_is_possible(qtbot, demo_library, tiny_text, tmp_path):
    from cxrviewer.gui.launch import create_app
    from cxrviewer.gui.training_dialog import TrainingDialog

    create_app()
    dialog = TrainingDialog(None, str(demo_library))
    qtbot.addWidget(dialog)
    dialog.start("contrastive", _options(demo_library, tiny_text, tmp_path, epochs=50))
    qtbot.waitUntil(lambda: len(dialog.loss_points) >= 1, timeout=120000)
    dialog.cancel()
    qtbot.waitUntil(lambda: not dialog.running(), timeout=120000)
    assert dialog.result is None and "Cancelled" in dialog.status.text()
    assert (tmp_path / "run").is_dir()
    dialog.shutdown()
    assert not dialog.jobs.thread or not dialog.jobs.thread.is_alive()
