"""Records → RDF following the contract: entities, events, claims, reified statements with
evidence, documents; written atomically in the format the file name asks for.

The graph is built as pyoxigraph terms in plain Python dicts (one ordered set of triples per
named graph) and serialised by pyoxigraph: an rdflib Dataset costs several times as much per
triple (its indexes and events) and is only made when a caller asks for one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from array import array
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from itertools import islice
from pathlib import Path
from typing import BinaryIO, Protocol

import pyoxigraph as ox
from rdflib import XSD, BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS

from kg.linesort import SortedLines, reader
from kg.model import EVENT_EVIDENCE, DocResult, Evidence
from kg.reports import NO_PART, DocPart
from kg.resolve import Corpus, LocalIds, add_claim, fact_key
from kg.rules import RuleSet
from kg.vocab import KGO, KGR, ONTOLOGY_DIR

FORMATS = {".ttl": "turtle", ".nt": "nt", ".trig": "trig", ".nq": "nquads", ".jsonld": "json-ld"}
QUAD_FORMATS = {"trig", "nquads"}
OX_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
    "json-ld": ox.RdfFormat.JSON_LD,
}
FACTS_GRAPH = KGR["graph-facts"]
ASSERTED = {"Asserted", "Claimed"}
PREFIXES = {
    "kgo": str(KGO),
    "kgr": str(KGR),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "skos": str(SKOS),
    "prov": str(PROV),
    "dcterms": str(DCTERMS),
    "xsd": str(XSD),
    "owl": str(OWL),
}

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Triple = tuple[Term, Term, Term]
Quotes = dict[tuple[int, int], str]  # a document's spans (start, end) -> the sentence quoted
Triples = MutableMapping[Triple, None]  # what add_* write into: a named graph's ordered triples, or a sink's


@lru_cache(maxsize=1 << 12)
def iri(value: str) -> ox.NamedNode:
    return ox.NamedNode(value)


def kgr(local: str) -> ox.NamedNode:
    return iri(KGR_BASE + local)


KGO_BASE, KGR_BASE = str(KGO), str(KGR)


@cache
def kgo(local: str) -> ox.NamedNode:
    return ox.NamedNode(KGO_BASE + local)


A = iri(str(RDF.type))
LABEL, ALT_LABEL = iri(str(RDFS.label)), iri(str(SKOS.altLabel))
DERIVED = iri(str(PROV.wasDerivedFrom))
XSD_INTEGER, XSD_BOOLEAN, XSD_DECIMAL = iri(str(XSD.integer)), iri(str(XSD.boolean)), iri(str(XSD.decimal))
DATE_TYPES = {4: iri(str(XSD.gYear)), 7: iri(str(XSD.gYearMonth)), 10: iri(str(XSD.date))}
STATEMENT = [iri(str(t)) for t in (RDF.Statement, RDF.subject, RDF.predicate, RDF.object)]
TRUE, FALSE = ox.Literal("true", datatype=XSD_BOOLEAN), ox.Literal("false", datatype=XSD_BOOLEAN)


def literal(value: str | int | bool) -> ox.Literal:
    """A literal typed as rdflib types Python values: str plain, int xsd:integer, bool xsd:boolean."""
    if isinstance(value, bool):
        return TRUE if value else FALSE
    if isinstance(value, int):
        return ox.Literal(str(value), datatype=XSD_INTEGER)
    return ox.Literal(value)


def short_hash(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=1 << 12)  # a year of news is a few hundred dates, named by every document
def ox_date(value: str) -> ox.Literal:
    return ox.Literal(value, datatype=DATE_TYPES[len(value)])


def doc_iri(doc_id: str) -> URIRef:
    return KGR[f"doc-{doc_id}"]


def doc_node(doc_id: str) -> ox.NamedNode:
    return kgr(f"doc-{doc_id}")


class Quads:
    """The built graph: per named graph, its triples in the order written, each once."""

    def __init__(self) -> None:
        self.graphs: dict[ox.NamedNode, dict[Triple, None]] = {}

    def graph(self, name: ox.NamedNode | URIRef | str) -> dict[Triple, None]:
        key = name if isinstance(name, ox.NamedNode) else iri(str(name))
        return self.graphs.setdefault(key, {})

    def quads(self, name: ox.NamedNode | URIRef | str | None = None) -> Iterator[ox.Quad]:
        """Every quad, or one named graph's."""
        names = self.graphs if name is None else [name if isinstance(name, ox.NamedNode) else iri(str(name))]
        for g in names:
            for s, p, o in self.graphs.get(g, ()):
                yield ox.Quad(s, p, o, g)

    def into(self, sink: LineSink) -> None:
        """Each graph's triples into a sink that renders lines (a BufferedWriter, the shards'
        router), a graph at a time: no Quad is made per quad (0.27 s -> 0.17 s to write the
        10 MB corpus's 202,673 as N-Quads, the bytes pyoxigraph's serialiser writes)."""
        for name, triples in self.graphs.items():
            sink.graph(name).update(triples)

    def triples(self) -> Iterator[ox.Triple]:
        """The union of the named graphs, each triple once, grouped by subject for readable Turtle."""
        union: dict[Triple, None] = {}
        for triples in self.graphs.values():
            union.update(triples)
        by_subject = sorted(union, key=lambda t: t[0].value)
        return (ox.Triple(s, p, o) for s, p, o in by_subject)

    def __len__(self) -> int:
        return sum(len(t) for t in self.graphs.values())

    def to_dataset(self) -> Dataset:
        """The same quads as an rdflib Dataset, for callers that want rdflib's API."""
        ds = Dataset()
        for prefix, ns in PREFIXES.items():
            ds.bind(prefix, ns)
        for g, triples in self.graphs.items():
            graph = ds.graph(URIRef(g.value))
            graph.addN((from_ox(s), from_ox(p), from_ox(o), graph) for s, p, o in triples)
        return ds

    def to_graph(self) -> Graph:
        return rdflib_graph(self.triples())


