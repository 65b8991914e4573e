"""Per-document extraction fanned out to processes or to a Dask cluster.

Extraction reads one document at a time and shares nothing between documents, so it is the
part of a build that scales out; resolution needs every document and stays in the parent.
Results come back in document order whatever the backend, so the graph is the same for any
number of workers.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from typing import TypeVar

from kg.extract import extract
from kg.gcpolicy import GC_THRESHOLDS
from kg.ingest import NO_METADATA, Document, IngestError, corpus_order
from kg.model import DocResult
from kg.resolve import EntityFold
from kg.rules import load_rules
from kg.spill import Spill, take_records

Outcome = DocResult | IngestError
T, R = TypeVar("T"), TypeVar("R")
Progress = Callable[[int, int | None], None]  # done, total (None: a stream)
Record = Callable[[DocResult], bytes]  # a result's record for a store's index (kg.index.index_record)


def extract_one(doc: Document) -> Outcome:
    """One document's records, or why it failed: one bad document must not sink the corpus."""
    try:
        return extract(doc, load_rules())
    except Exception as exc:
        return IngestError(doc.source, f"extraction failed: {exc.__class__.__name__}: {exc}")


def extract_batch(
    docs: Sequence[Document], fold: bool = False, pack: bool = False, record: Record | None = None
) -> tuple[list[Outcome], EntityFold | None]:
    """A batch per task: pickling and scheduling cost per task, not per document.

    The documents are not sent back (the parent has them): that halves what is pickled. With
    `fold`, the batch's entities come back folded (one object per actor, not per actor per
    document): the parent unpickles a fraction of them, on cores the workers need. With
    `pack`, statements and claims come back packed for the build's spill (kg.spill). With
    `record` (a store's load: kg.index.index_record), each result comes back with its record
    for the store's index (`indexed`), made of its document as the load holds it (`held`)."""
    outcomes = [extract_one(doc) for doc in docs]
    folded = EntityFold() if fold else None
    for doc, outcome in zip(docs, outcomes, strict=True):
        if isinstance(outcome, DocResult):
            if record is not None:
                outcome.doc = held(doc)
                outcome.indexed = record(outcome)
            if folded is not None:
                folded.add(outcome, corpus_order(doc))
                outcome.entities = {}
            if pack:
                take_records(outcome)
            outcome.doc = None
    return outcomes, folded


def _warm_worker() -> None:
    """Load the rules once per worker and keep them out of the garbage collector's scans."""
    load_rules()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def can_fork() -> bool:
    """Workers that inherit the parent's state by fork (kg.parts, kg.analysis.betweenness);
    macOS's fork is unsafe with its frameworks."""
    return "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"


