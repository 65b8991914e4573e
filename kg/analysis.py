"""RDF → NetworkX: the entity graph and the actor graph, and the analyses run on them
(paths, centrality, communities, ego networks, the event timeline).

Edges are read from the contract's `rdf:Statement` nodes, not from plain triples, so that
every edge keeps its modality and its evidence (quote, document title, document date) and
so that Alleged or Denied statements can be shown when asked for. Only IRI-to-IRI
statements become edges: literals (dates, counts) never become nodes.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
from rdflib import Graph, URIRef

from kg.gcpolicy import fewer_collections
from kg.vocab import ENTITY_RELATIONS, PARENT_CLASS, PREFIXES

KGO_NS = "https://w3id.org/kgae/ontology#"

# Relations of the contract that link two entities (plus kgo:sponsors, which the ontology
# adds and which only ever appears as an allegation).
RELATIONS = (*ENTITY_RELATIONS, "participant", "sponsors")
# Relations through which an actor takes part in an event (for the actor graph).
EVENT_ROLES = ("claimedResponsibilityFor", "perpetrator", "target", "participant")
ASSERTED = frozenset({"Asserted", "Claimed"})
KINDS = ("Event", "Actor", "Location", "Facility")

# The contract's class tree, so that small graphs without the ontology still resolve
# `--type Organization` to its sub-classes; the graph's own rdfs:subClassOf are added to it.
CLASS_PARENTS: dict[str, tuple[str, ...]] = PARENT_CLASS

EDGE_QUERY = (
    PREFIXES
    + """
SELECT ?s ?p ?o ?m ?q ?d ?title ?ddate WHERE {
  ?st rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o .
  FILTER(isIRI(?o) && ?p IN (%s))
  OPTIONAL { ?st kgo:modality ?m }
  OPTIONAL { ?st prov:wasDerivedFrom ?ev . ?ev kgo:quote ?q ; kgo:document ?d .
             OPTIONAL { ?d dcterms:title ?title } OPTIONAL { ?d dcterms:date ?ddate } }
}"""
)
PLAIN_QUERY = (
    PREFIXES
    + """
SELECT ?s ?p ?o WHERE { VALUES ?p { %s } ?s ?p ?o . FILTER(isIRI(?o)) }"""
)
NODE_QUERY = (
    PREFIXES
    + """
