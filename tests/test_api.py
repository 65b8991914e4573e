"""kg.api and the %%sparql magic, on the seeds graph and on tiny hand-made graphs."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import matplotlib
import pyoxigraph as ox
import pytest
from rdflib import RDF, RDFS, Graph, Literal

from kg import api
from kg.graph import to_graph
from kg.vocab import KGO, KGR

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def g(seeds_build) -> Graph:
    return to_graph(seeds_build.quads)


def test_sparql_returns_python_values_and_binds_parameters(g):
    frame = api.sparql(
        g,
        "SELECT ?leader ?org WHERE { ?p kgo:leads ?o ; rdfs:label ?leader . ?o rdfs:label ?org }",
        leader="Sarfaraz Bugti",
    )
    assert list(frame.columns) == ["leader", "org"]
    assert "Government of Balochistan" in set(frame.org)
    counts = api.sparql(g, "SELECT ?n WHERE { ?c a kgo:CasualtyClaim ; kgo:count ?n }")
    assert all(isinstance(n, int) for n in counts.n)


def test_parameters_are_values_not_text(g):
    """A quote in a bound value cannot change the query."""
    frame = api.sparql(g, "SELECT ?e WHERE { ?e rdfs:label ?name }", name='x" } ; ?e ?p ?o . {')
    assert frame.empty


def test_iri_parameters_and_ask(g):
    assert api.sparql(g, "ASK { ?e kgo:leads ?o }", e="kgr:sarfaraz-bugti").ask[0]
    assert not api.sparql(g, "ASK { ?e kgo:leads ?o }", e="kgr:no-such-person").ask[0]


def test_dates_keep_their_precision(g):
    dates = api.sparql(g, "SELECT ?d WHERE { ?e kgo:date ?d }").d
    assert "2025-03" in set(dates) or any(isinstance(d, dt.date) for d in dates)
    assert api.as_date("2025-03") == dt.date(2025, 3, 1)
    assert api.as_date("2024") == dt.date(2024, 1, 1)


def test_term_and_python_round_trip():
    assert api.term("kgr:bla") == KGR["bla"]
    assert api.term("https://example.org/x") == KGR["x"].__class__("https://example.org/x")
    assert api.term("kgr is a prefix") == Literal("kgr is a prefix")
    assert api.python(Literal(3)) == 3 and api.python(None) is None


def test_same_answers_from_a_pyoxigraph_store(g, seeds_ttl):
    store = ox.Store()
    store.load(path=str(seeds_ttl), format=ox.RdfFormat.TURTLE)
    query = "SELECT ?org WHERE { ?p rdfs:label ?name ; kgo:leads/rdfs:label ?org } ORDER BY ?org"
    from_store = api.sparql(store, query, name="Sarfaraz Bugti")
    assert from_store.equals(api.sparql(g, query, name="Sarfaraz Bugti"))
    assert api.sparql(store, "ASK { ?e kgo:leads ?o }", e="kgr:sarfaraz-bugti").ask[0]


def test_build_with_a_copy_of_the_rules(tmp_path):
    import shutil

    from kg.rules import RULES_DIR

    doc = tmp_path / "docs" / "a.txt"
    doc.parent.mkdir()
    doc.write_text("Dost Jan Rind, the leader of the Kech Defence Council, spoke.", encoding="utf-8")
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    with (tmp_path / "rules" / "actors.yaml").open("a", encoding="utf-8") as f:
        f.write("  - {id: kech-defence-council, name: Kech Defence Council, type: ArmedGroup}\n")
    plain = api.build([doc.parent])
    taught = api.build([doc.parent], rules=tmp_path / "rules")
    new = api.diff(plain, taught)
    assert ("Dost Jan Rind", "leads", "Kech Defence Council") in set(
        zip(new.subject, new.predicate, new.object, strict=True)
    )
    assert api.current() is taught


def test_build_in_worker_processes_gives_the_same_graph(g, monkeypatch):
    """As `kg build --workers 2`: the documents extracted in two processes, one graph."""
    from kg import pipeline
    from kg.parallel import available_cores
    from kg.rules import RULES_DIR

    asked, run = [], pipeline.build
    monkeypatch.setattr(pipeline, "build", lambda paths, **kw: asked.append(kw["workers"]) or run(paths, **kw))
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    two = api.build([seeds], workers=2)
    assert len(g) > 1000 and set(two) == set(g)
    api.build([seeds], workers=0)
    assert asked == [2, available_cores()]
    with pytest.raises(ValueError, match="workers=1"):
        api.build([seeds], rules=RULES_DIR, workers=2)
    with pytest.raises(ValueError, match="one per core"):
        api.build([seeds], workers=-1)


def test_statements_carry_rule_and_quote(g):
    frame = api.statements(g)
    row = frame[(frame.subject == "Sarfaraz Bugti") & (frame.predicate == "leads")].iloc[0]
    assert row.object == "Government of Balochistan" and row.rule and "Bugti" in row.quote
    assert api.diff(g, g).empty


def tiny() -> Graph:
    """a leads b; b partOf c; d operatesIn c: a reaches d only through b and c."""
    t = Graph()
    for node, label, cls in (
        ("a", "Ann", KGO.Person),
        ("b", "Bee Party", KGO.PoliticalParty),
        ("c", "Sea", KGO.Province),
        ("d", "Dee Army", KGO.ArmedGroup),
    ):
        t.add((KGR[node], RDFS.label, Literal(label)))
        t.add((KGR[node], RDF.type, cls))
    t.add((KGR.a, KGO.leads, KGR.b))
    t.add((KGR.b, KGO.partOf, KGR.c))
    t.add((KGR.d, KGO.operatesIn, KGR.c))
    return t


def test_paths_read_in_the_stated_direction():
    frame = api.paths(tiny(), "Ann", "dee army")
    assert frame[["source", "relation", "target"]].values.tolist() == [
        ["Ann", "leads", "Bee Party"],
        ["Bee Party", "partOf", "Sea"],
        ["Dee Army", "operatesIn", "Sea"],
    ]
    assert api.paths(tiny(), "Ann", "Ann").empty
    with pytest.raises(KeyError):
        api.paths(tiny(), "Ann", "Nobody")


def test_rank_lists_actors_by_betweenness():
    frame = api.rank(tiny(), top=None)
    assert list(frame.label) == ["Bee Party", "Ann", "Dee Army"]  # the place is not an actor
    assert len(api.rank(tiny(), top=None, types=None)) == 4


def test_a_notebooks_graph_is_projected_through_oxigraph_into_the_same_entity_graph(seeds_graph, monkeypatch):
    """kg.api copies a plain rdflib Graph into Oxigraph to project it (6x quicker on the 10 MB
    corpus's graph): the entity graph rdflib's own SPARQL gives. A graph holding an IRI
    Oxigraph refuses is projected by rdflib instead, not refused."""
    from kg import analysis as an

    def as_data(E):
        return dict(E.nodes(data=True)), sorted(
            (u, v, k, repr(sorted(d.items()))) for u, v, k, d in E.edges(keys=True, data=True)
        )

    copies = []

    class Counted(an.StoreGraph):
        def __init__(self, store):
            copies.append(store)
            super().__init__(store)

    monkeypatch.setattr(an, "StoreGraph", Counted)
    by_rdflib = as_data(an.entity_graph(seeds_graph))
    assert as_data(api.network(seeds_graph)) == by_rdflib and len(copies) == 1
    odd = Graph()
    odd += seeds_graph
    odd.add((KGR["has space"], RDF.type, KGO.Person))  # rdflib keeps it (with a warning)
    odd.add((KGR["has space"], RDFS.label, Literal("Spaced Out")))
    E = api.network(odd)
    assert len(copies) == 1 and E.nodes[str(KGR["has space"])]["label"] == "Spaced Out"


def test_rank_gives_networkx_betweenness_computed_by_kg_analysis(seeds_graph, monkeypatch):
    """A notebook's ranking takes betweenness from kg.analysis (igraph, 35x quicker on the
    10 MB corpus's graph) and gets NetworkX's numbers: exact on the seeds, and above
    SAMPLE_ABOVE nodes NetworkX's estimate from SAMPLE_K pivots, which the frame records."""
    import networkx as nx

    from kg import analysis as an

    simple = nx.Graph(api.network(seeds_graph).to_undirected(as_view=True))
    exact = nx.betweenness_centrality(simple)
    frame = api.rank(seeds_graph, top=None, types=None)
    assert frame.attrs["betweenness_sampled_k"] is None and len(frame) == len(simple) > 100
    assert all(row.betweenness == round(exact[row.entity], 4) for row in frame.itertuples())
    monkeypatch.setattr(an, "SAMPLE_ABOVE", 50)
    monkeypatch.setattr(an, "SAMPLE_K", 20)
    sampled = api.rank(seeds_graph, top=None, types=None)
    estimate = nx.betweenness_centrality(simple, k=20, seed=0)
    assert sampled.attrs["betweenness_sampled_k"] == 20
    assert all(row.betweenness == round(estimate[row.entity], 4) for row in sampled.itertuples())
    assert any(round(estimate[n], 4) != round(exact[n], 4) for n in simple)  # it is an estimate


def test_show_is_offline_and_escaped():
    """The page sits in srcdoc, escaped once; inside it a hostile name is still only text."""
    evil = '<script>alert("x")</script>'
    t = tiny()
    t.add((KGR.e, RDFS.label, Literal(evil)))
    t.add((KGR.e, RDF.type, KGO.Person))
    t.add((KGR.e, KGO.memberOf, KGR.b))
    page = api.show(t).data
    assert page.count("<iframe") == 1 and "<script" not in page.split('srcdoc="', 1)[1]
    inner = html.unescape(page.split('srcdoc="', 1)[1].split('" style=', 1)[0])
    assert evil not in inner and "alert" in inner
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", inner), "nothing fetched"


def test_fallback_svg_page_escapes_names():
    evil = '<img src=x onerror="alert(1)">'
    t = tiny()
    t.add((KGR.e, RDFS.label, Literal(evil)))
    t.add((KGR.e, RDF.type, KGO.Person))
    t.add((KGR.e, KGO.memberOf, KGR.b))
    page = api.svg_page(api.plain_network(t), "t")
    assert evil not in page and html.escape(evil) in page


def test_timeline_draws_every_dated_event(g):
    ax = api.timeline(g)
    dated = api.sparql(g, "SELECT DISTINCT ?e WHERE { ?e kgo:date ?d }")
    assert len(ax.lines) == len(dated) > 0
    assert any("Herof" in t.get_text() for t in ax.texts)


def test_magics(g, tmp_path, seeds_ttl):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "kg")
    shell.user_ns["mine"] = g
    shell.run_line_magic("kg_use", "mine")
    query = "SELECT ?group WHERE { ?x kgo:claimedResponsibilityFor ?e ; rdfs:label ?group }"
    frame = shell.run_cell_magic("sparql", "-o groups", query)
    assert shell.user_ns["groups"] is frame
    assert "Balochistan Liberation Army" in set(frame.group)
    shell.run_line_magic("kg_use", str(seeds_ttl))
    assert api.current() is not g and len(api.current()) == len(g)
    other = tiny()
    shell.user_ns["other"] = other
    assert shell.run_cell_magic("sparql", "-g other", query).empty
    with pytest.raises(ValueError):
        shell.run_cell_magic("sparql", "-x y", query)
    with pytest.raises(FileNotFoundError):
        shell.run_line_magic("kg_use", str(tmp_path / "missing.ttl"))
