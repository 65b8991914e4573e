"""The persistent store: a pyoxigraph on-disk dataset that grows document by document, the
read-only SPARQL server over it, saved questions, remote endpoints and the way out to them.

Layout of a store directory::

    DIR/current -> gen-000002          the generation readers open (a symlink, swapped atomically)
    DIR/gen-000002/oxigraph/           the pyoxigraph (RocksDB) store: one named graph per
                                       document (kgr:doc-<id>) and kgr:graph-facts
    DIR/index.sqlite                   the index (kg.index): each document's extraction records,
                                       so that adding a document does not extract the others
                                       again, and the graph in parts, so that it writes only
                                       what changes; it names the generation it describes
    DIR/index.sqlite.names-SHA256      the index's kept merge of minted names (kg.index), named
                                       in the index by its digest
    DIR/gen-000002/manifest.json       only in a generation bulk-loaded from shards

Why generations and not Store transactions: one load changes many named graphs, in
batches, and pyoxigraph has no transaction that spans them. More to the point, oxigraph
documents that opening a store read-only while another process writes it is undefined
behaviour, and `kg serve` holds the store open read-only. So a load never writes the
directory a reader has open: it takes a
`Store.backup` of the current generation (hard links to RocksDB's immutable files, ~10 ms on
the seeds), changes the copy, closes it, and swaps the `current` symlink with `os.replace`.
A crash at any point before the swap leaves `current` as it was; a stale `gen-*` directory is
removed by the next load.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import re
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.term import Node

from kg.gcpolicy import fewer_collections
from kg.graph import FORMATS, OX_FORMATS, Quads, each_once, from_ox, to_ox
from kg.index import Index, chunks, index_record, remove_index
from kg.ingest import Document, IngestError
from kg.model import Claim, DocResult, Entity, Event, Evidence, Fact
from kg.rules import RuleSet, fingerprint, load_rules
from kg.vocab import ONTOLOGY_DIR

CURRENT = "current"
QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"


class StoreError(Exception):
    """A store directory that cannot be used as asked, and what to do about it."""


# ---------------------------------------------------------------- extraction records as JSON


def _evidence(d: dict | None) -> Evidence | None:
    return Evidence(**d) if d else None


def plain(obj: object) -> object:
    """What json.dumps cannot write by itself, one level down: a dataclass as a dict of its
    fields, a set as a sorted list. Passed as json's `default`, so the C encoder walks the rest
    (dataclasses.asdict deep-copies every value first: twenty times slower over a store)."""
    fields = getattr(obj, "__dataclass_fields__", None)
    if fields is not None:
        return {name: getattr(obj, name) for name in fields}
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not a record kg writes")


def dumps(record: object) -> str:
    """A record (DocResult parts, Event, ...) as JSON text."""
    return json.dumps(record, default=plain, ensure_ascii=False)


def dump_result(result: DocResult) -> str:
    """A document's records as JSON text (what the store's index keeps)."""
    body = {k: getattr(result, k) for k in ("entities", "facts", "events", "claims", "fired")}
    return dumps({"doc": asdict(result.doc), **body})


def decode_event(e: dict) -> Event:
    sets = {k: set(e[k]) for k in ("targets", "locations", "perpetrators", "participants", "responds_to")}
    return Event(
        **{
            **e,
            **sets,
            "date_evidence": _evidence(e["date_evidence"]),
            "evidence": [Evidence(**x) for x in e["evidence"]],
        }
    )


def decode_result(data: dict) -> DocResult:
    entities = {}
    for key, e in data["entities"].items():
        entities[key] = Entity(
            **{**e, "aliases": set(e["aliases"]), "evidence": [Evidence(**x) for x in e["evidence"]]}
        )
    facts = [Fact(**{**f, "evidence": Evidence(**f["evidence"])}) for f in data["facts"]]
    claims = [Claim(**{**c, "evidence": Evidence(**c["evidence"])}) for c in data["claims"]]
    return DocResult(
        doc=Document(**data["doc"]),
        entities=entities,
        facts=facts,
        events=[decode_event(e) for e in data["events"]],
        claims=claims,
        fired=dict(data["fired"]),
    )


# ---------------------------------------------------------------- generations on disk


def current_generation(root: Path) -> Path | None:
    link = root / CURRENT
    return link.resolve() if link.is_symlink() else None


def store_location(path: str | os.PathLike) -> Path:
    """The oxigraph directory to open: DIR/current/oxigraph for a kg store, DIR itself for a
    plain oxigraph store made elsewhere."""
    root = Path(path)
    gen = current_generation(root)
    if gen is not None:
        return gen / "oxigraph"
    if (root / "CURRENT").is_file() or any(root.glob("*.sst")):
        return root
    raise StoreError(
        f"{root}: not a kg store (no {CURRENT} link) nor an oxigraph store; "
        f"make one with `kg build PATH... --store {root}`"
    )


def read_manifest(gen: Path | None) -> dict:
    """A generation's manifest: shard loads and older stores have one; indexed stores keep
    their documents in the index."""
    if gen is None or not (gen / "manifest.json").exists():
        return {"documents": {}}
    return json.loads((gen / "manifest.json").read_text(encoding="utf-8"))


def _next_generation(root: Path, gen: Path | None) -> Path:
    number = int(gen.name.split("-")[1]) + 1 if gen else 1
    return root / f"gen-{number:06d}"


def _swap_current(root: Path, gen: Path) -> None:
    """Point `current` at `gen` in one rename: readers see the old or the new, never neither."""
    tmp = root / f".{CURRENT}.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(gen.name, tmp)
    os.replace(tmp, root / CURRENT)
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(root: Path, keep: set[Path]) -> None:
    """Keep the current and the previous generation (a server may still have it open)."""
    for gen in root.glob("gen-*"):
        if gen.resolve() not in keep:
            shutil.rmtree(gen, ignore_errors=True)


# ---------------------------------------------------------------- comparing named graphs


# ---------------------------------------------------------------- adding documents


@dataclass
class LoadReport:
    """What one load did, so the user can see which part was proportional to the change."""

    generation: str = ""
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: int = 0
    rewritten: list[str] = field(default_factory=list)  # known documents whose part of the graph was written again
    quads_added: int = 0
    quads_removed: int = 0
    full: bool = False  # the whole graph was made again (a new store, a replaced or removed document)
    rules_changed: list[str] = field(default_factory=list)  # files of made_with changed since the store was made
    again: int = 0  # the store's documents extracted again with the changed rules
    checkpoints: int = 0  # times a long load committed what it had and went on (kg.store.CHECKPOINT_S)
    seconds: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        times = ", ".join(f"{k} {v:.2f}s" for k, v in self.seconds.items())
        how = "whole graph made" if self.full else f"{len(self.rewritten)} of their parts written again"
        if self.checkpoints:
            how += f", committed {self.checkpoints} time{'s' if self.checkpoints > 1 else ''} on the way"
        kept = f"{self.unchanged} unchanged"
        if self.rules_changed:
            kept = f"{self.again} extracted again, as the rules changed: {', '.join(self.rules_changed)}"
        return (
            f"{self.generation}: {len(self.added)} documents added, {len(self.replaced)} replaced, "
            f"{kept} ({how}); {self.quads_added} quads added, {self.quads_removed} removed; {times}"
        )


@dataclass
class StoreBuild:
    """A store after a load: the report, and the graph read back from the store when asked."""

    root: Path
    errors: list[IngestError]
    report: LoadReport
    summary: dict[str, int]

    @cached_property
    def quads(self) -> Quads:
        built = Quads()
        for q in open_store(self.root):
            built.graph(q.graph_name)[(q.subject, q.predicate, q.object)] = None
        return built

    @cached_property
    def dataset(self) -> Dataset:
        return self.quads.to_dataset()

    def write(self, path: str | os.PathLike) -> None:
        from kg.graph import write

        write(self.quads, path)

    def write_shards(self, out_dir: str | os.PathLike, docs_per_shard: int = 1000) -> list:
        from kg.shards import write_shards

        index = Index(self.root / INDEX)
        try:
            doc_ids = index.doc_ids()
        finally:
            index.close()
        return write_shards(self.quads, doc_ids, out_dir, docs_per_shard)


INDEX = "index.sqlite"


def open_index(root: Path) -> Index | None:
    """The store's index (kg.index), after finishing a switch of generation that a crash cut
    short; None for a store without one (new, bulk-loaded from shards, or made by an older kg,
    which kept its records as results/*.json in the generation)."""
    path = root / INDEX
    if not path.exists():
        return None
    index = Index(path)
    gen, name = current_generation(root), index.generation
    if gen is not None and name == gen.name:
        return index
    if name and (gen is None or name > gen.name) and (root / name / "oxigraph").is_dir():
        _swap_current(root, root / name)  # committed, not yet switched in
        return index
    index.close()
    if gen is not None and name and name < gen.name:
        remove_index(path)  # a shard load replaced the generation it describes
        return None
    raise StoreError(f"{path}: describes generation {name!r}, which is not there; rebuild the store")


STORE_BATCH = 1000  # documents per index update: a load holds one batch's records, not the corpus's


def add_documents(
    root: str | os.PathLike,
    paths: Iterable[str],
    workers: int = 1,
    dask: object = None,
    progress: Callable[[int, int], None] | None = None,
    crash_after: Callable[[str], None] | None = None,
) -> StoreBuild:
    """Extract only the documents the store does not have and add them, STORE_BATCH at a
    time: through the index (kg.index), the graph's parts each batch changes are written again
    and the store takes the difference. A changed file is a new document that replaces the
    old one from the same source: it is added, then the graph is made again from the stored
    records without the old one. A store whose records were extracted with other rules has
    every document extracted again (`paths` must hold them all). `crash_after(step)` is a
    test hook to simulate a crash."""
    root, paths = Path(root), list(paths)
    root.mkdir(parents=True, exist_ok=True)
    index = open_index(root)
    gen = current_generation(root)
    if index is None and gen is not None:
        why = "bulk-loaded from shards" if "shards" in read_manifest(gen) else "made by an older kg"
        raise StoreError(f"{root}: {why}, so it has no extraction records to add to; build a new store")
    clock, report, errors, replaces = time.perf_counter(), LoadReport(), [], {}
    again = None  # with other rules: the store's documents, and those replacing one
    if index is not None and (changed := rules_changed(index)):
        try:
            again = _every_document_given(root, index, paths, changed)
        finally:
            index.close()
        index, report.rules_changed = None, changed
    staging = index or _new_index(root)
    known = staging.count("documents")
    try:
        batches = _new_records(staging, paths, (workers, dask, progress), errors, replaces, report)
        checkpoints = None if again else (lambda: not replaces)  # a replaced document goes at the end
        _load(root, gen, staging, batches, report, crash_after, new=index is None, may_checkpoint=checkpoints)
    finally:
        staging.close()
    if again:
        _counted_again(report, *again)
    else:
        report.replaced = [replaces[i] for i in report.added if i in replaces]
        report.added = [i for i in report.added if i not in replaces]
        report.unchanged = known - len(report.replaced)
        if report.replaced:
            _rebuild_without(root, set(report.replaced), report)
    report.seconds["total"] = time.perf_counter() - clock
    return StoreBuild(root, errors, report, store_summary(root))


def rules_changed(index: Index) -> list[str]:
    """The rule files, the ontology (and "kg", its version) that differ from those the index's
    records and graph were made with; every one for an index that does not say (made before
    it was kept)."""
    now, then = made_with(load_rules()), index.rules()
    return sorted(name for name in now.keys() | then.keys() if now.get(name) != then.get(name))


def _counted_again(report: LoadReport, stored: set[str], replacing: set[str]) -> None:
    """A load that extracted every document again: which of them the store held before."""
    report.replaced = sorted(stored - set(report.added))
    report.again = len(stored) - len(report.replaced)
    report.added = [i for i in report.added if i not in stored and i not in replacing]
    report.full = True


def made_with(rules: RuleSet) -> dict[str, str]:
    """What a store's records and graph are made with besides its documents: the rule files
    and kg's version (kg.rules.fingerprint), and the ontology, written into the graph once."""
    ontology = ONTOLOGY_DIR / "kgo.ttl"
    return fingerprint(rules) | {ontology.name: hashlib.sha256(ontology.read_bytes()).hexdigest()}


def _every_document_given(root: Path, index: Index, paths: list[str], changed: list[str]) -> tuple[set[str], set[str]]:
    """The ids of the store's documents and of those under `paths` that replace one (a newer
    file from its source), once sure that `paths` hold each stored document or its
    replacement: records extracted with other rules would not give the graph a fresh build
    gives, and no document's text is kept, so each must be read again. This reads them once
    for their ids, holding no text."""
    from kg.ingest import iter_documents

    stored = index.documents()
    ids, sources, replacing = set(), set(), set()
    known = {d["id"] for d in stored.values()}
    for doc in iter_documents(paths, []):  # what cannot be read is reported by the load after
        ids.add(doc.id)
        sources.add(doc.source)
        if doc.source in stored and doc.id not in known:
            replacing.add(doc.id)
    missing = sorted(s for s, d in stored.items() if d["id"] not in ids and s not in sources)
    if missing:
        raise StoreError(
            f"{root}: its documents were extracted with other rules (changed: {', '.join(changed)}), so each is "
            f"extracted again, and {len(missing)} of its {len(stored)} documents are not under the paths given "
            f"(first: {missing[0]}): give the sources of all of them (`kg store info {root}` lists them), "
            "or build a new store"
        )
    return known, replacing


def _new_records(
    index: Index, paths: Iterable[str], how: tuple, errors: list, replaces: dict, report: LoadReport
) -> Iterator[list[DocResult]]:
    """The records of the documents under `paths` that `index` does not hold, extracted as
    they are read (kg.parallel.iter_extract) and handed on STORE_BATCH at a time."""
    from kg.ingest import iter_documents
    from kg.parallel import iter_extract

    def unknown() -> Iterator[Document]:
        for docs in chunks(iter_documents(paths, errors)):
            fresh, found = index.plan(docs)
            replaces.update(found)
            yield from fresh

    workers, dask, progress = how

    def extracted() -> Iterator[DocResult]:
        # the workers, if any, make each document's record for the index: this process is what a load waits on
        outcomes = iter_extract(
            unknown(), workers, dask, progress, keep_text=False, ahead=STORE_BATCH, record=index_record
        )
        for outcome in outcomes:
            if isinstance(outcome, IngestError):
                errors.append(outcome)
            else:
                report.added.append(outcome.doc.id)
                yield outcome

    yield from chunks(extracted(), STORE_BATCH)


def _new_index(root: Path) -> Index:
    """An empty index beside the store, renamed over its index when its generation is made."""
    tmp = root / f"{INDEX}.tmp"
    remove_index(tmp)
    return Index(tmp)


CHECKPOINT_S = 60.0  # a long load commits what it has this often: a crash loses at most that stretch


@fewer_collections()  # a load keeps every batch's records and graph parts: fewer full collections
def _load(
    root: Path,
    gen: Path | None,
    index: Index,
    batches: Iterable[list[DocResult]],
    report: LoadReport,
    crash_after,
    new: bool,
    always: bool = False,
    may_checkpoint: Callable[[], bool] | None = None,
) -> None:
    """Each batch of records into the index and its change into a new generation (a copy of
    the current one, or, for a `new` index, an empty one); then the index is committed naming
    that generation, and the generation switched in. Nothing changes if no batch comes, unless
    `always` (a rebuild that keeps no documents).

    With `may_checkpoint`, a load that has run CHECKPOINT_S commits what it has after a batch
    (when may_checkpoint() says it can) and goes on in a copy: the store after each batch is
    the graph of the documents fed so far, so a crash or Ctrl-C in a long first load loses at
    most that stretch, the documents committed stay, and running the same command again adds
    the rest. Readers that open the store (kg query) see it grow."""
    load = Loading(root, gen, index, report, new, crash_after)
    try:
        index.begin()
        batches = iter(batches)
        results = next(batches, None)
        while results is not None:
            load.step(results)
            results = next(batches, None)  # the last batch is committed by what follows, not here
            if results is not None and may_checkpoint and load.due() and may_checkpoint():
                load.checkpoint()
        if not load.fed and always:
            load.step([])  # every document removed: the ontology and nothing else
        if not load.fed and not always:
            load.abandon(new)
            return
        _commit(root, index, load.target, load.prints)
    except BaseException:
        index.rollback()
        if index.path.name != INDEX:  # a new index, never committed: nothing of it is kept
            index.remove()
        raise
    load.finish(new)


class Loading:
    """What one load (_load) has made so far: the generation it writes (`target`), the one
    current when it began (`start`) and the one it committed last (`gen`), the documents fed
    and written again, and the seconds of each step."""

    def __init__(self, root: Path, gen: Path | None, index: Index, report: LoadReport, new: bool, crash_after) -> None:
        self.root, self.index, self.report, self.crash_after = root, index, report, crash_after
        self.start = self.gen = gen
        self.target = _fresh_generation(root, gen)
        if not new:
            _backup(gen, self.target)
        self.rules = load_rules()
        self.prints = made_with(self.rules)  # once: a rule file edited during the load is not what extracted it
        self.first = new  # the index is new: its first update writes the whole graph
        self.fed: set[str] = set()
        self.written: set[str] = set()
        self.clock, self.since = Clock(report.seconds), time.monotonic()

    def step(self, results: list[DocResult]) -> None:
        """One batch of records into the index, and the change into the generation."""
        from kg.index import update

        self.clock.lap("records")  # reading and extracting documents, or reading stored records
        change = update(self.index, results, self.rules, first=self.first)
        self.clock.lap("resolve+graph")
        _apply(self.target, change, self.crash_after, bulk=self.first or len(change.appear) >= BULK_MIN_QUADS)
        self.clock.lap("store")
        self.first = False
        self.fed.update(r.doc.id for r in results)
        self.written.update(change.documents)
        self.report.quads_added += len(change.appear)
        self.report.quads_removed += len(change.vanish)

    def due(self) -> bool:
        """Whether CHECKPOINT_S have passed since the load began or last committed."""
        return time.monotonic() - self.since >= CHECKPOINT_S

    def checkpoint(self) -> None:
        """Commit what is loaded, switch it in, and go on in a copy of it."""
        self.clock.lap("records")  # the next batch's, read before it
        _commit(self.root, self.index, self.target, self.prints)
        _switch(self.root, self.target, {self.gen, self.start})
        self.gen, self.target = self.target, _fresh_generation(self.root, self.target)
        _backup(self.gen, self.target)
        self.index.begin()
        self.report.checkpoints += 1
        self.clock.lap("checkpoints")
        self.since = time.monotonic()

    def abandon(self, new: bool) -> None:
        """Nothing was fed: the generation and a new index go, the store stays as it was."""
        self.index.rollback()
        shutil.rmtree(self.target, ignore_errors=True)
        if new:
            self.index.remove()
        self.report.generation = self.gen.name if self.gen else ""

    def finish(self, new: bool) -> None:
        """The committed generation switched in, and the report completed."""
        self.report.full = self.report.full or new
        self.report.rewritten = sorted(self.written - self.fed)
        if self.crash_after:
            self.crash_after("written")
        _switch(self.root, self.target, {self.start})
        self.report.generation = self.target.name


def _backup(gen: Path, target: Path) -> None:
    """`gen`'s store copied into the new generation `target` (RocksDB hard links: ~10 ms)."""
    ox.Store.read_only(str(gen / "oxigraph")).backup(str(target / "oxigraph"))


def _commit(root: Path, index: Index, target: Path, prints: dict[str, str]) -> None:
    """The index committed naming `target` (and what its records were made with, made_with);
    a new index is then moved over the store's. From here the index names the generation,
    so a crash before the switch is finished on the next open (open_index)."""
    index.set_rules(prints)
    index.set_generation(target.name)
    index.commit()
    if index.path.name != INDEX:
        index.move(root / INDEX)


def _switch(root: Path, target: Path, keep: set[Path | None]) -> None:
    """`target` made current, keeping the generations in `keep`: the one current before the
    load, which a running kg serve may have open, and during a load the one it committed last."""
    _swap_current(root, target)
    _prune(root, {target.resolve()} | {gen for gen in keep if gen})


class Clock:
    """Seconds spent in each step of a load, summed over its batches."""

    def __init__(self, seconds: dict[str, float]):
        self.seconds, self.mark = seconds, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self.mark
        self.mark = now


def _rebuild_without(root: Path, drop: set[str], report: LoadReport) -> None:
    """The graph made again, in a new index and generation, from the stored records of every
    document but `drop` (what a document added to an entity cannot be taken back alone)."""
    old, gen = open_index(root), current_generation(root)
    try:
        keep = [i for i in old.doc_ids() if i not in drop]
        batches = (list(old.results(ids).values()) for ids in chunks(keep, STORE_BATCH))
        new = _new_index(root)
        try:
            _load(root, gen, new, batches, report, None, new=True, always=True)
        finally:
            new.close()
    finally:
        old.close()


def _fresh_generation(root: Path, gen: Path | None) -> Path:
    target = _next_generation(root, gen)
    shutil.rmtree(target, ignore_errors=True)  # a crashed load's leftovers
    target.mkdir(parents=True)
    return target


def _apply(target: Path, change, crash_after, bulk: bool = False) -> None:
    """The quads that vanish and appear, into the (not yet visible) generation; many (`bulk`)
    by oxigraph's bulk loader, which takes the N-Quads lines as they are and, unlike a
    transaction, does not hold them all (170,000 quads into a store of 800,000: 0.8 s and no
    more memory, against 2.6 s and +100 MB). It gives no transaction, and needs none: the
    generation is not switched in until the load is done."""
    from kg.index import parse_lines

    store = ox.Store(str(target / "oxigraph"))
    try:
        for quad in parse_lines(change.vanish):
            store.remove(quad)
        if crash_after:
            crash_after("document")
        if bulk:
            for lines in chunks(change.appear, BULK_CHUNK_QUADS):
                store.bulk_load(b"\n".join(lines) + b"\n", format=ox.RdfFormat.N_QUADS)
        else:
            store.extend(parse_lines(change.appear))
        store.flush()
    finally:
        del store


def store_summary(root: Path) -> dict[str, int]:
    """Documents, entities and events in the store (from its index), and its quads."""
    index = open_index(root)
    if index is None:
        return {"documents": 0}
    try:
        counts = {what: index.count(what) for what in ("documents", "entities", "events")}
    finally:
        index.close()
    return counts


BULK_CHUNK_QUADS = 100_000
# kg store load: a chunk of 50,000 lines per core (up to 4) at a time. 1 M quads on 2 cores: ~4 s and ~185 MB
# (one thread: ~4.7 s)
LOAD_CHUNK_QUADS, LOAD_THREADS = 50_000, min(4, os.cpu_count() or 1)
BULK_MIN_QUADS = 10_000  # fewer go in a transaction: the bulk loader writes new files every time


def bulk_load_nquads(
    store: ox.Store,
    path: str | os.PathLike,
    chunk: int = BULK_CHUNK_QUADS,
    fmt: ox.RdfFormat = ox.RdfFormat.N_QUADS,
    threads: int = 1,
) -> None:
    """Bulk-load an N-Quads (or N-Triples) file `chunk` lines at a time. Oxigraph's bulk loader
    holds what it is given in memory while it sorts it: measured on 1 M quads, one call took
    ~1 GB, chunks of 100,000 lines ~170 MB and no more time (in memory: 600 MB and 400 MB for
    a store of ~370 MB). Both formats are one statement per line, so a chunk is always whole
    statements. With `threads` (an on-disk store only: RocksDB ingests sorted files from
    several threads at once), that many chunks load at a time; pyoxigraph lets go of the GIL
    while it parses and sorts, so they run on as many cores."""
    with open(path, "rb") as fh:
        pieces = iter(lambda: b"".join(itertools.islice(fh, chunk)), b"")
        if threads <= 1:
            for data in pieces:
                store.bulk_load(data, format=fmt)
            return
        with ThreadPoolExecutor(threads) as pool:
            pending: deque = deque()
            for data in pieces:
                pending.append(pool.submit(store.bulk_load, data, format=fmt))
                if len(pending) >= threads:  # at most `threads` chunks in memory, and the one being read
                    pending.popleft().result()
            for future in pending:
                future.result()


def memory_store(path: str | os.PathLike) -> ox.Store:
    """A graph file in an in-memory Oxigraph store, for `kg query FILE`: at 1 M quads about 3 s
    and 400 MB, where rdflib took ~28 s. Line formats load in chunks (bulk_load_nquads)."""
    fmt = OX_FORMATS[FORMATS.get(Path(path).suffix.lower(), "turtle")]
    store = ox.Store()
    if fmt in (ox.RdfFormat.N_QUADS, ox.RdfFormat.N_TRIPLES):
        bulk_load_nquads(store, path, fmt=fmt)
    else:
        store.bulk_load(path=str(path), format=fmt)
    return store


def load_shards(root: str | os.PathLike, shard_dir: str | os.PathLike) -> LoadReport:
    """A new store generation bulk-loaded from N-Quads shards (kg build --shards), switched in
    atomically like any other. Oxigraph's bulk loader writes sorted files straight to disk
    and does not hold the data in memory. The store then holds no per-document extraction
    results, so `kg build --store` refuses to add to it: rebuild, or load new shards."""
    from kg.shards import read_shards

    root = Path(root)
    shards = read_shards(shard_dir)  # checked before anything is touched
    root.mkdir(parents=True, exist_ok=True)
    gen, clock = current_generation(root), time.perf_counter()
    target = _fresh_generation(root, gen)
    store = ox.Store(str(target / "oxigraph"))
    try:
        for file, _ in shards:
            bulk_load_nquads(store, file, LOAD_CHUNK_QUADS, threads=LOAD_THREADS)
        store.flush()
        store.optimize()  # one compaction after many bulk chunks: measured ~2x on a GROUP BY at 1 M quads
    finally:
        del store
    origin = {"from": str(Path(shard_dir).resolve()), "files": [s.file for _, s in shards]}
    manifest = {"documents": {}, "shards": origin}
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    _swap_current(root, target)
    remove_index(root / INDEX)  # it described the records of the generation replaced
    _prune(root, {target.resolve()} | ({gen} if gen else set()))
    report = LoadReport(generation=target.name, quads_added=sum(s.quads for _, s in shards), full=True)
    report.seconds["bulk load"] = time.perf_counter() - clock
    return report


def remove_documents(root: str | os.PathLike, sources_or_ids: Iterable[str]) -> StoreBuild:
    """Drop documents by source path or id; the graph is made again from the other records."""
    root = Path(root)
    index = open_index(root)
    if index is None:
        raise StoreError(f"{root}: no index of documents (bulk-loaded from shards, or older); rebuild it")
    wanted = set(sources_or_ids)
    try:
        if changed := rules_changed(index):
            raise StoreError(
                f"{root}: its documents were extracted with other rules (changed: {', '.join(changed)}); removing "
                "one makes the graph again from the others' records, which would mix the two: add every source "
                f"again first (`kg build SOURCES... --store {root}` extracts them all with the current rules)"
            )
        drop = {v["id"] for s, v in index.documents().items() if s in wanted or v["id"] in wanted}
        known = index.count("documents")
    finally:
        index.close()
    if not drop:
        raise StoreError(f"{root}: no document matches {', '.join(sorted(wanted))}")
    clock = time.perf_counter()
    report = LoadReport(replaced=sorted(drop), unchanged=known - len(drop))
    _rebuild_without(root, drop, report)
    report.seconds["total"] = time.perf_counter() - clock
    return StoreBuild(root, [], report, store_summary(root))


def open_store(path: str | os.PathLike) -> ox.Store:
    return ox.Store.read_only(str(store_location(path)))


def store_info(path: str | os.PathLike) -> dict:
    root = Path(path)
    gen = current_generation(root)
    store = open_store(root)
    graphs = {str(g.value): 0 for g in store.named_graphs()}
    for name in graphs:
        graphs[name] = sum(1 for _ in store.quads_for_pattern(None, None, None, ox.NamedNode(name)))
    index, changed = open_index(root), []
    if index is None:
        documents = read_manifest(gen)["documents"]
    else:
        try:
            documents, changed = index.documents(), rules_changed(index)
        finally:
            index.close()
    info = {"generation": gen.name if gen else None, "quads": len(store), "graphs": graphs, "documents": documents}
    return info | {"rules_changed": changed}


# ---------------------------------------------------------------- queries over a store or URL


@dataclass
class Rows:
    """Answers in the shape kg.cli's `query` prints: `.vars` and rows of rdflib terms."""

    vars: list[str]
    rows: list[tuple[Node | None, ...]]

    def __iter__(self) -> Iterator[tuple[Node | None, ...]]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def query_store(path: str | os.PathLike, query: str) -> Rows:
    """Every named graph is part of the default graph, as in a file: the per-document graphs and
    the facts graph answer together without GRAPH clauses."""
    return answers(open_store(path), query)


def query_file(path: str | os.PathLike, query: str) -> Rows:
    """`query_store` over a graph file, read into memory (memory_store)."""
    return answers(memory_store(path), query)


def answers(store: ox.Store, query: str, bindings: dict | None = None) -> Rows:
    """The rows of `query` over `store`, its named graphs all in the default graph; `bindings`
    (variable name -> rdflib term) fix variables before it runs, as rdflib's initBindings."""
    subs = {ox.Variable(name): to_ox(term) for name, term in (bindings or {}).items()}
    result = store.query(query, use_default_graph_as_union=True, substitutions=subs or None)
    if isinstance(result, bool | ox.QueryBoolean):
        return Rows(["ask"], [(Literal(bool(result)),)])
    if isinstance(result, ox.QueryTriples):
        return Rows(
            ["subject", "predicate", "object"],
            [(from_ox(t.subject), from_ox(t.predicate), from_ox(t.object)) for t in result],
        )
    names = [v.value for v in result.variables]
    # each term converted once: rows repeat their labels, rules and IRIs (3,435 rows: 61 ms in
    # oxigraph, 310 ms converted one by one). A solution iterates its values in the variables'
    # order (None where unbound): reading them by name cost more than the conversion (144 ms against 91 ms)
    convert = each_once(from_ox)
    return Rows(names, [tuple(map(convert, sol)) for sol in result])


def query_endpoint(url: str, query: str, timeout: float = 60.0) -> Rows:
    """A remote SPARQL 1.1 endpoint through SPARQLWrapper, with a client-side timeout."""
    from SPARQLWrapper import JSON, SPARQLWrapper

    client = SPARQLWrapper(url)
    client.setTimeout(int(timeout))
    client.setMethod("POST")
    client.setQuery(query)
    client.setReturnFormat(JSON)
    data = client.queryAndConvert()
    if "boolean" in data:
        return Rows(["ask"], [(Literal(bool(data["boolean"])),)])
    names = data["head"]["vars"]
    return Rows(names, [tuple(json_term(b.get(n)) for n in names) for b in data["results"]["bindings"]])


def json_term(b: dict | None) -> Node | None:
    if b is None:
        return None
    if b["type"] == "uri":
        return URIRef(b["value"])
    if b["type"] == "bnode":
        return BNode(b["value"])
    if "xml:lang" in b:
        return Literal(b["value"], lang=b["xml:lang"])
    return Literal(b["value"], datatype=URIRef(b["datatype"]) if "datatype" in b else None)


def is_url(source: str) -> bool:
    return bool(re.match(r"^https?://", source, re.IGNORECASE))


# ---------------------------------------------------------------- saved questions


@dataclass
class SavedQuery:
    name: str
    question: str
    parameters: dict[str, str]  # name -> description (with its default, if any)
    example: str
    text: str


HEADER = re.compile(r"^#\s*(question|parameters|example):\s*(.*)$")
PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\b")


def saved_queries(folder: Path = QUERIES_DIR) -> dict[str, SavedQuery]:
    found = {}
    for path in sorted(folder.glob("*.rq")):
        head: dict[str, str] = {}
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            m = HEADER.match(line)
            if m:
                head[m.group(1)] = m.group(2).strip()
        params = {}
        for part in filter(None, (p.strip() for p in head.get("parameters", "").split(";"))):
            key, _, desc = part.partition("=")
            if key.strip() and key.strip() != "none":
                params[key.strip()] = desc.strip()
        found[path.stem] = SavedQuery(path.stem, head.get("question", ""), params, head.get("example", ""), text)
    return found


def sparql_literal(value: str) -> str:
    """A string as a SPARQL string literal: the only way a user's value enters a query."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def render_saved(name: str, params: dict[str, str], folder: Path = QUERIES_DIR) -> str:
    """The saved query NAME with each `$param` replaced by a SPARQL literal. Parameters the
    query declares but the user omits take the default written in the header (`key=default`)."""
    queries = saved_queries(folder)
    if name not in queries:
        raise StoreError(f"no saved query {name!r}; `kg queries` lists them")
    saved = queries[name]
    unknown = set(params) - set(saved.parameters)
    if unknown:
        raise StoreError(
            f"{name} takes {', '.join(saved.parameters) or 'no parameters'}, not {', '.join(sorted(unknown))}"
        )
    values = {k: params.get(k, _default(v)) for k, v in saved.parameters.items()}
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise StoreError(f"{name} needs --param {missing[0]}=VALUE ({saved.parameters[missing[0]]})")
    body = "\n".join(line for line in saved.text.splitlines() if not line.lstrip().startswith("#"))
    return PARAM.sub(lambda m: sparql_literal(values[m.group(1)]) if m.group(1) in values else m.group(0), body)


def _default(desc: str) -> str | None:
    m = re.search(r"default\s+\"([^\"]*)\"", desc)
    return m.group(1) if m else None


# ---------------------------------------------------------------- the read-only server


_OPAQUE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r'|<[^<>"{}|^`\\\s]*>'
    r"|#[^\n]*",
    re.S,
)
_SERVICE = re.compile(r"(?<![\w:$?])SERVICE(?![\w:-])", re.IGNORECASE)
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def uses_service(query: str) -> bool:
    """Whether a query asks for SERVICE, outside strings, IRIs and comments.

    oxigraph's server executes SERVICE (it would fetch any URL a visitor names), and has no flag
    to turn it off, so `kg serve` refuses such queries in front of it. SPARQL decodes \\u escapes
    before parsing, so they are decoded here too; a query this check cannot tokenise is refused
    rather than passed (an unterminated string leaves the word visible)."""
    decoded = _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), query)
    return bool(_SERVICE.search(_OPAQUE.sub(" ", decoded)))


def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def oxigraph_binary() -> str:
    """The `oxigraph` server from the PyPI package "oxigraph", beside this Python first."""
    import sys

    here = Path(sys.executable).parent / "oxigraph"
    found = str(here) if here.exists() else shutil.which("oxigraph")
    if not found:
        raise StoreError("the oxigraph server is not installed: pip install oxigraph")
    return found


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM when the parent dies, even by SIGKILL,
    so a killed `kg serve` never leaves an orphan oxigraph holding the port and the store."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def oxigraph_timeout(timeout: float | None) -> int:
    """oxigraph's --timeout-s for kg serve's --timeout: whole seconds, at least 1 (0: none)."""
    return max(1, round(timeout)) if timeout else 0


def start_oxigraph(location: Path, port: int, timeout: float | None, read_only: bool = True, wait: float = 20.0):
    """oxigraph on 127.0.0.1:PORT; returns the process once it answers (bounded wait)."""
    import subprocess
    import urllib.request

    args = [
        oxigraph_binary(),
        "serve-read-only" if read_only else "serve",
        "--location",
        str(location),
        "--bind",
        f"127.0.0.1:{port}",
        "--union-default-graph",
    ]
    if timeout:
        args += ["--timeout-s", str(oxigraph_timeout(timeout))]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StoreError(f"oxigraph exited: {proc.stderr.read().decode(errors='replace')[-500:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise StoreError(f"oxigraph did not answer on port {port} within {wait:.0f} s")


MAX_BODY = 10 * 1024 * 1024
# oxigraph checks its --timeout-s only between some steps: measured on the seeds with 2 s, a
# three-way join was cancelled after 3-8 s and a four-way COUNT ran past 40 s. The proxy answers
# 504 once this grace is spent too, so a client is never held longer than timeout + GRACE_S.
GRACE_S = 3.0
CANCELLED = b"The SPARQL operation has been cancelled"
_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "host",
    "content-length",
    "proxy-connection",
    "upgrade",
    "te",
    "trailer",
}


MAX_RESULT_MB = 64.0


def make_proxy(host: str, port: int, upstream: Upstream, timeout: float | None, max_result_mb: float = MAX_RESULT_MB):
    """A threading HTTP proxy to oxigraph that refuses SERVICE and results larger than
    `max_result_mb`; everything else passes through (the query page, content negotiation,
    oxigraph's own refusal of updates). Between requests it lets `upstream` follow the store
    to a new generation."""
    max_result = int(max_result_mb * 1024 * 1024)
    pace = QueryPace(window=oxigraph_timeout(timeout) + 1, limit=max_map_count() // (4 * 2))
    from http.client import HTTPConnection
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "kg-serve"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
            pass

        def _refuse(self, status: int, message: str) -> None:
            body = (message + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self._refuse(413, f"request body over {MAX_BODY} bytes")
            body = self.rfile.read(length) if length else b""
            texts = parse_qs(urlsplit(self.path).query).get("query", [])
            texts += parse_qs(urlsplit(self.path).query).get("update", [])
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype == "application/x-www-form-urlencoded":
                form = parse_qs(body.decode("utf-8", errors="replace"))
                texts += form.get("query", []) + form.get("update", [])
            elif ctype in ("application/sparql-query", "application/sparql-update"):
                texts.append(body.decode("utf-8", errors="replace"))
            if any(uses_service(t) for t in texts):
                return self._refuse(403, "SERVICE is disabled on this endpoint: it would fetch other servers")
            pace.wait()
            conn = HTTPConnection("127.0.0.1", upstream.port, timeout=(timeout or 300) + GRACE_S)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read(max_result + 1)
            except TimeoutError:
                return self._refuse(504, f"query cancelled: over the {timeout:g} s limit")
            except OSError as exc:
                return self._refuse(502, f"the store did not answer: {exc}")
            finally:
                conn.close()
            if data.rstrip().endswith(CANCELLED):  # oxigraph streamed a 200 header, then gave up
                return self._refuse(504, f"query cancelled: over the {timeout:g} s limit")
            if len(data) > max_result:
                return self._refuse(507, f"result larger than {max_result_mb:g} MB: add a LIMIT, or page with OFFSET")
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in _HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    class Server(ThreadingHTTPServer):
        # the stdlib's listen backlog of 5 resets connections when dozens of clients arrive at once
        request_queue_size = 128
        daemon_threads = True

        def service_actions(self) -> None:  # serve_forever's loop, in the main thread, twice a second
            upstream.follow()

    return Server((host, port), Handler)


class QueryPace:
    """At most `limit` queries sent to oxigraph in any `window` seconds; one more waits for a
    slot. oxigraph 0.5 with --timeout-s keeps a thread for that long after each query, closed
    connection or not (3,000 queries on one connection: 3,006 threads), each with 4 memory
    maps: 50 clients at ~1,600 queries/s with a 20 s timeout held 12,917 threads in 8 s and
    oxigraph exited at the kernel's vm.max_map_count (65,530), every query after a 502. The
    limit is half of that count's threads."""

    def __init__(self, window: float, limit: int):
        self.window, self.limit = window, max(1, limit)
        self.starts: deque[float] = deque()  # the last `limit` queries' starts, in order
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            at = now if len(self.starts) < self.limit else max(now, self.starts.popleft() + self.window)
            at = max(at, self.starts[-1]) if self.starts else at
            self.starts.append(at)
        if at > now:
            time.sleep(at - now)


def max_map_count() -> int:
    """The kernel's limit on a process's memory maps (Linux; its default elsewhere)."""
    try:
        return int(Path("/proc/sys/vm/max_map_count").read_text())
    except (OSError, ValueError):
        return 65530


class Upstream:
    """The oxigraph process behind kg serve's proxy, on the store's current generation. When a
    load switches in another (`kg build --store`, or a long load's commit on the way), `follow`
    starts oxigraph on it and sends the next requests there; the old process stops once the
    longest query it may be answering is over. Checked at most every FOLLOW_S, from the main
    thread (forking from a request's thread is unsafe), so requests are not held."""

    FOLLOW_S = 2.0

    def __init__(self, path: str | os.PathLike, timeout: float | None):
        self.path, self.timeout = path, timeout
        self.location = store_location(path)
        self.port = free_port()
        self.proc = start_oxigraph(self.location, self.port, timeout)
        self.retired: list[tuple[object, float]] = []  # (process, when it stops)
        self.checked = time.monotonic()

    def follow(self) -> None:
        now = time.monotonic()
        for proc, at in self.retired:
            if at <= now:
                _stop(proc)
        self.retired = [(proc, at) for proc, at in self.retired if at > now]
        if now - self.checked < self.FOLLOW_S:
            return
        self.checked = now
        try:
            location = store_location(self.path)
        except (StoreError, OSError):  # mid-switch, or the store removed: keep serving what is open
            return
        if location == self.location or not (location / "CURRENT").is_file():
            return
        port = free_port()
        try:
            proc = start_oxigraph(location, port, self.timeout)
        except (StoreError, OSError):  # the old process serves on; tried again at the next check
            return
        self.retired.append((self.proc, now + (self.timeout or 300) + GRACE_S))
        self.proc, self.port, self.location = proc, port, location

    def close(self) -> None:
        for proc in [self.proc, *(p for p, _ in self.retired)]:
            _stop(proc)


def _stop(proc) -> None:
    """Stop an oxigraph process: terminate, then kill if it has not exited within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except Exception:
        proc.kill()


def serve(
    path: str | os.PathLike,
    host: str = "127.0.0.1",
    port: int = 7878,
    timeout: float | None = 30,
    ready: Callable[[str], None] | None = None,
    max_result_mb: float = MAX_RESULT_MB,
) -> None:
    """Run oxigraph read-only on a private loopback port behind the SERVICE-refusing proxy,
    following the store to each new generation a load switches in (Upstream)."""
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys_exit())  # run the `finally` below on SIGTERM too
    upstream = Upstream(path, timeout)
    try:
        server = make_proxy(host, port, upstream, timeout, max_result_mb)
        if ready:
            ready(f"http://{host}:{server.server_address[1]}/")
        server.serve_forever(poll_interval=0.5)
    finally:
        upstream.close()


def sys_exit() -> None:
    raise SystemExit(0)


# ---------------------------------------------------------------- push to a Graph Store endpoint


@dataclass
class PushResult:
    graph: str
    triples: int
    status: int | None
    attempts: int
    seconds: float
    error: str = ""


def graphs_of(source: str | os.PathLike) -> dict[str, bytes]:
    """Named graph IRI (or "" for the default graph) -> its N-Triples, from a store or a file."""
    from kg.graph import FORMATS, OX_FORMATS, QUAD_FORMATS, load
    from kg.shards import is_shard_dir, read_shards, shard_graphs

    src = Path(source)
    if is_shard_dir(src):
        return {name: body for file, _ in read_shards(src) for name, body in shard_graphs(file).items()}
    if src.is_dir():
        store = open_store(src)
        out = {}
        for g in store.named_graphs():
            buf = io.BytesIO()
            store.dump(buf, format=ox.RdfFormat.N_TRIPLES, from_graph=g)
            out[g.value] = buf.getvalue()
        return out
    if FORMATS.get(src.suffix.lower()) in QUAD_FORMATS:
        return shard_graphs(src, OX_FORMATS[FORMATS[src.suffix.lower()]])
    return {"": load(src).serialize(format="nt", encoding="utf-8")}


def merged_ntriples(graphs: dict[str, bytes]) -> bytes:
    lines = sorted({line for body in graphs.values() for line in body.splitlines() if line.strip()})
    return b"\n".join(lines) + b"\n"


def push(
    source: str | os.PathLike,
    endpoint: str,
    per_document: bool = False,
    retries: int = 3,
    timeout: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[PushResult]:
    """PUT each graph to a SPARQL 1.1 Graph Store Protocol endpoint (`?graph=IRI`), or everything
    merged into the default graph (`?default`). PUT replaces, so a retry or a second push of the
    same source leaves the same data: that is why PUT and not POST. A shard folder sent graph
    by graph is read one shard at a time, so its size is not bounded by memory."""
    from kg.shards import is_shard_dir, read_shards, shard_graphs

    if per_document and is_shard_dir(source):
        return [
            _put(endpoint, name, body, retries, timeout, sleep)
            for file, _ in read_shards(source)
            for name, body in sorted(shard_graphs(file).items())
        ]
    graphs = graphs_of(source)
    if per_document:
        if list(graphs) == [""]:
            raise StoreError(f"{source}: no named graphs (use a store, .trig or .nq) for --graph-per-document")
        targets = {name: body for name, body in graphs.items() if name}
    else:
        targets = {"": merged_ntriples(graphs)}
    return [_put(endpoint, name, body, retries, timeout, sleep) for name, body in sorted(targets.items())]


def _put(
    endpoint: str, graph: str, body: bytes, retries: int, timeout: float, sleep: Callable[[float], None]
) -> PushResult:
    import urllib.error
    import urllib.request
    from urllib.parse import quote

    sep = "&" if "?" in endpoint else "?"
    url = f"{endpoint}{sep}graph={quote(graph, safe='')}" if graph else f"{endpoint}{sep}default"
    triples = body.count(b"\n")
    start, error, status = time.perf_counter(), "", None
    for attempt in range(1, retries + 2):
        req = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "application/n-triples"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return PushResult(graph or "(default)", triples, resp.status, attempt, time.perf_counter() - start)
        except urllib.error.HTTPError as exc:
            status, error = exc.code, exc.read().decode("utf-8", errors="replace")[:300]
            if exc.code < 500 and exc.code != 429:
                break  # the server refused the data: retrying will not change its mind
        except OSError as exc:
            status, error = None, str(exc)
        if attempt <= retries:
            sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))
    return PushResult(graph or "(default)", triples, status, attempt, time.perf_counter() - start, error)
