"""A build's statements, claims and event reports on disk while it resolves (`kg build
--out/--shards`).

They are most of what a build would hold (each with the sentence that says it); with them on
disk, a build holds its entities and, of each document, its id, source and date until it
resolves (its title, hash and address go with its records); the reports are clustered from
disk (kg.reports) and the graph is written a document's part at a time as the records are
read back (kg.graph.GraphWriter.build_parts). Workers pack each document's records
(`take_records`) so the parent only appends bytes.

The records are marshal'd tuples, not JSON or pickle: five times faster to write and read
(10 MB of text: 0.07 s against 0.29 s for JSON), and safe here because the file is read
only by the process that wrote it, during the build, under the same Python.
"""

from __future__ import annotations

import marshal
import os
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from kg.graph import Quotes, batched
from kg.ingest import NO_METADATA, Document
from kg.linesort import scratch_file
from kg.model import EVENT_EVIDENCE, Claim, DocResult, Evidence, Fact
from kg.reports import report_row
from kg.resolve import LocalIds

PLACES_BATCH = 256  # documents whose reports' ids are read at once
SPILLED: Mapping = MappingProxyType({})  # a spilled result's fired rules and entities: none left on it


def pack(r: DocResult, quotes: Quotes | None = None) -> bytes:
    """A document's statements and claims as one marshal record (field order: kg.model), with
    `quotes`: (start, end) -> sentence, for spans whose quote is not kept in memory, and the
    document's metadata (the graph's document node reads it back: the build holds what
    ordering and resolution need of it, kg.parallel.held)."""
    facts = [
        (f.subject, f.predicate, f.object, *_evidence(f.evidence), f.modality, f.claimant, f.denied_by, f.literal)
        for f in r.facts
    ]
    claims = [
        (c.event, c.outcome, c.category, c.count, c.qualifier, *_evidence(c.evidence))
        + (c.claimant, c.verified, c.claimant_resolved)
        for c in r.claims
    ]
    d = r.doc
    metadata = (d.source, d.sha256, d.title, d.date, d.url, d.format)
    return marshal.dumps((d.id, facts, claims, [(*span, quote) for span, quote in (quotes or {}).items()], metadata))


def _evidence(e: Evidence) -> tuple:
    return (e.doc, e.start, e.end, e.quote, e.rule, e.resolved)


def unpack(record: tuple) -> tuple[str, list[Fact], list[Claim]]:
    doc, facts, claims = record[:3]
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


def result(record: tuple) -> tuple[DocResult, Quotes]:
    """A record read back as its document's result, its document as it was read (without
    the text), and the quotes of the spans its events cite: (start, end) -> sentence."""
    doc, facts, claims = unpack(record)
    source, sha256, title, date, url, fmt = record[4]
    document = Document(doc, source, "", sha256, title, date, url, fmt, NO_METADATA)
    return DocResult(document, facts=facts, claims=claims), {(s, e): q for s, e, q in record[3]}


def take_records(r: DocResult) -> None:
    """Pack `r`'s statements and claims into `r.packed`, and its event reports into
    `r.packed_reports` (kg.reports.report_row: resolution reads them back from disk), and take
    them off it. A merged event cites its reports' first EVENT_EVIDENCE spans, whose quotes go
    with the statements (the graph writes those spans with the document's part, quotes read
    back with it)."""
    quotes: Quotes = {}
    for event in r.events:
        event.evidence = [_unquoted(ev, quotes) for ev in event.evidence[:EVENT_EVIDENCE]]
        event.date_evidence = _unquoted(event.date_evidence, quotes)
    r.packed_reports = marshal.dumps([report_row(e) for e in r.events])
    r.packed = pack(r, quotes)
    r.facts, r.claims, r.events = [], [], []


def _unquoted(ev: Evidence | None, quotes: Quotes) -> Evidence | None:
    if ev is None or not ev.quote:
        return ev
    quotes[(ev.start, ev.end)] = ev.quote
    return replace(ev, quote="")


