"""Event reports, and the events made of them, on disk in a spilled build (`kg build
--out/--shards`).

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

Each event is then merged as its reports are read, one report at a time
(kg.resolve.EventTraits: in the synthetic 100 MB corpus one event has 17,248 reports, 21 MB
held as a list, and it grows with the corpus), and kept in the same database, with the spans
it cites and its date's filed under their documents (`keep_events`); the database stays open
until the build is closed, and each document's part of the graph reads what it needs of
them (DocPart) as it is written. Holding the merged events and the map from every
report to its event took ~1.4 KB an event at 800 MB.
"""

from __future__ import annotations

import errno
import marshal
import os
import sqlite3
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

from kg.linesort import naming
from kg.model import EVENT_EVIDENCE, EVENT_SETS, NOTHING, Event, Evidence
from kg.resolve import UnionFind, date_statement, event_keys, join_block, join_operations, remap_event

SCHEMA = """
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE reports (n INTEGER PRIMARY KEY, root INTEGER, stub BLOB NOT NULL, spans BLOB NOT NULL,
    answers INTEGER NOT NULL, rid TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE keys (key TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (key, n)) WITHOUT ROWID;
CREATE TABLE operations (n INTEGER PRIMARY KEY, doc TEXT NOT NULL, date TEXT, answered BLOB NOT NULL);
CREATE TABLE events (k INTEGER PRIMARY KEY, root INTEGER NOT NULL, gid TEXT NOT NULL, row BLOB NOT NULL);
CREATE TABLE cites (doc TEXT NOT NULL, k INTEGER NOT NULL, i INTEGER NOT NULL, gid TEXT NOT NULL,
    span BLOB NOT NULL, PRIMARY KEY (doc, k, i)) WITHOUT ROWID;
CREATE TABLE dates (doc TEXT NOT NULL, k INTEGER NOT NULL, gid TEXT NOT NULL, date TEXT NOT NULL,
    span BLOB NOT NULL, PRIMARY KEY (doc, k)) WITHOUT ROWID;
"""
KEEP_EVERY = 2_000  # merged events written to the table a batch at a time


class DocPart(NamedTuple):
    """What resolution made that one document's part of the graph needs: its event reports'
    resolved ids (report id -> event id), the spans events cite in it (event id -> spans,
    the events in their order) and the statements of event dates it is evidence of."""

    ids: dict[str, str]
    cites: dict[str, list[Evidence]]
    dates: list[tuple[tuple, list[Evidence]]]


NO_PART = DocPart({}, {}, [])


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
    with naming(directory):
        fd, path = tempfile.mkstemp(prefix=".kg-reports.", suffix=".sqlite", dir=directory)
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


class IntUnionFind(UnionFind):
    """kg.resolve.UnionFind over report numbers 0..size-1, in an array (8 bytes a report, not
    a dict's ~100): a root is its cluster's first. Its union is UnionFind's."""

    def __init__(self, size: int) -> None:
        self.parent = array("q", range(size))  # type: ignore[assignment]

    def find(self, x: int) -> int:  # type: ignore[override]
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x


def _cited_reports(rows: Iterable[tuple]) -> Iterator[Event]:
    """One event's reports from their rows (root, stub, spans), with the spans
    kg.resolve.merged_event cites."""
    cited = precision = 0
    for _, stub, spans in rows:
        e = report(marshal.loads(stub))
        if cited < EVENT_EVIDENCE or (e.date and len(e.date) > precision):
            _cite(e, marshal.loads(spans))
            cited += len(e.evidence)
        precision = max(precision, len(e.date or ""))
        yield e


