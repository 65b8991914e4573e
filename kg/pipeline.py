"""The build: read the corpus, extract each document, resolve across documents, write RDF."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rdflib import Dataset

from kg.graph import EVENT_EVIDENCE, FORMATS, STREAM_FORMATS, GraphWriter, Quads, Sink, stream, write
from kg.ingest import IngestError, corpus_order, iter_documents
from kg.model import DocResult
from kg.parallel import Progress, extract_all, fewer_collections, iter_extract
from kg.resolve import Corpus, EntityFold, resolve
from kg.rules import RuleSet, load_rules
from kg.shards import Shard, write_shards

EVENT_SETS = ("targets", "locations", "perpetrators", "participants", "responds_to")
NOTHING: frozenset[str] = frozenset()


class Spill:
    """Each document's statements and claims on disk while the build resolves, read back a
    document at a time to write its part of the graph (GraphWriter.build_parts).

    Why: they are most of what a build holds (each with the sentence that says it), so with
    them on disk a corpus of any size builds in the memory its entities, events and
    documents' metadata need. What stays on the results: the event reports (resolution
    compares them), with only the evidence spans the graph cites. The file lies in
    `directory` (beside the output: /tmp is often memory) without a name, so nothing is left
    behind however the build ends."""

    def __init__(self, directory: str | os.PathLike):
        Path(directory).mkdir(parents=True, exist_ok=True)
        # a file without a name (unlinked at once): gone when closed, even if the build is killed
        self.file = tempfile.TemporaryFile(prefix=".kg-records.", dir=directory)  # noqa: SIM115 - kept open till close
        self.places: list[tuple[str, str]] = []  # every location statement's (subject, place), as read
        self.fired: dict[str, int] = {}

    def put(self, r: DocResult) -> None:
        """Write `r`'s statements and claims, and take them and its rule counts off it."""
        from kg.store import dump_result

        self.places.extend((f.subject, f.object) for f in r.facts if f.predicate == "location")
        for rule, n in r.fired.items():
            self.fired[rule] = self.fired.get(rule, 0) + n
        self.file.write(dump_result(DocResult(r.doc, facts=r.facts, claims=r.claims)).encode() + b"\n")
        r.facts, r.claims, r.fired = [], [], {}
        for event in r.events:
            del event.evidence[EVENT_EVIDENCE:]  # a merged event cites its reports' first spans
            for name in EVENT_SETS:  # most are empty: one shared empty set, not five per report
                if not getattr(event, name):
                    setattr(event, name, NOTHING)

    def __iter__(self) -> Iterator[DocResult]:
        from kg.store import decode_result

        self.file.flush()
        self.file.seek(0)
        for line in self.file:
            yield decode_result(json.loads(line))
        self.file.seek(0, os.SEEK_END)

    def located(self, ids: dict[str, str]) -> dict[str, set[str]]:
        """Each subject's places once names are resolved (`ids`: Corpus.ids)."""
        found: dict[str, set[str]] = {}
        for subject, place in self.places:
            s, o = ids.get(subject, subject), ids.get(place, place)
            if s != o:
                found.setdefault(s, set()).add(o)
        return found

    def close(self) -> None:
        self.file.close()


@dataclass
class Build:
    """A built corpus. Its graph is made when asked for: `quads` (kept in memory), or written
    straight to a file or shards as it is made (`write`, `write_shards`). With a `spill`, the
    corpus holds no statements or claims: they are read back from it as the graph is made."""

    corpus: Corpus
    errors: list[IngestError]
    rules: RuleSet
    spill: Spill | None = None
    counted: dict[str, int] | None = None  # statements and claims, counted as a spilled graph is made

    def __enter__(self) -> Build:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the spill file (a build without one holds nothing to remove)."""
        if self.spill is not None:
            self.spill.close()

    @cached_property
    def quads(self) -> Quads:
        return self.emit(None)

    def emit(self, sink: Sink | None) -> Quads:
        """The graph into `sink` (or collected and returned, without one)."""
        writer = GraphWriter(self.corpus, self.rules, sink)
        if self.spill is None:
            return writer.build()
        out = writer.build_parts(self.spill, self.spill.located(self.corpus.ids))
        self.counted = writer.counts
        return out

    @property
    def summary(self) -> dict[str, int]:
        c = self.corpus
        if self.spill is not None and self.counted is None:
            self.emit(lambda *_: None)  # counted as the graph is made
        counted = self.counted or {"statements": len(c.facts), "casualty claims": len(c.claims)}
        return {"documents": len(c.documents), "entities": len(c.entities), "events": len(c.events), **counted}

    @cached_property
    def dataset(self) -> Dataset:
        """The graph as an rdflib Dataset, made on first use (the build itself does not need one)."""
        return self.quads.to_dataset()

    def write(self, path: str | os.PathLike) -> None:
        """N-Quads and N-Triples stream out as the graph is made; other formats need it whole."""
        fmt = FORMATS.get(Path(path).suffix.lower())
        with fewer_collections():
            if fmt in STREAM_FORMATS and "quads" not in self.__dict__:
                stream(self.emit, path)
            else:
                write(self.quads, path)

    def write_shards(self, out_dir: str | os.PathLike, docs_per_shard: int = 1000) -> list[Shard]:
        doc_ids = [d.id for d in self.corpus.documents]
        with fewer_collections():
            return write_shards(self.quads if "quads" in self.__dict__ else self.emit, doc_ids, out_dir, docs_per_shard)


def build(
    paths: Iterable[str],
    workers: int = 1,
    dask: object = None,
    progress: Progress | None = None,
    spill_to: str | os.PathLike | None = None,
) -> Build:
    """`workers` > 1 extracts documents in that many processes, `dask` (a scheduler address or
    Client) on a cluster; resolution runs here after, so the graph is the same either way.
    Documents are streamed: read, extracted and their text dropped a batch at a time. With
    `spill_to` (a folder), statements and claims wait on disk there (Spill) instead of in
    memory; close the Build (or use it as a context manager) to remove the file."""
    rules = load_rules()
    errors: list[IngestError] = []
    fold = EntityFold()  # one Entity per actor, not per actor per document
    spill = Spill(spill_to) if spill_to is not None else None
    try:
        with fewer_collections():
            documents = iter_documents(paths, errors)
            if spill is None:
                results, failed = extract_all(documents, workers, dask, progress, keep_text=False, fold=fold)
            else:
                results, failed = spilled(iter_extract(documents, workers, dask, progress, False, fold), spill)
            errors.extend(failed)
            results.sort(key=lambda r: corpus_order(r.doc))  # the order read_corpus gives, for the same graph
            corpus = resolve(results, fold.entities(), rules)
            if spill is not None:
                corpus.fired = spill.fired
    except BaseException:
        if spill is not None:
            spill.close()
        raise
    return Build(corpus, errors, rules, spill)


def spilled(outcomes: Iterable[DocResult | IngestError], spill: Spill) -> tuple[list[DocResult], list[IngestError]]:
    """extract_all's results and errors, each result's statements and claims put in `spill`."""
    results: list[DocResult] = []
    errors: list[IngestError] = []
    for outcome in outcomes:
        if isinstance(outcome, IngestError):
            errors.append(outcome)
        else:
            spill.put(outcome)
            results.append(outcome)
    return results, errors
