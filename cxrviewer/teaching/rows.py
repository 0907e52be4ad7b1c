"""Between the teaching tables' rows and the model's dataclasses (one place for the columns), and
the small SQL steps the store's edits share (each runs inside the caller's transaction)."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from cxrviewer.teaching.model import (
    Annotation,
    Case,
    Collection,
    Film,
    KnownFinding,
    Presentation,
    TeachingFields,
    new_id,
)

COLLECTION_COLUMNS = "c.id, c.name, c.description, c.created, c.updated"
CASE_COLUMNS = ("case_id, collection_id, position, film, presentation, title, history, findings, "
                "diagnosis, teaching_points, difficulty, tags, report, known_findings, created, updated")
CASE_WIDTH = len(CASE_COLUMNS.split(","))
ANNOTATION_COLUMNS = "case_id, annotation_id, kind, points, text, color, frame"


def collection_from_row(row: tuple[Any, ...]) -> Collection:
    cid, name, description, created, updated, count = row
    return Collection(int(cid), name, description, created, updated, int(count))


def teaching_to_row(teaching: TeachingFields) -> tuple[Any, ...]:
    return (teaching.title, teaching.history, teaching.findings, teaching.diagnosis,
            teaching.teaching_points, teaching.difficulty, json.dumps(list(teaching.tags)))


def case_to_row(case: Case) -> tuple[Any, ...]:
    return (case.case_id, case.collection_id, case.position, json.dumps(case.film.to_json()),
            json.dumps(case.presentation.to_json()), *teaching_to_row(case.teaching), case.report,
            json.dumps([k.to_json() for k in case.known_findings]), case.created, case.updated)


def case_from_row(row: tuple[Any, ...], annotations: tuple[Annotation, ...]) -> Case:
    (case_id, collection_id, position, film, presentation, title, history, findings, diagnosis,
     teaching_points, difficulty, tags, report, known, created, updated) = row
    teaching = TeachingFields(title, history, findings, diagnosis, teaching_points, difficulty,
                              tuple(json.loads(tags)))
    return Case(case_id, int(collection_id), int(position), Film.from_json(json.loads(film)),
                Presentation.from_json(json.loads(presentation)), teaching, annotations, report,
                tuple(KnownFinding.from_json(k) for k in json.loads(known)), created, updated)


def annotation_values(annotation: Annotation) -> tuple[Any, ...]:
    """kind, points, text, color, frame: the annotation's editable columns."""
    return (annotation.kind, json.dumps([list(p) for p in annotation.points]), annotation.text,
            annotation.color, annotation.frame)


def annotation_from_row(row: tuple[Any, ...]) -> Annotation:
    _case_id, annotation_id, kind, points, text, color, frame = row
    return Annotation(kind, tuple(tuple(p) for p in json.loads(points)), text, color, int(frame),
                      annotation_id)


def free_name(db: sqlite3.Connection, name: str) -> str:
    """``name``, or ``name (restored N)`` when a live collection took it meanwhile."""
    candidate, n = name, 1
    while db.execute("SELECT 1 FROM collections WHERE name = ? COLLATE NOCASE AND deleted IS NULL",
                     (candidate,)).fetchone():
        n += 1
        candidate = f"{name} (restored {n - 1})"
    return candidate


def deletion(db: sqlite3.Connection, kind: str, target: str, label: str) -> int:
    cur = db.execute("INSERT INTO deletions(kind, target, label, at) VALUES (?, ?, ?, ?)",
                     (kind, target, label, time.time()))
    return int(cur.lastrowid or 0)


def touch(db: sqlite3.Connection, collection_id: int, now: float) -> None:
    db.execute("UPDATE collections SET updated = ? WHERE id = ?", (now, collection_id))


def insert_annotation(db: sqlite3.Connection, case_id: str, position: int, annotation: Annotation) -> None:
    annotation_id = annotation.annotation_id or new_id("mark")
    db.execute("INSERT INTO annotations(annotation_id, case_id, position, kind, points, text, color, "
               "frame) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (annotation_id, case_id, position, *annotation_values(annotation)))
