"""Small helpers: what extraction found, by names rather than ids; a copy of the rules to edit;
a graph or a store as a set of quads compared by value."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from rdflib import Literal

from kg.extract import extract
from kg.model import DocResult
from kg.rules import RULES_DIR, load_rules
from kg.store import from_ox, open_store
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


def copy_rules(tmp_path: Path) -> Path:
    rules_dir = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules_dir)
    return rules_dir


def edit_rule(rules_dir: Path, file: str, section: str, rule_id: str, changes: dict) -> None:
    path = rules_dir / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for item in data[section]:
        if item["id"] == rule_id:
            item.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


# ---------------------------------------------------------------- graphs compared by value
def key(term) -> object:
    """Literals by value: oxigraph stores 33.0 as the canonical decimal 33, rdflib keeps "33.0"."""
    return (term.toPython(), term.datatype, term.language) if isinstance(term, Literal) else term.n3()


def quads(dataset) -> set[tuple]:
    return {
        (key(s), key(p), key(o), key(g))
        for s, p, o, g in dataset.quads((None, None, None, None))
        if g is not None and "urn:x-rdflib" not in str(g)
    }


def store_quads(root) -> set[tuple]:
    return {tuple(key(from_ox(t)) for t in (q.subject, q.predicate, q.object, q.graph_name)) for q in open_store(root)}