SELECT ?n ?t ?label ?date WHERE {
  ?n a ?t . FILTER(STRSTARTS(STR(?t), STR(kgo:)))
  OPTIONAL { ?n rdfs:label ?label } OPTIONAL { ?n kgo:date ?date }
}"""
)
ALIAS_QUERY = PREFIXES + "SELECT ?n ?alias WHERE { ?n skos:altLabel ?alias }"


class Row(tuple):
    """A query's answer as rdflib gives it: values by position, by name (`row["count"]`) and
    as attributes (`row.label`), None where unbound."""

    __slots__ = ()
    fields: dict[str, int] = {}

    def __getattr__(self, name: str) -> object:
        try:
            return self[self.fields[name]]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key):  # type: ignore[override]
        return tuple.__getitem__(self, self.fields[key] if isinstance(key, str) else key)


class StoreGraph:
    """A graph in Oxigraph with the two things the analysis asks of an rdflib Graph: `query`
    (rows whose values are rdflib terms, by name) and `subject_objects`. The projection's
    SPARQL then runs in Rust: on the 10 MB corpus's graph (202,000 quads) `kg rank` took 55 s
    through rdflib, nearly all of it reading the file and answering these queries."""

    def __init__(self, store: object):
        self.store = store

    def query(self, text: str, initBindings: dict | None = None) -> list:  # noqa: N803 (rdflib's name)
        from kg.store import answers

        found = answers(self.store, text, initBindings)  # named graphs in the default graph, as in a file
        row = type("Row", (Row,), {"__slots__": (), "fields": {name: i for i, name in enumerate(found.vars)}})
        return [row(values) for values in found.rows]

    def subject_objects(self, predicate: URIRef) -> Iterator[tuple]:
        from kg.graph import from_ox, to_ox

        for quad in self.store.quads_for_pattern(None, to_ox(predicate), None, None):
            yield from_ox(quad.subject), from_ox(quad.object)


class GraphError(ValueError):
    """A GRAPH argument that cannot be read: the message names it and says why."""


def load_graph(source: str) -> StoreGraph:
    """The one place a GRAPH argument becomes a graph the analysis reads: a graph file, read
    into an in-memory Oxigraph store, or a store directory, opened read-only. The functions
    here take an rdflib Graph as well (kg.api passes one)."""
    from kg.store import StoreError, memory_store, open_store

    path = Path(source)
    try:
        return StoreGraph(open_store(path) if path.is_dir() else memory_store(path))
    except StoreError as exc:
        raise GraphError(str(exc)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise GraphError(f"{source}: cannot be read as a graph: {exc}") from exc


@dataclass(frozen=True)
class Filters:
    """What to keep when projecting. `types` keeps nodes of those classes or their
    sub-classes (an induced sub-graph); dates compare an event's kgo:date at its own
    precision (undated events are dropped once a range is given); `documents` keeps edges
    with evidence in those documents (IRI, id, title or source); `min_support` drops edges
    stated by fewer documents (gazetteer edges have none)."""

    types: frozenset[str] = frozenset()
    date_from: str | None = None
    date_to: str | None = None
    documents: frozenset[str] = frozenset()
    modalities: frozenset[str] = ASSERTED
    min_support: int = 0


@dataclass
class EdgeData:
    relation: str
    modalities: set[str] = field(default_factory=set)
    evidence: dict[tuple[str, str], dict] = field(default_factory=dict)


def local(term: object) -> str:
    """kgo:ArmedGroup → 'ArmedGroup'; kgr:bla → 'bla'."""
    text = str(term)
    return text.rsplit("#", 1)[-1] if "#" in text else text.rsplit("/", 1)[-1]


def class_ancestors(graph: Graph | StoreGraph) -> dict[str, set[str]]:
    """Every class with all its super-classes (itself included)."""
    parents: dict[str, set[str]] = defaultdict(set)
    for child, ps in CLASS_PARENTS.items():
        parents[child] |= set(ps)
    for child, parent in graph.subject_objects(URIRef("http://www.w3.org/2000/01/rdf-schema#subClassOf")):
        if str(child).startswith(KGO_NS) and str(parent).startswith(KGO_NS):
            parents[local(child)].add(local(parent))

    def up(cls: str, seen: set[str]) -> set[str]:
        for p in parents.get(cls, ()):
            if p not in seen:
                seen.add(p)
                up(p, seen)
        return seen

    return {c: up(c, {c}) for c in set(parents) | set(KINDS)}


def most_specific(types: set[str], ancestors: dict[str, set[str]]) -> str:
    """The type no other type of the node is a sub-class of (ties broken by name)."""
    candidates = [t for t in types if not any(t != o and t in ancestors.get(o, {o}) for o in types)]
    return sorted(candidates)[0] if candidates else "Thing"


def kind_of(types: set[str], ancestors: dict[str, set[str]]) -> str | None:
    """Event, Actor, Location or Facility; Country counts as an Actor."""
    closure = set().union(*(ancestors.get(t, {t}) for t in types)) if types else set()
    return next((k for k in KINDS if k in closure), None)


def _read_nodes(graph: Graph | StoreGraph, ancestors: dict[str, set[str]]) -> dict[str, dict]:
    types: dict[str, set[str]] = defaultdict(set)
    labels: dict[str, str] = {}
    dates: dict[str, str] = {}
    for n, t, label, date in _strings(graph, NODE_QUERY):
        types[n].add(local(t))
        if label is not None:
            labels.setdefault(n, label)
        if date is not None:
            dates.setdefault(n, date)
    aliases: dict[str, list[str]] = defaultdict(list)
    for n, alias in _strings(graph, ALIAS_QUERY):
        aliases[n].append(alias)
    nodes = {}
    for n, ts in types.items():
        kind = kind_of(ts, ancestors)
        if kind is None:
            continue
        closure = set().union(*(ancestors.get(t, {t}) for t in ts))
        nodes[n] = {
            "label": labels.get(n, local(n)),
            "type": most_specific(ts, ancestors),
            "kind": kind,
            "classes": sorted(closure),
            "aliases": sorted(aliases[n]),
            "iri": n,
        }
        if n in dates:
            nodes[n]["date"] = dates[n]
    return nodes


def _read_edges(graph: Graph | StoreGraph) -> dict[tuple[str, str, str], EdgeData]:
    preds = ", ".join(f"kgo:{r}" for r in RELATIONS)
    edges: dict[tuple[str, str, str], EdgeData] = {}
    for s, p, o, m, q, d, title, ddate in _strings(graph, EDGE_QUERY % preds):
        key = (s, o, local(p))
        data = edges.setdefault(key, EdgeData(key[2]))
        modality = local(m) if m is not None else "Asserted"
        data.modalities.add(modality)
        if q is not None:
            document = title or local(d)
            ev = {"quote": q, "document": document, "document_iri": d, "date": ddate or "", "modality": modality}
            data.evidence.setdefault((d, q), ev)
    # plain triples a statement describes are already edges (setdefault keeps them): asking
    # for those without one (FILTER NOT EXISTS) took Oxigraph 23 s on the 10 MB corpus's graph
    for s, p, o in _strings(graph, PLAIN_QUERY % " ".join(f"kgo:{r}" for r in RELATIONS)):
        key = (s, o, local(p))
        edges.setdefault(key, EdgeData(key[2], {"Asserted"}))
    return edges


def _strings(graph: Graph | StoreGraph, text: str) -> Iterator[tuple]:
    """A SELECT's rows as the text of their terms (an IRI, a blank node's id, a literal's
    lexical form: what str() gives of rdflib's terms), None where unbound: all the projection
    reads of them. From Oxigraph's answers directly for a StoreGraph: making rdflib terms and
    rows of them first was ~40% of projecting the 10 MB corpus's graph."""
    if isinstance(graph, StoreGraph):
        for solution in graph.store.query(text, use_default_graph_as_union=True):
            yield tuple(None if term is None else term.value for term in solution)
    else:
        for row in graph.query(text):
            yield tuple(None if term is None else str(term) for term in row)


def _interval(value: str) -> tuple[str, str]:
    """'2025-03' → ('2025-03-01', '2025-03-31'): a date at its precision, as a range."""
    start = value + "-01-01"[len(value) - 4 :] if len(value) < 10 else value[:10]
    end = value + "-12-31"[len(value) - 4 :] if len(value) < 10 else value[:10]
    return start, end


def date_in_range(value: str | None, date_from: str | None, date_to: str | None) -> bool:
    """Whether an event dated `value` (at year, month or day precision) may fall in range."""
    if date_from is None and date_to is None:
        return True
    if not value:
        return False
    start, end = _interval(value)
    return (date_from is None or end >= _interval(date_from)[0]) and (date_to is None or start <= _interval(date_to)[1])


