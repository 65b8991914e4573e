"""Properties that hold for any text: extraction never raises, every quote is its slice,
every IRI is valid, and the graph is a function of the input (byte for byte)."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef

from kg.extract import extract
from kg.graph import GraphWriter, to_graph
from kg.model import DocResult
from kg.resolve import resolve
from kg.rules import load_rules
from tests.conftest import make_doc

RULES = load_rules()
NAMES = sorted({e.name for e in RULES.entries.values()} | {a for e in RULES.entries.values() for a in e.aliases})
GLUE = [
    " said ",
    " attacked ",
    " killed 12 soldiers in ",
    ", spokesman of the ",
    " claimed responsibility. ",
    " chief ",
    " leader of the ",
    ". ",
    "\n",
    "\r\n",
    " (",
    ") ",
    '"',
    " \u202e",
    "\u200d",
    " at least 30 ",
    "Chief Minister ",
    "On 11 March 2025, ",
    " could have ",
    " denied ",
    "<script>",
    "\\",
    "> .",
]
BAD_IRI_CHAR = re.compile(r'[\s<>"{}|^`\\\x00-\x1f\x7f-\x9f]')
PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text made of dictionary names, glue that fires rules, and arbitrary unicode between them.
texts = st.lists(st.one_of(st.sampled_from(NAMES), st.sampled_from(GLUE), st.text(max_size=30)), max_size=40).map(
    "".join
)


def spans(result: DocResult) -> list:
    found = [f.evidence for f in result.facts] + [c.evidence for c in result.claims]
    found += [ev for e in result.events for ev in e.evidence]
    found += [e.date_evidence for e in result.events if e.date_evidence]
    return found + [ev for e in result.entities.values() for ev in e.evidence]


def sorted_nt(text: str) -> bytes:
    corpus = resolve([extract(make_doc(text), RULES)])
    graph = to_graph(GraphWriter(corpus, RULES).build())
    lines = graph.serialize(format="nt", encoding="utf-8").splitlines()
    return b"\n".join(sorted(line for line in lines if line.strip()))


@PROPERTY
@given(texts)
def test_extract_never_raises_and_every_quote_is_its_slice(text):
    doc = make_doc(text)
    result = extract(doc, RULES)
    for ev in spans(result):
        assert 0 <= ev.start <= ev.end <= len(doc.text)
        assert doc.text[ev.start : ev.end] == ev.quote


@PROPERTY
@given(texts)
def test_every_iri_is_valid_and_the_graph_is_deterministic(text):
    first = sorted_nt(text)
    assert first == sorted_nt(text)
    corpus = resolve([extract(make_doc(text), RULES)])
    for triple in to_graph(GraphWriter(corpus, RULES).build()):
        for term in triple:
            if isinstance(term, URIRef):
                assert not BAD_IRI_CHAR.search(str(term)), repr(term)
            elif isinstance(term, Literal):
                str(term).encode("utf-8")  # no lone surrogate can reach a literal from text


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_arbitrary_unicode_never_raises(text):
    result = extract(make_doc(text), RULES)
    for ev in spans(result):
        assert text[ev.start : ev.end] == ev.quote
