"""The SQLite study index: Study / Series / Instance rows of the local database.

SQLite in WAL mode lets the viewer read while a PACS retrieve writes. One connection per thread
(``threading.local``) because sqlite3 connections must not be shared across threads and pynetdicom calls its
C-STORE handlers from its own threads. Writers wait (``busy_timeout``) instead of failing when another thread
holds the write lock.

Paths are stored relative to the store root so a data directory can be moved or restored from a backup.
Study-level attributes are taken from the first instance seen of a study and filled in (never overwritten with
blanks) by later ones; dedup is by SOP Instance UID (the primary key).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset

from hsg_workstation.dicom_io.model import Instance, Series, SopKind, Study
from hsg_workstation.dicom_io.reader import header_is_number, header_text

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    study_uid TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL DEFAULT '',
    patient_name TEXT NOT NULL DEFAULT '',
    patient_birth_date TEXT NOT NULL DEFAULT '',
    study_date TEXT NOT NULL DEFAULT '',
    study_time TEXT NOT NULL DEFAULT '',
    accession_number TEXT NOT NULL DEFAULT '',
    study_description TEXT NOT NULL DEFAULT '',
    complete INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS series (
    series_uid TEXT PRIMARY KEY,
    study_uid TEXT NOT NULL,
    modality TEXT NOT NULL DEFAULT '',
    series_number INTEGER,
    series_description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS series_by_study ON series(study_uid);
CREATE TABLE IF NOT EXISTS instances (
    sop_uid TEXT PRIMARY KEY,
    sop_class_uid TEXT NOT NULL,
    series_uid TEXT NOT NULL,
    study_uid TEXT NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    instance_number INTEGER,
    number_of_frames INTEGER NOT NULL DEFAULT 1,
    rows INTEGER,
    columns INTEGER,
    acquisition_datetime TEXT,
    transfer_syntax_uid TEXT,
    source TEXT NOT NULL DEFAULT '',
    imported_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_by_series ON instances(series_uid);
CREATE INDEX IF NOT EXISTS instances_by_study ON instances(study_uid);
CREATE INDEX IF NOT EXISTS studies_newest_first ON studies(study_date DESC, study_time DESC, study_uid);
"""

_STUDY_FIELDS = (
    ("patient_id", 0x00100020),
    ("patient_name", 0x00100010),
    ("patient_birth_date", 0x00100030),
    ("study_date", 0x00080020),
    ("study_time", 0x00080030),
    ("accession_number", 0x00080050),
    ("study_description", 0x00081030),
)
TAG_MODALITY = 0x00080060
TAG_SERIES_NUMBER = 0x00200011
TAG_SERIES_DESCRIPTION = 0x0008103E


@dataclass(frozen=True, slots=True)
class IndexRow:
    """Everything the index stores for one instance, extracted from its header (no Dataset kept)."""

    instance: Instance
    relpath: str
    source: str
    study_values: tuple[str, ...]  # in _STUDY_FIELDS order
    modality: str
    series_number: int | None
    series_description: str


def index_row(ds: Dataset, instance: Instance, relpath: str, source: str) -> IndexRow:
    return IndexRow(
        instance=instance,
        relpath=relpath,
        source=source,
        study_values=tuple(header_text(ds, tag) for _, tag in _STUDY_FIELDS),
        modality=header_text(ds, TAG_MODALITY),
        series_number=header_is_number(ds, TAG_SERIES_NUMBER),
        series_description=header_text(ds, TAG_SERIES_DESCRIPTION),
    )


def normalize_da(value: str | None) -> str | None:
    """Accept ``YYYYMMDD`` or ``YYYY-MM-DD`` (what users type) and return DICOM DA, or None."""
    if not value:
        return None
    digits = value.replace("-", "").replace(".", "").replace("/", "").strip()
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError(f"date {value!r} is not YYYYMMDD or YYYY-MM-DD")
    return digits


