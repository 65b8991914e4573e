"""Records → RDF following the contract: entities, events, claims, reified statements with
evidence, documents; written atomically in the format the file name asks for.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from rdflib import RDF, RDFS, XSD, BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, SKOS

from kg.resolve import Corpus
from kg.rules import RuleSet
from kg.vocab import KGO, KGR, ONTOLOGY_DIR

FORMATS = {".ttl": "turtle", ".nt": "nt", ".trig": "trig", ".nq": "nquads", ".jsonld": "json-ld"}
QUAD_FORMATS = {"trig", "nquads"}
FACTS_GRAPH = KGR["graph-facts"]
ASSERTED = {"Asserted", "Claimed"}


def short_hash(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


def date_literal(value: str) -> Literal:
    datatype = {4: XSD.gYear, 7: XSD.gYearMonth, 10: XSD.date}[len(value)]
    return Literal(value, datatype=datatype)


def doc_iri(doc_id: str) -> URIRef:
    return KGR[f"doc-{doc_id}"]


class GraphWriter:
    """Builds the graph; document-level triples go to one named graph per document."""

    def __init__(self, corpus: Corpus, rules: RuleSet):
        self.corpus = corpus
        self.rules = rules
        self.dataset = Dataset()
        self.facts = self.dataset.graph(FACTS_GRAPH)
        self.doc_dates = {d.id: d.date for d in corpus.documents}
        self.evidence_nodes: dict = {}
        for prefix, ns in (
            ("kgo", str(KGO)),
            ("kgr", str(KGR)),
            ("skos", str(SKOS)),
            ("prov", str(PROV)),
            ("dcterms", str(DCTERMS)),
            ("xsd", str(XSD)),
            ("owl", str(OWL)),
        ):
            self.dataset.bind(prefix, ns)

    def doc_graph(self, doc_id: str) -> Graph:
        return self.dataset.graph(doc_iri(doc_id))

    def build(self) -> Dataset:
        self.facts.parse(ONTOLOGY_DIR / "kgo.ttl", format="turtle")
        for doc in self.corpus.documents:
            self.add_document(doc)
        for entity in self.corpus.entities.values():
            self.add_entity(entity)
        self.add_place_hierarchy()
        for event in self.corpus.events.values():
            self.add_event(event)
        broader = self.broader_locations()
        for key, evidence in sorted(self.corpus.facts.items(), key=lambda kv: str(kv[0])):
            if key[1] == "location" and (key[0], key[2]) in broader:
                continue
            self.add_fact(key, evidence)
        for key, evidence in sorted(self.corpus.claims.items(), key=lambda kv: str(kv[0])):
            self.add_claim(key, evidence)
        return self.dataset

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
        wide = {"Country", "Province", "Region"}
        return {
            (event, broad)
            for event, found in places.items()
            for narrow in found
            for broad in self.ancestors(narrow)
            if broad in found and self.rules.entries[broad].type in wide
        }

    def add_document(self, doc) -> None:
        g, node = self.doc_graph(doc.id), doc_iri(doc.id)
        g.add((node, RDF.type, KGO.Document))
        g.add((node, DCTERMS.title, Literal(doc.title)))
        g.add((node, DCTERMS.source, Literal(doc.url or doc.source)))
        g.add((node, KGO.sha256, Literal(doc.sha256)))
        if doc.date:
            g.add((node, DCTERMS.date, date_literal(doc.date)))

    def add_entity(self, entity) -> None:
        node = KGR[entity.id]
        self.facts.add((node, RDF.type, KGO[entity.type]))
        self.facts.add((node, RDFS.label, Literal(entity.label)))
        entry = self.rules.entries.get(entity.id)
        names = set(entity.aliases)
        if entry:
            names |= set(entry.aliases) | set(entry.nocase)
            if entry.lat is not None and entry.lon is not None:
                self.facts.add((node, KGO.latitude, Literal(str(entry.lat), datatype=XSD.decimal)))
                self.facts.add((node, KGO.longitude, Literal(str(entry.lon), datatype=XSD.decimal)))
            self.facts.add((node, KGO.entry, Literal(f"{entry.file}#{entry.id}")))
        for name in sorted(names - {entity.label}):
            self.facts.add((node, SKOS.altLabel, Literal(name)))
        if entity.mentions:
            self.facts.add((node, KGO.mentionCount, Literal(entity.mentions)))
        for ev in entity.evidence[:3]:
            self.facts.add((node, PROV.wasDerivedFrom, self.add_evidence(ev)))

    def add_place_hierarchy(self) -> None:
        """district → province → country from the gazetteer, cited to its entry."""
        todo = [e for e in self.corpus.entities if e in self.rules.entries]
        seen = set()
        while todo:
            eid = todo.pop()
            if eid in seen:
                continue
            seen.add(eid)
            entry = self.rules.entries[eid]
            if not entry.parent:
                continue
            child, parent = KGR[eid], KGR[entry.parent]
            if (parent, RDFS.label, None) not in self.facts:
                p = self.rules.entries[entry.parent]
                self.facts.add((parent, RDF.type, KGO[p.type]))
                self.facts.add((parent, RDFS.label, Literal(p.name)))
                for alias in p.aliases:
                    self.facts.add((parent, SKOS.altLabel, Literal(alias)))
            self.facts.add((child, KGO.partOf, parent))
            source = KGR[f"gazetteer-{eid}"]
            self.facts.add((source, RDF.type, PROV.Entity))
            self.facts.add((source, RDFS.label, Literal(f"kg/rules/{entry.file}#{eid}")))
            self.facts.add((source, KGO.entry, Literal(f"{entry.file}#{eid}")))
            if entry.source:
                self.facts.add((source, DCTERMS.source, Literal(entry.source)))
            st = KGR[f"st-{short_hash(eid, 'partOf', entry.parent)}"]
            for triple in (
                (st, RDF.type, RDF.Statement),
                (st, RDF.subject, child),
                (st, RDF.predicate, KGO.partOf),
                (st, RDF.object, parent),
                (st, KGO.modality, KGO.Asserted),
                (st, PROV.wasDerivedFrom, source),
            ):
                self.facts.add(triple)
            todo.append(entry.parent)

    def add_event(self, event) -> None:
        node = KGR[event.id]
        self.facts.add((node, RDF.type, KGO[event.type]))
        self.facts.add((node, RDFS.label, Literal(event.names[0])))
        for alias in event.names[1:]:
            self.facts.add((node, SKOS.altLabel, Literal(alias)))
        for ev in event.evidence[:5]:
            self.facts.add((node, PROV.wasDerivedFrom, self.add_evidence(ev)))

    def add_evidence(self, ev) -> URIRef:
        """The evidence node of a span; a sentence that supports several statements is written once."""
        if ev in self.evidence_nodes:
            return self.evidence_nodes[ev]
        node = KGR[f"ev-{short_hash(ev.doc, ev.start, ev.end, ev.rule)}"]
        self.evidence_nodes[ev] = node
        g = self.doc_graph(ev.doc)
        g.add((node, RDF.type, KGO.Evidence))
        g.add((node, KGO.document, doc_iri(ev.doc)))
        g.add((node, KGO.start, Literal(ev.start)))
        g.add((node, KGO.end, Literal(ev.end)))
        g.add((node, KGO.quote, Literal(ev.quote)))
        g.add((node, KGO.rule, Literal(ev.rule)))
        if ev.resolved:
            g.add((node, KGO.resolved, Literal(True)))
        return node

    def add_fact(self, key: tuple, evidence: list) -> None:
        subject, predicate, obj, modality, claimant, denier, literal = key
        s, p = KGR[subject], KGO[predicate]
        o = date_literal(obj) if literal else KGR[obj]
        if modality in ASSERTED:
            self.facts.add((s, p, o))
        st = KGR[f"st-{short_hash(*key)}"]
        for triple in (
            (st, RDF.type, RDF.Statement),
            (st, RDF.subject, s),
            (st, RDF.predicate, p),
            (st, RDF.object, o),
            (st, KGO.modality, KGO[modality]),
        ):
            self.facts.add(triple)
        if claimant:
            self.facts.add((st, KGO.claimant, KGR[claimant]))
        if denier:
            self.facts.add((st, KGO.deniedBy, KGR[denier]))
        for ev in evidence:
            self.facts.add((st, PROV.wasDerivedFrom, self.add_evidence(ev)))
            if self.doc_dates.get(ev.doc):
                self.facts.add((st, KGO.observedOn, date_literal(self.doc_dates[ev.doc])))

    def add_claim(self, key: tuple, evidence: list) -> None:
        event, claimant, outcome, category, count, qualifier = key
        node = KGR[f"claim-{short_hash(*key)}"]
        g = self.facts
        g.add((node, RDF.type, KGO.CasualtyClaim))
        g.add((node, KGO.aboutEvent, KGR[event]))
        if claimant:
            g.add((node, KGO.claimant, KGR[claimant]))
        g.add((node, KGO.outcome, KGO[outcome]))
        g.add((node, KGO.victimCategory, KGO[category]))
        g.add((node, KGO.count, Literal(count)))
        g.add((node, KGO.qualifier, KGO[qualifier]))
        if key in self.corpus.unverified:
            g.add((node, KGO.verified, Literal(False)))
        who = self.corpus.entities[claimant].label if claimant in self.corpus.entities else "unattributed"
        g.add(
            (
                node,
                RDFS.label,
                Literal(f"{who}: {qualifier_text(qualifier)}{count} {category_text(category)} {outcome_text(outcome)}"),
            )
        )
        for ev in evidence:
            g.add((node, PROV.wasDerivedFrom, self.add_evidence(ev)))


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


def to_graph(dataset: Dataset) -> Graph:
    """All named graphs as one plain graph (for Turtle, N-Triples, JSON-LD and SPARQL)."""
    merged = Graph()
    for prefix, ns in dataset.namespaces():
        merged.bind(prefix, ns)
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        if not isinstance(s, BNode):
            merged.add((s, p, o))
    return merged


def write(dataset: Dataset, path: str | os.PathLike) -> None:
    """Serialise to a temporary file beside `path`, then rename: never a half-written graph."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown extension; use one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        target = dataset if fmt in QUAD_FORMATS else to_graph(dataset)
        target.serialize(destination=tmp, format=fmt, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike) -> Graph:
    """A graph file of any supported format, as one plain graph."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower(), "turtle")
    if fmt in QUAD_FORMATS:
        ds = Dataset()
        ds.parse(path, format=fmt)
        return to_graph(ds)
    g = Graph()
    g.parse(path, format=fmt)
    return g