def _document_matches(ev: dict, wanted: frozenset[str]) -> bool:
    iri = ev["document_iri"]
    names = {iri, local(iri), local(iri).removeprefix("doc-"), ev["document"]}
    return bool(names & wanted)


def _keep_node(data: dict, f: Filters) -> bool:
    if f.types and not f.types & set(data["classes"]):
        return False
    if data["kind"] == "Event" and (f.date_from or f.date_to):
        return date_in_range(data.get("date"), f.date_from, f.date_to)
    return True


def _edge_attrs(data: EdgeData, f: Filters) -> dict | None:
    """The edge's attributes after the filters, or None when the filters drop it."""
    modalities = data.modalities & f.modalities
    if not modalities:
        return None
    evidence = [ev for ev in data.evidence.values() if ev["modality"] in modalities]
    if f.documents:
        evidence = [ev for ev in evidence if _document_matches(ev, f.documents)]
        if not evidence:
            return None
    documents = sorted({ev["document"] for ev in evidence})
    if len(documents) < f.min_support:
        return None
    evidence.sort(key=lambda ev: (ev["date"], ev["document"], ev["quote"]))
    return {
        "relation": data.relation,
        "modality": sorted(modalities),
        "evidence": evidence,
        "documents": documents,
        "support": len(documents),
    }


def entity_graph(graph: Graph | StoreGraph, filters: Filters | None = None) -> nx.MultiDiGraph:
    """Actors, places, facilities and events as nodes; one edge per (subject, object,
    relation), keyed by relation, carrying its evidence. Isolated entities are kept. Made
    with fewer cyclic collections (kg.gcpolicy.fewer_collections): ~10% of projecting the
    10 MB corpus's graph was the collector rescanning the nodes' and edges' dicts."""
    f = filters or Filters()
    with fewer_collections():
        ancestors = class_ancestors(graph)
        G = nx.MultiDiGraph()
        for n, data in _read_nodes(graph, ancestors).items():
            if _keep_node(data, f):
                G.add_node(n, **data)
        for (s, o, rel), data in sorted(_read_edges(graph).items()):
            if s not in G or o not in G:
                continue
            attrs = _edge_attrs(data, f)
            if attrs is not None:
                G.add_edge(s, o, key=rel, **attrs)
    return G


def _add_link(A: nx.Graph, u: str, v: str, relation: str, documents: Iterable[str], event: str | None = None) -> None:
    if u == v:
        return
    if not A.has_edge(u, v):
        A.add_edge(u, v, relations=set(), events=set(), documents=set())
    e = A.edges[u, v]
    e["relations"].add(relation)
    e["documents"] |= set(documents)
    if event:
        e["events"].add(event)
    e["weight"] = len(e["documents"])


def actor_graph(E: nx.MultiDiGraph) -> nx.Graph:
    """Actors only, linked when related directly or through an event both took part in
    (perpetrator, target, participant, claimed it); weight = number of supporting documents
    (for a shared event: the documents of either actor's part in it)."""
    A = nx.Graph()
    A.add_nodes_from((n, d) for n, d in E.nodes(data=True) if d["kind"] == "Actor")
    roles: dict[str, list[tuple[str, str, list[str]]]] = defaultdict(list)
    for s, o, d in E.edges(data=True):
        if s in A and o in A:
            _add_link(A, s, o, d["relation"], d["documents"])
        elif d["relation"] in EVENT_ROLES:
            event, actor = (o, s) if E.nodes[o]["kind"] == "Event" else (s, o)
            if actor in A and E.nodes[event]["kind"] == "Event":
                roles[event].append((actor, d["relation"], d["documents"]))
    for event, parts in roles.items():
        label = E.nodes[event]["label"]
        for (a, ra, da), (b, rb, db) in itertools.combinations(parts, 2):
            _add_link(A, a, b, f"{ra}/{rb} same event", [*da, *db], label)
    for _, _, e in A.edges(data=True):
        for k in ("relations", "events", "documents"):
            e[k] = sorted(e[k])
    return A


def undirected(G: nx.Graph) -> nx.Graph:
    """A simple undirected view for centrality and paths (relations read both ways). Its nodes
    carry no attributes: nothing that walks it reads them, and copying them took 0.1 s of a
    5,000-node page."""
    U = nx.Graph()
    U.add_nodes_from(G)
    U.add_edges_from((u, v) for u, v in G.edges() if u != v)
    return U


# --- names ---------------------------------------------------------------------------


class UnknownName(LookupError):
    """A name that matches no node, or several."""


def resolve(G: nx.Graph, name: str) -> str:
    """A node by IRI, slug, label or alias (case-insensitive); labels win over aliases,
    and an ambiguous name is an error that lists the candidates."""
    if name in G:
        return name
    key = name.casefold().strip()
    by_label = [n for n, d in G.nodes(data=True) if d.get("label", "").casefold() == key]
    by_alias = [
        n
        for n, d in G.nodes(data=True)
        if key in {a.casefold() for a in d.get("aliases", ())} or local(n).casefold() == key
    ]
    for found in (by_label, by_alias):
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = "; ".join(f"{G.nodes[n]['label']} <{n}>" for n in sorted(found))
            raise UnknownName(f"{name!r} is ambiguous: {names}")
    raise UnknownName(f"no entity named {name!r} in the graph")


# --- paths ---------------------------------------------------------------------------

NO_QUOTE = {"quote": "", "document": "(no quote: gazetteer)"}


