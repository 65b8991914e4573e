"""The build: read the corpus, extract each document, resolve across documents, write RDF."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import Dataset

from kg.extract import extract
from kg.graph import GraphWriter
from kg.ingest import IngestError, read_corpus
from kg.resolve import Corpus, resolve
from kg.rules import load_rules


@dataclass
class Build:
    corpus: Corpus
    dataset: Dataset
    errors: list[IngestError]


def build(paths: Iterable[str]) -> Build:
    rules = load_rules()
    documents, errors = read_corpus(paths)
    results = []
    for doc in documents:
        try:
            results.append(extract(doc, rules))
        except Exception as exc:  # one bad document must not sink the corpus
            errors.append(IngestError(doc.source, f"extraction failed: {exc.__class__.__name__}: {exc}"))
    corpus = resolve(results)
    return Build(corpus, GraphWriter(corpus, rules).build(), errors)