class ReportTable:
    """The reports of a build, numbered in corpus order as they are added, and their blocks;
    then the events merged from them (keep_events)."""

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

    @contextmanager
    def failing(self) -> Iterator[ReportTable]:
        """As `with table:`, but left open when the block succeeds: a spilled build reads
        its events from the table until the build is closed."""
        try:
            yield self
        except BaseException as exc:
            self.__exit__(type(exc), exc, None)
            raise

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
            "INSERT INTO reports (n, stub, spans, answers, rid, doc) VALUES (?, ?, ?, ?, ?, ?)",
            (
                (number[e.id], marshal.dumps(report_row(e)[0]), marshal.dumps(spans), bool(e.responds_to), e.id, e.doc)
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
        reports (as kg.resolve.resolve groups them); see `_groups`."""
        return (list(group) for _, group in self._groups(uf))

    def _groups(self, uf: IntUnionFind) -> Iterator[tuple[int, Iterator[Event]]]:
        """Each event's root (the number of its first report) and its reports, read one at a
        time as the event is merged (an event thousands of articles report is not held; each
        group is read before the next). Only the spans kg.resolve.merged_event cites are
        read: the first EVENT_EVIDENCE, and the date's of each report that makes the event's
        date more precise."""
        self.db.executemany("UPDATE reports SET root = ? WHERE n = ?", ((uf.find(n), n) for n in range(self.count)))
        self.db.execute("CREATE INDEX reports_root ON reports (root, n)")
        rows = self.db.execute("SELECT root, stub, spans FROM reports ORDER BY root, n")
        for root, members in groupby(rows, key=itemgetter(0)):
            yield root, _cited_reports(members)

    # ------------------------------------------------------------ resolved events
    # A spilled build keeps the events it merges here, not in memory, with what each
    # document's part of the graph needs of them (DocPart), read back a few documents at a
    # time as the parts are written (kg.graph.GraphWriter.build_parts, kg.parts).

    def keep_events(self, uf: IntUnionFind, merge: Callable[[list[Event]], Event]) -> None:
        """Each event (`merge`d from its reports, kg.resolve.merged_event) into the table, in
        the order `events` gives, with the spans it cites (its first EVENT_EVIDENCE) and its
        date's span filed under their documents."""
        events: list[tuple] = []
        cites: list[tuple] = []
        dates: list[tuple] = []
        for k, (root, group) in enumerate(self._groups(uf)):
            e = merge(group)
            events.append((k, root, e.id, marshal.dumps(event_row(e))))
            spans = enumerate(e.evidence[:EVENT_EVIDENCE])
            cites.extend((ev.doc, k, i, e.id, marshal.dumps(_span(ev))) for i, ev in spans)
            if e.date and e.date_evidence is not None:
                dates.append((e.date_evidence.doc, k, e.id, e.date, marshal.dumps(_span(e.date_evidence))))
            if len(events) >= KEEP_EVERY:
                self._write_kept(events, cites, dates)
        self._write_kept(events, cites, dates)
        # covering indexes: a document's reports' ids are read without their rows' blobs
        self.db.execute("CREATE INDEX events_root ON events (root, gid)")
        self.db.execute("CREATE UNIQUE INDEX events_gid ON events (gid)")
        self.db.execute("CREATE INDEX reports_rid ON reports (rid, root)")
        self.db.execute("CREATE INDEX reports_doc ON reports (doc, n, rid, root)")

    def _write_kept(self, events: list[tuple], cites: list[tuple], dates: list[tuple]) -> None:
        self.db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", events)
        self.db.executemany("INSERT INTO cites VALUES (?, ?, ?, ?, ?)", cites)
        self.db.executemany("INSERT INTO dates VALUES (?, ?, ?, ?, ?)", dates)
        events.clear(), cites.clear(), dates.clear()

    def event_of(self, rid: str) -> str:
        """The id of the event report `rid` is one of."""
        row = self.db.execute(
            "SELECT e.gid FROM reports r JOIN events e ON e.root = r.root WHERE r.rid = ?", (rid,)
        ).fetchone()
        if row is None:
            raise KeyError(rid)
        return row[0]

    def rename(self, events: Iterable[Event]) -> None:
        """Events whose names changed once all were merged (kg.resolve.name_responses)."""
        self.db.executemany(
            "UPDATE events SET row = ? WHERE gid = ?", ((marshal.dumps(event_row(e)), e.id) for e in events)
        )

    def stored_events(self) -> StoredEvents:
        return StoredEvents(self.db)

    def report_ids(self, docs: list[str]) -> dict[str, dict[str, str]]:
        """Per document of `docs`, its event reports' resolved ids (report id -> event id)."""
        found: dict[str, dict[str, str]] = {}
        rows = self._in(
            "SELECT r.doc, r.rid, e.gid FROM reports r JOIN events e ON e.root = r.root"
            " WHERE r.doc IN ({}) ORDER BY r.n",
            docs,
        )
        for doc, rid, gid in rows:
            found.setdefault(doc, {})[rid] = gid
        return found

    def parts(self, docs: list[str]) -> dict[str, DocPart]:
        """What each of `docs`' parts of the graph needs (DocPart); a document with none of
        it is left out."""
        parts: dict[str, DocPart] = {}
        for doc, ids in self.report_ids(docs).items():
            parts[doc] = DocPart(ids, {}, [])
        cites = self._in(
            "SELECT doc, gid, span FROM cites WHERE doc IN ({}) ORDER BY doc, k, i",
            docs,
        )
        for doc, gid, span in cites:
            part = parts.setdefault(doc, DocPart({}, {}, []))
            part.cites.setdefault(gid, []).append(Evidence(*marshal.loads(span)))
        dates = self._in(
            "SELECT doc, gid, date, span FROM dates WHERE doc IN ({}) ORDER BY doc, k",
            docs,
        )
        for doc, gid, date, span in dates:
            part = parts.setdefault(doc, DocPart({}, {}, []))
            part.dates.append((date_statement(gid, date), [Evidence(*marshal.loads(span))]))
        return parts

    def cited_documents(self) -> int:
        """How many documents events cite (their spans or their dates')."""
        return self.db.execute("SELECT COUNT(*) FROM (SELECT doc FROM cites UNION SELECT doc FROM dates)").fetchone()[0]

    def _in(self, query: str, docs: list[str]) -> Iterator[tuple]:
        """`query` with its IN list filled with `docs`, in batches SQLite's limit allows."""
        for start in range(0, len(docs), IN_BATCH):
            batch = docs[start : start + IN_BATCH]
            yield from self.db.execute(query.format(",".join("?" * len(batch))), batch)


IN_BATCH = 500  # documents in one IN list (SQLite allows 32,766 parameters, 999 before 3.32)


def event_row(e: Event) -> tuple:
    """A merged event as a marshal-able tuple (kg.resolve.merged_event's fields)."""
    spans = tuple(_span(ev) for ev in e.evidence)
    return (e.id, e.type, tuple(e.names), e.date, e.description, _span(e.date_evidence), spans)


def stored_event(row: tuple) -> Event:
    gid, kind, names, date, description, date_span, spans = row
    e = Event(gid, "", kind, list(names), date, None, description, [], **dict.fromkeys(EVENT_SETS, NOTHING))
    _cite(e, (date_span, spans))
    return e


class StoredEvents(Mapping[str, Event]):
    """A spilled build's events (Corpus.events), read from its table when asked, in the order
    they were merged; each read makes new objects (nothing is kept)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __getitem__(self, gid: str) -> Event:
        row = self.db.execute("SELECT row FROM events WHERE gid = ?", (gid,)).fetchone()
        if row is None:
            raise KeyError(gid)
        return stored_event(marshal.loads(row[0]))

    def __iter__(self) -> Iterator[str]:
        return (gid for (gid,) in self.db.execute("SELECT gid FROM events ORDER BY k"))

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def values(self) -> Iterator[Event]:  # type: ignore[override]  # one query, not one a key
        return (stored_event(marshal.loads(row)) for (row,) in self.db.execute("SELECT row FROM events ORDER BY k"))

    def items(self) -> Iterator[tuple[str, Event]]:  # type: ignore[override]
        return ((e.id, e) for e in self.values())