@dataclass
class Hop:
    source: str
    target: str
    relation: str  # as stated: subject --relation--> object
    forward: bool  # True when the statement reads source → target
    quote: str
    document: str


def hops(E: nx.MultiDiGraph, path: list[str]) -> list[Hop]:
    """Each step of a node path with the relation and best-supported quote that links it."""
    out = []
    for u, v in itertools.pairwise(path):
        options = [(d, True) for d in E.get_edge_data(u, v, default={}).values()]
        options += [(d, False) for d in E.get_edge_data(v, u, default={}).values()]
        d, forward = max(options, key=lambda x: (x[0]["support"], x[1], x[0]["relation"]))
        ev = d["evidence"][0] if d["evidence"] else NO_QUOTE
        out.append(Hop(u, v, d["relation"], forward, ev["quote"], ev["document"]))
    return out


def paths(
    E: nx.MultiDiGraph, a: str, b: str, every: bool = False, max_hops: int | None = None, limit: int = 20
) -> list[list[str]]:
    """The shortest path from a to b (relations read both ways); with `every`, all simple
    paths of at most `max_hops` hops (default 4), shortest first, at most `limit`."""
    U = undirected(E)
    if not every:
        try:
            path = nx.shortest_path(U, a, b)
        except nx.NetworkXNoPath:
            return []
        return [path] if max_hops is None or len(path) - 1 <= max_hops else []
    cutoff = max_hops if max_hops is not None else 4
    found = sorted(nx.all_simple_paths(U, a, b, cutoff=cutoff), key=lambda p: (len(p), p))
    return found[:limit]


# --- centrality ----------------------------------------------------------------------

SAMPLE_ABOVE = 5000
SAMPLE_K = 500


@dataclass
class Ranking:
    scores: dict[str, dict[str, float]]
    sampled_k: int | None = None  # set when betweenness was estimated from k pivots


class Adjacency:
    """A graph's nodes in order and its undirected edges, each once, as two arrays of node
    indices (`lo` <= `hi`, sorted): what the measures run in C and numpy read. Made once
    for all four measures: at 100k nodes / 500k edges, copying the graph into an undirected
    NetworkX graph took ~2.9 s, and NetworkX's own sparse matrix for PageRank ~2 s more.
    Self-loops are dropped, as `undirected` drops them, unless `loops` (eigenvector_power
    on a graph as it is)."""

    def __init__(self, G: nx.Graph, loops: bool = False) -> None:
        import numpy as np

        self.nodes = list(G)
        n = len(self.nodes)
        index = {v: i for i, v in enumerate(self.nodes)}
        # each node's neighbours (successors in a digraph) in one pass in C: a node's row
        # index repeated as many times as it has neighbours, beside their indices
        neighbours = G.adj.values()
        counts = np.fromiter(map(len, neighbours), dtype=np.int64, count=n)
        u = np.repeat(np.arange(n, dtype=np.int64), counts)
        v = np.fromiter(map(index.__getitem__, itertools.chain.from_iterable(neighbours)), np.int64, int(counts.sum()))
        if not loops:
            u, v = u[u != v], v[u != v]
        keys = np.sort(np.minimum(u, v) * n + np.maximum(u, v))  # (a, b) and (b, a) are one edge
        once = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys
        # (np.unique gives the same, but took 1.4 s for 1M keys where sorting takes 0.02 s: numpy 2.4)
        self.lo, self.hi = once // n, once % n

    def __len__(self) -> int:
        return len(self.nodes)

    def degrees(self):
        """Each node's number of neighbours (a self-loop counts twice, as in NetworkX)."""
        import numpy as np

        n = len(self.nodes)
        return np.bincount(self.lo, minlength=n) + np.bincount(self.hi, minlength=n)

    def matrix(self, diagonal: bool = False):
        """The symmetric 0/1 adjacency matrix (CSR; with `diagonal`, A + I), each row's
        entries in column order, the diagonal first (what eigenvector_power's sums need)."""
        import numpy as np
        from scipy import sparse

        n = len(self.nodes)
        other = self.lo != self.hi  # an edge adds to both ends, a self-loop once
        rows = np.concatenate([self.lo, self.hi[other]])
        cols = np.concatenate([self.hi, self.lo[other]])
        first = cols  # each row's entries in column order, a self-loop's among them
        if diagonal:  # the diagonal before them all
            every = np.arange(n, dtype=np.int64)
            rows, cols = np.concatenate([every, rows]), np.concatenate([every, cols])
            first = np.concatenate([np.full(n, -1, dtype=np.int64), first])
        order = np.lexsort((first, rows))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        return sparse.csr_array((np.ones(len(order)), cols[order], indptr), shape=(n, n))


def _igraph():
    """The igraph module, or None when it is not installed (NetworkX is then used).

    igraph's package imports matplotlib.pyplot, for its own plotting, whenever matplotlib is
    installed (igraph/python-igraph#762, open): 0.9-1.2 s of every `kg rank` and `kg viz`,
    which draw nothing with igraph. So where matplotlib is not loaded yet, igraph is imported
    with it hidden, and matplotlib stays importable as before; an igraph that cannot be
    imported without it is imported with it. In such a process igraph's own matplotlib
    drawing is off ("You need to install matplotlib"); a notebook that wants it imports
    matplotlib.pyplot before kg first ranks or draws."""
    if "igraph" in sys.modules:
        return sys.modules["igraph"]
    if "matplotlib" not in sys.modules:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]  # import matplotlib: ImportError
        try:
            import igraph

            return igraph
        except ImportError:
            pass  # not installed, or it needs matplotlib after all: tried again below
        finally:
            if sys.modules.get("matplotlib", False) is None:
                del sys.modules["matplotlib"]
    try:
        import igraph
    except ImportError:
        return None
    return igraph


