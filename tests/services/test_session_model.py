"""The session model without Qt: open a folder, search a library, select and open a result,
anonymise. ``Session(synchronous=True)`` runs every job inside the call that asks for it, so
each step's state can be read as soon as the call returns."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cxrviewer.imaging.synthetic import SyntheticStudy, chest_phantom, write_dicom
from cxrviewer.services.session import Session
from cxrviewer.settings import Settings


@pytest.fixture(autouse=True)
def observer_errors_fail_the_test(monkeypatch):
    """An exception in an observer goes to sys.excepthook (as in Qt); here it fails the test."""
    errors = []
    monkeypatch.setattr(sys, "excepthook", lambda *info: errors.append(info))
    yield
    assert not errors, errors[0][1]


@pytest.fixture
def study(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    patient = SyntheticStudy(patient_name="Doe^Jane", patient_id="MRN123456")
    write_dicom(folder / "pa.dcm", chest_phantom(200, 180, seed=1), study=patient, instance_number=1)
    write_dicom(folder / "lat.dcm", chest_phantom(200, 180, seed=2), study=patient, instance_number=2,
                view_position="LL")
    (folder / "report.txt").write_text("INDICATION: Cough. Jane Doe.\n\nFINDINGS: Small left pleural effusion.\n")
    return folder


@pytest.fixture
def session():
    with Session(Settings(), synchronous=True) as session:
        yield session


def record(session: Session) -> list[tuple[str, str, tuple]]:
    """Every event of every part of the session, in order: (part, event, values)."""
    seen: list[tuple[str, str, tuple]] = []
    for part_name, part in (("study", session.study), ("film", session.film), ("search", session.search),
                            ("session", session)):
        for name in part.events.names():
            getattr(part.events, name).connect(lambda *values, p=part_name, n=name: seen.append((p, n, values)))
    return seen


def test_opening_a_folder_fills_the_study_model_and_shows_its_first_film(session, study):
    seen = record(session)
    assert session.open_path(str(study))
    tree = session.study.tree
    assert tree.image_count == 2 and session.study.summary.images == 2
    assert [Path(p).name for p in session.film.series] == ["pa.dcm", "lat.dcm"]  # instance order
    # The first film found is shown at once (here the first batch may hold lat.dcm alone).
    assert session.film.path in (str(study / "pa.dcm"), str(study / "lat.dcm"))
    assert tree.first_image().path == str(study / "pa.dcm")
    session.film.open(tree.first_image().path)
    assert session.film.opened.image.header.patient_name == "Doe^Jane"
    view = session.film.report_view()
    assert "Small left pleural effusion" in view.report.text and view.stated.get("Pleural Effusion") == "positive"
    order = [(part, name) for part, name, _ in seen]
    assert order.index(("study", "opened")) < order.index(("film", "changed")) < order.index(("film", "opened"))
    assert ("study", "finished") in order and session.is_idle()
    session.film.step(1)
    assert session.film.path == str(study / "lat.dcm") and session.film.opened.image.header.view_position == "LL"
    session.film.step(1)  # the last film of the series: nothing after it
    assert session.film.path == str(study / "lat.dcm")


def test_a_missing_folder_is_a_status_message(session, tmp_path):
    seen = record(session)
    assert not session.open_path(str(tmp_path / "nowhere"))
    assert ("session", "status", (f"Not found: {tmp_path / 'nowhere'}", 0)) in seen
    assert session.study.root is None and session.film.path is None


def test_an_unreadable_film_says_why(session, tmp_path):
    seen = record(session)
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"")
    session.film.open(str(bad))
    failed = [values for part, name, values in seen if name == "failed"]
    assert failed and failed[0][0] == str(bad) and "empty file" in failed[0][1]
    assert session.film.opened is None


def test_searching_a_library_then_selecting_and_opening_a_result(session, demo_library):
    seen = record(session)
    session.search.start(str(demo_library))
    # A first start on the synthetic demo: the example query runs and its best match is shown.
    assert session.search.library.count == 48 and session.search.library.synthetic
    example = session.search.outcome
    assert example.request.text == session.search.query and example.hits
    assert session.film.path == example.hits[0].case.image and session.film.library_case == example.hits[0].case
    assert ("search", "query", (session.search.query,)) in seen

    session.search.search("Moderate right pleural effusion.", {"sex": "F"})
    outcome = session.search.outcome
    assert outcome.request.text == "Moderate right pleural effusion." and outcome.request.filters.sex == "F"
    assert outcome.hits and all(h.case.sex == "F" for h in outcome.hits)
    assert outcome.hits[0].case.findings.get("Pleural Effusion") == "positive"
    assert [values[1] for part, name, values in seen if name == "results"] == [False, False]

    hit = outcome.hits[1]
    session.search.select(hit)
    assert session.search.selected is hit and ("search", "selected", (hit,)) in seen
    session.search.activate(hit)
    assert session.film.path == hit.case.image and session.film.opened is not None
    report = session.film.report_view().report
    assert report.source_kind == "library" and hit.case.case_id in report.source_path

    session.search.similar("films")  # a library case: its neighbours by case, not its own study
    similar = session.search.outcome
    assert similar.request.case_id == hit.case.case_id
    assert similar.hits and all(h.case.study_id != hit.case.study_id for h in similar.hits)


def test_more_results_are_appended_and_stop_at_the_end_of_the_library(session, demo_library):
    session.search.page = 10
    session.search.start(str(demo_library), "Cardiomegaly.")
    assert len(session.search.outcome.hits) == 10
    appended = []
    session.search.events.results.connect(lambda outcome, more: appended.append((len(outcome.hits), more)))
    session.search.more()
    assert appended == [(len(session.search.outcome.hits), True)] and session.search.outcome.request.k == 100
    session.search.more()  # fewer came back than were asked for: that was all of them
    assert len(appended) == 1


def test_a_query_typed_while_the_library_opens_runs_when_it_has(session, demo_library):
    session.search.search("Pneumothorax.")
    assert session.search.outcome is None
    session.search.open_library(str(demo_library))
    assert session.search.outcome.request.text == "Pneumothorax."


def test_anonymise_is_announced_and_hides_the_patient_in_the_report(session, study):
    seen = record(session)
    session.open_path(str(study))
    redact = session.film.redactor()
    assert "Jane" in session.film.report_view().report.text
    session.set_anonymise(True)
    assert session.anonymise and session.settings.anonymise and ("session", "anonymise", (True,)) in seen
    assert "Jane" not in redact(session.film.report_view().report.text)
    assert session.study.tree.patient_index(session.film.path) == 1
    session.set_anonymise(True)  # no change, no event
    assert [name for _, name, _ in seen].count("anonymise") == 1


def test_the_viewers_film_is_decoded_once_for_the_model_jobs_too(session, demo_dataset, clip_library, monkeypatch):
    """ "Similar films" reads the film the viewer decoded: no second decode in the search worker."""
    from cxrviewer.services import films

    decodes = []
    real = films.open_film
    monkeypatch.setattr(films, "open_film", lambda path: decodes.append(path) or real(path))
    session.search.start(str(clip_library))
    session.search.set_route(session.search.library.routes[0])
    film = str(sorted(demo_dataset.glob("*/*/image.dcm"))[3])
    session.film.open(film)
    assert decodes == [film]
    session.search.similar("films")
    assert session.search.outcome.query_label.startswith("films like") and session.search.outcome.hits
    assert decodes == [film]


def test_the_films_presentation_is_announced_when_it_changes(session, study):
    from cxrviewer.teaching.model import Presentation

    asked, noted = [], []
    session.film.events.present.connect(asked.append)
    session.film.events.presentation.connect(noted.append)
    key_image = Presentation(rotation=90, zoom=2.0)
    session.film.show_presentation(key_image)  # no film: nothing to show it on
    assert asked == []
    session.open_path(str(study))
    session.film.open(str(study / "pa.dcm"))
    session.film.show_presentation(key_image)
    assert asked == [key_image]
    session.film.note_presentation(key_image)  # what the view reports back
    session.film.note_presentation(key_image)  # unchanged: not announced again
    assert noted == [key_image] and session.film.presentation == key_image
    session.film.step(1)
    assert session.film.presentation is None  # a new film: the view will say how it shows it


def test_the_sessions_label_route_is_the_librarys():
    from cxrviewer.library.manifest import LABEL_ROUTE
    from cxrviewer.services.session import search

    assert search.LABEL_ROUTE == LABEL_ROUTE