class Spill:
    """The files of records: one record per document, appended as results arrive, read back
    in that order; its event reports in a file of their own, read once by resolution. They
    lie in `directory` (beside the output: /tmp is often memory) without a name, so nothing
    is left behind however the build ends."""

    def __init__(self, directory: str | os.PathLike):
        Path(directory).mkdir(parents=True, exist_ok=True)  # its error names the folder, as scratch_file's do
        self.file = scratch_file(directory, ".kg-records.")
        try:
            self.reports_file = scratch_file(directory, ".kg-reports.")
        except OSError:
            self.close()
            raise
        self.fired: dict[str, int] = {}
        self.offsets = array("q")  # where each record starts, for workers reading a range (read_range)
        self.report_offsets = array("q", [0])  # where each document's reports start, and the end
        self.ids: list[str] = []  # each record's document, in the order put
        self.size = 0

    def put(self, r: DocResult) -> None:
        """Write `r`'s records and reports (packed already by a worker, or here) and take
        them off it."""
        if r.packed is None:
            take_records(r)
        assert r.packed is not None and r.packed_reports is not None
        self.offsets.append(self.size)
        self.ids.append(r.doc.id)
        self.size += 4 + len(r.packed)
        self.file.write(len(r.packed).to_bytes(4, "little") + r.packed)  # marshal.load on a file is slow
        self.reports_file.write(r.packed_reports)
        self.report_offsets.append(self.report_offsets[-1] + len(r.packed_reports))
        r.packed = r.packed_reports = None
        for rule, n in r.fired.items():
            self.fired[rule] = self.fired.get(rule, 0) + n
        # what stays of the result until resolution is its document: shared empties, not five
        # containers a document (~300 bytes; they also kept the allocator's pages from going back)
        r.fired = r.entities = SPILLED  # type: ignore[assignment]
        r.facts = r.claims = r.events = ()  # type: ignore[assignment]

    def __iter__(self) -> Iterator[tuple[str, list[Fact], list[Claim]]]:
        """(document id, statements, claims) per document, in the order they were put."""
        return (unpack(record) for record in self._records())

    def _records(self) -> Iterator[tuple]:
        self.file.flush()
        self.file.seek(0)
        try:
            while size := self.file.read(4):
                yield marshal.loads(self.file.read(int.from_bytes(size, "little")))
        finally:  # (a build that failed part way closes the file before this generator goes)
            if not self.file.closed:
                self.file.seek(0, os.SEEK_END)

    def records(self) -> Iterator[tuple[DocResult, Quotes]]:
        """Each document's records with its metadata, and the quotes of the spans its events
        cite: (start, end) -> sentence."""
        return (result(record) for record in self._records())

    def read_range(self, start: int, stop: int) -> Iterator[tuple]:
        """Records `start` to `stop` (in the order put), read without moving the file's
        position: a process forked from the build's reads them beside it (kg.parts)."""
        return records_in(self.read_bytes(start, stop))

    def read_bytes(self, start: int, stop: int) -> bytes:
        """Records `start` to `stop` as they lie in the file (records_in reads them)."""
        begin = self.offsets[start]
        end = self.offsets[stop] if stop < len(self.offsets) else self.size
        return _pread(self.file, begin, end)

    def reports(self, doc_ids: Iterable[str]) -> Iterator[list[tuple]]:
        """The event reports (kg.reports.report_row) of each of these documents, in the order
        asked (resolution asks in corpus order), read without moving the files' positions."""
        self.reports_file.flush()
        put = {doc: n for n, doc in enumerate(self.ids)}
        for doc in doc_ids:
            n = put[doc]
            yield marshal.loads(_pread(self.reports_file, self.report_offsets[n], self.report_offsets[n + 1]))

    def places(self, names: dict[str, str], report_ids: Callable[[list[str]], dict]) -> dict[str, set[str]]:
        """One pass before the graph is written, read off the file rather than held through
        the build: each subject's places once names are resolved (`names`: Corpus.ids, the
        entities'; `report_ids`: documents -> their event reports' resolved ids,
        kg.reports.ReportTable.report_ids), for the most specific place rule."""
        places: dict[str, set[str]] = {}
        for batch in batched(self._records(), PLACES_BATCH):
            reports = report_ids([record[0] for record in batch])
            for record in batch:
                ids = LocalIds(reports.get(record[0], {}), names)
                for f in record[1]:  # packed: subject, predicate, object first (pack)
                    if f[1] == "location":
                        s, o = ids.get(f[0], f[0]), ids.get(f[2], f[2])
                        if s != o:
                            places.setdefault(s, set()).add(o)
        return places

    def close(self) -> None:
        for file in (getattr(self, "file", None), getattr(self, "reports_file", None)):
            if file is not None:
                file.close()


def _pread(file, begin: int, end: int) -> bytes:
    """Bytes `begin` to `end` of a file, read without moving its position."""
    data = b""
    while len(data) < end - begin:
        chunk = os.pread(file.fileno(), end - begin - len(data), begin + len(data))
        if not chunk:
            raise OSError(f"the build's records file ends early: at byte {begin + len(data)} of {end}")
        data += chunk
    return data