def betweenness(U: nx.Graph, k: int | None = None, seed: int | None = 0, workers: int = 1) -> dict:
    """`nx.betweenness_centrality(U, k=k, seed=seed)` (normalised, endpoints excluded), the same
    numbers, with the shortest-path counting done by igraph in C (about 40x faster than
    NetworkX's pure Python: 500 pivots on 100k nodes / 500k edges take ~14 s instead of ~11 min).

    igraph is used for every size, not only for large graphs, so that the one code path is the
    one the tests compare with NetworkX. How it stays equal to NetworkX (>= 3.5):
    - the pivots are NetworkX's: `create_py_random_state(seed).sample(list(U), k)`, as its
      `@py_random_state` decorator and `betweenness_centrality` draw them (no draw when k is
      None or k == n);
    - igraph's subset betweenness (`sources=` the pivots, all targets) counts each unordered
      pair once on an undirected graph, NetworkX's accumulation counts (s, t) and (t, s):
      twice igraph's figure is NetworkX's raw sum;
    - that sum is rescaled as NetworkX's `_rescale` does with normalized=True, endpoints=False:
      N = n - 1 pairs through v; exact: 1 / (N (N - 1)); sampled with k pivots: 1 / ((k - 1)(N - 1))
      for a pivot (it cannot be its own target) and 1 / (k (N - 1)) for the others (NetworkX 3.5's
      rescaling, hence networkx>=3.5 in setup.cfg).
    Directed graphs, multigraphs and k < 1 are left to NetworkX; so is everything when igraph
    is missing. `workers` > 1 shares the sources among that many processes (`_split_sources`)."""
    if _igraph() is None or U.is_directed() or U.is_multigraph() or (k is not None and k < 1):
        return nx.betweenness_centrality(U, k=k, seed=seed)
    adjacency = Adjacency(U, loops=True)
    return dict(zip(adjacency.nodes, betweenness_of(adjacency, k, seed, workers), strict=True))


def betweenness_of(adjacency: Adjacency, k: int | None, seed: int | None, workers: int = 1) -> list[float]:
    """`betweenness` on an Adjacency, igraph present: the scores in node order."""
    ig = _igraph()
    nodes = adjacency.nodes
    n = len(nodes)
    if k == n:
        k = None
    pivots = None if k is None else nx.utils.create_py_random_state(seed).sample(nodes, k)
    g = ig.Graph(n=n, edges=list(zip(adjacency.lo.tolist(), adjacency.hi.tolist(), strict=True)))
    if pivots is None:
        sources = None
    else:
        index = {v: i for i, v in enumerate(nodes)}
        sources = [index[s] for s in pivots]
    raw = _split_sources(g, sources, workers) if workers > 1 else _from_sources(g, sources)
    N = n - 1
    if N < 2:  # no pair of other nodes: every score is 0, NetworkX leaves them unscaled
        return [2 * b for b in raw]
    if k is None:
        scale = 1 / (N * (N - 1))
        return [2 * b * scale for b in raw]
    scale_pivot = 1 / ((k - 1) * (N - 1)) if k > 1 else math.nan
    scale_other = 1 / (k * (N - 1))
    chosen = set(sources)
    return [2 * b * (scale_pivot if i in chosen else scale_other) for i, b in enumerate(raw)]


def _from_sources(g, sources: list[int] | None) -> list[float]:
    """igraph's betweenness counted from `sources` (every node: None), undirected."""
    return g.betweenness(directed=False) if sources is None else g.betweenness(directed=False, sources=sources)


_FORKED_GRAPH = None  # the igraph graph a forked worker counts from (_split_sources)


def _count_inherited(sources: list[int]) -> list[float]:
    return _from_sources(_FORKED_GRAPH, sources)


def _split_sources(g, sources: list[int] | None, workers: int) -> list[float]:
    """Subset betweenness is a sum over its sources, each source's share its own, so the
    sources can be counted apart and the shares added, in `workers` processes (igraph holds
    the GIL, so threads gain nothing, and this process counting a share too would keep the
    pool's thread from handing out the others till it was done). They are forked and inherit
    the graph; nothing but the sources and the scores is pickled. The sum is NetworkX's up to
    the order of additions (tested within 1e-9, as the one-process path). Where fork is
    missing, or there are too few sources to share, one process counts them all."""
    from kg.parallel import can_fork, forked_pool

    every = list(range(g.vcount())) if sources is None else sources
    if not can_fork() or len(every) < 2 * workers:
        return _from_sources(g, sources)
    shares = [every[i::workers] for i in range(workers)]  # interleaved: pivots are in random order anyway
    global _FORKED_GRAPH
    _FORKED_GRAPH = g
    try:
        with forked_pool(workers) as pool:
            counted = list(pool.map(_count_inherited, shares))
    finally:
        _FORKED_GRAPH = None
    return [math.fsum(column) for column in zip(*counted, strict=True)]


