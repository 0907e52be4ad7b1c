"""The library's metadata in SQLite: cases, findings, reports, thumbnails and build progress.

SQLite gives filters as SQL and commits that survive a crash (WAL with ``synchronous=FULL`` is
durable across power loss too). The ``row`` of a case is its id in the FAISS index, so the two
never need a mapping table. Thumbnails are JPEG blobs here rather than hundreds of thousands of
small files. Embeddings are kept as float16 (half the bytes: 1 GB at 1M x 512; float32 blobs
of older libraries are read too): they are what the index is built from at every version and
rebuilt from by a repair, and an index's own codes (PQ, 8-bit) are lossy, so they cannot be the
source. float16 costs nothing measurable in recall (``bench library``).

A finished library's database is opened ``read_only`` (immutable: see ``library.versions``).
Elsewhere, where this account cannot write the library it is opened read-only, and every SQLite error
becomes a ``LibraryError`` naming the file (``library.sqlite_access``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from cxrviewer.datasets.case import DatasetProblem
from cxrviewer.library.errors import LibraryDamaged, LibraryError, repair_advice
from cxrviewer.library.sqlite_access import connect_read_only, database_error, errors_name_the_file, writable
from cxrviewer.library.store_records import (
    CODE_STATUS,
    NOT_MENTIONED,
    STATUS_CODES,
    VECTOR_DTYPE,
    CaseRow,
    FindingDetail,
    PreparedCase,
    decode_vector,
    encode_vector,
    findings_of_pattern,
    pattern_of,
)
from cxrviewer.reports.sections import ReportSections

__all__ = ["CODE_STATUS", "NOT_MENTIONED", "SCHEMA_VERSION", "STATUS_CODES", "STORE_NAME", "VECTOR_DTYPE",
           "CaseRow", "FindingDetail", "PreparedCase", "Store", "decode_vector", "encode_vector",
           "findings_of_pattern", "pattern_of"]

STORE_NAME = "library.sqlite"  # the first version's database (library.versions names later ones)
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS cases(
    row INTEGER PRIMARY KEY,
    case_id TEXT UNIQUE NOT NULL,
    patient_id TEXT NOT NULL,
    study_id TEXT NOT NULL,
    image TEXT NOT NULL,
    frame INTEGER NOT NULL DEFAULT 0,
    dataset TEXT NOT NULL,
    view TEXT NOT NULL,
    sex TEXT NOT NULL,
    age REAL,
    split TEXT NOT NULL,
    findings_source TEXT NOT NULL,
    indication TEXT NOT NULL,
    comparison TEXT NOT NULL,
    findings_text TEXT NOT NULL,
    impression TEXT NOT NULL,
    other TEXT NOT NULL,
    pattern TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_pattern ON cases(pattern);
CREATE INDEX IF NOT EXISTS cases_study ON cases(study_id);
CREATE INDEX IF NOT EXISTS cases_image ON cases(image);
CREATE TABLE IF NOT EXISTS findings(
    row INTEGER NOT NULL,
    label TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT,
    laterality TEXT,
    PRIMARY KEY(row, label)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS findings_label ON findings(label, status);
CREATE TABLE IF NOT EXISTS thumbs(row INTEGER PRIMARY KEY, jpeg BLOB NOT NULL,
                                  width INTEGER NOT NULL, height INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS embeddings(row INTEGER PRIMARY KEY, vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS skipped(case_id TEXT PRIMARY KEY, path TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS problems(id INTEGER PRIMARY KEY, path TEXT NOT NULL, line INTEGER,
                                    reason TEXT NOT NULL);
"""


_CASE_COLUMNS = ("row, case_id, patient_id, study_id, image, frame, dataset, view, sex, age, split, "
                 "findings_source, indication, comparison, findings_text, impression, other, pattern")


