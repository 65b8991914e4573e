"""SHACL validation of a built graph against ontology/shapes.ttl (pyshacl)."""

from __future__ import annotations

import os

from rdflib import Graph

from kg.graph import load
from kg.vocab import ONTOLOGY_DIR


def shapes() -> Graph:
    return Graph().parse(ONTOLOGY_DIR / "shapes.ttl", format="turtle")


def validate_graph(source: str | os.PathLike | Graph) -> tuple[bool, str]:
    """(conforms, report text). The ontology is added so class targets follow rdfs:subClassOf."""
    from pyshacl import validate

    data = source if isinstance(source, Graph) else load(source)
    ontology = Graph().parse(ONTOLOGY_DIR / "kgo.ttl", format="turtle")
    conforms, _, text = validate(data, shacl_graph=shapes(), ont_graph=ontology, inference="none", allow_warnings=True)
    return bool(conforms), text
