"""Synthetic RDF in the contract's shape, for load and query benchmarks at sizes the seeds
cannot reach: entities with labels, events with places and perpetrators, and reified
statements with their evidence (quote, rule, document), as our builds write them.
"""

from __future__ import annotations

import random
from pathlib import Path

KGO = "https://w3id.org/kgae/ontology#"
KGR = "https://w3id.org/kgae/id/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
TYPES = ["ArmedGroup", "PoliticalParty", "StateBody", "Person", "City", "District", "Province"]
PREDICATES = ["allyOf", "opposes", "memberOf", "leaderOf", "operatesIn", "splinterOf", "fundedBy"]
EVENTS = ["Bombing", "ArmedAttack", "SuicideAttack", "Kidnapping", "SecurityOperation"]


def _lit(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def triples(target: int, seed: int = 7):
    """Yield N-Quads lines until about `target` quads; about 14 quads per statement."""
    rng = random.Random(seed)
    entities = max(100, target // 100)
    emitted = 0
    for i in range(entities):
        iri = f"<{KGR}e{i}>"
        yield f"{iri} <{RDF}type> <{KGO}{TYPES[i % len(TYPES)]}> .\n"
        yield f"{iri} <{RDFS}label> {_lit(f'Entity {i}')} .\n"
        emitted += 2
    n = 0
    while emitted < target:
        doc = f"<{KGR}doc-{n // 40}>"
        st, ev = f"<{KGR}st-{n}>", f"<{KGR}ev-{n}>"
        s, o = rng.randrange(entities), rng.randrange(entities)
        pred = PREDICATES[n % len(PREDICATES)]
        event = f"<{KGR}event-{n}>"
        lines = [
            f"<{KGR}e{s}> <{KGO}{pred}> <{KGR}e{o}> {doc} .",
            f"{st} <{RDF}type> <{RDF}Statement> .",
            f"{st} <{RDF}subject> <{KGR}e{s}> .",
            f"{st} <{RDF}predicate> <{KGO}{pred}> .",
            f"{st} <{RDF}object> <{KGR}e{o}> .",
            f"{st} <{KGO}modality> <{KGO}Asserted> .",
            f"{st} <{PROV}wasDerivedFrom> {ev} .",
            f"{ev} <{KGO}quote> {_lit(f'Entity {s} said to {pred} Entity {o} in report {n}.')} .",
            f"{ev} <{KGO}rule> {_lit(f'rel-{pred}')} .",
            f"{ev} <{KGO}document> {doc} .",
            f"{doc} <{DCT}title> {_lit(f'Report {n // 40}')} .",
            f"{event} <{RDF}type> <{KGO}{EVENTS[n % len(EVENTS)]}> .",
            f"{event} <{KGO}perpetrator> <{KGR}e{s}> .",
            f"{event} <{KGO}location> <{KGR}e{rng.randrange(entities)}> .",
        ]
        for line in lines:
            yield line + "\n"
        emitted += len(lines)
        n += 1


def write_nquads(path: Path, target: int) -> int:
    """Write about `target` quads to `path`; returns the number written."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for line in triples(target):
            out.write(line)
            count += 1
    return count


# Analyst questions, the shape of the saved ones: who did what where, with the evidence.
QUERIES = {
    "explain one entity": f"""
        SELECT ?p ?o ?quote WHERE {{
          ?st <{RDF}subject> <{KGR}e42> ; <{RDF}predicate> ?p ; <{RDF}object> ?o ;
              <{PROV}wasDerivedFrom>/<{KGO}quote> ?quote . }}""",
    "attacks by perpetrator (top 10)": f"""
        SELECT ?who (COUNT(?e) AS ?n) WHERE {{
          ?e a <{KGO}Bombing> ; <{KGO}perpetrator> ?who . }}
        GROUP BY ?who ORDER BY DESC(?n) LIMIT 10""",
    "allies of allies (2 hops)": f"""
        SELECT DISTINCT ?c WHERE {{ <{KGR}e7> <{KGO}allyOf> ?b . ?b <{KGO}allyOf> ?c . }}""",
    "label lookup": f"""
        SELECT ?e WHERE {{ ?e <{RDFS}label> "Entity 4242" . }}""",
}


def graph_edges(nodes: int, edges: int, seed: int = 7) -> list[tuple[int, int]]:
    """A scale-free-ish edge list (preferential attachment), like actor networks are."""
    import networkx as nx

    per_node = max(1, edges // nodes)
    return list(nx.barabasi_albert_graph(nodes, per_node, seed=seed).edges())


ENTITY_TYPES = [
    ("ArmedGroup", "Actor"),
    ("Person", "Actor"),
    ("PoliticalParty", "Actor"),
    ("StateBody", "Actor"),
    ("District", "Location"),
    ("City", "Location"),
    ("Attack", "Event"),
    ("SecurityOperation", "Event"),
]
RELATIONS = ["leads", "memberOf", "operatesIn", "perpetrator", "target", "location", "accuses"]


def entity_graph(nodes: int, edges_per_node: int = 2):
    """What kg.analysis.entity_graph makes of a graph (the nodes and edges `kg viz` draws),
    at a size the seeds cannot reach: typed nodes, relations with a quote each."""
    import networkx as nx

    E = nx.MultiDiGraph()
    for i in range(nodes):
        etype, kind = ENTITY_TYPES[i % len(ENTITY_TYPES)]
        date = "2026-01-31" if kind == "Event" else None
        E.add_node(f"{KGR}e{i}", label=f"Entity {i}", type=etype, kind=kind, classes=[etype], aliases=[], date=date)
    for n, (u, v) in enumerate(graph_edges(nodes, nodes * edges_per_node)):
        rel = RELATIONS[n % len(RELATIONS)]
        doc = f"Report {n // 40}"
        quote = f"Entity {u} and Entity {v}, in report {n}."
        evidence = [
            {"quote": quote, "document": doc, "document_iri": f"{KGR}doc-{n // 40}", "date": "", "modality": "Asserted"}
        ]
        E.add_edge(
            f"{KGR}e{u}",
            f"{KGR}e{v}",
            key=rel,
            relation=rel,
            modality=["Asserted"],
            evidence=evidence,
            documents=[doc],
            support=1,
        )
    return E


SYLLABLES = ["ab", "ba", "da", "far", "gul", "ha", "ja", "kha", "la", "ma", "na", "qa", "ra", "sa", "ta", "wa", "ya"]
SYLLABLES += ["za", "mir", "shah", "din", "ul", "lah", "ud", "raz", "iq", "bad", "ar", "al", "im"]


def minted_people(count: int, twins: float = 0.2, seed: int = 7) -> list[tuple[str, str]]:
    """(id, label) of `count` made-up people's names, as name patterns mint them from text:
    two words of two or three syllables, and a share `twins` of them spelled a second way too
    (a vowel changed, a letter doubled), as another article would spell them."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()

    def twin(label: str) -> str:
        at = rng.choice([i for i, ch in enumerate(label) if ch.isalpha()])
        if label[at] in "aeiou":
            return label[:at] + rng.choice("aeiou".replace(label[at], "")) + label[at + 1 :]
        return label[:at] + label[at] + label[at:]

    firsts = [word() for _ in range(max(50, count // 40))]
    lasts = [word() for _ in range(max(80, count // 25))]
    names: dict[str, str] = {}
    while len(names) < count:
        label = f"{rng.choice(firsts)} {rng.choice(lasts)}"
        for name in [label, twin(label)] if rng.random() < twins else [label]:
            names.setdefault(name.lower().replace(" ", "-"), name)
    return list(names.items())[:count]


PEOPLE_SENTENCES = [  # shapes the name patterns read (kg/rules/names.yaml): a title, a speech verb, "led by", "who"
    "Senator {} said on Monday that the talks would resume.",
    "Provincial minister {} told reporters that the schools would reopen next week.",
    "The committee was chaired by {}, who called for calm.",
    "Spokesman {} said the roads into the district were open again.",
]


def people_corpus(out: Path, people: int, per_doc: int = 5, seed: int = 7) -> int:
    """Documents that mint people: `per_doc` of `people` made-up names each (minted_people,
    a fifth spelled two ways) in sentences the name patterns read, dated 30 documents a day.
    The corpora of bench/gen.py name their people from the dictionaries, so their builds
    mint few; a year of real news mints tens of thousands. Returns the documents written."""
    import json
    from datetime import date, timedelta

    rng = random.Random(seed)
    names = [label for _, label in minted_people(people, seed=seed)]
    out.mkdir(parents=True, exist_ok=True)
    metadata = {}
    for number, start in enumerate(range(0, len(names), per_doc)):
        path = out / f"doc{number:06d}.txt"
        text = "\n\n".join(rng.choice(PEOPLE_SENTENCES).format(name) for name in names[start : start + per_doc])
        path.write_text(text + "\n", encoding="utf-8")
        metadata[path.name] = {"published": (date(2025, 1, 1) + timedelta(days=number // 30)).isoformat()}
    (out / "metadata.json").write_text(json.dumps(metadata, indent=1), encoding="utf-8")
    return len(metadata)