def rdflib_graph(triples: Iterable[ox.Triple | ox.Quad]) -> Graph:
    """pyoxigraph triples (or quads, their graphs merged) as an rdflib Graph with the
    contract's prefixes; each term converted once (subjects and predicates repeat on every line)."""
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    term = each_once(from_ox)
    graph.addN((term(t.subject), term(t.predicate), term(t.object), graph) for t in triples)
    return graph


def each_once(convert: Callable[[object], object]) -> Callable[[object], object]:
    """`convert` (from_ox, to_ox), each distinct term converted once: a graph's subjects,
    predicates, labels and IRIs repeat on line after line, and making the other library's
    terms was most of the time of copying a graph, or reading a query's answers."""
    known: dict = {}

    def term(t: object) -> object:
        found = known.get(t)
        if found is None:
            found = known[t] = convert(t)
        return found

    return term


XSD_STRING = str(XSD.string)


def ox_store(graph: Graph) -> ox.Store:
    """An rdflib Graph's triples in an in-memory Oxigraph store (the reverse of rdflib_graph),
    each term converted once: what kg.api projects a notebook's graph through (the 10 MB
    corpus's graph: 2.8 s to copy, 0.8 s to project, where rdflib's SPARQL took 23 s).
    ValueError for a term Oxigraph refuses (an IRI with a space, which rdflib keeps)."""
    store, term = ox.Store(), each_once(to_ox)
    store.extend(ox.Quad(term(s), term(p), term(o)) for s, p, o in graph)
    return store


