"""Per-document extraction fanned out to processes or to a Dask cluster.

Extraction reads one document at a time and shares nothing between documents, so it is the
part of a build that scales out; resolution needs every document and stays in the parent.
Results come back in document order whatever the backend, so the graph is the same for any
number of workers.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

from kg.extract import extract
from kg.ingest import Document, IngestError
from kg.model import DocResult
from kg.rules import load_rules

Outcome = DocResult | IngestError
Progress = Callable[[int, int], None]


def extract_one(doc: Document) -> Outcome:
    """One document's records, or why it failed: one bad document must not sink the corpus."""
    try:
        return extract(doc, load_rules())
    except Exception as exc:
        return IngestError(doc.source, f"extraction failed: {exc.__class__.__name__}: {exc}")


def extract_batch(docs: Sequence[Document]) -> list[Outcome]:
    """A batch per task: pickling and scheduling cost per task, not per document.

    The documents are not sent back (the parent has them): that halves what is pickled."""
    outcomes = [extract_one(doc) for doc in docs]
    for outcome in outcomes:
        if isinstance(outcome, DocResult):
            outcome.doc = None
    return outcomes


def _warm_worker() -> None:
    """Load the rules once per worker and keep them out of the garbage collector's scans."""
    load_rules()
    gc.freeze()


def batches(docs: Sequence[Document], workers: int) -> list[Sequence[Document]]:
    """About eight batches per worker: small enough to balance, large enough to amortise."""
    size = max(1, min(64, len(docs) // (workers * 8) or 1))
    return [docs[i : i + size] for i in range(0, len(docs), size)]


def _local(docs: Sequence[Document], workers: int) -> Iterator[list[Outcome]]:
    if workers <= 1:
        for doc in docs:
            yield [extract_one(doc)]
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_warm_worker) as pool:
        yield from pool.map(extract_batch, batches(docs, workers))


def _dask(docs: Sequence[Document], scheduler: object) -> Iterator[list[Outcome]]:
    """`scheduler` is an address ("tcp://host:8786") or a dask.distributed Client."""
    from dask.distributed import Client

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        nworkers = max(1, len(client.scheduler_info().get("workers", {})))
        futures = client.map(extract_batch, batches(docs, nworkers), pure=False)
        for future in futures:  # in submission order, so in document order
            yield future.result()
    finally:
        if client is not scheduler:
            client.close()


def extract_all(
    docs: Sequence[Document], workers: int = 1, dask: object = None, progress: Progress | None = None
) -> tuple[list[DocResult], list[IngestError]]:
    """Every document's records in document order, and the documents that failed."""
    chunks = _dask(docs, dask) if dask else _local(docs, workers)
    results: list[DocResult] = []
    errors: list[IngestError] = []
    done = 0
    for chunk in chunks:
        for outcome in chunk:
            if isinstance(outcome, IngestError):
                errors.append(outcome)
            else:
                outcome.doc = outcome.doc or docs[done]
                results.append(outcome)
            done += 1
        if progress:
            progress(done, len(docs))
    return results, errors


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def stderr_progress(min_docs: int = 200) -> Progress:
    """Progress for long runs on stderr: a live line on a terminal, every 10% in a log."""
    tty = sys.stderr.isatty()
    state = {"step": -1}

    def report(done: int, total: int) -> None:
        if total < (20 if tty else min_docs):
            return
        if tty:
            end = "\n" if done == total else ""
            print(f"\rextracted {done}/{total} documents", end=end, file=sys.stderr, flush=True)
            return
        step = done * 10 // total
        if step != state["step"]:
            state["step"] = step
            print(f"extracted {done}/{total} documents", file=sys.stderr, flush=True)

    return report
