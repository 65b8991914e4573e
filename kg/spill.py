"""A build's statements and claims on disk while it resolves (`kg build --out/--shards`).

They are most of what a build would hold (each with the sentence that says it); with them on
disk, a build holds its entities, its event reports and its documents' metadata, and the
graph is written a document's part at a time as they are read back
(kg.graph.GraphWriter.build_parts). Workers pack each document's records (`take_records`)
so the parent only appends bytes.

The records are marshal'd tuples, not JSON or pickle: five times faster to write and read
(10 MB of text: 0.07 s against 0.29 s for JSON), and safe here because the file is read
only by the process that wrote it, during the build, under the same Python.
"""

from __future__ import annotations

import marshal
import os
import sys
import tempfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from kg.graph import Quotes
from kg.model import EVENT_EVIDENCE, EVENT_SETS, NOTHING, Claim, DocResult, Evidence, Fact


def pack(r: DocResult, quotes: Quotes | None = None) -> bytes:
    """A document's statements and claims as one marshal record (field order: kg.model), with
    `quotes`: (start, end) -> sentence, for spans whose quote is not kept in memory."""
    facts = [
        (f.subject, f.predicate, f.object, *_evidence(f.evidence), f.modality, f.claimant, f.denied_by, f.literal)
        for f in r.facts
    ]
    claims = [
        (c.event, c.outcome, c.category, c.count, c.qualifier, *_evidence(c.evidence))
        + (c.claimant, c.verified, c.claimant_resolved)
        for c in r.claims
    ]
    return marshal.dumps((r.doc.id, facts, claims, [(*span, quote) for span, quote in (quotes or {}).items()]))


def _evidence(e: Evidence) -> tuple:
    return (e.doc, e.start, e.end, e.quote, e.rule, e.resolved)


def unpack(record: tuple) -> tuple[str, list[Fact], list[Claim]]:
    doc, facts, claims, _ = record
    return (
        doc,
        [Fact(t[0], t[1], t[2], Evidence(*t[3:9]), *t[9:]) for t in facts],
        [Claim(*t[:5], Evidence(*t[5:11]), *t[11:]) for t in claims],
    )


def records_in(data: bytes) -> Iterator[tuple]:
    """The records of a run of the spill file's bytes (Spill.read_bytes)."""
    view, pos = memoryview(data), 0
    while pos < len(data):
        size = int.from_bytes(view[pos : pos + 4], "little")
        yield marshal.loads(view[pos + 4 : pos + 4 + size])
        pos += 4 + size


def result(record: tuple, by_id: dict) -> tuple[DocResult, Quotes]:
    """A record read back as its document's result (`by_id`: the corpus's documents) and the
    quotes of the spans its events cite: (start, end) -> sentence."""
    doc, facts, claims = unpack(record)
    return DocResult(by_id[doc], facts=facts, claims=claims), {(s, e): q for s, e, q in record[3]}


def take_records(r: DocResult) -> None:
    """Pack `r`'s statements and claims into `r.packed` and take them off it; keep of its event
    reports what resolution and the graph read: a merged event cites its reports' first
    EVENT_EVIDENCE spans, whose quotes go to the spill too (the graph writes those spans with
    the document's part, quotes read back with it); an empty set is one shared set, not five
    per report; names are a tuple and spans packed (Spans: resolution only reads them)."""
    quotes: Quotes = {}
    for event in r.events:
        event.evidence = Spans(_unquoted(ev, quotes) for ev in event.evidence[:EVENT_EVIDENCE])  # type: ignore[assignment]
        event.names = tuple(event.names)  # type: ignore[assignment]  # read only from here on; () is shared
        event.date_evidence = _unquoted(event.date_evidence, quotes)
        for name in EVENT_SETS:
            if not getattr(event, name):
                setattr(event, name, NOTHING)
    r.packed = pack(r, quotes)
    r.facts, r.claims = [], []


class Spans(Sequence[Evidence]):
    """A report's evidence spans, packed while a spilled build resolves: one bytes object, not
    an Evidence and two ints per span (100 MB corpus, 2 workers: 104 -> 98 MB held before
    resolution, ~0.5 KB a document of the ~3 KB it holds; the peak, 146-161 MB from run to
    run, moved less than that), made into Evidence again when read (merged_event reads a few)."""

    __slots__ = ("data",)

    def __init__(self, evidence: Iterable[Evidence]):
        # interned, the document and rule come back as one string each however many spans
        # name them (marshal keeps the flag): a merged event's spans no longer carry copies
        spans = ((sys.intern(e.doc), e.start, e.end, e.quote, sys.intern(e.rule), e.resolved) for e in evidence)
        self.data = marshal.dumps(tuple(spans))

    def spans(self) -> list[Evidence]:
        return [Evidence(*t) for t in marshal.loads(self.data)]

    def __getitem__(self, index):  # type: ignore[override]  # an int or a slice, as a list takes it
        return self.spans()[index]

    def __len__(self) -> int:
        return len(marshal.loads(self.data))

    def __iter__(self) -> Iterator[Evidence]:
        return iter(self.spans())