def to_ox(term: object):
    """An rdflib term as pyoxigraph's (the reverse of from_ox)."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    if term.datatype is not None:
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
    return ox.Literal(str(term))


def from_ox(term: object):
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == XSD_STRING:  # a plain literal in RDF 1.1; rdflib leaves it untyped
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


Sink = Callable[[ox.NamedNode, Term, Term, Term], None]


class LineSink(Protocol):
    """A sink that renders each graph's lines (BufferedWriter, kg.shards' router)."""

    def graph(self, name: ox.NamedNode) -> LineGraph: ...


class Deferred(Protocol):
    """Where a worker writing parts (kg.parts.Recorder) puts shared triples: in a segment the
    parent writes only if `key` is new to it."""

    def keyed(self, key: int, counted: str | None) -> Triples: ...


class _Emitter:
    """A named graph that passes each triple on instead of keeping it (`g[triple] = None`)."""

    __slots__ = ("name", "sink")

    def __init__(self, name: ox.NamedNode, sink: Sink):
        self.name, self.sink = name, sink

    def __setitem__(self, triple: Triple, _: None) -> None:
        self.sink(self.name, *triple)


class GraphWriter:
    """Builds the graph; document-level triples go to one named graph per document.

    Every triple is emitted once (duplicates are removed where they can arise), so the graph
    can go to a `sink` as it is made, `kg build --out x.nq` and shards never holding it whole;
    without a sink it is collected into `Quads`."""

    def __init__(self, corpus: Corpus, rules: RuleSet, sink: Sink | None = None):
        self.corpus = corpus
        self.rules = rules
        self.sink = sink
        self.out = Quads()
        self.facts = self.graph(iri(str(FACTS_GRAPH)))
        # (a spilled corpus's parts set their own document's: kg.graph.GraphWriter.write_part)
        spilled = corpus.resolution is not None
        self.doc_dates = {} if spilled else {d.id: ox_date(d.date) for d in corpus.documents if d.date}
        self.evidence_nodes: MutableMapping[tuple, tuple[ox.NamedNode, bool]] = {}
        self.asserted: set[Triple] = set()
        self.once: KeySet | None = None  # build_parts: what two documents' parts share, written once
        self.deferred: Deferred | None = None  # a worker writing parts: `first` leaves it to the parent
        self.counts = {"statements": 0, "casualty claims": 0}  # distinct ones, counted by build_parts

    def graph(self, name: ox.NamedNode) -> Triples:
        """Where the triples of graph `name` go: kept, or passed to the sink (which may have
        its own graphs: a worker's kg.parts.Recorder renders lines as they come)."""
        if self.sink is None:
            return self.out.graph(name)
        own = getattr(self.sink, "graph", None)
        return own(name) if own is not None else _Emitter(name, self.sink)

    def doc_graph(self, doc_id: str) -> Triples:
        return self.graph(doc_node(doc_id))

    def build(self) -> Quads:
        """The whole graph: collected and returned, or (with a sink) emitted; then `out` is empty."""
        self.add_ontology()
        for doc in self.corpus.documents:
            self.add_document(doc)
        self.add_resolved()
        broader = self.broader_locations()
        for key, evidence in sorted(self.corpus.facts.items(), key=lambda kv: str(kv[0])):
            if key[1] == "location" and (key[0], key[2]) in broader:
                continue
            self.add_fact(key, evidence)
        for key, evidence in sorted(self.corpus.claims.items(), key=lambda kv: str(kv[0])):
            self.add_claim(key, evidence, key in self.corpus.unverified)
        return self.out

    def build_parts(
        self,
        records: Iterable[tuple[DocResult, Quotes]],
        places: dict[str, set[str]],
        progress: Callable[[int], None] | None = None,
    ) -> Quads:
        """`build` for a spilled corpus, whose statements, claims and resolved events were
        not kept in memory: each document's records are read back in turn (`records`, from
        kg.spill: its records and the quotes of the spans its events cite) and written as
        its part (write_part), with what resolution made that it needs (kg.reports.DocPart:
        its event reports' ids, the spans events cite in it, the statements of event dates
        it is evidence of), read from the resolution's table a batch of documents at a time;
        `places`: every subject's places, for the most specific place rule. The same quads
        as `build`: what two parts share (a statement's or claim's own triples, a date it
        was reported on, an asserted triple) is written the first time, the rest belongs to
        one document. Held meanwhile: entities, and one short key per statement; a part's
        evidence nodes only while it is written. kg.parts writes the parts in worker
        processes, the same bytes in the same order. `progress`: told how many parts are written."""
        plan = self.prepare_parts(places)
        done = 0
        for batch in batched(records, PARTS_BATCH):
            parts = self.doc_parts([r.doc.id for r, _ in batch], plan)
            for r, quotes in batch:
                self.write_part(r, quotes, parts.get(r.doc.id, NO_PART), plan)
                done += 1
                if progress:
                    progress(done)
        plan.check()
        return self.out

    def prepare_parts(self, places: dict[str, set[str]]) -> PartsPlan:
        """What build_parts writes before the parts, and what the parts need of it."""
        self.once = KeySet()
        self.add_ontology()
        self.add_resolved(cite_events=False)
        assert self.corpus.resolution is not None, "a spilled corpus (kg.pipeline.build with spill_to)"
        return PartsPlan(self.broader_of(places), self.evidence_nodes, self.corpus.resolution.cited_documents())

    def doc_parts(self, docs: list[str], plan: PartsPlan) -> dict[str, DocPart]:
        """What resolution made for the parts of `docs` (kg.reports.ReportTable.parts), the
        documents among them that events cite counted (PartsPlan.check)."""
        parts = self.corpus.resolution.parts(docs)  # type: ignore[union-attr]  # (prepare_parts asserts it)
        plan.written += sum(1 for part in parts.values() if part.cites or part.dates)
        return parts

    def write_part(self, r: DocResult, quotes: Quotes, part: DocPart, plan: PartsPlan) -> None:
        """One document's part (add_part) with what resolution made for it (`part`: the spans
        events cite in it, the statements of event dates it is evidence of, its reports'
        ids), quotes read back (`quotes`)."""
        self.evidence_nodes = ChainMap({}, plan.shared)  # a span belongs to its document's part alone
        self.doc_dates = {r.doc.id: ox_date(r.doc.date)} if r.doc.date else {}
        for eid, evidence in part.cites.items():
            for source in self.evidence_of(quoted(ev, quotes) for ev in evidence):
                self.facts[(kgr(eid), DERIVED, source)] = None
        for key, evidence in part.dates:
            self.add_fact(key, [quoted(ev, quotes) for ev in evidence])
        self.add_part(r, LocalIds(part.ids, self.corpus.ids), plan.broader)  # type: ignore[arg-type]
        self.evidence_nodes = plan.shared

    def add_resolved(self, cite_events: bool = True) -> None:
        """What resolution made: the entities, the place hierarchy above them, the events
        (without the spans they cite, when `cite_events` is False: build_parts writes those
        in their documents' parts)."""
        for entity in self.corpus.entities.values():
            self.add_entity(entity)
        self.add_place_hierarchy()
        for event in self.corpus.events.values():
            self.add_event(event, cite_events)

    def add_part(self, r: DocResult, ids: dict[str, str], broader: set[tuple[str, str]]) -> None:
        """A document's part: its node, and its statements and claims with their evidence
        (`ids`: local names to resolved ones; `broader`: location statements left out)."""
        self.add_document(r.doc)
        facts: dict[tuple, list[Evidence]] = {}
        for f in r.facts:
            key = fact_key(f, ids)
            if key is not None and f.evidence not in facts.setdefault(key, []):
                facts[key].append(f.evidence)
        for key, evidence in facts.items():
            if not (key[1] == "location" and (key[0], key[2]) in broader):
                self.add_fact(key, evidence)
            elif self.once is not None:
                self.first(once_key(short_hash(*key), STATEMENT_ONCE), "statements")  # counted as `build` counts it
        claims = Corpus()
        for c in r.claims:
            add_claim(claims, c, ids)
        for key, evidence in claims.claims.items():
            self.add_claim(key, evidence, key in claims.unverified)

    def first(self, key: int, counted: str | None = None) -> Triples | None:
        """The graph to write the shared triples of `key` (once_key) into, or None if they are
        written already: always the facts graph in `build`, the first time in `build_parts`
        (`counted`: the count of distinct ones it adds to). In a worker writing parts
        (kg.parts), a graph whose triples the parent writes only if `key` is new to it."""
        if self.once is None:
            return self.facts
        if not self.once.add(key):
            return None
        if self.deferred is not None:
            return self.deferred.keyed(key, counted)
        if counted:
            self.counts[counted] += 1
        return self.facts

    def asserting(self, s: Term, p: Term, o: Term) -> Triples | None:
        """The graph to write the asserted triple (s, p, o) into, or None if it is written
        already (two statements of different modality or claimant may assert one triple)."""
        if self.once is None:
            if (s, p, o) in self.asserted:
                return None
            self.asserted.add((s, p, o))
            return self.facts
        return self.first(once_key(short_hash(s, p, o), ASSERTED_ONCE))

    def add_ontology(self) -> None:
        for t in ox.parse(path=str(ONTOLOGY_DIR / "kgo.ttl"), format=ox.RdfFormat.TURTLE):
            self.facts[(t.subject, t.predicate, t.object)] = None

    def ancestors(self, place: str) -> set[str]:
        found, entry = set(), self.rules.entries.get(place)
        while entry and entry.parent and entry.parent not in found:
            found.add(entry.parent)
            entry = self.rules.entries.get(entry.parent)
        return found

    def broader_locations(self) -> set[tuple[str, str]]:
        """(event, place) pairs where the event also has a place inside that one: the contract
        wants the most specific place, so 'Pakistan' goes when 'Sibi' is there. Districts and
        towns all stay: 'Quetta, Gwadar, Pasni' are each a place the event hit."""
        places: dict[str, set[str]] = {}
        for subject, predicate, obj, *_ in self.corpus.facts:
            if predicate == "location":
                places.setdefault(subject, set()).add(obj)
        return self.broader_of(places)

    def broader_of(self, places: dict[str, set[str]]) -> set[tuple[str, str]]:
        """broader_locations for the given places of each subject."""
        wide = {"Country", "Province", "Region"}
        return {
            (event, broad)
            for event, found in places.items()
            for narrow in found
            for broad in self.ancestors(narrow)
            if broad in found and self.rules.entries[broad].type in wide
        }

    def collect(self, emit: Callable[[], object]) -> list[bytes]:
        """The N-Quads lines of what `emit` writes (calls to add_*), on their own: evidence
        nodes and asserted triples are written again even if another call wrote them. The
        store's index (kg.index) keeps each part's lines so that an update can take back
        exactly them. Each line is the terms' own N-Triples form, the bytes pyoxigraph's
        serialiser writes (as BufferedWriter's; tested), with no Quad made per quad."""
        out: list[str] = []
        saved = self.sink, self.facts, self.evidence_nodes, self.asserted
        self.sink = lambda g, s, p, o: out.append(f"{s} {p} {o}{line_end(g)}")
        self.facts, self.evidence_nodes, self.asserted = self.graph(iri(str(FACTS_GRAPH))), {}, set()
        try:
            emit()
        finally:
            self.sink, self.facts, self.evidence_nodes, self.asserted = saved
        return "\n".join(out).encode("utf-8").split(b"\n") if out else []  # no line break inside a line

    def add_document(self, doc) -> None:
        g, node = self.doc_graph(doc.id), doc_node(doc.id)
        g[(node, A, kgo("Document"))] = None
        g[(node, iri(str(DCTERMS.title)), literal(doc.title))] = None
        g[(node, iri(str(DCTERMS.source)), literal(doc.url or doc.source))] = None
        g[(node, kgo("sha256"), literal(doc.sha256))] = None
        if doc.date:
            g[(node, iri(str(DCTERMS.date)), ox_date(doc.date))] = None

    def add_entity(self, entity) -> None:
        node, f = kgr(entity.id), self.facts
        f[(node, A, kgo(entity.type))] = None
        f[(node, LABEL, literal(entity.label))] = None
        entry = self.rules.entries.get(entity.id)
        names = set(entity.aliases)
        if entry:
            names |= set(entry.aliases) | set(entry.nocase)
            if entry.lat is not None and entry.lon is not None:
                f[(node, kgo("latitude"), ox.Literal(decimal(entry.lat), datatype=XSD_DECIMAL))] = None
                f[(node, kgo("longitude"), ox.Literal(decimal(entry.lon), datatype=XSD_DECIMAL))] = None
            f[(node, kgo("entry"), literal(f"{entry.file}#{entry.id}"))] = None
        for name in sorted(names - {entity.label}):
            f[(node, ALT_LABEL, literal(name))] = None
        if entity.mentions:
            f[(node, kgo("mentionCount"), literal(entity.mentions))] = None
        for source in self.evidence_of(entity.evidence[:3]):
            f[(node, DERIVED, source)] = None

    def add_place_hierarchy(self, entries: Iterable[str] | None = None) -> None:
        """district → province → country from the gazetteer, cited to its entry. `entries`:
        the dictionary entries among the corpus's entities, where the caller knows them
        without looking at every entity (a store add: kg.index.StoredEntities.entries)."""
        entities = self.corpus.entities
        todo = [e for e in (entities if entries is None else entries) if e in self.rules.entries]
        seen, f = set(), self.facts
        labelled: set[str] = set()  # parents labelled here, not entities of the corpus
        while todo:
            eid = todo.pop()
            if eid in seen:
                continue
            seen.add(eid)
            entry = self.rules.entries[eid]
            if not entry.parent:
                continue
            child, parent = kgr(eid), kgr(entry.parent)
            if entry.parent not in entities and entry.parent not in labelled:
                labelled.add(entry.parent)
                p = self.rules.entries[entry.parent]
                f[(parent, A, kgo(p.type))] = None
                f[(parent, LABEL, literal(p.name))] = None
                for alias in dict.fromkeys(p.aliases):
                    f[(parent, ALT_LABEL, literal(alias))] = None
            part_of = kgo("partOf")
            if (g := self.asserting(child, part_of, parent)) is not None:
                g[(child, part_of, parent)] = None
            source = kgr(f"gazetteer-{eid}")
            f[(source, A, iri(str(PROV.Entity)))] = None
            f[(source, LABEL, literal(f"kg/rules/{entry.file}#{eid}"))] = None
            f[(source, kgo("entry"), literal(f"{entry.file}#{eid}"))] = None
            if entry.source:
                f[(source, iri(str(DCTERMS.source)), literal(entry.source))] = None
            st = kgr(f"st-{short_hash(eid, 'partOf', entry.parent)}")
            self.add_statement(f, st, child, part_of, parent, "Asserted")
            f[(st, DERIVED, source)] = None
            todo.append(entry.parent)

    @staticmethod
    def add_statement(f: Triples, st: ox.NamedNode, s: Term, p: Term, o: Term, modality: str) -> None:
        f[(st, A, STATEMENT[0])] = None
        f[(st, STATEMENT[1], s)] = None
        f[(st, STATEMENT[2], p)] = None
        f[(st, STATEMENT[3], o)] = None
        f[(st, kgo("modality"), kgo(modality))] = None

    def add_event(self, event, cite: bool = True) -> None:
        node, f = kgr(event.id), self.facts
        f[(node, A, kgo(event.type))] = None
        f[(node, LABEL, literal(event.names[0]))] = None
        for alias in dict.fromkeys(event.names[1:]):
            f[(node, ALT_LABEL, literal(alias))] = None
        if cite:
            for source in self.evidence_of(event.evidence[:EVENT_EVIDENCE]):
                f[(node, DERIVED, source)] = None

    def evidence_of(self, evidence: Iterable) -> list[ox.NamedNode]:
        """The evidence nodes of spans, each once (two records of one span share a node)."""
        return list(dict.fromkeys(self.add_evidence(ev) for ev in evidence))

    def add_evidence(self, ev) -> ox.NamedNode:
        """The evidence node of a span; a sentence that supports several statements is written once."""
        key = (ev.doc, ev.start, ev.end, ev.rule)
        known = self.evidence_nodes.get(key)
        if known is not None:
            node, resolved = known
            if ev.resolved and not resolved:
                self.evidence_nodes[key] = (node, True)
                self.doc_graph(ev.doc)[(node, kgo("resolved"), TRUE)] = None
            return node
        node = kgr(f"ev-{short_hash(*key)}")
        self.evidence_nodes[key] = (node, bool(ev.resolved))
        g = self.doc_graph(ev.doc)
        g[(node, A, kgo("Evidence"))] = None
        g[(node, kgo("document"), doc_node(ev.doc))] = None
        g[(node, kgo("start"), literal(ev.start))] = None
        g[(node, kgo("end"), literal(ev.end))] = None
        g[(node, kgo("quote"), literal(ev.quote))] = None
        g[(node, kgo("rule"), literal(ev.rule))] = None
        if ev.resolved:
            g[(node, kgo("resolved"), TRUE)] = None
        return node

    def add_fact(self, key: tuple, evidence: list) -> None:
        subject, predicate, obj, modality, claimant, denier, is_literal = key
        s, p, f = kgr(subject), kgo(predicate), self.facts
        o = ox_date(obj) if is_literal else kgr(obj)
        if modality in ASSERTED and (g := self.asserting(s, p, o)) is not None:
            g[(s, p, o)] = None
        digest = short_hash(*key)
        st = kgr(f"st-{digest}")
        if (g := self.first(once_key(digest, STATEMENT_ONCE), "statements")) is not None:
            self.add_statement(g, st, s, p, o, modality)
            if claimant:
                g[(st, kgo("claimant"), kgr(claimant))] = None
            if denier:
                g[(st, kgo("deniedBy"), kgr(denier))] = None
        observed = {self.doc_dates[ev.doc] for ev in evidence if ev.doc in self.doc_dates}
        for source in self.evidence_of(evidence):
            f[(st, DERIVED, source)] = None
        for date in sorted(observed, key=lambda d: d.value):
            if (g := self.first(once_key(digest, OBSERVED_ONCE, date.value))) is not None:
                g[(st, kgo("observedOn"), date)] = None

    def add_claim(self, key: tuple, evidence: list, unverified: bool) -> None:
        """A casualty claim (`unverified`: a record of it says the figure is not verified)."""
        event, claimant, outcome, category, count, qualifier = key
        digest = short_hash(*key)
        node, f = kgr(f"claim-{digest}"), self.facts
        if (g := self.first(once_key(digest, CLAIM_ONCE), "casualty claims")) is not None:
            g[(node, A, kgo("CasualtyClaim"))] = None
            g[(node, kgo("aboutEvent"), kgr(event))] = None
            if claimant:
                g[(node, kgo("claimant"), kgr(claimant))] = None
            g[(node, kgo("outcome"), kgo(outcome))] = None
            g[(node, kgo("victimCategory"), kgo(category))] = None
            g[(node, kgo("count"), literal(count))] = None
            g[(node, kgo("qualifier"), kgo(qualifier))] = None
            who = self.corpus.entities[claimant].label if claimant in self.corpus.entities else "unattributed"
            label = f"{who}: {qualifier_text(qualifier)}{count} {category_text(category)} {outcome_text(outcome)}"
            g[(node, LABEL, literal(label))] = None
        if unverified and (g := self.first(once_key(digest, UNVERIFIED_ONCE))) is not None:
            g[(node, kgo("verified"), FALSE)] = None
        for source in self.evidence_of(evidence):
            f[(node, DERIVED, source)] = None


@dataclass
class PartsPlan:
    """What the parts of a spilled build need of what was written before them
    (GraphWriter.prepare_parts): the location statements left out, the evidence nodes
    already written (entities' spans); and how many documents events cite (`cited`)
    against how many of them have had their parts written (`written`)."""

    broader: set[tuple[str, str]]
    shared: MutableMapping[tuple, tuple[ox.NamedNode, bool]]
    cited: int = 0
    written: int = 0

    def check(self) -> None:
        """Every cited document written: an event or date left without the evidence that says it, never."""
        if self.written != self.cited:
            raise RuntimeError(
                f"no records for documents that events cite: {self.cited - self.written} of {self.cited} not written"
            )


def batched(items: Iterable, size: int) -> Iterator[list]:
    """`items` in lists of `size` (the last shorter)."""
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


PARTS_BATCH = 64  # documents whose DocParts are read from the resolution's table at once


def quoted(ev: Evidence, quotes: Quotes) -> Evidence:
    """A span whose quote waited on disk (kg.spill), with its quote back."""
    quote = quotes.get((ev.start, ev.end)) if not ev.quote else None
    return replace(ev, quote=quote) if quote is not None else ev


STATEMENT_ONCE, CLAIM_ONCE, UNVERIFIED_ONCE, OBSERVED_ONCE, ASSERTED_ONCE = range(5)


def once_key(digest: str, kind: int, date: str | None = None) -> int:
    """What build_parts remembers of a statement or claim it wrote (GraphWriter.first): the
    digest that names its node, what of it was written (`kind`) and the date it was observed
    on, packed into one int. As exact as the node's name, and a third of the memory of the
    strings it replaces (one per statement and date on a corpus of a year's news)."""
    key = int(digest, 16)
    if date is not None:
        year, month, day = (date.split("-") + ["0", "0"])[:3]
        key = key << 23 | int(year) << 9 | int(month) << 5 | int(day)  # a year below 8192
    return key << 3 | kind


class KeySet:
    """The once keys build_parts has written, 24 bytes a key where a set of ints takes ~75:
    tables probed in place (KeyTable), each key in the one its hash picks. 100 MB of text:
    206k keys, 16 MB as a set, the largest thing a spilled build's writing adds. In KEY_TABLES
    tables, not one: a table grows by copying itself into one twice its size, and at 800 MB
    one table's last growth held 24 MB and 48 MB at once, the build's peak; now it is 1/64th
    of that. Keys are not negative and fit 95 bits (once_key's: 90); a wider one raises
    OverflowError, never a wrong answer."""

    __slots__ = ("tables",)

    def __init__(self, slots: int = 1 << 6):
        self.tables = [KeyTable(slots) for _ in range(KEY_TABLES)]  # slots: each table's first, a power of two

    def __len__(self) -> int:
        return sum(t.count for t in self.tables)

    def __contains__(self, key: int) -> bool:
        h = hash(key)
        return self.tables[h >> _TABLE_SHIFT & _TABLE_MASK].probe(key, h)[3]

    def add(self, key: int) -> bool:
        """Add `key`; False if it was there already."""
        h = hash(key)
        return self.tables[h >> _TABLE_SHIFT & _TABLE_MASK].add(key, h)

    def __iter__(self) -> Iterator[int]:
        return (key for table in self.tables for key in table)


class KeyTable:
    """One of a KeySet's tables: each key's low 64 bits and the rest (plus one, 0 for an
    empty slot) in two arrays, at most half full, probed from the key's hash (`h`: its low
    bits; KeySet picks the table by its high ones)."""

    __slots__ = ("count", "high", "low", "slots")

    def __init__(self, slots: int):
        self.slots, self.count = slots - 1, 0  # slots: a power of two
        self.low, self.high = array("Q", [0]) * slots, array("I", [0]) * slots  # "I": 32 bits

    def probe(self, key: int, h: int) -> tuple[int, int, int, bool]:
        """The key's two words, and the slot that holds it (True) or where it would go."""
        low, high, i = key & _LOW64, (key >> 64) + 1, h & self.slots
        lows, highs = self.low, self.high
        while highs[i]:
            if lows[i] == low and highs[i] == high:
                return low, high, i, True
            i = (i + 1) & self.slots
        return low, high, i, False

    def add(self, key: int, h: int) -> bool:
        # probe, inlined: 2.45 M adds in 5.3-5.7 s, through probe() 7.4 s (the writing makes one a statement)
        low, high, i = key & _LOW64, (key >> 64) + 1, h & self.slots
        lows, highs = self.low, self.high
        while highs[i]:
            if lows[i] == low and highs[i] == high:
                return False
            i = (i + 1) & self.slots
        lows[i], highs[i] = low, high
        self.count += 1
        if 2 * self.count > self.slots:
            self._grow()
        return True

    def __iter__(self) -> Iterator[int]:
        return ((h - 1) << 64 | lo for lo, h in zip(self.low, self.high, strict=True) if h)

    def _grow(self) -> None:
        bigger = KeyTable(2 * (self.slots + 1))
        for key in self:
            bigger.add(key, hash(key))
        self.slots, self.count, self.low, self.high = bigger.slots, bigger.count, bigger.low, bigger.high


KEY_TABLES = 64
_TABLE_SHIFT, _TABLE_MASK = 55, KEY_TABLES - 1  # a table from bits 55-60 of a key's hash (61 bits)
_LOW64 = (1 << 64) - 1


def decimal(value: float) -> str:
    """xsd:decimal's canonical form of a coordinate, as rdflib writes it."""
    return str(Literal(str(value), datatype=XSD.decimal))


def qualifier_text(q: str) -> str:
    return {
        "Exactly": "",
        "AtLeast": "at least ",
        "MoreThan": "more than ",
        "Approximately": "about ",
        "UpTo": "up to ",
    }[q]


def category_text(c: str) -> str:
    return {"SecurityPersonnel": "security personnel"}.get(c, c.lower())


def outcome_text(o: str) -> str:
    return {"TakenHostage": "taken hostage"}.get(o, o.lower())


def to_graph(built: Quads) -> Graph:
    """All named graphs as one plain rdflib graph (for Turtle, N-Triples, JSON-LD and SPARQL)."""
    return built.to_graph()


def write(built: Quads, path: str | os.PathLike) -> None:
    """The whole graph, in the format the extension names; never a half-written file."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown extension; use one of {', '.join(FORMATS)}")
    if fmt == "nquads":  # its lines rendered as a streamed build renders them
        stream(built.into, path)
        return
    with atomic_output(path) as fh:
        source = built.quads() if fmt in QUAD_FORMATS else built.triples()
        ox.serialize(source, fh, OX_FORMATS[fmt], prefixes=PREFIXES)


@contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A temporary file beside `path` that is renamed onto it only when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


STREAM_FORMATS = {"nquads", "nt"}
FLUSH_EVERY = 2_000  # quads per write: 10,000 held 10 MB more (the lines, joined, encoded), no faster


def line_end(graph: ox.NamedNode | ox.DefaultGraph) -> str:
    """What follows a triple's terms on its N-Quads line: the graph's name, then the dot (a
    quad in the default graph, none of kg's, has no fourth term)."""
    return f" {graph} ." if graph.__class__ is ox.NamedNode else " ."


class BufferedWriter:
    """A sink that writes quads (or, for N-Triples, their triples) to an open binary file in
    batches, never the whole graph in memory. Each line is the terms' own N-Triples form
    (pyoxigraph's str() of a term, escapes and all), the bytes pyoxigraph's serialiser
    writes (tested) at two thirds of its cost: it needed a Quad object made per quad. The
    GraphWriter writes into its graphs (`graph`), which render each line as it comes."""

    def __init__(self, fh, triples: bool = False):
        self.fh, self.triples, self.lines, self.count = fh, triples, [], 0

    def graph(self, name: ox.NamedNode | ox.DefaultGraph) -> LineGraph:
        return LineGraph(self, (" ." if self.triples else line_end(name)) + "\n")

    def __call__(self, g: ox.NamedNode, s: Term, p: Term, o: Term) -> None:
        self.graph(g)[(s, p, o)] = None

    def flush(self) -> None:
        if self.lines:
            self.fh.write("".join(self.lines).encode("utf-8"))
            self.count += len(self.lines)
            self.lines.clear()

    def text(self, pieces: list[tuple[str, bytes, int]]) -> None:
        """Lines rendered already (kg.parts: graph, text, quads), after the quads before them."""
        self.flush()
        self.fh.write(b"".join(text for _, text, _ in pieces))
        self.count += sum(n for *_, n in pieces)


class LineGraph:
    """A graph of a BufferedWriter: each triple's line, written a batch at a time."""

    __slots__ = ("end", "lines", "writer")

    def __init__(self, writer: BufferedWriter, end: str):
        self.writer, self.lines, self.end = writer, writer.lines, end

    def __setitem__(self, triple: Triple, _: None) -> None:
        s, p, o = triple
        self.lines.append(f"{s} {p} {o}{self.end}")
        if len(self.lines) >= FLUSH_EVERY:
            self.writer.flush()

    def update(self, triples: Iterable[Triple]) -> None:
        """The lines of many triples (a graph held whole, kg.graph.write), in their order."""
        lines, end = self.lines, self.end
        for s, p, o in triples:
            lines.append(f"{s} {p} {o}{end}")
            if len(lines) >= FLUSH_EVERY:
                self.writer.flush()  # (it empties `lines` in place)


def stream(emit: Callable[[BufferedWriter], object], path: str | os.PathLike) -> int:
    """Write a graph to a file as it is made (temporary file, then rename): `emit` writes it
    into the sink it is given (a GraphWriter's build). Returns the number of lines made.
    N-Quads and N-Triples go straight to the file; Turtle, TriG and JSON-LD group a
    subject's triples, so their lines are sorted on disk beside it first (kg.linesort)."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown extension; use one of {', '.join(FORMATS)}")
    quads = fmt in QUAD_FORMATS
    with atomic_output(path) as fh:
        if fmt in STREAM_FORMATS:
            sink = BufferedWriter(fh, triples=not quads)
            emit(sink)
            sink.flush()
            return sink.count
        with SortedLines(path.parent, quads) as lines:
            sink = BufferedWriter(lines, triples=not quads)
            emit(sink)
            sink.flush()
            parsed = ox.parse(reader(lines.lines()), ox.RdfFormat.N_QUADS if quads else ox.RdfFormat.N_TRIPLES)
            ox.serialize(parsed, fh, OX_FORMATS[fmt], prefixes=PREFIXES)
    return sink.count


def publish(tmp: str, path: Path) -> None:
    """Rename the finished temporary file into place with the mode a plain open() would give
    (mkstemp makes it 0600, which would hide the graph from the user's other tools)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, path)


def load(path: str | os.PathLike) -> Graph:
    """A graph file of any supported format, as one plain rdflib Graph (named graphs merged).

    pyoxigraph parses, rdflib holds: rdflib's own parser took 9 s over the 10 MB corpus's
    202,673 quads, and `kg validate` (pyshacl) and notebooks want an rdflib Graph."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower(), "turtle")
    return rdflib_graph(ox.parse(path=str(path), format=OX_FORMATS[fmt]))
