"""A spilled build's document parts written in worker processes (`kg build --workers N`
with `--out x.nq`/`.nt` or `--shards`).

Writing the graph came after extraction, in the parent alone: at 10 MB ~1 s of a 2-worker
build's ~4.4 s, which kept two cores from doubling one's speed. A document's part is almost
all its own (its evidence nodes and the links to them); what two parts may share (a
statement's or a claim's own triples, a date it was reported on, an asserted triple) is
written by the first part to have it, in document order (kg.graph.GraphWriter.first).

So workers render parts as N-Quads text in segments, a shared one carrying its key
(kg.graph.once_key); the parent takes the parts back in document order and writes each
segment it has not seen the key of: the bytes the serial build writes, in its order
(tested). A worker leaves out a key an earlier part of its own had, since a worker takes
its batches in document order, and the parent would drop it.

Workers are forked once the parts' plan is made (kg.graph.GraphWriter.prepare_parts):
they inherit the corpus, the plan and the spill file instead of having them pickled. What
resolution made for a task's documents (kg.reports.DocPart: their reports' event ids, the
spans events cite in them, their dates' statements) is read by the parent from the
resolution's SQLite table and sent with the task: a forked process must not use the
parent's connection. Where fork is not available the parts are written here, as before. On
a Dask cluster (`kg build --dask`) the workers are elsewhere: each task carries its
documents' records, their DocParts and evidence nodes, and what every part needs goes to
each worker once.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass

import pyoxigraph as ox

from kg.graph import FACTS_GRAPH, GraphWriter, KeySet, PartsPlan, Term, iri
from kg.model import Entity
from kg.parallel import forked_pool, in_order
from kg.reports import NO_PART, DocPart
from kg.resolve import Corpus
from kg.rules import load_rules
from kg.spill import Spill, records_in, result

DOCS_PER_TASK = 32
IN_FLIGHT_PER_WORKER = 4

Segment = tuple[int | None, str | None, str, bytes, int]  # key, counted, graph, N-Quads lines, quads
Part = tuple[str, list[Segment]]  # a document's id and its segments, in the order written


class Recorder:
    """A worker's sink: a part's quads as N-Quads (or N-Triples) lines, in segments. A segment
    is always written (key None) or written only if its key is new to the parent. The writer
    writes into its graphs (`graph`), which render each triple's line as it comes."""

    def __init__(self, triples: bool):
        self.triples = triples
        self.segments: list[list] = []  # [key, counted, graph, lines]
        self.graphs: dict[ox.NamedNode, Lines] = {}

    def graph(self, name: ox.NamedNode) -> Lines:
        lines = self.graphs.get(name)
        if lines is None:
            lines = self.graphs[name] = Lines(self, name.value, " .\n" if self.triples else f" {name} .\n")
        return lines

    def __call__(self, g: ox.NamedNode, s: Term, p: Term, o: Term) -> None:
        self.graph(g)[(s, p, o)] = None

    def keyed(self, key: int, counted: str | None) -> Keyed:
        """A segment of the facts graph for the shared triples of `key` (GraphWriter.first);
        made even if nothing goes in it, so that the parent counts `counted` as build does."""
        segment = [key, counted, FACTS.value, []]
        self.segments.append(segment)
        return Keyed(segment[3], self.graph(FACTS).end)

    def take(self) -> list[Segment]:
        segments = [(k, c, g, "".join(lines).encode("utf-8"), len(lines)) for k, c, g, lines in self.segments]
        self.segments = []
        return segments


class Lines:
    """A named graph in a worker: each triple becomes its line (what kg.graph.BufferedWriter
    writes for it), appended to the part's last segment if that is this graph's, unkeyed."""

    __slots__ = ("end", "name", "recorder")

    def __init__(self, recorder: Recorder, name: str, end: str):
        self.recorder, self.name, self.end = recorder, name, end

    def __setitem__(self, triple: tuple[Term, Term, Term], _: None) -> None:
        segments = self.recorder.segments
        last = segments[-1] if segments else None
        if last is None or last[0] is not None or last[2] != self.name:
            last = [None, None, self.name, []]
            segments.append(last)
        s, p, o = triple
        last[3].append(f"{s} {p} {o}{self.end}")


class Keyed:
    """The facts graph, for the triples of one keyed segment (a GraphWriter.first's answer)."""

    __slots__ = ("end", "lines")

    def __init__(self, lines: list[str], end: str):
        self.lines, self.end = lines, end

    def __setitem__(self, triple: tuple[Term, Term, Term], _: None) -> None:
        s, p, o = triple
        self.lines.append(f"{s} {p} {o}{self.end}")


FACTS = iri(str(FACTS_GRAPH))
_forked: tuple[GraphWriter, PartsPlan, Spill, dict, bool] | None = None  # what a worker inherits


def _warm() -> None:
    """Keep what the worker inherited out of the collector's scans (and its pages shared)."""
    gc.freeze()


def render(
    writer: GraphWriter,
    plan: PartsPlan,
    records: Iterable[tuple],
    triples: bool,
    resolved: dict[str, DocPart],
) -> list[Part]:
    """The parts of `records` (kg.spill's, each with its document's metadata), as segments of lines;
    `resolved`: what resolution made for them (read by the parent: a worker forked from it
    must not use its database connection)."""
    recorder = Recorder(triples)
    writer.sink, writer.deferred = recorder, recorder
    writer.facts = writer.graph(FACTS)
    parts = []
    for record in records:
        r, quotes = result(record)
        doc = r.doc.id
        writer.write_part(r, quotes, resolved.get(doc, NO_PART), plan)
        parts.append((doc, recorder.take()))
    return parts