def eigenvector_power(U: nx.Graph, max_iter: int = 1000, tol: float = 1e-08) -> dict:
    """`nx.eigenvector_centrality(U, max_iter=max_iter, tol=tol)` (unweighted), the very same
    floating-point operations on a scipy sparse matrix instead of Python dicts (100k nodes /
    500k edges: ~1.5 s instead of ~35 s). NetworkX starts from 1/n everywhere; each step adds to
    x[v] first its own last value, then its neighbours' in node order, divides by
    `math.hypot` of the vector, and stops when the L1 change (`sum`, in node order) is below
    n * tol, or raises PowerIterationFailedConvergence after max_iter steps. Here the rows of
    A + I hold the diagonal first and then the neighbours in node order, and scipy's CSR
    product adds a row's terms one by one from 0, so x_new = (A + I) @ x is summed in the same
    order, and the norm and the stop test are the same Python calls. Directed graphs and
    multigraphs are left to NetworkX."""
    if U.is_directed() or U.is_multigraph():
        return nx.eigenvector_centrality(U, max_iter=max_iter, tol=tol)
    if len(U) == 0:
        raise nx.NetworkXPointlessConcept("cannot compute centrality for the null graph")
    adjacency = Adjacency(U, loops=True)
    return dict(zip(adjacency.nodes, eigenvector_of(adjacency, max_iter, tol), strict=True))


def eigenvector_of(adjacency: Adjacency, max_iter: int = 1000, tol: float = 1e-08) -> list[float]:
    """`eigenvector_power` on an Adjacency: the scores in node order."""
    import numpy as np

    n = len(adjacency)
    A_plus_I = adjacency.matrix(diagonal=True)
    x = np.full(n, 1 / n)
    for _ in range(max_iter):
        xlast = x
        x = A_plus_I @ xlast
        x = x / (math.hypot(*x.tolist()) or 1)
        if sum(np.abs(x - xlast).tolist()) < n * tol:
            return x.tolist()
    raise nx.PowerIterationFailedConvergence(max_iter)


def pagerank_of(adjacency: Adjacency, alpha: float = 0.85, max_iter: int = 100, tol: float = 1.0e-6) -> list[float]:
    """`nx.pagerank(U)` (no weights, personalisation or start vector) on an Adjacency: the
    scores in node order, bit for bit NetworkX's. Its `_pagerank_scipy` builds the same 0/1
    matrix through `to_scipy_sparse_array` (~2 s at 100k nodes / 500k edges, this ~0.2 s) and
    then runs the steps below: each row divided by its sum, x @ A adding each column's terms
    in row order, whatever the order within a row, and the same sums and stop test."""
    import numpy as np
    from scipy import sparse

    n = len(adjacency)
    A = adjacency.matrix()
    S = A.sum(axis=1)
    S[S != 0] = 1.0 / S[S != 0]
    Q = sparse.dia_array((S.T, 0), shape=A.shape).tocsr()
    A = Q @ A
    x = np.repeat(1.0 / n, n)
    p = np.repeat(1.0 / n, n)
    is_dangling = np.where(S == 0)[0]
    for _ in range(max_iter):
        xlast = x
        x = alpha * (x @ A + sum(x[is_dangling]) * p) + (1 - alpha) * p
        if np.absolute(x - xlast).sum() < n * tol:
            return list(map(float, x))
    raise nx.PowerIterationFailedConvergence(max_iter)


def _eigenvector(adjacency: Adjacency, G: nx.Graph) -> list[float]:
    """Eigenvector centrality in node order; where the power iteration fails, NetworkX's
    eigensolver on the undirected graph, as before, or, on a graph of several components,
    which that solver refuses (networkx gh-6888), what the power iteration tends to."""
    if len(adjacency.lo) == 0:
        return [0.0] * len(adjacency)
    try:
        return eigenvector_of(adjacency)
    except (nx.PowerIterationFailedConvergence, nx.NetworkXException):
        try:
            found = nx.eigenvector_centrality_numpy(undirected(G))
        except nx.AmbiguousSolution:
            return power_limit(adjacency)
        return [float(found[v]) for v in adjacency.nodes]


def power_limit(adjacency: Adjacency) -> list[float]:
    """What eigenvector_of tends to, in node order, when it does not settle within its steps
    on a graph of several components (two whose largest eigenvalues are close converge
    slowly: 2.170 and 2.175 took NetworkX 10,000 steps). From the uniform start it tends to
    the principal eigenvector of each component whose largest eigenvalue is the graph's,
    weighted as the start projects onto it (by its sum), 0 elsewhere, at unit length."""
    import numpy as np
    from scipy.sparse import csgraph
    from scipy.sparse.linalg import eigsh

    A = adjacency.matrix()
    _, labels = csgraph.connected_components(A, directed=False)
    order = np.argsort(labels, kind="stable")
    found = []
    for members in np.split(order, np.flatnonzero(np.diff(labels[order])) + 1):
        if len(members) == 1:
            continue  # an isolated node: eigenvalue 0, below any component with an edge
        block = A[members][:, members]
        if len(members) <= DENSE_EIGEN:
            values, vectors = np.linalg.eigh(block.toarray())
        else:
            values, vectors = eigsh(block, k=1, which="LA")
        found.append((values[-1], members, np.abs(vectors[:, -1])))  # a Perron vector: one sign
    top = max(value for value, _, _ in found)
    x = np.zeros(len(adjacency))
    for value, members, vector in found:
        if value >= top * (1 - 1e-9):
            x[members] = vector * vector.sum()
    return (x / np.linalg.norm(x)).tolist()


DENSE_EIGEN = 200  # components up to this many nodes are solved dense (numpy), larger ones by ARPACK


def pivots_for(nodes: int) -> int | None:
    """How many pivots betweenness is estimated from on a graph of `nodes` (None: exact)."""
    return min(SAMPLE_K, nodes) if nodes > SAMPLE_ABOVE else None


