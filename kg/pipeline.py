"""The build: read the corpus, extract each document, resolve across documents, write RDF."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from rdflib import Dataset

from kg.graph import GraphWriter, Quads
from kg.ingest import Document, IngestError, corpus_order, iter_corpus
from kg.parallel import Progress, extract_all
from kg.resolve import Corpus, resolve
from kg.rules import load_rules


@dataclass
class Build:
    corpus: Corpus
    quads: Quads
    errors: list[IngestError]

    @cached_property
    def dataset(self) -> Dataset:
        """The graph as an rdflib Dataset, made on first use (the build itself does not need one)."""
        return self.quads.to_dataset()


def build(paths: Iterable[str], workers: int = 1, dask: object = None, progress: Progress | None = None) -> Build:
    """`workers` > 1 extracts documents in that many processes, `dask` (a scheduler address or
    Client) on a cluster; resolution runs here after, so the graph is the same either way.
    Documents are streamed: read, extracted and their text dropped a batch at a time."""
    rules = load_rules()
    errors: list[IngestError] = []

    def documents() -> Iterator[Document]:
        for item in iter_corpus(paths):
            if isinstance(item, IngestError):
                errors.append(item)
            else:
                yield item

    results, failed = extract_all(documents(), workers, dask, progress, keep_text=False)
    errors.extend(failed)
    results.sort(key=lambda r: corpus_order(r.doc))  # the order read_corpus gives, for the same graph
    corpus = resolve(results)
    return Build(corpus, GraphWriter(corpus, rules).build(), errors)
