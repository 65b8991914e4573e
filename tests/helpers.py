"""Small helpers for reading what extraction found, by names rather than ids."""

from __future__ import annotations

from kg.extract import extract
from kg.model import DocResult
from kg.rules import load_rules
from tests.conftest import make_doc


def run(text: str, date: str | None = "2026-02-01") -> DocResult:
    return extract(make_doc(text, date), load_rules())


def label(result: DocResult, eid: str) -> str:
    if eid in result.entities:
        return result.entities[eid].label
    return eid


def facts(text: str, date: str | None = "2026-02-01", modality: str | None = "asserted") -> set[tuple]:
    """(subject label, predicate, object label) of the facts a text gives; by default only
    those that would be plain triples (asserted or claimed)."""
    result = run(text, date)
    found = set()
    for f in result.facts:
        if modality == "asserted" and f.modality not in ("Asserted", "Claimed"):
            continue
        found.add((label(result, f.subject), f.predicate, label(result, f.object)))
    return found