def centrality(G: nx.Graph, seed: int = 0, workers: int = 1) -> Ranking:
    """Degree, betweenness, PageRank and eigenvector centrality of every node, on the
    undirected simple graph; above SAMPLE_ABOVE nodes betweenness is sampled (k pivots).
    NetworkX's definitions and answers throughout; betweenness runs in igraph and PageRank
    and the eigenvector power iteration in scipy, all four read off one Adjacency (see
    `betweenness`, `pagerank_of` and `eigenvector_power`); `workers` processes share
    betweenness's sources.

    Run with fewer cyclic collections (kg.gcpolicy.fewer_collections): the graph's many small
    dicts were rescanned by every full collection, 4 s of 47 s at 100k nodes / 500k edges."""
    with fewer_collections():
        adjacency = Adjacency(G)
        n = len(adjacency)
        if n == 0:
            return Ranking({})
        k = pivots_for(n)
        degree = (adjacency.degrees() * (1.0 / (n - 1.0))).tolist() if n > 1 else [1.0]  # nx.degree_centrality
        if _igraph() is None:
            found = nx.betweenness_centrality(undirected(G), k=k, seed=seed)
            between = [found[v] for v in adjacency.nodes]
        else:
            between = betweenness_of(adjacency, k, seed, workers)
        columns = zip(degree, between, pagerank_of(adjacency), _eigenvector(adjacency, G), strict=True)
        scores = {
            v: {"degree": d, "betweenness": b, "pagerank": p, "eigenvector": e}
            for v, (d, b, p, e) in zip(adjacency.nodes, columns, strict=True)
        }
        return Ranking(scores, k)


def pagerank(G: nx.Graph) -> dict:
    """PageRank on the undirected simple graph, as `centrality` gives it (all a page's node
    sizes need: the other measures cost seconds at thousands of nodes)."""
    adjacency = Adjacency(G)
    return dict(zip(adjacency.nodes, pagerank_of(adjacency), strict=True)) if len(adjacency) else {}


def rank_rows(
    G: nx.Graph, ranking: Ranking, types: Iterable[str] = (), top: int | None = None, by: str = "pagerank"
) -> list[dict]:
    """Rows for the ranking table, best first, keeping nodes of the given classes."""
    wanted = set(types)
    rows = []
    for n, s in ranking.scores.items():
        d = G.nodes[n]
        if wanted and not wanted & set(d["classes"]):
            continue
        rows.append({"name": d["label"], "type": d["type"], "links": G.degree(n), **s, "iri": n})
    rows.sort(key=lambda r: (-r[by], r["name"]))
    return rows[:top] if top else rows


# --- communities and ego networks --------------------------------------------------------


def communities(G: nx.Graph, seed: int = 42) -> list[list[str]]:
    """Louvain communities (fixed seed: the same graph gives the same answer), largest
    first, each sorted by label; weights are used where the graph has them."""
    U = nx.Graph()
    U.add_nodes_from(G.nodes(data=True))
    for u, v, d in G.edges(data=True):
        if u != v:
            w = U.get_edge_data(u, v, {}).get("weight", 0) + d.get("weight", 1)
            U.add_edge(u, v, weight=w)
    groups = nx.community.louvain_communities(U, weight="weight", seed=seed)
    label = lambda n: G.nodes[n]["label"].casefold()  # noqa: E731
    ordered = [sorted(c, key=label) for c in groups]
    return sorted(ordered, key=lambda c: (-len(c), label(c[0])))


def ego(G: nx.Graph, center: str, hops: int = 2) -> nx.Graph:
    """The nodes within `hops` of `center` (relations read both ways) and the edges among them."""
    nodes = nx.single_source_shortest_path_length(undirected(G), center, cutoff=hops)
    return induced(G, nodes)


def induced(G: nx.Graph, nodes: Iterable[str]) -> nx.Graph:
    """The subgraph of `nodes` and the edges among them, a copy in G's own order of nodes and
    edges. networkx's `G.subgraph(nodes).copy()` walks a node set under half the graph's size
    in the set's order, which follows the strings' hashes and so changes from one process to
    the next: pages, tables and communities made from it differed from run to run."""
    keep = set(nodes)
    H = G.__class__()
    H.graph.update(G.graph)
    H.add_nodes_from((n, d) for n, d in G.nodes(data=True) if n in keep)  # (copies each dict, as .copy())
    if G.is_multigraph():
        H.add_edges_from((u, v, k, d) for u, v, k, d in G.edges(keys=True, data=True) if u in keep and v in keep)
    else:
        H.add_edges_from((u, v, d) for u, v, d in G.edges(data=True) if u in keep and v in keep)
    return H


# --- timeline ------------------------------------------------------------------------

TIMELINE_QUERY = (
    PREFIXES
    + """
SELECT ?e ?label ?date ?type WHERE {
  ?e a ?type ; rdfs:label ?label . FILTER(STRSTARTS(STR(?type), STR(kgo:)))
  OPTIONAL { ?e kgo:date ?date }
}"""
)
CLAIM_QUERY = (
    PREFIXES
    + """
SELECT ?c ?e ?who ?outcome ?cat ?count ?qual ?verified WHERE {
  ?c a kgo:CasualtyClaim ; kgo:aboutEvent ?e ; kgo:outcome ?outcome ;
     kgo:victimCategory ?cat ; kgo:count ?count .
  OPTIONAL { ?c kgo:claimant ?cl . ?cl rdfs:label ?who }
  OPTIONAL { ?c kgo:qualifier ?qual } OPTIONAL { ?c kgo:verified ?verified }
}"""
)
QUALIFIER_TEXT = {
    "Exactly": "",
    "AtLeast": "at least ",
    "MoreThan": "more than ",
    "Approximately": "about ",
    "UpTo": "up to ",
}
PRECISION = {4: "year", 7: "month", 10: "day"}
CLAIMS = ("claimedResponsibilityFor",)


