"""The store's resolution index: what adding documents to a store needs so that it touches
what the new documents change, not everything the store holds.

The graph is written in parts, each an *owner* of its quads: one part per document (its node,
and the statements and casualty claims its sentences support, with their evidence), one per
entity, one per event, the place hierarchy and the ontology. The whole graph is the union of
the parts (tested against a fresh build); a quad that two parts write is counted twice. An
update recomputes the parts the new documents can change and the store takes the
difference: a quad whose count falls to 0 is removed, one whose count rises from 0 is added.

What an update recomputes, and why that is enough (each step is tested against a fresh build):

- Entities: the per-document entities folded so far (kg.resolve.EntityFold, which does not
  depend on the order documents arrive in) are kept here; the new documents are folded in and
  the fuzzy merge of minted names is run again over the entities (not the documents). An
  entity's part is rewritten when a document of its own changed it or its merge changed.
- Documents whose names now resolve differently (merge, label or type changed) are re-read.
- Events: the reports of the new and re-read documents are compared with the reports that
  share a blocking key with them (kg.resolve.event_keys; for a shared name, with the event,
  which a name settles); of each event those belong to, only the reports that decide it are
  read (`deciding`: marked in the index, as stubs without evidence) and kept as settled
  groups, since their pairs were compared before with the same attributes; operations are
  compared again only where what they answer changed. Only events whose reports changed are
  written again, so an article joining an event reported a thousand times reads a few rows.
- Documents are written again when one of their events got a new id (a merge, or an earlier
  report) or when their location statement now falls to, or escapes, the most specific place
  rule.

The index is one SQLite file beside the store's generations (DIR/index.sqlite), with the
kept merge of minted names in a file beside it that the index names by its digest
(DIR/index.sqlite.names-SHA256: Index.save_name_merge); it names the generation it belongs to,
and it is committed before the generation is switched in, so a crash between the two is
finished on the next open (kg.store.open_index).
"""

from __future__ import annotations

import glob
import hashlib
import itertools
import json
import os
import sqlite3
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path

import pyoxigraph as ox

