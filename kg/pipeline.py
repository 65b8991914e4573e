"""The build: read the corpus, extract each document, resolve across documents, write RDF."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rdflib import Dataset

from kg.graph import FORMATS, STREAM_FORMATS, GraphWriter, Quads, stream, write
from kg.ingest import IngestError, corpus_order, iter_documents
from kg.parallel import Progress, extract_all, fewer_collections
from kg.resolve import Corpus, EntityFold, resolve
from kg.rules import RuleSet, load_rules
from kg.shards import Shard, write_shards


@dataclass
class Build:
    """A built corpus. Its graph is made when asked for: `quads` (kept in memory), or written
    straight to a file or shards as it is made (`write`, `write_shards`)."""

    corpus: Corpus
    errors: list[IngestError]
    rules: RuleSet

    @cached_property
    def quads(self) -> Quads:
        return GraphWriter(self.corpus, self.rules).build()

    @property
    def summary(self) -> dict[str, int]:
        c = self.corpus
        return {
            "documents": len(c.documents),
            "entities": len(c.entities),
            "events": len(c.events),
            "statements": len(c.facts),
            "casualty claims": len(c.claims),
        }

    @cached_property
    def dataset(self) -> Dataset:
        """The graph as an rdflib Dataset, made on first use (the build itself does not need one)."""
        return self.quads.to_dataset()

    def write(self, path: str | os.PathLike) -> None:
        """N-Quads and N-Triples stream out as the graph is made; other formats need it whole."""
        fmt = FORMATS.get(Path(path).suffix.lower())
        with fewer_collections():
            if fmt in STREAM_FORMATS and "quads" not in self.__dict__:
                stream(self.corpus, self.rules, path)
            else:
                write(self.quads, path)

    def write_shards(self, out_dir: str | os.PathLike, docs_per_shard: int = 1000) -> list[Shard]:
        doc_ids = [d.id for d in self.corpus.documents]
        emit = lambda sink: GraphWriter(self.corpus, self.rules, sink).build()  # noqa: E731
        with fewer_collections():
            return write_shards(self.quads if "quads" in self.__dict__ else emit, doc_ids, out_dir, docs_per_shard)


def build(paths: Iterable[str], workers: int = 1, dask: object = None, progress: Progress | None = None) -> Build:
    """`workers` > 1 extracts documents in that many processes, `dask` (a scheduler address or
    Client) on a cluster; resolution runs here after, so the graph is the same either way.
    Documents are streamed: read, extracted and their text dropped a batch at a time."""
    rules = load_rules()
    errors: list[IngestError] = []
    fold = EntityFold()  # one Entity per actor, not per actor per document
    with fewer_collections():
        documents = iter_documents(paths, errors)
        results, failed = extract_all(documents, workers, dask, progress, keep_text=False, fold=fold)
        errors.extend(failed)
        results.sort(key=lambda r: corpus_order(r.doc))  # the order read_corpus gives, for the same graph
        corpus = resolve(results, fold.entities(), rules)
    return Build(corpus, errors, rules)
