"""The teaching database: where it lives, its tables, and how it is opened.

One SQLite file in the user data folder, in WAL mode with ``synchronous=FULL``: every commit is
durable across a crash and a power cut, so an edit saved as it is made is never lost. Deleted
rows are only marked (``deleted`` names the row of ``deletions`` that removed them), which is
what undo brings back. The schema carries its version in ``meta``; a newer file is refused
rather than misread.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

from cxrviewer import paths
from cxrviewer.teaching.model import TeachingError

DATABASE_NAME = "collections.sqlite"
FILMS_DIR = "films"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 10.0

_TABLES = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deletions(
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,            -- collection | case | annotation
    target TEXT NOT NULL,          -- its id
    label TEXT NOT NULL,           -- what the undo action names
    at REAL NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS collections(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    deleted INTEGER REFERENCES deletions(id)
);
CREATE UNIQUE INDEX IF NOT EXISTS collections_live_name
    ON collections(name COLLATE NOCASE) WHERE deleted IS NULL;
CREATE TABLE IF NOT EXISTS cases(
    case_id TEXT PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id),
    position INTEGER NOT NULL,
    film TEXT NOT NULL,            -- JSON (model.Film)
    presentation TEXT NOT NULL,    -- JSON (model.Presentation)
    title TEXT NOT NULL DEFAULT '',
    history TEXT NOT NULL DEFAULT '',
    findings TEXT NOT NULL DEFAULT '',
    diagnosis TEXT NOT NULL DEFAULT '',
    teaching_points TEXT NOT NULL DEFAULT '',
    difficulty TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',  -- JSON list
    report TEXT NOT NULL DEFAULT '',
    known_findings TEXT NOT NULL DEFAULT '[]',  -- JSON (model.KnownFinding)
    created REAL NOT NULL,
    updated REAL NOT NULL,
    deleted INTEGER REFERENCES deletions(id)
);
CREATE INDEX IF NOT EXISTS cases_collection ON cases(collection_id, position);
CREATE TABLE IF NOT EXISTS annotations(
    annotation_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(case_id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    points TEXT NOT NULL,          -- JSON [[x, y], ...] in film pixel coordinates
    text TEXT NOT NULL DEFAULT '',
    color TEXT NOT NULL,
    frame INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER REFERENCES deletions(id)
);
CREATE INDEX IF NOT EXISTS annotations_case ON annotations(case_id, position);
CREATE TABLE IF NOT EXISTS attempts(
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(case_id),
    session_id TEXT NOT NULL,
    answer TEXT NOT NULL,
    score REAL NOT NULL,
    verdict TEXT NOT NULL,         -- JSON (quiz.Verdict.to_json)
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_session ON attempts(session_id, id);
"""


def teaching_dir() -> Path:
    """The folder of the teaching database and the films copied into collections."""
    return paths.data_dir() / "teaching"


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the database at ``path`` with durable commits and the
    current schema; a file made by a newer version, or no database at all, is refused."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False,
                         isolation_level=None)  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("BEGIN IMMEDIATE")
        _create(db)
        db.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise TeachingError(f"{path}: the teaching database cannot be opened ({exc})") from None
    except TeachingError:
        db.close()
        raise
    return db


def _create(db: sqlite3.Connection) -> None:
    """Create the tables (in the open transaction) and check the file's schema version."""
    for statement in _statements(_TABLES):
        db.execute(statement)
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        db.execute("INSERT INTO meta VALUES ('uid_salt', ?)", (secrets.token_hex(16),))
    elif int(row[0]) > SCHEMA_VERSION:
        db.execute("ROLLBACK")
        raise TeachingError(f"the teaching database was written by a newer cxrviewer (schema "
                            f"{row[0]}, this one reads {SCHEMA_VERSION}); update cxrviewer")


def _statements(script: str) -> list[str]:
    """The script's statements (``executescript`` would commit the open transaction)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
