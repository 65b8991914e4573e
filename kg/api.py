"""The notebook API: build or load a graph, ask it SPARQL, and look at it as tables and pictures.

Everything here returns plain Python: pandas DataFrames of Python values, a NetworkX graph,
a matplotlib Axes, an IPython HTML object. It is a thin layer over the pipeline
(:mod:`kg.pipeline`), the RDF writer (:mod:`kg.graph`) and, when they are installed beside it,
the analysis (:mod:`kg.analysis`), visualisation (:mod:`kg.viz`) and store (:mod:`kg.store`)
modules, so that an analyst's notebook and ``kg`` on the command line answer alike.

Example (the examples in docs/notebooks.md show real output)::

    from kg import api
    g = api.build(["seeds"])
    api.sparql(g, "SELECT ?l WHERE { ?g kgo:claimedResponsibilityFor/rdfs:label ?l }")
"""

from __future__ import annotations

import datetime as dt
import html
import importlib
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from kg.rules import RuleSet, load_rules
from kg.vocab import ENTITY_RELATIONS, PREFIXES, descendants

NAMESPACES = {"kgo": "https://w3id.org/kgae/ontology#", "kgr": "https://w3id.org/kgae/id/"}
# Contract relations between entities and events: the edges of the network view.
RELATIONS = ENTITY_RELATIONS

_current: Any = None  # the graph the %%sparql magic runs against unless told otherwise