def _claim_text(row) -> str:
    who = str(row.who) if row.who is not None else "unattributed"
    qual = QUALIFIER_TEXT.get(local(row.qual), "") if row.qual is not None else ""
    cat = {"SecurityPersonnel": "security personnel"}.get(local(row.cat), local(row.cat).lower())
    out = {"TakenHostage": "taken hostage"}.get(local(row.outcome), local(row.outcome).lower())
    unverified = " (unverified)" if row.verified is not None and not row.verified.toPython() else ""
    return f"{who}: {qual}{row['count']} {cat} {out}{unverified}"


def timeline(graph: Graph | StoreGraph, filters: Filters | None = None) -> list[dict]:
    """Events in date order (undated last), each with its date precision, perpetrators
    (reported or claiming), places, and every side's casualty figures kept apart."""
    f = filters or Filters()
    E = entity_graph(graph, Filters(modalities=f.modalities, documents=f.documents))
    ancestors = class_ancestors(graph)
    events: dict[str, dict] = {}
    for row in graph.query(TIMELINE_QUERY):
        e = str(row.e)
        if "Event" not in ancestors.get(local(row.type), ()):
            continue
        item = events.setdefault(
            e,
            {"iri": e, "label": str(row.label), "types": set(), "date": str(row.date) if row.date is not None else ""},
        )
        item["types"].add(local(row.type))
    claims: dict[str, list[str]] = defaultdict(list)
    for row in graph.query(CLAIM_QUERY):
        claims[str(row.e)].append(_claim_text(row))
    rows = []
    for e, item in events.items():
        if not date_in_range(item["date"], f.date_from, f.date_to):
            continue
        rows.append(
            {
                "date": item["date"],
                "precision": PRECISION.get(len(item["date"]), ""),
                "event": item["label"],
                "type": most_specific(item["types"], ancestors),
                "perpetrators": _neighbours(E, e, ("perpetrator",), CLAIMS),
                "places": _neighbours(E, e, ("location",), ()),
                "figures": sorted(set(claims[e])),
                "iri": e,
            }
        )
    rows.sort(key=lambda r: (not r["date"], _interval(r["date"] or "9999")[0], r["event"], r["iri"]))
    return rows


def _neighbours(E: nx.MultiDiGraph, node: str, out_rel: tuple[str, ...], in_rel: tuple[str, ...]) -> list[str]:
    if node not in E:
        return []
    names = {E.nodes[v]["label"] for _, v, r in E.out_edges(node, keys=True) if r in out_rel}
    names |= {E.nodes[u]["label"] for u, _, r in E.in_edges(node, keys=True) if r in in_rel}
    return sorted(names)


# --- export --------------------------------------------------------------------------


def _flat(value: object) -> str | int | float | bool:
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple | set):
        return " | ".join(_quote_text(v) for v in value)
    return str(value)


def _quote_text(v: object) -> str:
    if isinstance(v, dict):
        return f"{v.get('quote', '')} [{v.get('document', '')}]"
    return str(v)


def for_export(E: nx.MultiDiGraph, dynamic: bool = False) -> nx.MultiDiGraph:
    """A copy with flat attribute values (GraphML and GEXF hold scalars only); with
    `dynamic`, events and their edges start at their date (padded to a day) for Gephi's
    timeline, and the graph is marked dynamic."""
    X = nx.MultiDiGraph()
    for n, d in E.nodes(data=True):
        attrs = {k: _flat(v) for k, v in d.items() if k != "date"}
        attrs["date"] = d.get("date", "")
        if dynamic and d.get("date"):
            attrs["start"] = _interval(d["date"])[0]
        X.add_node(n, **attrs)
    for u, v, k, d in E.edges(keys=True, data=True):
        attrs = {key: _flat(val) for key, val in d.items()}
        date = E.nodes[u].get("date") or E.nodes[v].get("date")
        if dynamic and date:
            attrs["start"] = _interval(date)[0]
        X.add_edge(u, v, key=k, **attrs)
    if dynamic:
        X.graph["mode"] = "dynamic"
    return X


def export(E: nx.MultiDiGraph, path: str) -> None:
    """Write GraphML or GEXF (dynamic) by the file's extension."""
    if path.lower().endswith(".graphml"):
        nx.write_graphml(for_export(E), path)
    elif path.lower().endswith(".gexf"):
        nx.write_gexf(for_export(E, dynamic=True), path)
    else:
        raise ValueError(f"{path}: use a .graphml or .gexf file name")


def best_supported(edges: list[dict]) -> Iterator[tuple[str, dict]]:
    """(relation, evidence) of these edges' data, best supported first (ties in their order)."""
    for d in sorted(edges, key=lambda d: -d["support"]):
        for ev in d["evidence"]:
            yield d["relation"], ev


def touching(E: nx.MultiDiGraph, node: str) -> list[dict]:
    """The data of every edge at `node`, its out-edges then its in-edges (the order out_edges
    and in_edges give; a loop in both, as degree counts it), read off the adjacency: the edge
    views cost a 5,000-node page ~0.1 s."""
    return [d for side in (E.succ[node], E.pred[node]) for keyed in side.values() for d in keyed.values()]