from kg.extract import matcher_for
from kg.graph import GraphWriter, batched, ox_date
from kg.ingest import corpus_order
from kg.model import EVENT_EVIDENCE, DocResult, Entity, Event, Evidence
from kg.resolve import (
    Corpus,
    EntityFold,
    NameMerge,
    answers_of,
    cluster_events,
    date_key,
    earliest,
    event_keys,
    fact_key,
    joined,
    merged_event,
    name_responses,
    remap_event,
)
from kg.rules import RuleSet

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (id TEXT PRIMARY KEY, source TEXT NOT NULL, sha256 TEXT, title TEXT, date TEXT,
    result BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS docs_source ON docs(source);
CREATE TABLE IF NOT EXISTS refs (raw TEXT, doc TEXT, PRIMARY KEY (raw, doc)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entities (id TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resolved (raw TEXT PRIMARY KEY, target TEXT, label TEXT, type TEXT);
CREATE INDEX IF NOT EXISTS resolved_target ON resolved(target);
-- where an older kg kept the merge of minted names (in a format not read now): emptied by save_name_merge
CREATE TABLE IF NOT EXISTS name_merge (id INTEGER PRIMARY KEY CHECK (id = 1), state BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (local TEXT PRIMARY KEY, doc TEXT NOT NULL, gid TEXT NOT NULL, ord TEXT NOT NULL,
    data TEXT NOT NULL, stub TEXT NOT NULL, rel INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS events_doc ON events(doc);
CREATE TABLE IF NOT EXISTS event_keys (key TEXT, local TEXT, gid TEXT, date TEXT, names TEXT, PRIMARY KEY (key, local))
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_keys_local ON event_keys(local);
CREATE TABLE IF NOT EXISTS answers (target TEXT, local TEXT, target_gid TEXT, gid TEXT, date TEXT, names TEXT,
    PRIMARY KEY (target, local)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS locations (subject TEXT, place TEXT, doc TEXT, PRIMARY KEY (subject, place, doc))
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS locations_doc ON locations(doc);
CREATE TABLE IF NOT EXISTS owners (owner TEXT PRIMARY KEY, quads BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS refcount (quad BLOB PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
"""
CHUNK = 500  # ids per IN (...) query: under SQLite's variable limit
REPORT = "gid, json_extract(stub, '$.date'), json_extract(stub, '$.names')"  # a row of events' report: its
# event, date and names, which event_keys and answers keep beside each key and answer (put_events)
REPORT_COLUMNS = {  # what an index from before is given of them, and how they are filled in
    "event_keys": (
        ("gid", "date", "names"),
        f"UPDATE event_keys SET (gid, date, names) = (SELECT {REPORT} FROM events"
        " WHERE events.local = event_keys.local)",
    ),
    "answers": (
        ("target_gid", "gid", "date", "names"),
        "UPDATE answers SET target_gid = (SELECT gid FROM events WHERE events.local = answers.target),"
        f" (gid, date, names) = (SELECT {REPORT} FROM events WHERE events.local = answers.local)",
    ),
}
MERGE_FILE = ".names-"  # index.sqlite.names-SHA256: the kept merge of minted names (Index.save_name_merge)
DOCS_PER_CHUNK = 500  # records of documents written again held at once (a rename can rewrite thousands)
EVIDENCE_FIELDS = tuple(f.name for f in fields(Evidence))  # as asdict gives them, without its deep copy


def remove_index(path: Path) -> None:
    """Delete the index at `path`, a rollback journal a crash left beside it (SQLite would
    play it back into a new index made at the same path), and its merge files
    (Index.save_name_merge), if there."""
    path.unlink(missing_ok=True)
    path.with_name(f"{path.name}-journal").unlink(missing_ok=True)
    for merge in merge_files(path):
        merge.unlink(missing_ok=True)


def merge_files(path: Path) -> list[Path]:
    """The merge files beside the index at `path` (index.sqlite.names-*, and any .tmp)."""
    return list(path.parent.glob(f"{glob.escape(path.name)}{MERGE_FILE}*"))


def chunks(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    """`items` in lists of `size`: by default as many ids as one IN (...) query takes."""
    return batched(items, size)


def quad_id(line: bytes) -> bytes:
    return hashlib.blake2b(line, digest_size=16).digest()


class Index:
    """The SQLite file. Every update runs in one transaction (`begin` … `commit`)."""

    def __init__(self, path: Path):
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript(SCHEMA)
        if "rel" not in {row[1] for row in self.db.execute("PRAGMA table_info(events)")}:
            # an index from before `rel`: every report counts as deciding (right, only slower)
            self.db.execute("ALTER TABLE events ADD COLUMN rel INTEGER NOT NULL DEFAULT 1")
        self.db.execute("CREATE INDEX IF NOT EXISTS events_rel ON events(gid, rel, local)")
        self.db.execute("DROP INDEX IF EXISTS events_gid")  # events_rel serves lookups by gid (indexes made before it)
        for table, (columns, fill) in REPORT_COLUMNS.items():
            if columns[0] not in {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}:
                self._fill_in(table, columns, fill)
        self.db.execute("CREATE INDEX IF NOT EXISTS event_keys_group ON event_keys(key, gid, date, names, local)")
        self.db.execute("CREATE INDEX IF NOT EXISTS answers_group ON answers(target_gid, gid, date, names, local)")
        self.db.execute("CREATE INDEX IF NOT EXISTS answers_local ON answers(local)")

    def _fill_in(self, table: str, columns: tuple[str, ...], fill: str) -> None:
        """An index from before `table` held its reports' events, dates and names: the columns
        are added and filled in from its events, once (event_keys 1.2 s and answers 0.4 s for
        the 100 MB corpus's store)."""
        with self.db:
            for column in columns:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
            self.db.execute(fill)

    def close(self) -> None:
        self.db.close()

    def move(self, path: Path) -> None:
        """Rename the (committed) database to `path` and open it there: SQLite names its
        journal after the path, so a connection must not go on under the old name. Its merge
        file is renamed first: a crash between the two leaves the index at its old name with
        its own merge file, or at the new one with none (decided again)."""
        digest = self._merge_digest()
        if digest is not None and self._merge_path(digest).exists():
            os.replace(self._merge_path(digest), self._merge_path(digest, path))
        self.db.close()
        os.replace(self.path, path)
        self.path, self.db = path, sqlite3.connect(path, isolation_level=None)
        self._prune_merges()

    def remove(self) -> None:
        """Close and delete the index, and its merge files."""
        self.db.close()
        remove_index(self.path)

    def begin(self) -> None:
        self.db.execute("BEGIN")

    def commit(self) -> None:
        self.db.execute("COMMIT")
        self._prune_merges()

    def rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def _in(self, sql: str, ids: Iterable) -> Iterator[tuple]:
        """Rows of `sql` whose `{}` is filled with a chunk of ids at a time."""
        for batch in chunks(ids):
            yield from self.db.execute(sql.format(",".join("?" * len(batch))), batch)

    # -------------------------------------------------------------- meta and documents
    @property
    def generation(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return row[0] if row else None

    def set_generation(self, name: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (name,))

    def rules(self) -> dict[str, str]:
        """What the stored records were extracted with (kg.rules.fingerprint); empty for an
        index made before it was kept."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'rules'").fetchone()
        return json.loads(row[0]) if row else {}

    def set_rules(self, prints: dict[str, str]) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('rules', ?)", (json.dumps(prints, sort_keys=True),))

    def plan(self, documents: Sequence) -> tuple[list, dict[str, str]]:
        """The documents not in the store, and new id -> the stored id a changed source replaces."""
        fresh, replaces, seen = [], {}, set()
        for batch in chunks(documents):
            known = {r[0] for r in self._in("SELECT id FROM docs WHERE id IN ({})", [d.id for d in batch])}
            by_source = dict(self._in("SELECT source, id FROM docs WHERE source IN ({})", [d.source for d in batch]))
            for doc in batch:
                if doc.id in known or doc.id in seen:
                    continue
                seen.add(doc.id)
                fresh.append(doc)
                if by_source.get(doc.source, doc.id) != doc.id:
                    replaces[doc.id] = by_source[doc.source]
        return fresh, replaces

    def documents(self) -> dict[str, dict]:
        """source -> id, sha256, title: the store's manifest."""
        rows = self.db.execute("SELECT source, id, sha256, title FROM docs ORDER BY source, id")
        return {s: {"id": i, "sha256": h, "title": t} for s, i, h, t in rows}

    def doc_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM docs ORDER BY source, id")]

    def count(self, what: str) -> int:
        """Documents, entities or events in the store. Events are counted by their parts of
        the graph (one owners row each, a range of its key): counting distinct event ids over
        every report took 0.1-0.4 s of each add at 100,001 documents, this ~20 ms."""
        sql = {
            "documents": "SELECT COUNT(*) FROM docs",
            "entities": "SELECT COUNT(DISTINCT target) FROM resolved",
            "events": "SELECT COUNT(*) FROM owners WHERE owner >= 'event:' AND owner < 'event;'",
        }[what]
        return self.db.execute(sql).fetchone()[0]

    def results(self, ids: Iterable[str]) -> dict[str, DocResult]:
        from kg.store import decode_result

        rows = self._in("SELECT id, result FROM docs WHERE id IN ({})", ids)
        return {i: decode_result(json.loads(zlib.decompress(blob))) for i, blob in rows}

    def put_results(self, results: Sequence[DocResult]) -> None:
        """Each document's records (index_record: the worker that extracted it made it, if
        one did), let go of once written."""
        rows = []
        for r in results:
            rows.append((r.doc.id, r.doc.source, r.doc.sha256, r.doc.title, r.doc.date, r.indexed or index_record(r)))
            r.indexed = None
        self.db.executemany("INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?, ?, ?)", rows)
        self.db.executemany(
            "INSERT OR IGNORE INTO refs VALUES (?, ?)", ((raw, r.doc.id) for r in results for raw in names_in(r))
        )

    def dates(self, ids: Iterable[str]) -> dict[str, str]:
        return {i: d for i, d in self._in("SELECT id, date FROM docs WHERE id IN ({})", ids) if d}

    def docs_naming(self, raws: Iterable[str]) -> set[str]:
        return {r[0] for r in self._in("SELECT doc FROM refs WHERE raw IN ({})", raws)}

    # -------------------------------------------------------------- entities
    def fold(self, ids: Iterable[str] | None = None) -> EntityFold:
        """The folded entities: all, or those of `ids` the index holds."""
        fold = EntityFold()
        if ids is None:
            rows: Iterable[tuple] = self.db.execute("SELECT id, state FROM entities")
        else:
            rows = self._in("SELECT id, state FROM entities WHERE id IN ({})", ids)
        for eid, state in rows:
            s = json.loads(state)
            fold.merged[eid] = Entity(eid, s["label"], s["type"], set(s["aliases"]), s["entry"], [], s["mentions"])
            fold.first[eid] = (tuple(s["first"][0]), s["first"][1])
            fold.evidence[eid] = [((tuple(k[0]), k[1]), Evidence(**ev)) for k, ev in s["evidence"]]
        return fold

    def save_fold(self, fold: EntityFold, ids: Iterable[str]) -> None:
        def state(eid: str) -> str:
            e = fold.merged[eid]
            return json.dumps(
                {
                    "first": fold.first[eid],
                    "label": e.label,
                    "type": e.type,
                    "entry": e.entry,
                    "aliases": sorted(e.aliases),
                    "mentions": e.mentions,
                    "evidence": [[k, {f: getattr(ev, f) for f in EVIDENCE_FIELDS}] for k, ev in fold.evidence[eid]],
                },
                ensure_ascii=False,
            )

        self.db.executemany("INSERT OR REPLACE INTO entities VALUES (?, ?)", ((eid, state(eid)) for eid in ids))

    def name_merge(self, inside: Callable) -> NameMerge | None:
        """The kept merge of minted names; None if there is none, or none this kg reads (the
        update then decides every name again from the kept entities: slower, the same)."""
        digest = self._merge_digest()
        if digest is None:  # none, or one an older kg kept in the table name_merge, in a format not read
            return None
        try:
            data = self._merge_path(digest).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != digest:
            return None  # cut short (it is written without fsync) or changed: not this index's
        try:
            return NameMerge.loads(data, inside)
        except (ValueError, KeyError, TypeError, IndexError):
            return None

    def save_name_merge(self, merge: NameMerge) -> None:
        """The merge into a file beside the index, named in the index by its sha256 (committed
        with the rest of the update). Not a row of the index: SQLite journalled and wrote back
        the whole blob (6.6 MB at 40,000 names) on every add, an INSERT of 80-90 ms and ~30 ms
        more in its commit, where a file takes 10-15 ms.
        A file lost or cut short by a crash does not match its digest, and is decided again."""
        data = merge.dumps()
        digest = hashlib.sha256(data).hexdigest()
        path = self._merge_path(digest)
        tmp = path.with_name(f"{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('name_merge', ?)", (digest,))
        self.db.execute("DELETE FROM name_merge")

    def _merge_digest(self) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'name_merge'").fetchone()
        return row[0] if row else None

    def _merge_path(self, digest: str, path: Path | None = None) -> Path:
        """The merge's file: named after the index's own file, so a new index beside the
        store's (index.sqlite.tmp) keeps its files apart from it."""
        path = path or self.path
        return path.with_name(f"{path.name}{MERGE_FILE}{digest}")

    def _prune_merges(self) -> None:
        """Remove this index's merge files but the one it names (older ones, and any an update
        rolled back or a crash left)."""
        keep = self._merge_digest()
        for path in merge_files(self.path):
            if keep is None or path != self._merge_path(keep):
                path.unlink(missing_ok=True)

    def view(self, raws: Iterable[str]) -> dict[str, tuple]:
        rows = self._in("SELECT raw, target, label, type FROM resolved WHERE raw IN ({})", raws)
        return {raw: tuple(rest) for raw, *rest in rows}

    def joined_to(self, targets: Iterable[str]) -> set[str]:
        """The names that resolve to these."""
        return {r[0] for r in self._in("SELECT raw FROM resolved WHERE target IN ({})", targets)}

    def save_view(self, rows: dict[str, tuple]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO resolved VALUES (?, ?, ?, ?)", ((r, *v) for r, v in rows.items()))

    # -------------------------------------------------------------- events
    def alike_for_keys(self, keys: Iterable[str]) -> set[str]:
        """One report per key, event, date and names among the reports with these keys: for a
        key other than a name, whether a report sharing it is the same event as another
        depends on those alone (kg.resolve.same_event), so its like need not be read.

        Read from event_keys alone, which holds each report's event, date and names beside
        its keys (put_events keeps them, and the tests check them against events). Joining
        every report of a key to its row of events grew with the store: for the 100 MB
        corpus's ten most shared keys (~2,000 reports each) 159 ms, now 7 ms; the events of
        those keys (gids_for_keys) 92 ms, now 5 ms."""
        sql = "SELECT MIN(local) FROM event_keys WHERE key IN ({}) GROUP BY key, gid, date, names"
        return {r[0] for r in self._in(sql, keys)}

    def gids_for_keys(self, keys: Iterable[str]) -> set[str]:
        """The events of the reports with these keys (not the reports: there may be thousands)."""
        return {r[0] for r in self._in("SELECT DISTINCT gid FROM event_keys WHERE key IN ({})", keys)}

    def deciding(self, gids: Iterable[str]) -> set[str]:
        """The reports of these events that decide what they are (see `deciding`)."""
        return {r[0] for r in self._in("SELECT local FROM events WHERE gid IN ({}) AND rel = 1", gids)}

    def answering_events(self, gids: Iterable[str]) -> set[str]:
        """Reports that answer a report of one of these events: for each event answered, one
        per event, date and names of theirs (operations answering one event are compared by
        their dates alone; one answering another event of the list is not compared with
        them). Read from answers alone, which holds the event answered and the answering
        report's event, date and names (put_events keeps them): joining every report of the
        events to find what answers them took 71 ms for the 100 MB corpus's ten biggest
        events, now 5 ms."""
        sql = "SELECT MIN(local) FROM answers WHERE target_gid IN ({}) GROUP BY target_gid, gid, date, names"
        return {r[0] for r in self._in(sql, gids)}

    def members_of(self, gids: Iterable[str]) -> list[tuple[str, str, str]]:
        """(report, its document, its event) for every report of these events."""
        return list(self._in("SELECT local, doc, gid FROM events WHERE gid IN ({})", gids))

    def gids_of(self, locals_: Iterable[str]) -> dict[str, str]:
        return dict(self._in("SELECT local, gid FROM events WHERE local IN ({})", locals_))

    def reports(self, locals_: Iterable[str], full: bool = False) -> dict[str, tuple[Event, tuple, str, int]]:
        """Event reports as their documents gave them, with their place in corpus order, their
        event and whether they decide it; without their evidence unless `full` (what clustering
        and labels read is a fraction of a row)."""
        from kg.store import decode_event

        column = "data" if full else "stub"
        rows = self._in(f"SELECT local, ord, gid, rel, {column} FROM events WHERE local IN ({{}})", locals_)
        empty = {} if full else {"evidence": [], "date_evidence": None}
        return {
            local: (decode_event({**json.loads(data), **empty}), tuple(json.loads(o)), gid, rel)
            for local, o, gid, rel, data in rows
        }

    def put_events(self, rows: list[tuple], keys: list[tuple[str, str]], regrouped: list[tuple[str, int, str]]) -> None:
        """rows: (local, doc, gid, order, Event, deciding) of reports read again, whose blocking
        keys and answers replace theirs; `regrouped`: (gid, deciding, local) of other reports
        whose event, or whether they decide it, changed."""
        from kg.store import dumps

        for batch in chunks([r[0] for r in rows]):
            marks = ",".join("?" * len(batch))
            self.db.execute(f"DELETE FROM event_keys WHERE local IN ({marks})", batch)
            self.db.execute(f"DELETE FROM answers WHERE local IN ({marks})", batch)
        self.db.executemany(
            "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (local, doc, gid, json.dumps(order, ensure_ascii=False), dumps(e), dumps(stub(e)), rel)
                for local, doc, gid, order, e, rel in rows
            ),
        )
        self.db.executemany("UPDATE events SET gid = ?, rel = ? WHERE local = ?", regrouped)
        self.db.executemany(  # each key with its report's event, date and names, as events now has them
            f"INSERT OR IGNORE INTO event_keys SELECT ?, local, {REPORT} FROM events WHERE local = ?",
            keys,
        )
        moved = [(gid, local) for gid, _, local in regrouped]
        self.db.executemany("UPDATE event_keys SET gid = ? WHERE local = ?", moved)
        answers = ((target, target, local) for local, _, _, _, e, _ in rows for target in e.responds_to)
        self.db.executemany(  # with the event answered and the answering report's, as events now has them
            "INSERT OR IGNORE INTO answers SELECT ?, local, (SELECT gid FROM events WHERE local = ?),"
            f" {REPORT} FROM events WHERE local = ?",
            answers,
        )
        now = [(gid, local) for local, _, gid, *_ in rows] + moved
        self.db.executemany("UPDATE answers SET target_gid = ? WHERE target = ?", now)
        self.db.executemany("UPDATE answers SET gid = ? WHERE local = ?", moved)

    # -------------------------------------------------------------- place sets
    def location_subjects(self, docs: Iterable[str]) -> set[str]:
        return {r[0] for r in self._in("SELECT subject FROM locations WHERE doc IN ({})", docs)}

    def places(self, subjects: Iterable[str]) -> dict[str, frozenset[str]]:
        """Each subject's distinct places, read by skipping through the primary key from one
        place to the next: a big named operation's subject has a row for every document
        that locates it (275,758 at 100,001 documents), and SELECT DISTINCT read them all
        (0.26-0.31 s of an add there), where a few places take a lookup each."""
        first = "SELECT MIN(place) FROM locations WHERE subject = ?"
        after = "SELECT MIN(place) FROM locations WHERE subject = ? AND place > ?"
        found: dict[str, frozenset[str]] = {}
        for subject in subjects:
            places = []
            place = self.db.execute(first, (subject,)).fetchone()[0]
            while place is not None:
                places.append(place)
                place = self.db.execute(after, (subject, place)).fetchone()[0]
            if places:
                found[subject] = frozenset(places)
        return found

    def put_locations(self, docs: Iterable[str], rows: set[tuple[str, str, str]]) -> None:
        for batch in chunks(docs):
            self.db.execute(f"DELETE FROM locations WHERE doc IN ({','.join('?' * len(batch))})", batch)
        self.db.executemany("INSERT OR IGNORE INTO locations VALUES (?, ?, ?)", rows)

    def docs_stating(self, pairs: Iterable[tuple[str, str]]) -> set[str]:
        """Documents that put one of these (subject, place) pairs."""
        sql = "SELECT doc FROM locations WHERE subject = ? AND place = ?"
        return {r[0] for pair in pairs for r in self.db.execute(sql, pair)}

    # -------------------------------------------------------------- parts of the graph
    def owned(self, owners: Iterable[str]) -> dict[str, set[bytes]]:
        rows = self._in("SELECT owner, quads FROM owners WHERE owner IN ({})", owners)
        return {o: set(zlib.decompress(blob).splitlines()) for o, blob in rows}

    def put_owned(self, parts: dict[str, set[bytes]]) -> None:
        gone = [o for o, lines in parts.items() if not lines]
        for batch in chunks(gone):
            self.db.execute(f"DELETE FROM owners WHERE owner IN ({','.join('?' * len(batch))})", batch)
        kept = ((o, zlib.compress(b"\n".join(sorted(lines)), 1)) for o, lines in parts.items() if lines)
        self.db.executemany("INSERT OR REPLACE INTO owners VALUES (?, ?)", kept)

    def recount(self, delta: Counter, empty: bool = False) -> tuple[list[bytes], list[bytes]]:
        """Apply the change in each quad's count of owners; the quads that appear and vanish.
        `empty`: the index has no counts yet (nothing to look up). Read and written in key
        order: hashes in random order touch the table's pages at random, and a large table's
        pages do not fit SQLite's cache (200k counts looked up and 200k written in a table of
        3 M, a store of some 20,000 documents: 3.8-4.1 s in random order, 2.4 s sorted)."""
        lines = {quad_id(line): line for line, d in delta.items() if d}
        order = sorted(lines)  # the hashes alone: compared as bytes, no key to call
        current = {} if empty else dict(self._in("SELECT quad, n FROM refcount WHERE quad IN ({})", order))
        appear, vanish, writes, deletes = [], [], [], []
        for qid in order:
            line = lines[qid]
            before = current.get(qid, 0)
            after = before + delta[line]
            if after < 0:
                raise ValueError(f"{self.path}: a quad's count of owners fell below 0; the index is damaged")
            if before == 0 and after > 0:
                appear.append(line)
            elif before > 0 and after == 0:
                vanish.append(line)
            (writes.append((qid, after)) if after else deletes.append((qid,)))
        self.db.executemany("INSERT OR REPLACE INTO refcount VALUES (?, ?)", writes)
        self.db.executemany("DELETE FROM refcount WHERE quad = ?", deletes)
        return appear, vanish


def index_record(r: DocResult) -> bytes:
    """A document's records as the index keeps them: kg.store.dump_result's JSON, compressed.
    A store load with workers has them made there (kg.parallel.iter_extract's `record`): the
    load's own process is what it waits on, and these took it 0.56 s of each 1,186 documents."""
    from kg.store import dump_result

    return zlib.compress(dump_result(r).encode(), 1)


def stub(event: Event) -> dict:
    """A report without its evidence: what clustering and an event's label read."""
    return {
        name: getattr(event, name) for name in event.__dataclass_fields__ if name not in ("evidence", "date_evidence")
    }


def names_in(r: DocResult) -> set[str]:
    """Every entity id a document's records name (before merging), so that a document whose
    names come to resolve differently can be found."""
    local = {e.id for e in r.events}
    names = set(r.entities)
    for f in r.facts:
        names |= {f.subject, f.claimant, f.denied_by} | (set() if f.literal else {f.object})
    for e in r.events:
        names |= e.targets | e.locations | e.perpetrators | e.participants
    names |= {c.claimant for c in r.claims}
    return {n for n in names if n and n not in local}


@dataclass
class Change:
    """What an update did: quads that appeared and vanished, and what it recomputed."""

    appear: list[bytes] = field(default_factory=list)
    vanish: list[bytes] = field(default_factory=list)
    documents: set[str] = field(default_factory=set)  # documents whose parts were written again


def update(ix: Index, fresh: Sequence[DocResult], rules: RuleSet, first: bool = False) -> Change:
    """Add `fresh` (extracted documents the index does not hold) and return the change to the
    graph. Runs inside the caller's transaction. `first`: the index is new (the ontology's
    part is written too, and there are no counts to look up)."""
    fresh = sorted(fresh, key=lambda r: corpus_order(r.doc))
    ix.put_results(fresh)
    loaded = {r.doc.id: r for r in fresh}
    entities, mapping, renamed, entity_parts = _resolve_entities(ix, fresh, rules)
    dirty = set(loaded) | ix.docs_naming(renamed)
    reports = Reports(ix, mapping, _types(entities))
    reread = (r for batch in chunks(dirty - loaded.keys()) for r in ix.results(batch).values())
    reports.gather(itertools.chain(loaded.values(), reread))  # their reports, not their records, are kept
    events, gid_of, groups = _cluster(reports, entities)
    name_responses(events, answers_of(reports.events.values(), gid_of.__getitem__))
    regrouped = {e.doc for local, e in reports.events.items() if reports.old_gid.get(local) != gid_of[local]}
    written = dirty | regrouped | reports.move(gid_of)
    records = Records(ix, loaded, mapping, {**{local: gid for local, (_, gid) in reports.moved.items()}, **gid_of})
    places, written = _places(ix, records, written, rules)

    changed = _changed_events(reports, gid_of)
    for gid in changed:
        reports.complete(events[gid], groups[gid])
    writer = GraphWriter(Corpus(entities=entities), rules)
    dated = {events[gid].date_evidence.doc for gid in changed if events[gid].date_evidence}
    writer.doc_dates.update((d, ox_date(v)) for d, v in ix.dates(dated).items())  # statements' observedOn
    broader = writer.broader_of(places)
    diff = Difference(ix, first)
    for batch, ids in records.chunks(sorted(written)):
        writer.doc_dates.update((r.doc.id, ox_date(r.doc.date)) for r in batch if r.doc.date)
        diff.add(
            {f"doc:{r.doc.id}": writer.collect(lambda r=r, ids=ids: writer.add_part(r, ids, broader)) for r in batch}
        )
    parts: dict[str, list[bytes]] = {}
    for eid in entity_parts:
        entity = entities.get(eid)  # None: merged into another, its part goes
        parts[f"entity:{eid}"] = writer.collect(lambda e=entity: e and writer.add_entity(e))
    parts |= {f"event:{gid}": [] for gid in set(reports.old_gid.values()) - events.keys()}
    for gid in changed:
        parts[f"event:{gid}"] = writer.collect(lambda e=events[gid]: _write_event(writer, e))
    parts["hierarchy"] = writer.collect(lambda: writer.add_place_hierarchy(entities.entries()))
    if first:
        parts["ontology"] = writer.collect(writer.add_ontology)

    reports.save(gid_of, groups)
    diff.add(parts)
    change = diff.finish()
    change.documents = written
    return change


def _resolve_entities(
    ix: Index, fresh: Sequence[DocResult], rules: RuleSet
) -> tuple[StoredEntities, dict, set[str], set[str]]:
    """Fold the new documents' entities into the kept fold, and put their names into the kept
    merge of minted names (kg.resolve.NameMerge), which decides again only the names they can
    change. Returns the store's entities, the merge, the ids whose merge, label or type
    changed, and the entities whose part must be written again."""
    touched = {eid for r in fresh for eid in r.entities}
    fold = ix.fold(touched)
    for r in fresh:
        fold.add(r, corpus_order(r.doc))
    ix.save_fold(fold, touched)
    inside = cache(matcher_for(rules).embedded)
    names = ix.name_merge(inside)
    if names is None:  # a new index, or one from before the merge was kept: every name is put
        names, fold = NameMerge(inside), ix.fold()
    changed = names.update(
        (eid, e.type, e.label, fold.first[eid] if e.entry else None) for eid, e in fold.merged.items()
    )
    ix.save_name_merge(names)
    # a name's view: what it resolves to, and that one's label and type
    seen = changed | touched | ix.joined_to(touched)
    old_view = ix.view(seen)
    view = {raw: (names.target.get(raw, raw), *names.label(names.target.get(raw, raw))) for raw in seen}
    renamed = {raw for raw, v in view.items() if old_view.get(raw) != v}
    ix.save_view({raw: view[raw] for raw in renamed})
    parts = {view[r][0] for r in touched | renamed} | {old_view[r][0] for r in renamed if r in old_view}
    mapping = {eid: t for eid, t in names.target.items() if t != eid}
    return StoredEntities(names, _whole(ix, names, parts, mapping)), mapping, renamed, parts


def _whole(ix: Index, names: NameMerge, parts: set[str], mapping: dict[str, str]) -> dict[str, Entity]:
    """The entities whose parts are written, whole: each with the names that joined it."""
    roots = {eid for eid in parts if eid in names.where and mapping.get(eid, eid) == eid}
    fold = ix.fold(roots | ix.joined_to(roots))
    return joined(fold.entities(), {eid: mapping[eid] for eid in fold.merged if eid in mapping})


class StoredEntities(Mapping):
    """The store's entities as an add reads them: the ones whose parts it writes whole, the
    rest with their label and type (all an event's label, a claim's or a report's type reads),
    from the kept merge rather than every entity's folded state."""

    def __init__(self, names: NameMerge, whole: dict[str, Entity]):
        self.names, self.whole = names, whole

    def __getitem__(self, eid: str) -> Entity:
        if eid in self.whole:
            return self.whole[eid]
        if eid not in self.names.where or self.names.target.get(eid, eid) != eid:
            raise KeyError(eid)
        label, kind = self.names.label(eid)
        return Entity(eid, label, kind)

    def __contains__(self, eid: object) -> bool:
        return eid in self.whole or (eid in self.names.where and self.names.target.get(eid, eid) == eid)

    def __iter__(self) -> Iterator[str]:
        return (eid for eid in self.names.where if self.names.target.get(eid, eid) == eid)

    def entries(self) -> list[str]:
        """The dictionary entries among them (the merge keeps them apart), without going
        through every entity the store holds."""
        return [eid for eid in self.names.entries if eid in self]

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _changed_events(reports: Reports, gid_of: dict[str, str]) -> set[str]:
    """The events whose part may differ: reports joined or left them, a report of theirs was
    read again, or one they answer changed (its label is in theirs). The others were only
    compared with the new reports, and stand as they were written."""
    now: dict[str, set[str]] = {}
    for local, gid in gid_of.items():
        now.setdefault(gid, set()).add(local)
    before: dict[str, set[str]] = {}
    for local, gid in reports.old_gid.items():
        before.setdefault(gid, set()).add(local)
    changed = {gid for gid, members in now.items() if members != before.get(gid) or members & reports.dirty}
    answers = answers_of(reports.events.values(), gid_of.__getitem__)
    return changed | {gid for gid, answered in answers.items() if answered & changed}


def _types(entities: Mapping[str, Entity]) -> Callable[[str], str | None]:
    def type_of(eid: str) -> str | None:
        e = entities.get(eid)
        return e.type if e else None

    return type_of


class Reports:
    """The event reports an update clusters again, with their names resolved.

    They are the dirty documents' reports, and for the events those can join or change, the
    reports that decide them (`deciding`), not all their reports: an event reported by
    thousands of articles costs an add what its few deciding reports cost. Read are:

    - the dirty reports, and every report of an event a dirty report was in (its attributes
      changed: without it the event might split, so it is compared afresh);
    - of the reports sharing a blocking key other than a name with a dirty one, one per key,
      event, date and names (whether they are the same event as it depends on those alone);
      for a shared name only the event (a name settles it, and the event's deciding reports
      include one with that name);
    - of the reports answering a report of an event that may change, one per event answered,
      event, date and names, since operations are one when they answer one event on
      compatible dates (and so, in turn, their events may change);
    - the reports the read ones answer, for their events' labels (an operation is named after
      the event it answered);
    - the deciding reports of the event of every report read.

    Two reports not dirty were compared before, with the same attributes, so their pair comes
    out as it did and their events stand as settled groups. Reports from other documents come
    from the index's rows, not their documents."""

    def __init__(self, ix: Index, mapping: dict[str, str], types):
        self.ix, self.mapping, self.types = ix, mapping, types
        self.events: dict[str, Event] = {}
        self.order: dict[str, tuple] = {}
        self.published: dict[str, str | None] = {}  # document id -> date, for the events' ids
        self.old_gid: dict[str, str] = {}  # the events the reports were in
        self.old_rel: dict[str, int] = {}  # whether they decided it
        self.partial: set[str] = set()  # reports read from the index without their evidence
        self.dirty: set[str] = set()  # reports of documents read again: keys may have changed
        self.broken: set[str] = set()  # events a dirty report was in: read whole, compared afresh
        self.moved: dict[str, tuple[str, str]] = {}  # report not read -> its document, its event's new id

    def gather(self, dirty: Iterable[DocResult]) -> None:
        new = []
        for r in dirty:
            for pos, e in enumerate(r.events):
                new.append(self._take(e, (*corpus_order(r.doc), pos, r.doc.date)))
        self.dirty = {e.id for e in new}
        old = self.ix.reports(self.dirty)  # re-read documents' reports, as the index has them
        self.old_gid.update((local, row[2]) for local, row in old.items())
        self.old_rel.update((local, row[3]) for local, row in old.items())
        self.broken = set(self.old_gid.values())
        keys = {k for e in new for k in event_keys(e, self.types)}
        named = {json.dumps(k, ensure_ascii=False) for k in keys if k[1] == "name"}
        others = {json.dumps(k, ensure_ascii=False) for k in keys if k[1] != "name"}
        found = self.ix.alike_for_keys(others)
        self._read(found)
        may_change = self.broken | self.ix.gids_for_keys(named) | {self.old_gid[x] for x in found}
        expanded: set[str] = set()  # events whose deciding reports (all, if broken) are read
        asked: set[str] = set()  # events whose answering reports are read
        while True:
            pending = (may_change | set(self.old_gid.values())) - expanded
            if pending:
                expanded |= pending
                whole = {row[0] for row in self.ix.members_of(pending & self.broken)}
                self._read(whole | self.ix.deciding(pending - self.broken))
                continue
            if query := may_change - asked:
                asked |= query
                answering = self.ix.answering_events(query)
                self._read(answering)
                may_change |= {self.old_gid[x] for x in answering}
                continue
            answered = {x for e in self.events.values() for x in e.responds_to} - self.events.keys()
            if not answered:
                break
            self._read(answered)

    def _read(self, locals_: Iterable[str]) -> None:
        """Reports from the index's rows (not read yet), as stubs."""
        rows = self.ix.reports(set(locals_) - self.events.keys())
        for local, (e, order, gid, rel) in rows.items():
            self._take(e, order)
            self.old_gid[local], self.old_rel[local] = gid, rel
        self.partial |= rows.keys()

    def _take(self, event: Event, order: tuple) -> Event:
        """`order`: source, document id, position in it (corpus order), document date."""
        self.order[event.id] = order
        self.published[event.doc] = order[3]
        self.events[event.id] = remap_event(event, self.mapping)
        return event

    def settled(self) -> list[list[str]]:
        """The old events that stand as they were unless a dirty report joins them, as groups of
        the reports read; an event a dirty report was in is compared afresh (it might split)."""
        groups: dict[str, list[str]] = {}
        for local, gid in self.old_gid.items():
            groups.setdefault(gid, []).append(local)
        return [sorted(g) for gid, g in groups.items() if gid not in self.broken]

    def move(self, gid_of: dict[str, str]) -> set[str]:
        """The reports not read of events whose id changed (an earlier report, or a merge) go
        with the reports read; their documents, whose statements name the event, are returned."""
        renamed = {
            self.old_gid[local]: gid
            for local, gid in gid_of.items()
            if local in self.old_gid and self.old_gid[local] != gid and local not in self.dirty
        }
        renamed = {old: new for old, new in renamed.items() if old not in self.broken}
        for local, doc, old in self.ix.members_of(renamed):
            if local not in self.events:
                self.moved[local] = (doc, renamed[old])
        return {doc for doc, _ in self.moved.values()}

    def save(self, gid_of: dict[str, str], groups: dict[str, list[Event]]) -> None:
        """The dirty reports (their keys with them), and the event of each report whose event,
        or whether it decides it, changed, for the next update. Names are resolved as of this
        update: a document whose names come to resolve differently is read again from its
        record, not from these rows."""
        answered = lambda e: {gid_of[x] for x in e.responds_to}  # noqa: E731
        rel = set()
        for group in groups.values():
            rel |= deciding(group, self.published, answered)
        rows, keys, regrouped = [], [], []
        for local, e in self.events.items():
            now = int(local in rel)
            if local in self.dirty:
                keys += [(json.dumps(k, ensure_ascii=False), local) for k in event_keys(e, self.types)]
                rows.append((local, e.doc, gid_of[local], self.order[local], e, now))
            elif self.old_gid.get(local) != gid_of[local] or self.old_rel.get(local) != now:
                regrouped.append((gid_of[local], now, local))
        regrouped += [(gid, 0, local) for local, (_, gid) in self.moved.items()]
        self.ix.put_events(rows, keys, regrouped)

    def complete(self, event: Event, group: list[Event]) -> None:
        """An event merged from reports read without their evidence gets its first evidence
        spans (all its part cites) and its date's evidence, from the few reports that give
        them."""
        full: dict[str, Event] = {}

        def whole(members: list[Event]) -> list[Event]:
            missing = [e.id for e in members if e.id in self.partial and e.id not in full]
            full.update((local, row[0]) for local, row in self.ix.reports(missing, full=True).items())
            return [full[e.id] if e.id in self.partial else e for e in members]

        spans: list[Evidence] = []
        for start in range(0, len(group), EVENT_EVIDENCE):
            if len(spans) >= EVENT_EVIDENCE:
                break
            spans += [ev for e in whole(group[start : start + EVENT_EVIDENCE]) for ev in e.evidence]
        event.evidence = spans
        dated = None
        for e in group:  # merged_event's choice: the first report with the most precise date
            if e.date and (dated is None or len(e.date) > len(dated.date)):
                dated = e
        if dated is not None:
            event.date_evidence = whole([dated])[0].date_evidence


def deciding(group: list[Event], published: dict[str, str | None], answered) -> set[str]:
    """The reports of one event (`group`, in corpus order) that decide what it is: its id and
    root label, its type, label and aliases, date and date's evidence, first evidence spans
    (kg.resolve.merged_event, event_label), and what it answers (name_responses). Each is
    decided by the first report to give some value (a type, a date's precision, a target, a
    place, a perpetrator, a participant, an answered event, a description), the first two to
    give each name, the earliest by date, and the first EVENT_EVIDENCE (every report has a
    span of evidence). So the event comes out the same from these alone, and with reports
    added the deciding ones are among these and the new: a report that decides nothing now
    follows one that gives all its values, and always will (events only merge, values only
    coarsen; an event that might split, and anything answering it, is read whole). A named
    event's label is its first name, and it stays named: what it was done to, where, by whom,
    with whom and its description no longer decide anything. What it answers decides only
    its name (name_responses), and only while it has nothing else to be named by: no name,
    date, description, target or place (these too only accumulate)."""
    keep = {e.id for e in group[:EVENT_EVIDENCE]}
    keep.add(min(group, key=lambda e: earliest(published.get(e.doc), e.id)).id)
    named = any(e.names for e in group)
    bare = not any(e.names or e.date or e.description or e.targets or e.locations for e in group)
    seen: set[tuple] = set()
    names: Counter = Counter()
    for e in group:
        values = {("type", e.type), ("date", len(e.date or ""))}
        if bare:
            values |= {("answers", g) for g in answered(e)}
        if not named:
            values |= {("description", bool(e.description))}
            values |= {("target", t) for t in e.targets} | {("place", p) for p in e.locations}
            values |= {("by", p) for p in e.perpetrators} | {("with", p) for p in e.participants}
        if values - seen:
            keep.add(e.id)
            seen |= values
        for name in dict.fromkeys(e.names):
            names[name] += 1
            if names[name] <= 2:
                keep.add(e.id)
    return keep


def _cluster(
    reports: Reports, entities: Mapping[str, Entity]
) -> tuple[dict[str, Event], dict[str, str], dict[str, list[Event]]]:
    """Cluster the reports as kg.resolve.resolve does, in corpus order."""
    ordered = sorted(reports.events.values(), key=lambda e: reports.order[e.id])
    clusters = cluster_events(ordered, _types(entities), reports.settled())
    members: dict[str, list[Event]] = {}
    for e in ordered:
        members.setdefault(clusters[e.id], []).append(e)
    labels, people = Labels(entities), People(entities)
    events, gid_of, groups = {}, {}, {}
    for group in members.values():
        merged = merged_event(group, labels, people, reports.published)
        events[merged.id], groups[merged.id] = merged, group
        gid_of.update((e.id, merged.id) for e in group)
    return events, gid_of, groups


class Labels(Mapping):
    """The entities' labels, read as an event's label asks for them."""

    def __init__(self, entities: Mapping[str, Entity]):
        self.entities = entities

    def __getitem__(self, eid: str) -> str:
        return self.entities[eid].label

    def __iter__(self) -> Iterator[str]:
        return iter(self.entities)

    def __len__(self) -> int:
        return len(self.entities)


class People:
    """The entities that are people, for `in`."""

    def __init__(self, entities: Mapping[str, Entity]):
        self.entities = entities

    def __contains__(self, eid: object) -> bool:
        e = self.entities.get(eid) if isinstance(eid, str) else None
        return e is not None and e.type == "Person"


class Records:
    """The records of the documents an update writes: the new and re-read ones held, the
    others (whose events were renamed, or whose place statement flips) read from the index a
    chunk at a time, with what their names resolve to: merged entities, and every event
    report's event (new ones from this update, the rest as the index has them)."""

    def __init__(self, ix: Index, loaded: dict[str, DocResult], mapping: dict[str, str], events: dict[str, str]):
        self.ix, self.loaded, self.mapping, self.events = ix, loaded, mapping, events

    def chunks(self, docs: Iterable[str]) -> Iterator[tuple[list[DocResult], dict[str, str]]]:
        for batch in chunks(docs, DOCS_PER_CHUNK):
            held = {d: self.loaded[d] for d in batch if d in self.loaded}
            held |= self.ix.results(d for d in batch if d not in held)
            records = [held[d] for d in batch]
            others = [e.id for r in records for e in r.events if e.id not in self.events]
            yield records, {**self.mapping, **self.ix.gids_of(others), **self.events}


def _places(
    ix: Index, records: Records, written: set[str], rules: RuleSet
) -> tuple[dict[str, frozenset[str]], set[str]]:
    """Every written subject's places (for the most-specific-place rule), after the written
    documents' location statements replace theirs. A document whose location statement the
    rule now keeps or drops differently is written again too."""
    rows = set()
    for batch, ids in records.chunks(written):
        rows |= {
            (key[0], key[2], r.doc.id)
            for r in batch
            for f in r.facts
            if f.predicate == "location" and (key := fact_key(f, ids))
        }
    subjects = ix.location_subjects(written) | {s for s, _, _ in rows}
    before = ix.places(subjects)
    ix.put_locations(written, rows)
    after = ix.places(subjects)
    rule = GraphWriter(Corpus(), rules)
    flipped = set()
    for s in subjects:
        if before.get(s) != after.get(s):
            flipped |= rule.broader_of({s: before.get(s, set())}) ^ rule.broader_of({s: after.get(s, set())})
    more = ix.docs_stating(flipped) - written
    return ix.places(subjects | ix.location_subjects(more)), written | more


def _write_event(writer: GraphWriter, event: Event) -> None:
    writer.add_event(event)
    if event.date:
        writer.add_fact(date_key(event), [event.date_evidence])


class Difference:
    """Each part's quads stored, and the change in each quad's count of owners summed, part by
    part; then the quads whose count rises from or falls to 0."""

    def __init__(self, ix: Index, first: bool):
        self.ix, self.first, self.delta = ix, first, Counter()

    def add(self, parts: dict[str, list[bytes]]) -> None:
        """Each part's N-Quads lines (GraphWriter.collect) against those stored for it."""
        new = {owner: set(lines) for owner, lines in parts.items()}
        old = {} if self.first else self.ix.owned(new)
        changed = {}
        for owner, lines in new.items():
            before = old.get(owner, set())
            if lines != before:
                changed[owner] = lines
                self.delta.update(lines - before)
                self.delta.subtract(before - lines)
        self.ix.put_owned(changed)

    def finish(self) -> Change:
        appear, vanish = self.ix.recount(self.delta, empty=self.first)
        return Change(appear=appear, vanish=vanish)


def parse_lines(lines: list[bytes]) -> Iterator[ox.Quad]:
    for batch in chunks(lines, 100_000):
        yield from ox.parse(b"\n".join(batch) + b"\n", format=ox.RdfFormat.N_QUADS)