@errors_name_the_file
class Store:
    """One SQLite connection to a library's metadata. Not shared across threads.

    ``read_only`` is true where this account cannot write the library (see
    ``library.sqlite_access``) or where asked (a finished version, which nothing changes);
    a build (``create=True``) always opens it for writing.
    """

    def __init__(self, path: Path, *, create: bool = False, read_only: bool = False) -> None:
        self.path = path = Path(path)
        # Stored image path -> where the film is now; the library sets it (library.locations).
        self.image_path: Callable[[str], str] = str
        if not create and not path.is_file():
            raise LibraryError(path, "the library's metadata file is missing")
        self.read_only = not create and (read_only or not writable(path))
        try:
            self.db = self._connect(create)
            if create:
                self.db.executescript(_SCHEMA)
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                                (str(SCHEMA_VERSION),))
                self.db.commit()
            version = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.Error as exc:
            self.close()
            raise database_error(path, exc) from None
        if version is None or str(version[0]) != str(SCHEMA_VERSION):
            self.close()
            raise LibraryError(path, f"metadata schema version {version and version[0]} is not "
                                     f"{SCHEMA_VERSION}")

    def _connect(self, create: bool) -> sqlite3.Connection:
        if not self.read_only:
            db = sqlite3.connect(self.path, check_same_thread=False)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")
                return db
            except sqlite3.OperationalError as exc:
                db.close()
                if create or "readonly" not in str(exc):
                    raise
                self.read_only = True  # permissions said yes, the file system says no
        return connect_read_only(self.path)

    def close(self) -> None:
        """Close the connection; the last one to close in a writable folder folds the ``-wal``
        into the database and removes the ``-wal`` and ``-shm`` files."""
        db = getattr(self, "db", None)
        if db is not None:
            db.close()

    def finish(self) -> None:
        """Fold the write-ahead log into the file and leave it in rollback-journal mode, so the
        file stands alone for readers that open it immutable; then close. Where another
        connection is open the mode cannot change: the log is still folded in and emptied (a
        reader finds an empty ``-wal`` and opens immutable) unless that connection is reading."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        self.db.execute("PRAGMA busy_timeout=0")
        try:
            self.db.execute("PRAGMA journal_mode=DELETE").fetchone()
        except sqlite3.OperationalError:
            pass
        self.close()

    def check(self, thorough: bool = True) -> str:
        """What SQLite finds wrong in the file ("" when nothing): ``integrity_check`` reads
        every page, ``quick_check`` skips the cross-checks of indexes against tables."""
        pragma = "integrity_check" if thorough else "quick_check"
        try:
            found = [str(r[0]) for r in self.db.execute(f"PRAGMA {pragma}(20)")]
        except sqlite3.DatabaseError as exc:
            return str(exc)
        return "" if found == ["ok"] else "; ".join(found[:5])

    # -- writing ---------------------------------------------------------------------------

    def next_row(self) -> int:
        (top,) = self.db.execute("SELECT COALESCE(MAX(row), -1) FROM cases").fetchone()
        return int(top) + 1

    def add_batch(self, prepared: Sequence[PreparedCase], skipped: Sequence[tuple[str, str, str]],
                  problems: Sequence[DatasetProblem] = ()) -> None:
        """Store one batch in one transaction, so a crash keeps either all of it or none."""
        row = self.next_row()
        with self.db:
            for item in prepared:
                self._insert(row, item)
                row += 1
            self.db.executemany("DELETE FROM skipped WHERE case_id = ?",
                                [(item.case.case_id,) for item in prepared])
            self.db.executemany("INSERT OR REPLACE INTO skipped VALUES (?, ?, ?)", skipped)
            self.db.executemany("INSERT INTO problems(path, line, reason) VALUES (?, ?, ?)",
                                [(p.path, p.line, p.reason) for p in problems])

    def _insert(self, row: int, item: PreparedCase) -> None:
        case = item.case
        report = case.report
        self.db.execute(
            f"INSERT INTO cases({_CASE_COLUMNS}) VALUES ({', '.join('?' * 18)})",
            (row, case.case_id, case.patient_id, case.study_id, case.image, case.frame,
             case.dataset, case.view, case.sex, case.age, case.split, case.findings_source,
             report.indication, report.comparison, report.findings, report.impression,
             report.other, pattern_of(case.findings)))
        self.db.executemany(
            "INSERT INTO findings VALUES (?, ?, ?, ?, ?)",
            [(row, label, status, item.details.get(label, FindingDetail()).severity,
              item.details.get(label, FindingDetail()).laterality)
             for label, status in case.findings.items() if status in STATUS_CODES])
        self.db.execute("INSERT INTO thumbs VALUES (?, ?, ?, ?)",
                        (row, item.thumb_jpeg, item.thumb_size[0], item.thumb_size[1]))
        if item.embedding is not None:
            self.db.execute("INSERT INTO embeddings VALUES (?, ?)", (row, item.embedding))

    def add_problems(self, problems: Sequence[DatasetProblem]) -> None:
        with self.db:
            self.db.executemany("INSERT INTO problems(path, line, reason) VALUES (?, ?, ?)",
                                [(p.path, p.line, p.reason) for p in problems])

    def clear_problems(self) -> None:
        with self.db:
            self.db.execute("DELETE FROM problems")

    # -- reading ---------------------------------------------------------------------------

    def known_case_ids(self) -> set[str]:
        """Cases already stored. Skipped ones are not included: a rerun tries them again, in
        case the file has been fixed since."""
        return {r[0] for r in self.db.execute("SELECT case_id FROM cases")}

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM cases").fetchone()[0])

    def embedding_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def counts(self) -> dict[str, int]:
        one = lambda sql: int(self.db.execute(sql).fetchone()[0])  # noqa: E731
        return {
            "cases": one("SELECT COUNT(*) FROM cases"),
            "patients": one("SELECT COUNT(DISTINCT patient_id) FROM cases"),
            "studies": one("SELECT COUNT(DISTINCT study_id) FROM cases"),
            "with_report": one("SELECT COUNT(*) FROM cases WHERE findings_text != '' OR impression != ''"),
            "skipped": one("SELECT COUNT(*) FROM skipped"),
            "problems": one("SELECT COUNT(*) FROM problems"),
        }

    def split_counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT split, COUNT(*) FROM cases GROUP BY split").fetchall())

    def label_counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for label, status, n in self.db.execute(
                "SELECT label, status, COUNT(*) FROM findings GROUP BY label, status"):
            out.setdefault(label, {})[status] = n
        return out

    def problems(self, limit: int | None = None) -> list[DatasetProblem]:
        """The dataset's problems, then the unusable images; at most ``limit`` in all (see
        ``problem_count`` for how many there are)."""
        cap = f" LIMIT {int(limit)}" if limit else ""
        rows = self.db.execute("SELECT path, line, reason FROM problems ORDER BY id" + cap).fetchall()
        found = [DatasetProblem(p, r, line) for p, line, r in rows]
        if limit and len(found) >= limit:
            return found
        cap = f" LIMIT {int(limit) - len(found)}" if limit else ""
        skipped = self.db.execute("SELECT path, reason FROM skipped ORDER BY case_id" + cap).fetchall()
        return found + [DatasetProblem(p, r) for p, r in skipped]

    def problem_count(self) -> int:
        """Every problem recorded (dataset problems and unusable images), however many."""
        one = lambda sql: int(self.db.execute(sql).fetchone()[0])  # noqa: E731
        return one("SELECT COUNT(*) FROM problems") + one("SELECT COUNT(*) FROM skipped")

    def patterns(self) -> list[tuple[str, int]]:
        return self.db.execute("SELECT pattern, COUNT(*) FROM cases GROUP BY pattern").fetchall()

    def rows_with_patterns(self, patterns: Sequence[str], where: str = "", params: Sequence[object] = ()
                           ) -> list[int]:
        marks = ", ".join("?" * len(patterns))
        sql = f"SELECT row FROM cases WHERE pattern IN ({marks})" + (f" AND {where}" if where else "")
        return [r[0] for r in self.db.execute(sql, (*patterns, *params))]

    def filtered_rows(self, where: str, params: Sequence[object]) -> list[int]:
        return [r[0] for r in self.db.execute(f"SELECT row FROM cases WHERE {where}", params)]

    def cases(self, rows: Sequence[int]) -> list[CaseRow]:
        """The cases at ``rows``, in the order asked."""
        if not rows:
            return []
        by_row: dict[int, CaseRow] = {}
        details: dict[int, dict[str, FindingDetail]] = {}
        findings: dict[int, dict[str, str]] = {}
        for chunk in _chunks(list(rows), 900):
            marks = ", ".join("?" * len(chunk))
            for r, label, status, severity, laterality in self.db.execute(
                    f"SELECT row, label, status, severity, laterality FROM findings WHERE row IN ({marks})",
                    chunk):
                findings.setdefault(r, {})[label] = status
                if severity or laterality:
                    details.setdefault(r, {})[label] = FindingDetail(severity, laterality)
            for rec in self.db.execute(f"SELECT {_CASE_COLUMNS} FROM cases WHERE row IN ({marks})", chunk):
                by_row[rec[0]] = _case_row(rec, findings.get(rec[0], {}), details.get(rec[0], {}),
                                           self.image_path)
        return [by_row[r] for r in rows if r in by_row]

    def rows_of_images(self, images: Sequence[str]) -> list[int]:
        """Rows whose stored image path is one of ``images`` (indexed in libraries built or
        extended since the index was added; a scan of the table in older ones)."""
        if not images:
            return []
        marks = ", ".join("?" * len(images))
        return [r[0] for r in self.db.execute(
            f"SELECT row FROM cases WHERE image IN ({marks}) ORDER BY frame, row", tuple(images))]

    def row_of(self, case_id: str) -> int | None:
        found = self.db.execute("SELECT row FROM cases WHERE case_id = ?", (case_id,)).fetchone()
        return None if found is None else int(found[0])

    def study_of(self, row: int) -> tuple[str, str]:
        return self.db.execute("SELECT study_id, patient_id FROM cases WHERE row = ?", (row,)).fetchone()

    def thumbnail(self, row: int) -> bytes | None:
        found = self.db.execute("SELECT jpeg FROM thumbs WHERE row = ?", (row,)).fetchone()
        return None if found is None else bytes(found[0])

    def embedding(self, row: int) -> bytes | None:
        found = self.db.execute("SELECT vec FROM embeddings WHERE row = ?", (row,)).fetchone()
        return None if found is None else bytes(found[0])

    def embeddings(self) -> Iterator[tuple[int, bytes]]:
        yield from self.db.execute("SELECT row, vec FROM embeddings ORDER BY row")

    def vectors(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, float32 vectors) of every stored embedding, in row order."""
        count = self.embedding_count()
        rows = np.empty(count, np.int64)
        vectors = np.empty((count, dim), np.float32)
        n = -1
        for n, (row, blob) in enumerate(self.embeddings()):
            if n >= count:
                break
            rows[n] = row
            vectors[n] = self._decoded(blob, dim)
        return rows[:n + 1], vectors[:n + 1]

    def vector(self, row: int, dim: int) -> np.ndarray | None:
        """The stored embedding of ``row`` as float32 (None when it has none)."""
        blob = self.embedding(row)
        return None if blob is None else self._decoded(blob, dim)

    def _decoded(self, blob: bytes, dim: int) -> np.ndarray:
        try:
            return decode_vector(bytes(blob), dim)
        except ValueError as exc:
            raise LibraryDamaged(self.path, f"{exc}; {repair_advice(self.path.parent)}") from None

    def tie_break_texts(self, rows: Sequence[int]) -> dict[int, tuple[str, str]]:
        """row -> (case id, impression and findings text), what the label route breaks ties by."""
        out: dict[int, tuple[str, str]] = {}
        for chunk in _chunks(list(rows), 900):
            marks = ", ".join("?" * len(chunk))
            for row, case_id, text in self.db.execute(
                    f"SELECT row, case_id, impression || ' ' || findings_text FROM cases "
                    f"WHERE row IN ({marks})", chunk):
                out[row] = (case_id, text)
        return out

    def details_for(self, rows: Sequence[int], labels: Sequence[str]) -> dict[int, dict[str, FindingDetail]]:
        out: dict[int, dict[str, FindingDetail]] = {}
        if not labels:
            return out
        label_marks = ", ".join("?" * len(labels))
        for chunk in _chunks(list(rows), 900):
            marks = ", ".join("?" * len(chunk))
            for r, label, severity, laterality in self.db.execute(
                    f"SELECT row, label, severity, laterality FROM findings WHERE row IN ({marks}) "
                    f"AND label IN ({label_marks})", (*chunk, *labels)):
                out.setdefault(r, {})[label] = FindingDetail(severity, laterality)
        return out


def _case_row(rec: tuple, findings: dict[str, str], details: dict[str, FindingDetail],
              image_path: Callable[[str], str] = str) -> CaseRow:
    (row, case_id, patient_id, study_id, image, frame, dataset, view, sex, age, split, source,
     indication, comparison, findings_text, impression, other, _pattern) = rec
    order = tuple(name for name, text in (("indication", indication), ("comparison", comparison),
                                          ("findings", findings_text), ("impression", impression),
                                          ("other", other)) if text)
    report = ReportSections(indication, comparison, findings_text, impression, other, order)
    return CaseRow(row, case_id, patient_id, study_id, image_path(image), frame, dataset, view, sex, age,
                   split, source, report, findings, details)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]

