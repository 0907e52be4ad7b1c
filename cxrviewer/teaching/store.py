"""The teaching store: collections, cases, annotations and quiz attempts, saved as they change.

Every method that changes something is one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, WAL,
``synchronous=FULL``): when it returns the edit is on disk, and a crash in the middle of an edit
leaves the previous state. Deletions only mark rows; :meth:`TeachingStore.undo_delete` brings
the last one back. Widgets observe the store through :meth:`TeachingStore.subscribe`: every
committed edit calls the subscribers with a :class:`Change` (on the thread that made the edit).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cxrviewer.teaching import rows as R
from cxrviewer.teaching.model import (
    Annotation,
    Case,
    Collection,
    Film,
    KnownFinding,
    Presentation,
    TeachingError,
    TeachingFields,
    new_id,
)
from cxrviewer.teaching.schema import DATABASE_NAME, FILMS_DIR, connect, teaching_dir


@dataclass(frozen=True)
class Change:
    """What an edit changed: ``kind`` is e.g. ``case-changed``; ids are "" / 0 when not concerned."""

    kind: str
    collection_id: int = 0
    case_id: str = ""
    annotation_id: str = ""


@dataclass(frozen=True)
class Attempt:
    """One saved quiz answer."""

    attempt_id: int
    case_id: str
    session_id: str
    answer: str
    score: float
    verdict: dict[str, Any]
    at: float


class TeachingStore:
    """The teaching database in ``folder`` (default: the user data folder's ``teaching``)."""

    def __init__(self, folder: Path | str | None = None) -> None:
        self.folder = Path(folder) if folder is not None else teaching_dir()
        self.path = self.folder / DATABASE_NAME
        self.films_dir = self.folder / FILMS_DIR
        self._lock = threading.RLock()
        self._subscribers: list[Callable[[Change], None]] = []
        self._pending: list[Change] = []
        self.db: sqlite3.Connection | None = connect(self.path)
        self.uid_salt = str(self._one("SELECT value FROM meta WHERE key = 'uid_salt'")[0])

    def close(self) -> None:
        with self._lock:
            if self.db is not None:
                self.db.close()
                self.db = None

    def __enter__(self) -> TeachingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``callback(change)`` after every committed edit; returns the unsubscribe."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    # -- plumbing --------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self.db is None:
            raise TeachingError("the teaching store is closed")
        return self.db

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._conn().execute(sql, params).fetchone()

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn().execute(sql, params).fetchall()

    @contextmanager
    def _edit(self, *changes: Change) -> Iterator[sqlite3.Connection]:
        """One durable transaction; the subscribers hear of ``changes`` once it is committed."""
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            self._pending = list(changes)
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self._pending = []
                raise
            done, self._pending = self._pending, []
        for change in done:
            for callback in list(self._subscribers):
                callback(change)

    def _note(self, change: Change) -> None:
        self._pending.append(change)

    # -- collections -----------------------------------------------------------------------

    def collections(self) -> list[Collection]:
        rows = self._all(f"SELECT {R.COLLECTION_COLUMNS}, (SELECT COUNT(*) FROM cases k WHERE "
                         "k.collection_id = c.id AND k.deleted IS NULL) FROM collections c "
                         "WHERE deleted IS NULL ORDER BY name COLLATE NOCASE")
        return [R.collection_from_row(r) for r in rows]

    def collection(self, name_or_id: str | int) -> Collection:
        """A live collection by id, or by name (any case)."""
        for found in self.collections():
            if found.collection_id == name_or_id or (isinstance(name_or_id, str)
                                                     and found.name.casefold() == name_or_id.casefold()):
                return found
        names = ", ".join(c.name for c in self.collections()) or "none yet"
        raise TeachingError(f"no collection named {name_or_id!r} (collections: {names})")

    def create_collection(self, name: str, description: str = "") -> Collection:
        name = _clean_name(name)
        now = time.time()
        with self._edit() as db:
            if db.execute("SELECT 1 FROM collections WHERE name = ? COLLATE NOCASE AND deleted IS NULL",
                          (name,)).fetchone():
                raise TeachingError(f"a collection named {name!r} already exists")
            cur = db.execute("INSERT INTO collections(name, description, created, updated) "
                             "VALUES (?, ?, ?, ?)", (name, description, now, now))
            cid = int(cur.lastrowid or 0)
            self._note(Change("collection-added", cid))
        return self.collection(cid)

    def update_collection(self, collection_id: int, *, name: str | None = None,
                          description: str | None = None) -> Collection:
        current = self.collection(collection_id)
        name = current.name if name is None else _clean_name(name)
        with self._edit(Change("collection-changed", collection_id)) as db:
            if db.execute("SELECT 1 FROM collections WHERE name = ? COLLATE NOCASE AND deleted IS NULL "
                          "AND id != ?", (name, collection_id)).fetchone():
                raise TeachingError(f"a collection named {name!r} already exists")
            db.execute("UPDATE collections SET name = ?, description = ?, updated = ? WHERE id = ?",
                       (name, current.description if description is None else description,
                        time.time(), collection_id))
        return self.collection(collection_id)

    def delete_collection(self, collection_id: int) -> None:
        """Remove a collection (and its cases with it); :meth:`undo_delete` restores it."""
        found = self.collection(collection_id)
        with self._edit(Change("collection-deleted", collection_id)) as db:
            mark = R.deletion(db, "collection", str(collection_id), f"delete collection {found.name}")
            db.execute("UPDATE collections SET deleted = ? WHERE id = ?", (mark, collection_id))

    # -- cases -----------------------------------------------------------------------------

    def cases(self, collection_id: int) -> list[Case]:
        rows = self._all(f"SELECT {R.CASE_COLUMNS} FROM cases WHERE collection_id = ? AND deleted "
                         "IS NULL ORDER BY position, created", (collection_id,))
        return self._with_annotations(rows)

    def case(self, case_id: str) -> Case:
        rows = self._all(f"SELECT {R.CASE_COLUMNS} FROM cases WHERE case_id = ? AND deleted IS NULL "
                         "AND collection_id IN (SELECT id FROM collections WHERE deleted IS NULL)",
                         (case_id,))
        if not rows:
            raise TeachingError(f"no case {case_id!r} in any collection")
        return self._with_annotations(rows)[0]

    def _with_annotations(self, rows: list[Any]) -> list[Case]:
        if not rows:
            return []
        ids = [r[0] for r in rows]
        marks = self._all(f"SELECT {R.ANNOTATION_COLUMNS} FROM annotations WHERE deleted IS NULL AND "
                          f"case_id IN ({', '.join('?' * len(ids))}) ORDER BY position", ids)
        by_case: dict[str, list[Annotation]] = {}
        for mark in marks:
            by_case.setdefault(mark[0], []).append(R.annotation_from_row(mark))
        return [R.case_from_row(r, tuple(by_case.get(r[0], ()))) for r in rows]

    def add_case(self, collection_id: int, film: Film, *, report: str = "",
                 known_findings: Sequence[KnownFinding] = (), teaching: TeachingFields | None = None,
                 presentation: Presentation | None = None, annotations: Sequence[Annotation] = (),
                 case_id: str = "") -> Case:
        """Append a case (with its annotations, in the same transaction) to a collection."""
        self.collection(collection_id)
        case_id = case_id or new_id("case")
        now = time.time()
        with self._edit(Change("case-added", collection_id, case_id)) as db:
            if db.execute("SELECT 1 FROM cases WHERE case_id = ?", (case_id,)).fetchone():
                raise TeachingError(f"a case with id {case_id!r} already exists")
            position = db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM cases WHERE "
                                  "collection_id = ? AND deleted IS NULL", (collection_id,)).fetchone()[0]
            case = Case(case_id, collection_id, int(position), film, presentation or Presentation(),
                        teaching or TeachingFields(), (), report, tuple(known_findings), now, now)
            db.execute(f"INSERT INTO cases({R.CASE_COLUMNS}) VALUES ({', '.join('?' * R.CASE_WIDTH)})",
                       R.case_to_row(case))
            for n, annotation in enumerate(annotations):
                R.insert_annotation(db, case_id, n, annotation)
            R.touch(db, collection_id, now)
        return self.case(case_id)

    def update_teaching(self, case_id: str, **changes: Any) -> Case:
        """Change teaching fields (``title="..."``, ``tags=(...)``); one field set is one edit."""
        case = self.case(case_id)
        try:
            teaching = replace(case.teaching, **changes)
        except TypeError:
            unknown = sorted(set(changes) - set(case.teaching.to_json()))
            raise TeachingError(f"unknown teaching field(s): {', '.join(unknown)}") from None
        values = R.teaching_to_row(teaching)
        with self._edit(Change("case-changed", case.collection_id, case_id)) as db:
            db.execute("UPDATE cases SET title = ?, history = ?, findings = ?, diagnosis = ?, "
                       "teaching_points = ?, difficulty = ?, tags = ?, updated = ? WHERE case_id = ?",
                       (*values, time.time(), case_id))
        return self.case(case_id)

    def set_presentation(self, case_id: str, presentation: Presentation) -> Case:
        case = self.case(case_id)
        with self._edit(Change("case-changed", case.collection_id, case_id)) as db:
            db.execute("UPDATE cases SET presentation = ?, updated = ? WHERE case_id = ?",
                       (json.dumps(presentation.to_json()), time.time(), case_id))
        return self.case(case_id)

    def move_case(self, case_id: str, index: int) -> list[Case]:
        """Move a case to ``index`` in its collection's order (a drag in the pane)."""
        case = self.case(case_id)
        order = [c.case_id for c in self.cases(case.collection_id) if c.case_id != case_id]
        order.insert(max(0, min(index, len(order))), case_id)
        self.reorder(case.collection_id, order)
        return self.cases(case.collection_id)

    def reorder(self, collection_id: int, case_ids: Sequence[str]) -> None:
        """Put the collection's cases in this order (every live case, each once)."""
        live = {c.case_id for c in self.cases(collection_id)}
        if set(case_ids) != live or len(case_ids) != len(live):
            raise TeachingError("a new order must list every case of the collection exactly once")
        with self._edit(Change("cases-reordered", collection_id)) as db:
            db.executemany("UPDATE cases SET position = ? WHERE case_id = ?",
                           [(n, cid) for n, cid in enumerate(case_ids)])
            R.touch(db, collection_id, time.time())

    def delete_case(self, case_id: str) -> None:
        case = self.case(case_id)
        label = f"delete case {case.teaching.title or case.position + 1}"
        with self._edit(Change("case-deleted", case.collection_id, case_id)) as db:
            mark = R.deletion(db, "case", case_id, label)
            db.execute("UPDATE cases SET deleted = ? WHERE case_id = ?", (mark, case_id))

    # -- annotations -----------------------------------------------------------------------

    def add_annotation(self, case_id: str, annotation: Annotation) -> Annotation:
        case = self.case(case_id)
        annotation = replace(annotation, annotation_id=annotation.annotation_id or new_id("mark"))
        with self._edit(Change("annotation-added", case.collection_id, case_id,
                               annotation.annotation_id)) as db:
            position = db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM annotations WHERE "
                                  "case_id = ?", (case_id,)).fetchone()[0]
            R.insert_annotation(db, case_id, int(position), annotation)
            db.execute("UPDATE cases SET updated = ? WHERE case_id = ?", (time.time(), case_id))
        return annotation

    def update_annotation(self, annotation: Annotation) -> Annotation:
        """Replace a saved annotation (moved points, new text or colour) by its id."""
        case = self._case_of_annotation(annotation.annotation_id)
        with self._edit(Change("annotation-changed", case.collection_id, case.case_id,
                               annotation.annotation_id)) as db:
            db.execute("UPDATE annotations SET kind = ?, points = ?, text = ?, color = ?, frame = ? "
                       "WHERE annotation_id = ?", (*R.annotation_values(annotation), annotation.annotation_id))
        return annotation

    def delete_annotation(self, annotation_id: str) -> None:
        case = self._case_of_annotation(annotation_id)
        with self._edit(Change("annotation-deleted", case.collection_id, case.case_id, annotation_id)) as db:
            mark = R.deletion(db, "annotation", annotation_id, "delete annotation")
            db.execute("UPDATE annotations SET deleted = ? WHERE annotation_id = ?", (mark, annotation_id))

    def _case_of_annotation(self, annotation_id: str) -> Case:
        row = self._one("SELECT case_id FROM annotations WHERE annotation_id = ? AND deleted IS NULL",
                        (annotation_id,))
        if row is None:
            raise TeachingError(f"no annotation {annotation_id!r}")
        return self.case(row[0])

    # -- undo ------------------------------------------------------------------------------

    def undo_label(self) -> str:
        """What :meth:`undo_delete` would restore ("" when nothing), for the Undo action's text."""
        row = self._one("SELECT label FROM deletions WHERE undone = 0 ORDER BY id DESC LIMIT 1")
        return "" if row is None else f"Undo {row[0]}"

    def undo_delete(self) -> Change | None:
        """Restore the most recent deletion not yet undone; None when there is none."""
        row = self._one("SELECT id, kind, target FROM deletions WHERE undone = 0 ORDER BY id DESC LIMIT 1")
        if row is None:
            return None
        mark, kind, target = row
        table, key = {"collection": ("collections", "id"), "case": ("cases", "case_id"),
                      "annotation": ("annotations", "annotation_id")}[kind]
        change = self._restored_change(kind, target)
        with self._edit(change) as db:
            if kind == "collection":
                name = db.execute("SELECT name FROM collections WHERE id = ?", (int(target),)).fetchone()[0]
                db.execute("UPDATE collections SET name = ? WHERE id = ?",
                           (R.free_name(db, name), int(target)))
            db.execute(f"UPDATE {table} SET deleted = NULL WHERE {key} = ? AND deleted = ?", (target, mark))
            db.execute("UPDATE deletions SET undone = 1 WHERE id = ?", (mark,))
        return change

    def _restored_change(self, kind: str, target: str) -> Change:
        if kind == "collection":
            return Change("collection-restored", int(target))
        if kind == "case":
            cid = self._one("SELECT collection_id FROM cases WHERE case_id = ?", (target,))[0]
            return Change("case-restored", int(cid), target)
        case_id = self._one("SELECT case_id FROM annotations WHERE annotation_id = ?", (target,))[0]
        cid = self._one("SELECT collection_id FROM cases WHERE case_id = ?", (case_id,))[0]
        return Change("annotation-restored", int(cid), case_id, target)

    # -- search and attempts ---------------------------------------------------------------

    def search(self, text: str = "", finding: str = "", tag: str = "",
               collection_id: int | None = None) -> list[Case]:
        """Cases whose text contains ``text``, that show ``finding`` (a label or words such as
        "effusion") and carry ``tag``; all three optional, every collection unless one is named."""
        from cxrviewer.teaching.search import matches, wanted_labels

        labels = wanted_labels(finding) if finding.strip() else None
        ids = [collection_id] if collection_id is not None else [c.collection_id for c in self.collections()]
        return [case for cid in ids for case in self.cases(cid) if matches(case, text, labels, tag)]

    def record_attempt(self, case_id: str, session_id: str, answer: str, score: float,
                       verdict: dict[str, Any]) -> Attempt:
        case = self.case(case_id)
        now = time.time()
        with self._edit(Change("attempt-added", case.collection_id, case_id)) as db:
            cur = db.execute("INSERT INTO attempts(case_id, session_id, answer, score, verdict, at) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (case_id, session_id, answer, float(score), json.dumps(verdict), now))
        return Attempt(int(cur.lastrowid or 0), case_id, session_id, answer, float(score), verdict, now)

    def attempts(self, session_id: str = "", collection_id: int | None = None) -> list[Attempt]:
        sql = "SELECT id, case_id, session_id, answer, score, verdict, at FROM attempts WHERE 1"
        params: list[Any] = []
        if session_id:
            sql += " AND session_id = ?"
            params.append(session_id)
        if collection_id is not None:
            sql += " AND case_id IN (SELECT case_id FROM cases WHERE collection_id = ?)"
            params.append(collection_id)
        return [Attempt(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6])
                for r in self._all(sql + " ORDER BY id", params)]

    def case_exists(self, case_id: str) -> bool:
        """Whether the id is taken (by a live or a deleted case)."""
        return self._one("SELECT 1 FROM cases WHERE case_id = ?", (case_id,)) is not None

    def annotation_exists(self, annotation_id: str) -> bool:
        return self._one("SELECT 1 FROM annotations WHERE annotation_id = ?", (annotation_id,)) is not None

    def check(self) -> str:
        """SQLite's integrity check ("" when the file is sound)."""
        found = [str(r[0]) for r in self._all("PRAGMA integrity_check(20)")]
        return "" if found == ["ok"] else "; ".join(found)


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise TeachingError("a collection needs a name")
    return name