def share_sets(r: DocResult, shared: dict[frozenset[str], frozenset[str]]) -> None:
    """Reports name the same few actors and places over and over: one frozen set per content
    (`shared`), not a set per report (216 bytes however few it holds: ~1.1 KB a document, a
    quarter of what a build holds per document until it resolves). Resolution only reads them."""
    for event in r.events:
        event.date = event.date and sys.intern(event.date)  # a few hundred days, named by thousands
        for name in EVENT_SETS:
            values = getattr(event, name)
            if values and values is not NOTHING:
                key = frozenset(values)
                setattr(event, name, shared.setdefault(key, key))


def _unquoted(ev: Evidence | None, quotes: Quotes) -> Evidence | None:
    if ev is None or not ev.quote:
        return ev
    quotes[(ev.start, ev.end)] = ev.quote
    return replace(ev, quote="")


class Spill:
    """The file of records: one per document, appended as results arrive, read back in that
    order. It lies in `directory` (beside the output: /tmp is often memory) without a name,
    so nothing is left behind however the build ends."""

    def __init__(self, directory: str | os.PathLike):
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
            self.file = tempfile.TemporaryFile(prefix=".kg-records.", dir=directory)  # noqa: SIM115 - open till close
        except OSError as exc:  # named by the folder: the file would have had no name
            raise OSError(exc.errno, exc.strerror, str(directory)) from exc
        self.fired: dict[str, int] = {}
        self.shared: dict[frozenset[str], frozenset[str]] = {}
        self.offsets = array("q")  # where each record starts, for workers reading a range (read_range)
        self.ids: list[str] = []  # each record's document, in the order put
        self.size = 0

    def put(self, r: DocResult) -> None:
        """Write `r`'s records (packed already by a worker, or here) and take them off it;
        its event reports' attribute sets become the one frozen set of each content."""
        if r.packed is None:
            take_records(r)
        share_sets(r, self.shared)
        self.offsets.append(self.size)
        self.ids.append(r.doc.id)
        self.size += 4 + len(r.packed)
        self.file.write(len(r.packed).to_bytes(4, "little") + r.packed)  # marshal.load on a file is slow
        r.packed = None
        for rule, n in r.fired.items():
            self.fired[rule] = self.fired.get(rule, 0) + n
        r.fired = {}

    def __iter__(self) -> Iterator[tuple[str, list[Fact], list[Claim]]]:
        """(document id, statements, claims) per document, in the order they were put."""
        return (unpack(record) for record in self._records())

    def _records(self) -> Iterator[tuple]:
        self.file.flush()
        self.file.seek(0)
        try:
            while size := self.file.read(4):
                yield marshal.loads(self.file.read(int.from_bytes(size, "little")))
        finally:
            self.file.seek(0, os.SEEK_END)

    def records(self, documents: list) -> Iterator[tuple[DocResult, Quotes]]:
        """Each document's records with its metadata (`documents`: the corpus's), and the
        quotes of the spans its events cite: (start, end) -> sentence."""
        by_id = {d.id: d for d in documents}
        return (result(record, by_id) for record in self._records())

    def read_range(self, start: int, stop: int) -> Iterator[tuple]:
        """Records `start` to `stop` (in the order put), read without moving the file's
        position: a process forked from the build's reads them beside it (kg.parts)."""
        return records_in(self.read_bytes(start, stop))

    def read_bytes(self, start: int, stop: int) -> bytes:
        """Records `start` to `stop` as they lie in the file (records_in reads them)."""
        begin = self.offsets[start]
        end = self.offsets[stop] if stop < len(self.offsets) else self.size
        data = b""
        while len(data) < end - begin:
            chunk = os.pread(self.file.fileno(), end - begin - len(data), begin + len(data))
            if not chunk:
                raise OSError(f"the build's records file ends early: at byte {begin + len(data)} of {end}")
            data += chunk
        return data

    def places(self, ids: dict[str, str]) -> dict[str, set[str]]:
        """One pass before the graph is written, read off the file rather than held through
        the build: each subject's places once names are resolved (`ids`: Corpus.ids), for the
        most specific place rule."""
        places: dict[str, set[str]] = {}
        for record in self._records():
            for f in record[1]:  # packed: subject, predicate, object first (pack)
                if f[1] == "location":
                    s, o = ids.get(f[0], f[0]), ids.get(f[2], f[2])
                    if s != o:
                        places.setdefault(s, set()).add(o)
        return places

    def close(self) -> None:
        self.file.close()