def forked_pool(workers: int, initializer: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    """A pool of `workers` processes forked from this one, so that they inherit what it holds
    (a module global set before the first task) instead of having it pickled; see can_fork."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=initializer)


def available_cores() -> int:
    """The cores this process may run on (its affinity: a container's or taskset's share),
    for `kg build --workers 0`."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def workers_for(asked: int) -> int:
    """A `--workers N` (or `workers=N`) as asked: 0 is one per core this process may use."""
    return asked or available_cores()


def batches(docs: Sequence[Document], workers: int) -> list[Sequence[Document]]:
    """About eight batches per worker: small enough to balance, large enough to amortise."""
    size = max(1, min(64, len(docs) // (workers * 8) or 1))
    return [docs[i : i + size] for i in range(0, len(docs), size)]


def stream_batches(docs: Iterable[Document], workers: int) -> Iterator[list[Document]]:
    """Batches as `batches` makes them for a list; for a stream of unknown length, 16 documents."""
    if isinstance(docs, Sequence):
        yield from (list(b) for b in batches(docs, workers))
        return
    batch: list[Document] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) == STREAM_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


STREAM_BATCH = 16
IN_FLIGHT_PER_WORKER = 4  # batches queued per worker: keeps them busy, bounds the text held


Chunk = tuple[list[Document], tuple[list[Outcome], EntityFold | None]]


def in_order(submit: Callable[[T], Future[R]], tasks: Iterable[T], window: int) -> Iterator[tuple[T, R]]:
    """Submit tasks as they come, at most `window` outstanding, and hand back (task, result)
    in the order submitted: the workers stay busy, what waits stays bounded, and the output
    comes in document order whichever worker finished first."""
    pending: deque = deque()
    for task in tasks:
        pending.append((task, submit(task)))
        if len(pending) >= window:
            done, future = pending.popleft()
            yield done, future.result()
    while pending:
        done, future = pending.popleft()
        yield done, future.result()


def _in_order(submit: Callable, docs: Iterable[Document], workers: int, ahead: int = 0) -> Iterator[Chunk]:
    """Batches of the stream, at most IN_FLIGHT_PER_WORKER per worker outstanding, or enough
    for `ahead` documents (a stream's batches) if that is more."""
    window = max(workers * IN_FLIGHT_PER_WORKER, -(-ahead // STREAM_BATCH))
    yield from in_order(submit, stream_batches(docs, workers), window)


def _local(
    docs: Iterable[Document], workers: int, fold: bool, pack: bool, ahead: int = 0, record: Record | None = None
) -> Iterator[Chunk]:
    if workers <= 1:  # (no `record`: the load makes it, in this same process)
        for doc in docs:
            yield [doc], ([extract_one(doc)], None)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_warm_worker) as pool:
        yield from _in_order(lambda batch: pool.submit(extract_batch, batch, fold, pack, record), docs, workers, ahead)


def _dask(
    docs: Iterable[Document], scheduler: object, fold: bool, pack: bool, ahead: int = 0, record: Record | None = None
) -> Iterator[Chunk]:
    """`scheduler` is an address ("tcp://host:8786") or a dask.distributed Client."""
    from dask.distributed import Client

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        nworkers = max(1, len(client.scheduler_info().get("workers", {})))
        submit = lambda batch: client.submit(extract_batch, batch, fold, pack, record, pure=False)  # noqa: E731
        yield from _in_order(submit, docs, nworkers, ahead)
    finally:
        if client is not scheduler:
            client.close()


def extract_all(
    docs: Iterable[Document],
    workers: int = 1,
    dask: object = None,
    progress: Progress | None = None,
    keep_text: bool = True,
    fold: EntityFold | None = None,
    spill: Spill | None = None,
) -> tuple[list[DocResult], list[IngestError]]:
    """Every document's records in the order given, and the documents that failed. `docs` may
    be a stream; with `keep_text=False` each result keeps its document without the text or
    the metadata it was read with (an HTML page's can be long; the graph uses neither), so
    what stays in memory is the records, not the corpus. With a `fold`, every result's
    entities go into it (in the workers, batch by batch) and the results come back without;
    with a `spill`, their statements and claims go into it."""
    results: list[DocResult] = []
    errors: list[IngestError] = []
    for outcome in iter_extract(docs, workers, dask, progress, keep_text, fold, spill):
        (errors if isinstance(outcome, IngestError) else results).append(outcome)
    return results, errors


def held(doc: Document, spilled: bool = False) -> Document:
    """What a streamed build keeps of a document: no text, no metadata (one shared empty
    mapping, not an empty dict each: 64 bytes), and its date as the one string every
    document of that day shares (59 bytes each): a year of news has a few hundred dates.
    `spilled`: its records went to a build's spill with its title, hash and address
    (kg.spill.pack), so it keeps only what ordering and resolution read: id, source, date
    (~250 bytes less a document)."""
    date = sys.intern(doc.date) if doc.date else None
    if spilled:
        return Document(doc.id, doc.source, "", "", date=date, format=doc.format, metadata=NO_METADATA)
    return replace(doc, text="", metadata=NO_METADATA, date=date)


def iter_extract(
    docs: Iterable[Document],
    workers: int = 1,
    dask: object = None,
    progress: Progress | None = None,
    keep_text: bool = True,
    fold: EntityFold | None = None,
    spill: Spill | None = None,
    ahead: int = 0,
    record: Record | None = None,
) -> Iterator[DocResult | IngestError]:
    """extract_all as a stream, in the order given: a store load takes the records a batch at
    a time, so that what it holds is a batch's records, not the corpus's. With workers (or a
    cluster), up to `ahead` documents are extracted before they are asked for: a store load
    asks for a batch of 1,000 only after it has put the last one in its index, and the
    workers would wait all that time; and they make each result's `record` for its index
    (with neither text, fold nor spill: the result as the load holds it)."""
    if record is not None and (keep_text or fold is not None or spill is not None):
        raise ValueError("record: for results kept without their text, unfolded and unspilled (a store's load)")
    wanted, pack = fold is not None, spill is not None
    if dask:
        chunks = _dask(docs, dask, wanted, pack, ahead, record)
    else:
        chunks = _local(docs, workers, wanted, pack, ahead, record)
    total = len(docs) if isinstance(docs, Sized) else None
    done = 0
    for batch, (outcomes, folded) in chunks:
        if folded is not None:
            fold.merge(folded)
        for doc, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, DocResult):
                outcome.doc = doc
                if wanted and outcome.entities:  # extracted here, not in a worker
                    fold.add(outcome, corpus_order(doc))
                    outcome.entities = {}
                if spill is not None:
                    spill.put(outcome)  # (packed here with the whole document, where no worker did)
                if not keep_text:
                    outcome.doc = held(doc, spilled=spill is not None)
            yield outcome
        done += len(batch)
        if progress:
            progress(done, total)


def stderr_progress(min_docs: int = 200, done_what: str = "extracted") -> Progress:
    """Progress for long runs on stderr: a live line on a terminal, every 10% in a log
    (`done_what`: what was done to the documents, "extracted" or "wrote the graph of")."""
    tty = sys.stderr.isatty()
    state = {"step": -1}

    def report(done: int, total: int | None) -> None:
        if total is None:  # a stream of unknown length: a line every 1,000 documents
            if done >= 1000 and done // 1000 != state["step"]:
                state["step"] = done // 1000
                print(f"{done_what} {done} documents", file=sys.stderr, flush=True)
            return
        if total < (20 if tty else min_docs):
            return
        if tty:
            end = "\n" if done == total else ""
            print(f"\r{done_what} {done}/{total} documents", end=end, file=sys.stderr, flush=True)
            return
        step = done * 10 // total
        if step != state["step"]:
            state["step"] = step
            print(f"{done_what} {done}/{total} documents", file=sys.stderr, flush=True)

    return report
