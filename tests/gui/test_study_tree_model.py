"""One study model for the window and for ``cxrviewer info``: the same folder groups alike in both,
and the Qt item model over it stays consistent (Qt's own model tester) while a scan streams in
and the user expands rows."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QModelIndex

from cxrviewer.imaging.synthetic import SyntheticStudy, chest_phantom, write_dicom


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """PNGs in the CheXpert layout (patient/study/view.png, no patient id in the files) beside a
    DICOM patient with two series."""
    root = tmp_path / "mixed"
    grey = (chest_phantom(96, 80, seed=4) // 16).astype(np.uint8)
    for patient, study, views in (("patient00001", "study1", 2), ("patient00001", "study2", 1),
                                  ("patient00002", "study1", 1)):
        for view in range(views):
            folder = root / "train" / patient / study
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(grey).save(folder / f"view{view + 1}_frontal.png")
    doe = SyntheticStudy(patient_name="Doe^Jane", patient_id="MRN1")
    for n in range(3):
        write_dicom(root / "dicom" / f"im{n}.dcm", chest_phantom(64, 64, seed=n), study=doe, instance_number=n + 1)
    return root


def _rows(model, parent=None):
    parent = parent or QModelIndex()
    if model.canFetchMore(parent):
        model.fetchMore(parent)
    return [model.index(row, 0, parent) for row in range(model.rowCount(parent))]


def test_the_window_and_info_group_a_folder_alike(qtbot, open_study, mixed_folder, capsys):
    from cxrviewer.cli import run

    window = open_study(mixed_folder)
    model = window.browser.model
    shown = []
    for patient in _rows(model):
        for study in _rows(model, patient):
            images = sum(len(_rows(model, series)) for series in _rows(model, study))
            shown.append((patient.data().split()[0], images))
    assert run(["info", str(mixed_folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [(s["patient"].split()[0], s["images"]) for s in info["study_list"]] == shown
    # The PNGs group by folder in the window too (they were all under "(no patient id)" there).
    assert shown == [("Doe^Jane", 3), ("patient00001", 2), ("patient00001", 1), ("patient00002", 1)]
    assert info["patients"] == 3 and info["studies"] == 4


class Mirror:
    """The rows a view has been told about, kept from the model's signals alone; each signal is
    checked against the model as it comes (Qt's QAbstractItemModelTester fetches rows inside
    its own rowsInserted handler, which a lazily fetched model cannot tell from a real nesting)."""

    def __init__(self, model) -> None:
        self.model = model
        self.rows: dict[object, list[object]] = {None: []}
        self.errors: list[str] = []
        self._pending: tuple | None = None
        model.rowsAboutToBeInserted.connect(self._about)
        model.rowsInserted.connect(self._inserted)
        model.modelReset.connect(lambda: self.rows.clear() or self.rows.setdefault(None, []))

    def key(self, index) -> object:
        return index.internalPointer() if index.isValid() else None

    def _about(self, parent, first, last) -> None:
        if self._pending is not None:
            self.errors.append("an insertion began inside another")
        shown = self.rows.setdefault(self.key(parent), [])
        if self.model.rowCount(parent) != len(shown) or not 0 <= first <= len(shown):
            self.errors.append(f"rows about to be inserted at {first} under {len(shown)} shown")
        self._pending = (self.key(parent), first, last)

    def _inserted(self, parent, first, last) -> None:
        if self._pending != (self.key(parent), first, last):
            self.errors.append("rowsInserted does not match rowsAboutToBeInserted")
        self._pending = None
        shown = self.rows.setdefault(self.key(parent), [])
        shown[first:first] = [self.model.index(row, 0, parent).internalPointer() for row in range(first, last + 1)]
        if self.model.rowCount(parent) != len(shown):
            self.errors.append("row count after the insertion differs")

    def check_against_the_model(self) -> None:
        """Every row the view knows is the row the model has there, with the right parent."""
        for parent_key, shown in self.rows.items():
            parent = self.model._index_of(parent_key) if parent_key is not None else QModelIndex()
            actual = [self.model.index(row, 0, parent) for row in range(self.model.rowCount(parent))]
            assert [index.internalPointer() for index in actual] == shown
            assert all(self.model.parent(index) == parent for index in actual)


def test_the_item_model_stays_consistent_while_a_scan_streams_in(qtbot, main_window, mixed_folder):
    from cxrviewer.imaging.scan import iter_folder

    for n in range(6):  # more studies of the DICOM patient, arriving out of date order
        study = SyntheticStudy(patient_name="Doe^Jane", patient_id="MRN1", study_date=f"2024010{9 - n}")
        write_dicom(mixed_folder / "later" / f"s{n}" / "im.dcm", chest_phantom(32, 32, seed=n), study=study)
    items = list(iter_folder(mixed_folder))
    random.Random(5).shuffle(items)
    tree, model, view = main_window.session.study.tree, main_window.browser.model, main_window.browser.tree
    mirror = Mirror(model)
    for start in range(0, len(items), 3):  # batches, with the user expanding rows between them
        tree.add_many(items[start:start + 3])
        assert not mirror.errors, mirror.errors
        mirror.check_against_the_model()
        for index in _rows(model)[:2]:
            view.expand(index)
            for child in _rows(model, index):
                view.expand(child)
        qtbot.wait(1)
    assert tree.image_count == 4 + 3 + 6
    doe = next(index for index in _rows(model) if index.data().startswith("Doe"))
    dates = [study.data().split()[0] for study in _rows(model, doe)]
    assert dates == sorted(dates) and len(dates) == 7
    mirror.check_against_the_model()
    tree.clear()
    assert model.rowCount() == 0 and mirror.rows == {None: []} and not mirror.errors