def write_batch(start: int, stop: int, resolved: dict[str, DocPart]) -> list[Part]:
    """In a forked worker: the parts of records `start` to `stop`, by the inherited writer."""
    assert _forked is not None, "write_batch runs in a process forked by write_parts"
    writer, plan, spill, triples = _forked
    return render(writer, plan, spill.read_range(start, stop), triples, resolved)


def write_parts(
    writer: GraphWriter,
    spill: Spill,
    places: dict[str, set[str]],
    workers: int = 2,
    dask: object = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """GraphWriter.build_parts with the parts written by `workers` forked processes, or on a
    Dask cluster (`dask`: an address or a Client), into `writer`'s sink, which takes rendered
    text (`sink.text`: kg.graph.BufferedWriter, the shards' sink)."""
    plan = writer.prepare_parts(places)
    spill.file.flush()
    triples = bool(getattr(writer.sink, "triples", False))
    if dask is not None:
        tasks = _on_dask(writer, plan, spill, triples, dask)
    else:
        tasks = _on_forks(writer, plan, spill, triples, workers)
    _write_in_order(writer, plan, tasks, progress)


def _on_forks(writer: GraphWriter, plan: PartsPlan, spill: Spill, triples: bool, workers: int) -> Iterator[list[Part]]:
    global _forked
    _forked = (writer, plan, spill, triples)
    try:
        with forked_pool(workers, initializer=_warm) as pool:

            def submit(start: int, stop: int) -> Future[list[Part]]:
                return pool.submit(write_batch, start, stop, writer.doc_parts(spill.ids[start:stop], plan))

            yield from _in_order(submit, len(spill.offsets), workers)
    finally:
        _forked = None


@dataclass
class Resolved:
    """What every part needs of the whole build, sent once to each Dask worker: entities
    (claims are labelled by their claimant's), local names to resolved ones, the location
    statements the most specific place rule leaves out, and the output's form."""

    entities: dict[str, Entity]
    ids: dict[str, str]
    broader: set[tuple[str, str]]
    triples: bool


def write_remote(resolved: Resolved, data: bytes, plan: PartsPlan, parts: dict[str, DocPart]) -> list[Part]:
    """On a Dask worker: the parts of a run of records (`data`, kg.spill's bytes, each with
    its document's metadata), with `plan` cut to their documents (their evidence nodes) and
    what resolution made for them (`parts`)."""
    writer = GraphWriter(Corpus(entities=resolved.entities, ids=resolved.ids), load_rules())
    writer.once = KeySet()
    plan.broader = resolved.broader
    return render(writer, plan, records_in(data), resolved.triples, parts)


def _on_dask(
    writer: GraphWriter, plan: PartsPlan, spill: Spill, triples: bool, scheduler: object
) -> Iterator[list[Part]]:
    """Its workers do not share this machine's spill, so each task carries its records' bytes
    and the plan's share of its documents; what all parts need goes once to every worker
    (Resolved)."""
    from dask.distributed import Client

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        # hash=False: a key of its own each time. A second write of the same build (the file,
        # then shards) scattered the same content under the same key while the scheduler was
        # still releasing the first's, and its tasks were cancelled ("lost dependencies";
        # dask/distributed#8576); seen once in a clean-clone CI run.
        everyone = client.scatter(
            Resolved(writer.corpus.entities, writer.corpus.ids, plan.broader, triples), broadcast=True, hash=False
        )
        nodes: dict[str, dict] = {}
        for key, node in plan.shared.items():
            nodes.setdefault(key[0], {})[key] = node

        def submit(start: int, stop: int):
            docs = spill.ids[start:stop]
            share = PartsPlan(set(), {k: v for d in docs for k, v in nodes.get(d, {}).items()})
            data, parts = spill.read_bytes(start, stop), writer.doc_parts(docs, plan)
            return client.submit(write_remote, everyone, data, share, parts, pure=False)

        workers = max(1, len(client.scheduler_info().get("workers", {})))
        yield from _in_order(submit, len(spill.offsets), workers)
    finally:
        if client is not scheduler:
            client.close()


def _write_in_order(
    writer: GraphWriter, plan: PartsPlan, tasks: Iterator[list[Part]], progress: Callable[[int], None] | None
) -> None:
    """The parts as they come back, in document order, into the writer's sink; then every
    document that events cite must have been written (PartsPlan.check)."""
    done = 0
    for parts in tasks:
        writer.sink.text(_accepted(writer, plan, parts))  # type: ignore[union-attr]
        done += len(parts)
        if progress:
            progress(done)
    plan.check()


def _accepted(writer: GraphWriter, plan: PartsPlan, parts: list[Part]) -> list[tuple[str, bytes, int]]:
    """The segments of `parts` to write, (graph, text, quads) in order: those without a key
    and those whose key is new (counted as GraphWriter.first counts)."""
    out = []
    for _, segments in parts:
        for key, counted, graph, text, n in segments:
            if (key is None or writer.first(key, counted) is not None) and n:  # first() counts, n or not
                out.append((graph, text, n))
    return out


def _in_order(submit: Callable[[int, int], Future[list[Part]]], total: int, workers: int) -> Iterator[list[Part]]:
    """Tasks of DOCS_PER_TASK records, at most IN_FLIGHT_PER_WORKER per worker outstanding,
    their parts handed back in document order."""
    ranges = ((start, min(start + DOCS_PER_TASK, total)) for start in range(0, total, DOCS_PER_TASK))
    for _, parts in in_order(lambda span: submit(*span), ranges, workers * IN_FLIGHT_PER_WORKER):
        yield parts