# ---------------------------------------------------------------- graphs in
def _optional(name: str) -> ModuleType | None:
    """A sibling module if it is installed (analysis, viz, store are written separately)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def use(graph: Any) -> Any:
    """Make `graph` the one `%%sparql` cells run against; returns it."""
    global _current
    _current = graph
    return graph


def current() -> Any:
    """The graph last loaded, built or chosen with :func:`use`."""
    if _current is None:
        raise LookupError("no graph yet: call kg.api.load(PATH) or kg.api.build(PATHS), or %kg_use")
    return _current


def load(path: str | os.PathLike) -> Any:
    """A graph file (any format ``kg build`` writes) as an rdflib Graph, or a store directory.

    A directory is opened with :mod:`kg.store` (a pyoxigraph store) when that module is
    installed; a file is read whole into memory with :func:`kg.graph.load`.
    """
    from kg.graph import load as load_file

    path = Path(path)
    if path.is_dir():
        store = _optional("kg.store")
        opener = getattr(store, "open_store", None) or getattr(store, "open", None)
        if opener is None:
            raise ValueError(f"{path} is a directory: opening a store needs kg.store, not installed here")
        return use(opener(path))
    return use(load_file(path))


def build(
    paths: Iterable[str | os.PathLike],
    *,
    rules: RuleSet | str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    workers: int = 1,
) -> Graph:
    """Run the pipeline over documents (files or folders) and return the graph.

    `rules` is a rules directory (a copy of ``kg/rules`` you are trying changes in) or a
    loaded :class:`~kg.rules.RuleSet`; by default the installed rules. `out` also writes
    the graph there, in the format its extension names. Unreadable files are warned about,
    not fatal, as on the command line. `workers` extracts the documents in that many
    processes (0: one per core this process may use), as ``kg build --workers``: the same
    graph, with the installed rules (worker processes load those, not a notebook's copy).
    """
    from kg.graph import to_graph

    paths = [str(p) for p in paths]
    if workers < 0:
        raise ValueError(f"workers must be 0 (one per core) or more, not {workers}")
    if rules is None:
        from kg.parallel import workers_for
        from kg.pipeline import build as run_build

        result = run_build(paths, workers=workers_for(workers))
    elif workers != 1:
        raise ValueError("workers: other rules are tried in this process; build with workers=1")
    else:
        result = _build_with(paths, rules if isinstance(rules, RuleSet) else load_rules(Path(rules)))
    for error in result.errors:
        warnings.warn(str(error), stacklevel=2)
    if out is not None:
        result.write(out)
    return use(to_graph(result.quads))


def _build_with(paths: list[str], rules: RuleSet):
    """kg.pipeline.build with other rules: the same stages, one rule set passed through."""
    from kg.extract import extract
    from kg.ingest import IngestError, read_corpus
    from kg.pipeline import Build
    from kg.resolve import resolve

    documents, errors = read_corpus(paths)
    results = []
    for doc in documents:
        try:
            results.append(extract(doc, rules))
        except Exception as exc:  # one bad document must not sink the corpus
            errors.append(IngestError(doc.source, f"extraction failed: {exc.__class__.__name__}: {exc}"))
    corpus = resolve(results, rules=rules)
    return Build(corpus, errors, rules)


# ---------------------------------------------------------------- SPARQL
def term(value: Any) -> Node:
    """A Python value as an RDF term: IRIs and kgr:/kgo: names become IRIs, the rest literals."""
    if isinstance(value, Node):
        return value
    if isinstance(value, str):
        prefix, _, local = value.partition(":")
        if prefix in NAMESPACES and local and not local.startswith("//"):
            return URIRef(NAMESPACES[prefix] + local)
        if value.startswith(("http://", "https://")):
            return URIRef(value)
    return Literal(value)


def python(value: Any) -> Any:
    """An RDF term as a Python value: numbers, booleans, dates; IRIs, years and months as str."""
    if value is None:
        return None
    if isinstance(value, Literal):
        out = value.toPython()
        return str(out) if isinstance(out, Literal) else out
    return str(value)


def sparql(graph: Any, query: str, **params: Any) -> pd.DataFrame:
    """Run a SPARQL SELECT over `graph` and return a DataFrame of Python values.

    The contract prefixes (kgo, kgr, rdf, rdfs, skos, prov, dcterms, xsd) are declared for
    you. Keyword arguments bind variables of the same name, as values rather than pasted
    text, so a name with quotes in it is safe::

        sparql(g, "SELECT ?e WHERE { ?e rdfs:label ?name }", name="Sarfaraz Bugti")
        sparql(g, "SELECT ?p ?o WHERE { ?e ?p ?o }", e="kgr:sarfaraz-bugti")

    `graph` is an rdflib Graph or a pyoxigraph Store (as :func:`load` opens a store).
    ASK queries give a one-cell frame with column ``ask``.
    """
    text = query if "PREFIX kgo:" in query else PREFIXES + query
    if isinstance(graph, Graph):
        result = graph.query(text, initBindings={k: term(v) for k, v in params.items()})
        if result.type == "ASK":
            return pd.DataFrame({"ask": [bool(result.askAnswer)]})
        if result.type != "SELECT":
            raise ValueError("sparql() answers SELECT and ASK queries; use graph.query() for CONSTRUCT")
        names = [str(v) for v in result.vars]
        rows = [[python(row[i]) for i in range(len(names))] for row in result]
        return pd.DataFrame(rows, columns=names)
    return _sparql_store(graph, text, params)


def _sparql_store(store: Any, text: str, params: dict[str, Any]) -> pd.DataFrame:
    """The same over a pyoxigraph Store (a kg.store object is asked for its `.store`)."""
    import pyoxigraph as ox

    store = getattr(store, "store", store)
    result = store.query(with_values(text, params), use_default_graph_as_union=True)
    if isinstance(result, ox.QueryBoolean):
        return pd.DataFrame({"ask": [bool(result)]})
    names = [v.value for v in result.variables]
    rows = [[python(_from_ox(sol[n])) for n in names] for sol in result]
    return pd.DataFrame(rows, columns=names)


PROLOGUE = re.compile(r"(?:\s+|#[^\n]*|(?:PREFIX\s+[\w-]*:|BASE)\s*<[^>]*>)*", re.I)


def with_values(text: str, params: dict[str, Any]) -> str:
    """Bind `params` by a VALUES block opening the query's outer group, as rdflib's
    initBindings do (pyoxigraph's substitutions only take projected variables).

    Each value is written as an escaped N-Triples term, so it is data, never query text.
    """
    if not params:
        return text
    for name in params:
        if not name.isidentifier():
            raise ValueError(f"{name!r} is not a SPARQL variable name")
    names = " ".join(f"?{k}" for k in params)
    values = " ".join(term(v).n3() for v in params.values())
    at = text.index("{", PROLOGUE.match(text).end()) + 1
    return f"{text[:at]} VALUES ({names}) {{ ({values}) }} {text[at:]}"


def _from_ox(value: Any) -> Node | None:
    import pyoxigraph as ox

    if value is None:
        return None
    if isinstance(value, ox.NamedNode):
        return URIRef(value.value)
    if isinstance(value, ox.Literal):
        if value.language:
            return Literal(value.value, lang=value.language)
        return Literal(value.value, datatype=URIRef(value.datatype.value))
    return BNode(value.value)


# ---------------------------------------------------------------- statements and diffs
STATEMENTS = """
SELECT ?statement ?subject ?predicate ?object ?modality ?claimant ?denied_by ?rule ?quote ?document
WHERE {
  ?st a rdf:Statement ; rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; kgo:modality ?m .
  OPTIONAL { ?s rdfs:label ?sl } OPTIONAL { ?o rdfs:label ?ol }
  OPTIONAL { ?st kgo:claimant/rdfs:label ?claimant }
  OPTIONAL { ?st kgo:deniedBy/rdfs:label ?denied_by }
  OPTIONAL { ?st prov:wasDerivedFrom ?ev . ?ev kgo:rule ?rule ; kgo:quote ?quote ;
             kgo:document/dcterms:title ?document }
  BIND(STR(?st) AS ?statement) BIND(COALESCE(?sl, STR(?s)) AS ?subject)
  BIND(COALESCE(?ol, STR(?o)) AS ?object)
  BIND(STRAFTER(STR(?p), "#") AS ?predicate) BIND(STRAFTER(STR(?m), "#") AS ?modality)
} ORDER BY ?predicate ?subject ?object ?rule
"""


def statements(graph: Any) -> pd.DataFrame:
    """Every reified statement with its labels, modality, claimant, denier and evidence.

    One row per statement and piece of evidence: a fact stated in three places is three rows,
    each with the rule that fired and the words it fired on.
    """
    return sparql(graph, STATEMENTS)


def diff(before: Any, after: Any) -> pd.DataFrame:
    """The statements (with evidence) `after` holds that `before` did not.

    Statement IRIs are hashes of what they state, so the same fact has the same IRI in two
    builds; a row is new if its statement or its evidence is new.
    """
    old, new = statements(before), statements(after)
    key = ["statement", "rule", "quote"]
    seen = set(map(tuple, old[key].itertuples(index=False)))
    keep = [tuple(r) not in seen for r in new[key].itertuples(index=False)]
    return new[keep].reset_index(drop=True)


# ---------------------------------------------------------------- networks
def network(graph: Any):
    """The contract relations as a NetworkX MultiDiGraph of IRIs, with label and type on nodes.

    With :mod:`kg.analysis` installed this is its entity graph (asserted and claimed
    statements, each edge with its evidence), the same one ``kg`` commands analyse; without
    it, the plain relation triples are read here. Edges are keyed by relation name.
    """
    analysis = _optional("kg.analysis")
    if analysis is not None and isinstance(graph, Graph):
        return analysis.entity_graph(_through_oxigraph(graph, analysis))
    return plain_network(graph)


def _through_oxigraph(graph: Graph, analysis: ModuleType) -> Any:
    """A plain rdflib Graph copied into Oxigraph, where the projection's SPARQL runs (`kg`
    commands read files the same way, and the entity graph is the same, tested): the 10 MB
    generated corpus's graph projected in 3.6 s where rdflib's own SPARQL took 23 s. A graph
    of named graphs (Dataset, ConjunctiveGraph) or one with a term Oxigraph refuses is read
    by rdflib, as before."""
    from rdflib import ConjunctiveGraph

    from kg.graph import ox_store

    if isinstance(graph, ConjunctiveGraph):
        return graph
    try:
        return analysis.StoreGraph(ox_store(graph))
    except ValueError:
        return graph


def plain_network(graph: Any):
    """The fallback projection: plain IRI-to-IRI triples of the contract relations."""
    import networkx as nx

    values = " ".join(f"kgo:{r}" for r in RELATIONS)
    edges = sparql(
        graph,
        f"""SELECT ?s ?p ?o WHERE {{ VALUES ?p {{ {values} }} ?s ?p ?o .
        FILTER(isIRI(?o)) }}""",
    )
    nodes = sparql(
        graph,
        """SELECT ?e (SAMPLE(?l) AS ?label) (SAMPLE(?t) AS ?type) WHERE {
        ?e rdfs:label ?l ; a ?t . FILTER(STRSTARTS(STR(?t), STR(kgo:))) } GROUP BY ?e""",
    )
    g = nx.MultiDiGraph()
    info = {r.e: {"label": r.label, "type": r.type.rsplit("#", 1)[-1]} for r in nodes.itertuples()}
    for r in edges.itertuples():
        for node in (r.s, r.o):
            g.add_node(node, **info.get(node, {"label": node.rsplit("/", 1)[-1], "type": ""}))
        g.add_edge(r.s, r.o, key=r.p.rsplit("#", 1)[-1], relation=r.p.rsplit("#", 1)[-1])
    return g


def find(graph: Any, name: str) -> str:
    """The IRI of the entity or event called `name` (its label or any alias, any case)."""
    if name.startswith(("http://", "https://", "kgr:")):
        return str(term(name))
    found = sparql(
        graph,
        """SELECT DISTINCT ?e WHERE { ?e rdfs:label|skos:altLabel ?n .
        FILTER(LCASE(STR(?n)) = LCASE(STR(?name))) }""",
        name=name,
    )
    if found.empty:
        raise KeyError(f"nothing in the graph is called {name!r}")
    return found.e.iloc[0]


def paths(graph: Any, a: str, b: str, cutoff: int = 4, limit: int = 10) -> pd.DataFrame:
    """Shortest chains of relations (either direction) linking `a` and `b`, one row a step.

    Columns: path (number), step, source, relation, target; `source`/`target` are labels,
    the relation reads from source to target as stated in the graph.
    """
    import networkx as nx

    g = network(graph)
    start, end = find(graph, a), find(graph, b)
    simple = nx.Graph(g.to_undirected(as_view=True))
    rows = []
    try:
        found = nx.all_shortest_paths(simple, start, end)
        for number, path in enumerate(p for p in found if len(p) - 1 <= cutoff):
            if number >= limit:
                break
            for step, (u, v) in enumerate(zip(path, path[1:], strict=False), 1):
                rows.append({"path": number + 1, "step": step, **_step(g, u, v)})
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        pass
    return pd.DataFrame(rows, columns=["path", "step", "source", "relation", "target"])


def _step(g, u: str, v: str) -> dict[str, str]:
    """One hop, in the direction the graph states it."""
    label = lambda n: g.nodes[n].get("label", n)  # noqa: E731
    if g.has_edge(u, v):
        return {"source": label(u), "relation": ", ".join(g[u][v]), "target": label(v)}
    return {"source": label(v), "relation": ", ".join(g[v][u]), "target": label(u)}


ACTOR_TYPES = frozenset(descendants("Actor"))


def rank(graph: Any, top: int | None = 10, types: Iterable[str] | None = ACTOR_TYPES) -> pd.DataFrame:
    """Actors by how central they are: betweenness (how many shortest paths pass through
    them), degree (how many relations they take part in) and PageRank.

    Centrality is computed over the whole network (places and events carry paths too), then
    only nodes of `types` are listed (all with None). Sorted by betweenness, then degree;
    `top` rows (all with None). Betweenness is NetworkX's, exact up to kg.analysis's
    SAMPLE_ABOVE nodes and above them estimated from SAMPLE_K pivots, as `kg rank` does; the
    frame's ``attrs["betweenness_sampled_k"]`` says which (None: exact).
    """
    import networkx as nx

    g = network(graph)
    simple = nx.Graph(g.to_undirected(as_view=True))
    between, sampled = _betweenness(simple)
    pagerank = nx.pagerank(simple) if len(simple) else {}
    rows = [
        {
            "entity": n,
            "label": d.get("label"),
            "type": d.get("type"),
            "degree": g.degree(n),
            "betweenness": round(between[n], 4),
            "pagerank": round(pagerank.get(n, 0.0), 4),
        }
        for n, d in g.nodes(data=True)
        if types is None or d.get("type") in set(types)
    ]
    columns = ["entity", "label", "type", "degree", "betweenness", "pagerank"]
    frame = pd.DataFrame(rows, columns=columns).sort_values(
        ["betweenness", "degree", "label"], ascending=[False, False, True], ignore_index=True
    )
    frame = frame if top is None else frame.head(top)
    frame.attrs["betweenness_sampled_k"] = sampled
    return frame


def _betweenness(simple: Any) -> tuple[dict, int | None]:
    """`nx.betweenness_centrality` and the pivots it was estimated from (None: exact). With
    kg.analysis installed it is computed there, in C by igraph, with NetworkX's numbers (the
    10 MB generated corpus's 1,999 nodes: 0.5 s, where NetworkX's pure Python took 17.8 s), and
    sampled above its SAMPLE_ABOVE nodes as `kg rank` samples (exactly, NetworkX would take
    hours at 100,000)."""
    import networkx as nx

    analysis = _optional("kg.analysis")
    if analysis is None or not len(simple):
        return nx.betweenness_centrality(simple), None
    k = analysis.pivots_for(len(simple))
    return analysis.betweenness(simple, k=k), k


# ---------------------------------------------------------------- pictures
def show(graph: Any, height: int = 600, title: str = "kg network"):
    """An interactive network view inline in Jupyter, needing no network connection.

    The page is self-contained (kg.viz's vis-network page, script inlined, when installed;
    else a small SVG drawn here) and placed in an iframe's ``srcdoc``, escaped, so document
    text cannot break out of it.
    """
    from IPython.display import HTML

    render = getattr(_optional("kg.viz"), "render", None)
    g = network(graph)
    if render is not None and all("kind" in d for _, d in g.nodes(data=True)):
        page, _ = render(g, title)
    else:
        page = svg_page(g, title)
    return HTML(
        f'<div><iframe srcdoc="{html.escape(page, quote=True)}" style="width:100%;'
        f'height:{int(height)}px;border:0" sandbox="allow-scripts"></iframe></div>'
    )


COLOURS = {
    "Person": "#1f77b4",
    "ArmedGroup": "#d62728",
    "PoliticalParty": "#2ca02c",
    "StateBody": "#9467bd",
    "Country": "#8c564b",
}


def svg_page(g, title: str, size: int = 900) -> str:
    """A whole HTML page drawing `g` as SVG (spring layout), every label escaped."""
    import networkx as nx

    pos = nx.spring_layout(nx.Graph(g), seed=1) if len(g) else {}
    scale = lambda x: 40 + (x + 1) / 2 * (size - 80)  # noqa: E731
    parts = []
    for u, v, rel in g.edges(keys=True):
        (x1, y1), (x2, y2) = pos[u], pos[v]
        parts.append(
            f'<line x1="{scale(x1):.0f}" y1="{scale(y1):.0f}" x2="{scale(x2):.0f}" '
            f'y2="{scale(y2):.0f}" stroke="#bbb"><title>{html.escape(rel)}</title></line>'
        )
    for n, d in g.nodes(data=True):
        x, y = map(scale, pos[n])
        colour = COLOURS.get(d.get("type", ""), "#7f7f7f")
        label = html.escape(str(d.get("label", n)))
        parts.append(
            f'<circle cx="{x:.0f}" cy="{y:.0f}" r="5" fill="{colour}"><title>{label} '
            f"({html.escape(d.get('type', ''))})</title></circle>"
            f'<text x="{x + 7:.0f}" y="{y + 4:.0f}" font-size="10">{label}</text>'
        )
    return (
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {size} {size}' "
        f"font-family='sans-serif'>{''.join(parts)}</svg>"
    )


TIMELINE = """
SELECT ?event ?label ?date (GROUP_CONCAT(?figure; separator="\\n") AS ?figures) WHERE {
  ?event a/rdfs:subClassOf* kgo:Event ; rdfs:label ?label ; kgo:date ?date .
  OPTIONAL { ?c kgo:aboutEvent ?event ; rdfs:label ?figure }
} GROUP BY ?event ?label ?date
"""


def as_date(value: Any) -> dt.date:
    """An xsd:date, gYearMonth or gYear value as the first day it can mean."""
    if isinstance(value, dt.date):
        return value
    text = str(value)
    return dt.date(int(text[:4]), int(text[5:7] or 1) if len(text) >= 7 else 1, 1)


def timeline(graph: Any, ax=None, max_figures: int = 4):
    """Dated events on a time axis, each with the casualty figures claimed for it.

    Returns the matplotlib Axes. Figures are listed, never summed: each side's number is its own.
    """
    import matplotlib.pyplot as plt

    events = sparql(graph, TIMELINE)
    events = events.assign(when=events.date.map(as_date)).sort_values(["when", "label"], ignore_index=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 1 + 0.9 * max(len(events), 1)))
    for y, row in enumerate(events.itertuples()):
        when = row.when
        figures = list(dict.fromkeys(f for f in (row.figures or "").split("\n") if f))[:max_figures]
        ax.plot([when], [y], "o", color="#d62728")
        ax.annotate(
            f"{row.label}  [{row.date}]" + "".join(f"\n  {f}" for f in figures),
            (when, y),
            xytext=(8, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks([])
    ax.set_ylim(-1, max(len(events), 1))
    ax.set_title("Events by date, with each side's figures")
    ax.figure.autofmt_xdate()
    return ax
