"""The build: read the corpus, extract each document, resolve across documents, write RDF."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from rdflib import Dataset

from kg.gcpolicy import fewer_collections
from kg.graph import GraphWriter, Quads, Sink, stream, write
from kg.ingest import IngestError, corpus_order, iter_documents
from kg.parallel import Progress, can_fork, extract_all
from kg.parts import write_parts
from kg.resolve import Corpus, EntityFold, resolve
from kg.rules import RuleSet, load_rules
from kg.shards import Shard, write_shards
from kg.spill import Spill


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
    workers: int = 1  # processes that write a spilled graph's document parts (kg.parts)
    dask: object = None  # or the Dask cluster that does (a scheduler address or Client)
    progress: Progress | None = None  # told of the documents whose part of the graph is written

    def __enter__(self) -> Build:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the spill file and the resolution's table, which frees them: they have no
        name (a build without a spill holds neither)."""
        if self.spill is not None:
            self.spill.close()
        if self.corpus.resolution is not None:
            self.corpus.resolution.close()

    @cached_property
    def quads(self) -> Quads:
        return self.emit(None)

    @fewer_collections()  # the corpus is held: the 10 MB graph collected in 0.68 s, not 1.16-1.50 s
    def emit(self, sink: Sink | None) -> Quads:
        """The graph into `sink` (or collected and returned, without one)."""
        writer = GraphWriter(self.corpus, self.rules, sink)
        if self.spill is None:
            return writer.build()
        docs, out = self.corpus.documents, writer.out
        to_file = hasattr(sink, "text")  # a file or shards (not the graph collected, nor only counted)
        tick = (lambda done: self.progress(done, len(docs))) if self.progress and to_file else None
        if to_file and (self.dask is not None or (self.workers > 1 and can_fork())):  # by the cluster or workers
            write_parts(writer, self.spill, self.places, self.workers, self.dask, tick)
        else:
            out = writer.build_parts(self.spill.records(), self.places, tick)
        self.counted = writer.counts
        return out

    @cached_property
    def places(self) -> dict[str, set[str]]:
        """A spilled corpus's places per subject, read back once."""
        assert self.spill is not None and self.corpus.resolution is not None
        return self.spill.places(self.corpus.ids, self.corpus.resolution.report_ids)

    @property
    def summary(self) -> dict[str, int]:
        """What was built. With a spill, statements and claims are counted as the graph is
        written; asked before, a pass over the records counts them without writing."""
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
        """The graph streamed out as it is made, in any format (kg.graph.stream); written
        from memory if it is held already."""
        with fewer_collections():
            if "quads" in self.__dict__:
                write(self.quads, path)
            else:
                stream(self.emit, path)

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
    `spill_to` (a folder), statements, claims and event reports wait on disk there
    (kg.spill, kg.reports) instead of in memory; close the Build (or use it as a context
    manager) to free the files."""
    rules = load_rules()
    errors: list[IngestError] = []
    fold = EntityFold()  # one Entity per actor, not per actor per document
    spill = Spill(spill_to) if spill_to is not None else None
    try:
        with fewer_collections():
            documents = iter_documents(paths, errors)
            results, failed = extract_all(documents, workers, dask, progress, keep_text=False, fold=fold, spill=spill)
            errors.extend(failed)
            results.sort(key=lambda r: corpus_order(r.doc))  # the order read_corpus gives, for the same graph
            reports = spill.reports(r.doc.id for r in results) if spill is not None else None  # (kg.reports)
            corpus = resolve(results, fold.entities(), rules, reports, spill_to)
            if spill is not None:
                corpus.fired = spill.fired
    except BaseException:
        if spill is not None:
            spill.close()
        raise
    return Build(corpus, errors, rules, spill, workers=1 if dask else workers, dask=dask)