class StudyIndex:
    """Thread-safe access to the SQLite index (one connection per thread)."""

    def __init__(self, db_path: str | Path, store_root: Path) -> None:
        self.db_path = Path(db_path)
        self.store_root = Path(store_root)
        self._local = threading.local()
        # (owning thread, connection): connections of threads that have ended (pynetdicom starts one per
        # association) are closed when the next connection is opened, so a long session does not leak them.
        self._all: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        self._closed = False
        # Series already in the table and studies whose attributes have no blanks left: no need to touch their
        # rows again for every further instance (saves two statements per file while indexing).
        self._known_series: set[str] = set()
        self._full_studies: set[str] = set()
        con = self.connection()
        con.executescript(_SCHEMA)  # executescript manages its own transaction; idempotent (IF NOT EXISTS)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- connections -------------------------------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            if self._closed:
                raise RuntimeError("the study index is closed")
            con = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes, fast commits
            con.execute("PRAGMA busy_timeout=30000")
            con.execute("PRAGMA foreign_keys=ON")
            con.row_factory = sqlite3.Row
            self._local.con = con
            with self._lock:
                dead = [c for t, c in self._all if not t.is_alive()]
                self._all = [(t, c) for t, c in self._all if t.is_alive()]
                self._all.append((threading.current_thread(), con))
            for stale in dead:
                try:
                    stale.close()
                except sqlite3.Error:
                    pass
        return con

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT (rolled back on error): takes the write lock up front, so no deadlock."""
        con = self.connection()
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._all = self._all, []
        for _, con in connections:
            try:
                con.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    # -- writes ------------------------------------------------------------------------------------------------
    def add_rows(self, rows: Sequence[IndexRow]) -> list[bool]:
        """Insert instances (and their study / series rows) in ONE transaction; per row, False if the SOP
        Instance UID was already indexed. Batching is what keeps indexing as fast as reading headers."""
        added: list[bool] = []
        new_series: set[str] = set()
        filled: dict[str, bool] = {}
        now = time.time()
        with self._lock:
            known_series = set(self._known_series)
            full_studies = set(self._full_studies)
        with self.transaction() as con:
            for row in rows:
                inst = row.instance
                cur = con.execute(
                    "INSERT OR IGNORE INTO instances (sop_uid, sop_class_uid, series_uid, study_uid, path, kind, "
                    "instance_number, number_of_frames, rows, columns, acquisition_datetime, transfer_syntax_uid, "
                    "source, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        inst.sop_instance_uid,
                        inst.sop_class_uid,
                        inst.series_instance_uid,
                        inst.study_instance_uid,
                        row.relpath,
                        str(inst.kind),
                        inst.instance_number,
                        inst.number_of_frames,
                        inst.rows,
                        inst.columns,
                        inst.acquisition_datetime,
                        inst.transfer_syntax_uid,
                        row.source,
                        now,
                    ),
                )
                added.append(cur.rowcount > 0)
                if cur.rowcount == 0:
                    continue
                study = inst.study_instance_uid
                if study not in full_studies and not filled.get(study, False):
                    con.execute(_STUDY_INSERT, (study, *row.study_values))
                    # Fill blanks from later instances (e.g. an SR carrying the accession the first image lacked).
                    con.execute(_STUDY_FILL, (*row.study_values, study))
                    values = con.execute(_STUDY_VALUES, (study,)).fetchone()
                    filled[study] = all(values)
                series = inst.series_instance_uid
                if series not in known_series and series not in new_series:
                    con.execute(
                        "INSERT OR IGNORE INTO series (series_uid, study_uid, modality, series_number, "
                        "series_description) VALUES (?,?,?,?,?)",
                        (series, study, row.modality, row.series_number, row.series_description),
                    )
                    new_series.add(series)
        with self._lock:  # only after COMMIT: a rolled-back batch must not be remembered
            self._known_series |= new_series
            self._full_studies |= {uid for uid, full in filled.items() if full}
        return added

    def remove_instances(self, sop_uids: Sequence[str]) -> None:
        """Delete instance rows (doctor: their files are gone), then series and studies left without any."""
        with self.transaction() as con:
            con.executemany("DELETE FROM instances WHERE sop_uid = ?", [(u,) for u in sop_uids])
            con.execute(
                "DELETE FROM series WHERE series_uid NOT IN (SELECT DISTINCT series_uid FROM instances)"
            )
            con.execute(
                "DELETE FROM studies WHERE study_uid NOT IN (SELECT DISTINCT study_uid FROM instances)"
            )
        with self._lock:  # the caches say "row exists"; a later instance must insert them again
            self._known_series.clear()
            self._full_studies.clear()

    def set_study_complete(self, study_uid: str, complete: bool) -> None:
        with self.transaction() as con:
            con.execute(
                "UPDATE studies SET complete = ? WHERE study_uid = ?", (1 if complete else 0, study_uid)
            )

    # -- reads -------------------------------------------------------------------------------------------------
    def has_instance(self, sop_uid: str) -> bool:
        row = self.connection().execute("SELECT 1 FROM instances WHERE sop_uid = ?", (sop_uid,)).fetchone()
        return row is not None

    def sop_instance_uids(self, study_uid: str) -> set[str]:
        rows = self.connection().execute("SELECT sop_uid FROM instances WHERE study_uid = ?", (study_uid,))
        return {r[0] for r in rows}

    def is_empty(self) -> bool:
        return self.connection().execute("SELECT 1 FROM instances LIMIT 1").fetchone() is None

    def studies(
        self,
        text: str = "",
        date_from: str | None = None,
        date_to: str | None = None,
        limit: int | None = None,
    ) -> list[Study]:
        where, params = _study_filter(text, date_from, date_to)
        sql = _STUDY_SELECT + where
        sql += " ORDER BY s.study_date DESC, s.study_time DESC, s.study_uid"
        if limit is not None:
            # With the newest-first index SQLite stops after `limit` rows; the per-study counts run only for them.
            sql += f" LIMIT {max(0, int(limit))}"
        return [self._study(r) for r in self.connection().execute(sql, params)]

    def count_studies(self, text: str = "", date_from: str | None = None, date_to: str | None = None) -> int:
        """How many studies ``studies`` would list without a limit (same filter; no per-study counts)."""
        where, params = _study_filter(text, date_from, date_to)
        return int(self.connection().execute("SELECT count(*) FROM studies s" + where, params).fetchone()[0])

    def study(self, uid: str) -> Study | None:
        row = self.connection().execute(_STUDY_SELECT + " WHERE s.study_uid = ?", (uid,)).fetchone()
        return self._study(row) if row is not None else None

    def series(self, study_uid: str) -> list[Series]:
        rows = self.connection().execute(
            "SELECT se.*, (SELECT count(*) FROM instances i WHERE i.series_uid = se.series_uid) AS n "
            "FROM series se WHERE se.study_uid = ? "
            "ORDER BY se.series_number IS NULL, se.series_number, se.series_uid",
            (study_uid,),
        )
        return [
            Series(
                series_instance_uid=r["series_uid"],
                study_instance_uid=r["study_uid"],
                modality=r["modality"],
                series_number=r["series_number"],
                series_description=r["series_description"],
                instance_count=r["n"],
            )
            for r in rows
        ]

    def instances(self, series_uid: str) -> list[Instance]:
        rows = self.connection().execute(
            "SELECT * FROM instances WHERE series_uid = ? "
            "ORDER BY acquisition_datetime IS NULL, acquisition_datetime, "
            "instance_number IS NULL, instance_number, sop_uid",
            (series_uid,),
        )
        return [self._instance(r) for r in rows]

    def all_relpaths(self) -> Iterable[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.connection().execute("SELECT sop_uid, path FROM instances")]

    def _instance(self, r: sqlite3.Row) -> Instance:
        return Instance(
            sop_instance_uid=r["sop_uid"],
            sop_class_uid=r["sop_class_uid"],
            series_instance_uid=r["series_uid"],
            study_instance_uid=r["study_uid"],
            path=self.store_root / r["path"],
            kind=SopKind(r["kind"]),
            instance_number=r["instance_number"],
            number_of_frames=r["number_of_frames"],
            rows=r["rows"],
            columns=r["columns"],
            acquisition_datetime=r["acquisition_datetime"],
            transfer_syntax_uid=r["transfer_syntax_uid"],
        )

    @staticmethod
    def _study(r: sqlite3.Row) -> Study:
        modalities = tuple(sorted({m for m in (r["modalities"] or "").split(",") if m}))
        return Study(
            study_instance_uid=r["study_uid"],
            patient_id=r["patient_id"],
            patient_name=r["patient_name"],
            patient_birth_date=r["patient_birth_date"],
            study_date=r["study_date"],
            study_time=r["study_time"],
            accession_number=r["accession_number"],
            study_description=r["study_description"],
            modalities=modalities,
            series_count=r["series_count"],
            instance_count=r["instance_count"],
            complete=bool(r["complete"]),
        )


def _study_filter(text: str, date_from: str | None, date_to: str | None) -> tuple[str, list[object]]:
    """The WHERE clause (with its leading space, or empty) shared by the study list and its count."""
    where: list[str] = []
    params: list[object] = []
    text = (text or "").strip()
    if text:
        # PN components are '^'-separated; users type spaces or commas.
        for word in text.replace("^", " ").replace(",", " ").split():
            # '%' and '_' typed by the user are literal characters, not wildcards.
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            like = f"%{escaped}%"
            where.append(
                "(replace(s.patient_name, '^', ' ') LIKE ? ESCAPE '\\' OR s.patient_id LIKE ? ESCAPE '\\' "
                "OR s.accession_number LIKE ? ESCAPE '\\' OR s.study_description LIKE ? ESCAPE '\\')"
            )
            params += [like, like, like, like]
    lo, hi = normalize_da(date_from), normalize_da(date_to)
    if lo:
        where.append("s.study_date >= ?")
        params.append(lo)
    if hi:
        where.append("s.study_date <= ?")
        params.append(hi)
    return (" WHERE " + " AND ".join(where) if where else ""), params


_STUDY_SELECT = (
    "SELECT s.*, "
    "(SELECT count(*) FROM series se WHERE se.study_uid = s.study_uid) AS series_count, "
    "(SELECT count(*) FROM instances i WHERE i.study_uid = s.study_uid) AS instance_count, "
    "(SELECT group_concat(DISTINCT se.modality) FROM series se WHERE se.study_uid = s.study_uid) AS modalities "
    "FROM studies s"
)
_STUDY_INSERT = (
    f"INSERT OR IGNORE INTO studies (study_uid, {', '.join(c for c, _ in _STUDY_FIELDS)}) "
    f"VALUES (?{', ?' * len(_STUDY_FIELDS)})"
)
_STUDY_FILL = (
    "UPDATE studies SET "
    + ", ".join(f"{c} = CASE WHEN {c} = '' THEN ? ELSE {c} END" for c, _ in _STUDY_FIELDS)
    + " WHERE study_uid = ?"
)
_STUDY_VALUES = f"SELECT {', '.join(c for c, _ in _STUDY_FIELDS)} FROM studies WHERE study_uid = ?"
