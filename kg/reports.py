"""Event reports on disk while a spilled build resolves them (`kg build --out x.nq/--shards`).

A build that held every report until resolution grew by ~5 KB a document: the reports
themselves (~1.9 KB) and clustering's working set (blocking keys, a union-find over string
ids, groups), which the allocator keeps after it is freed. Here the reports wait in the
spill (kg.spill) as marshal'd rows, are read back once names are resolved, and go into a
private SQLite database with one row per blocking key: beside the spill (the output's
folder, chosen for its space), its file removed as soon as it is open so that nothing is
left behind however the build ends (as SQLite does with its own temporary databases; no
rollback journal is kept, so SQLite never needs the file's name again). Clustering reads
a key's block at a time, in key order, and unions reports by their number in corpus order
in an array (8 bytes a report); the events are then read back grouped, one event's reports
at a time. The clusters, the events and their order are those of kg.resolve.cluster_events
over the same reports: the same blocks and pairs decide them, and a cluster's
representative is its first report.
"""

from __future__ import annotations

import errno
import marshal
import os
import sqlite3
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from contextlib import suppress

from kg.model import EVENT_EVIDENCE, EVENT_SETS, NOTHING, Event, Evidence
from kg.resolve import event_keys, join_block, join_operations, remap_event

SCHEMA = """
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE reports (n INTEGER PRIMARY KEY, root INTEGER, stub BLOB NOT NULL, spans BLOB NOT NULL,
    answers INTEGER NOT NULL);
CREATE TABLE keys (key TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (key, n)) WITHOUT ROWID;
CREATE TABLE operations (n INTEGER PRIMARY KEY, doc TEXT NOT NULL, date TEXT, answered BLOB NOT NULL);
"""


def report_row(e: Event) -> tuple[tuple, tuple]:
    """A report as two marshal-able tuples: what clustering and labels read (its stub), and
    the spans a merged event cites (the first EVENT_EVIDENCE, and its date's)."""
    sets = tuple(tuple(sorted(s)) for s in (e.targets, e.locations, e.perpetrators, e.participants, e.responds_to))
    stub = (e.id, e.doc, e.type, tuple(e.names), e.date, e.description, *sets)
    spans = (_span(e.date_evidence), tuple(_span(ev) for ev in e.evidence[:EVENT_EVIDENCE]))
    return stub, spans


def _span(ev: Evidence | None) -> tuple | None:
    return None if ev is None else (ev.doc, ev.start, ev.end, ev.quote, ev.rule, ev.resolved)


def report(stub: tuple, spans: tuple | None = None) -> Event:
    """A report from its row: without evidence (for clustering) unless `spans` are given."""
    rid, doc, kind, names, date, description, *sets = stub
    e = Event(rid, doc, kind, list(names), date, None, description, [])
    e.targets, e.locations, e.perpetrators, e.participants, e.responds_to = (frozenset(s) or NOTHING for s in sets)
    if spans is not None:
        _cite(e, spans)
    return e


def _cite(e: Event, spans: tuple) -> None:
    date_span, evidence = spans
    e.date_evidence = date_span and Evidence(*date_span)
    e.evidence = [Evidence(*ev) for ev in evidence]


def unnamed_database(directory: str | os.PathLike) -> sqlite3.Connection:
    """A new database file in `directory`, open and already removed (it lives while open).
    Errors name the folder: the file would have had no name."""
    try:
        fd, path = tempfile.mkstemp(prefix=".kg-reports.", suffix=".sqlite", dir=directory)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(directory)) from exc
    os.close(fd)
    try:
        db = sqlite3.connect(path)
    except BaseException:
        _remove(path)
        raise
    try:
        db.execute("PRAGMA journal_mode = OFF")  # before anything is written: no journal beside it
        os.unlink(path)
    except PermissionError:  # Windows keeps an open file's name: SQLite's own temporary database then
        db.close()
        _remove(path)
        return sqlite3.connect("")
    except BaseException:
        db.close()
        _remove(path)
        raise
    return db


def _remove(path: str) -> None:
    with suppress(OSError):
        os.unlink(path)


class IntUnionFind:
    """kg.resolve.UnionFind over report numbers, in an array: a root is its cluster's first."""

    def __init__(self, size: int) -> None:
        self.parent = array("q", range(size))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class ReportTable:
    """The reports of a build, numbered in corpus order as they are added, and their blocks."""

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        """In `directory`, or without one in SQLite's temporary folder (SQLITE_TMPDIR or
        TMPDIR, else /var/tmp)."""
        self.db = sqlite3.connect("") if directory is None else unnamed_database(directory)
        self.db.executescript(SCHEMA)
        self.count = 0

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ReportTable:
        return self

    def __exit__(self, _kind: object, exc: BaseException | None, _tb: object) -> None:
        """Closed however resolution ends; SQLite's failure (a full disk, say) raised as the
        folder's OSError, as the spill's are, so `kg build` says where it could not write."""
        where = self.where if isinstance(exc, sqlite3.OperationalError) else None
        self.close()
        if where is not None:
            code = errno.ENOSPC if "full" in str(exc) else errno.EIO
            raise OSError(code, f"event reports' database: {exc}", where) from exc

    @property
    def where(self) -> str:
        """The folder the database lies in, as SQLite has it (a fallback to its own
        temporary database included: kg.reports.unnamed_database)."""
        file = self.db.execute("PRAGMA database_list").fetchone()[2]
        return os.path.dirname(file) or "SQLite's temporary folder"

    def add(self, rows: Iterable[tuple[tuple, tuple]], entity_map: dict[str, str], entity_type) -> None:
        """One document's reports (report_row), names resolved by `entity_map`."""
        events = [(remap_event(report(stub), entity_map), spans) for stub, spans in rows]
        number = {e.id: self.count + i for i, (e, _) in enumerate(events)}
        self.db.executemany(
            "INSERT INTO reports (n, stub, spans, answers) VALUES (?, ?, ?, ?)",
            (
                (number[e.id], marshal.dumps(report_row(e)[0]), marshal.dumps(spans), bool(e.responds_to))
                for e, spans in events
            ),
        )
        self.db.executemany(
            "INSERT INTO keys VALUES (?, ?)",
            ((repr(key), number[e.id]) for e, _ in events for key in event_keys(e, entity_type)),
        )
        self.db.executemany(  # what they answer is their own document's reports: numbered here
            "INSERT INTO operations VALUES (?, ?, ?, ?)",
            (
                (number[e.id], e.doc, e.date, marshal.dumps(tuple(number[x] for x in e.responds_to if x in number)))
                for e, _ in events
                if e.type == "SecurityOperation" and not e.names and e.responds_to
            ),
        )
        self.count += len(events)

    def cluster(self, entity_type) -> IntUnionFind:
        """Each key's block, in key order, as kg.resolve.cluster_events joins it, then the
        operations answering one event."""
        uf = IntUnionFind(self.count)
        rows = self.db.execute("SELECT k.key, k.n, r.stub FROM keys k JOIN reports r ON r.n = k.n ORDER BY k.key, k.n")
        block: list[Event] = []
        key = None
        for k, n, stub in rows:
            if k != key:
                join_block(uf, block, entity_type)
                block, key = [], k
            e = report(marshal.loads(stub))
            e.id = n  # type: ignore[assignment]  # numbered: the union-find's
            block.append(e)
        join_block(uf, block, entity_type)
        join_operations(uf, [self._operation(*row) for row in self.db.execute("SELECT * FROM operations ORDER BY n")])
        return uf

    @staticmethod
    def _operation(n: int, doc: str, date: str | None, answered: bytes) -> Event:
        """An operation as join_operations reads it: numbered, answering numbers."""
        e = Event(n, doc, "SecurityOperation", [], date, **dict.fromkeys(EVENT_SETS, NOTHING))  # type: ignore[arg-type]
        e.responds_to = frozenset(marshal.loads(answered))
        return e

    def answering(self) -> Iterator[Event]:
        """The reports that answer others (for kg.resolve.answers_of)."""
        return (report(marshal.loads(stub)) for (stub,) in self.db.execute("SELECT stub FROM reports WHERE answers"))

    def events(self, uf: IntUnionFind) -> Iterator[list[Event]]:
        """Each event's reports, in corpus order, the events in the order of their first
        reports (as kg.resolve.resolve groups them). Only the spans kg.resolve.merged_event
        cites are read: the first EVENT_EVIDENCE, and the date's of each report that makes
        the event's date more precise (an event thousands of articles report holds their
        stubs, not their spans)."""
        self.db.executemany("UPDATE reports SET root = ? WHERE n = ?", ((uf.find(n), n) for n in range(self.count)))
        self.db.execute("CREATE INDEX reports_root ON reports (root, n)")
        group: list[Event] = []
        root, cited, precision = None, 0, 0
        for r, stub, spans in self.db.execute("SELECT root, stub, spans FROM reports ORDER BY root, n"):
            if r != root:
                if group:
                    yield group
                group, root, cited, precision = [], r, 0, 0
            e = report(marshal.loads(stub))
            if cited < EVENT_EVIDENCE or (e.date and len(e.date) > precision):
                _cite(e, marshal.loads(spans))
                cited += len(e.evidence)
            precision = max(precision, len(e.date or ""))
            group.append(e)
        if group:
            yield group
