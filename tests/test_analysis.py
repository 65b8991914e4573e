"""Projection, paths, ranks, communities, timeline and export on a small hand-built graph
(triples per the contract) and on the seeds graph."""

from __future__ import annotations

import math
import os

import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import RDF, RDFS, XSD, Graph, Literal
from rdflib.namespace import DCTERMS, PROV, SKOS

from kg import analysis as an
from kg.cli import main
from kg.parallel import can_fork
from kg.vocab import KGO, KGR
from tests.conftest import SEEDS

DOC1, DOC2 = KGR["doc-a"], KGR["doc-b"]


def entity(g: Graph, slug: str, cls: str, label: str, *aliases: str):
    node = KGR[slug]
    g.add((node, RDF.type, KGO[cls]))
    g.add((node, RDFS.label, Literal(label)))
    for alias in aliases:
        g.add((node, SKOS.altLabel, Literal(alias)))
    return node


def statement(g: Graph, s, p: str, o, modality: str = "Asserted", docs=(DOC1,), quote: str = ""):
    """A relation per the contract: plain triple when asserted, reified with evidence."""
    st = KGR[f"st-{len(g)}"]
    if modality in ("Asserted", "Claimed"):
        g.add((s, KGO[p], o))
    for t in (
        (st, RDF.type, RDF.Statement),
        (st, RDF.subject, s),
        (st, RDF.predicate, KGO[p]),
        (st, RDF.object, o),
        (st, KGO.modality, KGO[modality]),
    ):
        g.add(t)
    for i, doc in enumerate(docs):
        ev = KGR[f"ev-{len(g)}-{i}"]
        g.add((ev, RDF.type, KGO.Evidence))
        g.add((ev, KGO.document, doc))
        g.add((ev, KGO.quote, Literal(quote or f"{p} quote")))
        g.add((st, PROV.wasDerivedFrom, ev))


@pytest.fixture
def small() -> Graph:
    """BLA attacked a convoy in Noshki (two documents); Bugti leads the Government of
    Balochistan; India is only alleged to sponsor the BLA; TTP attacked in Bannu in 2024."""
    g = Graph()
    for doc, title, date in ((DOC1, "Doc A", "2026-02-01"), (DOC2, "Doc B", "2026-02-02")):
        g.add((doc, RDF.type, KGO.Document))
        g.add((doc, DCTERMS.title, Literal(title)))
        g.add((doc, DCTERMS.date, Literal(date, datatype=XSD.date)))
    bla = entity(g, "bla", "ArmedGroup", "Balochistan Liberation Army", "BLA")
    ttp = entity(g, "ttp", "ArmedGroup", "Tehreek-e-Taliban Pakistan", "TTP")
    bugti = entity(g, "bugti", "Person", "Sarfaraz Bugti")
    gob = entity(g, "gob", "StateBody", "Government of Balochistan")
    india = entity(g, "india", "Country", "India")
    noshki = entity(g, "noshki", "District", "Noshki")
    bannu = entity(g, "bannu", "District", "Bannu")
    attack = entity(g, "e1", "Attack", "Noshki convoy attack")
    g.add((attack, KGO.date, Literal("2026-01-31", datatype=XSD.date)))
    old = entity(g, "e2", "Attack", "Bannu attack")
    g.add((old, KGO.date, Literal("2024", datatype=XSD.gYear)))
    statement(g, attack, "perpetrator", bla, docs=(DOC1, DOC2), quote="The BLA attacked a convoy.")
    statement(g, attack, "location", noshki)
    statement(g, attack, "target", gob)
    statement(g, bugti, "leads", gob, quote="Chief Minister Sarfaraz Bugti said.")
    statement(g, india, "sponsors", bla, modality="Alleged", docs=(DOC2,))
    statement(g, old, "perpetrator", ttp, docs=(DOC2,))
    statement(g, old, "location", bannu, docs=(DOC2,))
    claim = KGR["claim-1"]
    for t in (
        (claim, RDF.type, KGO.CasualtyClaim),
        (claim, KGO.aboutEvent, attack),
        (claim, KGO.claimant, bla),
        (claim, KGO.outcome, KGO.Killed),
        (claim, KGO.victimCategory, KGO.SecurityPersonnel),
        (claim, KGO.count, Literal(20)),
        (claim, KGO.qualifier, KGO.AtLeast),
    ):
        g.add(t)
    g.add((attack, KGO.date, Literal("2026-01-31", datatype=XSD.date)))
    return g


def labels(G: nx.Graph) -> set[str]:
    return {d["label"] for _, d in G.nodes(data=True)}


def test_projection_nodes_edges_and_evidence(small):
    E = an.entity_graph(small)
    assert len(E) == 9 and E.number_of_edges() == 6  # the alleged edge is dropped
    edge = E.get_edge_data(str(KGR["e1"]), str(KGR["bla"]))["perpetrator"]
    assert edge["support"] == 2 and edge["documents"] == ["Doc A", "Doc B"]
    assert edge["evidence"][0]["quote"] == "The BLA attacked a convoy."
    assert edge["evidence"][0]["date"] == "2026-02-01"
    assert E.nodes[str(KGR["india"])]["kind"] == "Actor"  # Country is an actor
    assert E.nodes[str(KGR["bla"])]["type"] == "ArmedGroup"
    assert not any(isinstance(n, Literal) or n.startswith('"') for n in E)


def test_filters(small):
    f = an.Filters
    assert an.entity_graph(small, f(modalities=frozenset({"Alleged"}))).number_of_edges() == 1
    assert labels(an.entity_graph(small, f(types=frozenset({"Organization"})))) == {
        "Balochistan Liberation Army",
        "Tehreek-e-Taliban Pakistan",
        "Government of Balochistan",
    }
    recent = an.entity_graph(small, f(date_from="2025-01-01"))
    assert "Bannu attack" not in labels(recent) and "Noshki convoy attack" in labels(recent)
    mid_2024 = an.entity_graph(small, f(date_from="2024-06", date_to="2024-12"))
    assert "Bannu attack" in labels(mid_2024)
    assert an.entity_graph(small, f(min_support=2)).number_of_edges() == 1
    assert an.entity_graph(small, f(documents=frozenset({"Doc B"}))).number_of_edges() == 3


def test_actor_graph_links_through_shared_event(small):
    A = an.actor_graph(an.entity_graph(small))
    bla, gob, bugti = (str(KGR[s]) for s in ("bla", "gob", "bugti"))
    assert A[bla][gob]["events"] == ["Noshki convoy attack"]
    assert A[bla][gob]["weight"] == 2  # Doc A and Doc B
    assert A[bugti][gob]["relations"] == ["leads"]
    assert str(KGR["noshki"]) not in A


def test_resolve_names_and_aliases(small):
    E = an.entity_graph(small)
    assert an.resolve(E, "bla") == str(KGR["bla"])
    assert an.resolve(E, "sarfaraz BUGTI") == str(KGR["bugti"])
    with pytest.raises(an.UnknownName):
        an.resolve(E, "nobody")


def test_path_hops_carry_relation_and_quote(small):
    E = an.entity_graph(small)
    [p] = an.paths(E, str(KGR["bla"]), str(KGR["bugti"]))
    assert [E.nodes[n]["label"] for n in p] == [
        "Balochistan Liberation Army",
        "Noshki convoy attack",
        "Government of Balochistan",
        "Sarfaraz Bugti",
    ]
    hops = an.hops(E, p)
    assert [(h.relation, h.forward) for h in hops] == [("perpetrator", False), ("target", True), ("leads", False)]
    assert hops[-1].quote == "Chief Minister Sarfaraz Bugti said." and hops[-1].document == "Doc A"
    assert an.paths(E, str(KGR["bla"]), str(KGR["bugti"]), max_hops=2) == []
    assert an.paths(E, str(KGR["bla"]), str(KGR["ttp"])) == []


def test_centrality_on_a_star():
    """Hand-worked: the centre of a 4-leaf star has degree 1 and betweenness 1."""
    G = nx.MultiDiGraph()
    for n in "cabde":
        G.add_node(n, label=n, type="Person", classes=["Person", "Actor"], kind="Actor")
    for leaf in "abde":
        G.add_edge("c", leaf, key="leads")
    r = an.centrality(G)
    assert r.scores["c"]["degree"] == 1.0 and r.scores["c"]["betweenness"] == 1.0
    assert r.scores["a"]["betweenness"] == 0.0 and r.sampled_k is None
    assert [row["name"] for row in an.rank_rows(G, r, top=1)] == ["c"]


# --- igraph betweenness and scipy eigenvector: NetworkX's numbers --------------------


def _with_isolated() -> nx.Graph:
    G = nx.star_graph(4)
    G.add_nodes_from(["lonely", "alone"])
    G.add_edge("x", "y")
    return G


def _named() -> nx.Graph:
    """String node names, IRIs like the projection's, inserted in a shuffled order."""
    K = nx.karate_club_graph()
    order = sorted(K, key=lambda n: (n * 7) % 34)
    G = nx.Graph()
    G.add_nodes_from(f"https://w3id.org/kgae/id/n{n}" for n in order)
    G.add_edges_from((f"https://w3id.org/kgae/id/n{u}", f"https://w3id.org/kgae/id/n{v}") for u, v in K.edges())
    return G


GRAPHS = {
    "karate": nx.karate_club_graph,
    "gnm, several components": lambda: nx.gnm_random_graph(40, 35, seed=3),
    "path": lambda: nx.path_graph(9),
    "isolated nodes": _with_isolated,
    "string names": _named,
    "les miserables": nx.les_miserables_graph,
    "grid (many equal paths)": lambda: nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 7)),
    "one node": lambda: nx.empty_graph(1),
    "two nodes": lambda: nx.path_graph(2),
    "no edges": lambda: nx.empty_graph(5),
}


def assert_same(ours: dict, theirs: dict, tol: float = 1e-9) -> None:
    assert list(ours) == list(theirs)  # same nodes, same order
    for n, value in theirs.items():
        if math.isnan(value):  # NetworkX's 0/0 for the only pivot when k=1
            assert math.isnan(ours[n]), n
        else:
            assert ours[n] == pytest.approx(value, abs=tol, rel=0), n


def test_igraph_is_what_runs():
    assert an._igraph() is not None  # a dependency: the tests below compare igraph with NetworkX


@pytest.mark.parametrize("name", GRAPHS)
def test_exact_betweenness_equals_networkx(name):
    G = GRAPHS[name]()
    assert_same(an.betweenness(G), nx.betweenness_centrality(G))


@pytest.mark.parametrize("name", GRAPHS)
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_sampled_betweenness_equals_networkx(name, seed):
    """The same pivots drawn from the same seed, the same rescaling (pivots and others apart)."""
    G = GRAPHS[name]()
    for k in sorted({1, 2, 3, len(G) // 2, len(G) - 1, len(G)} - {0}):
        if k <= len(G):
            assert_same(an.betweenness(G, k=k, seed=seed), nx.betweenness_centrality(G, k=k, seed=seed))


def test_multigraphs_and_digraphs_are_left_to_networkx():
    M = nx.MultiGraph(nx.karate_club_graph())
    M.add_edges_from([(0, 1), (0, 1), (5, 6)])
    assert_same(an.betweenness(M, k=7, seed=2), nx.betweenness_centrality(M, k=7, seed=2))
    D = nx.gnm_random_graph(30, 80, seed=1, directed=True)
    assert_same(an.betweenness(D, k=7, seed=2), nx.betweenness_centrality(D, k=7, seed=2))
    for fn in (an.eigenvector_power, nx.eigenvector_centrality):
        with pytest.raises(nx.NetworkXNotImplemented):
            fn(M)


_COUNT_INHERITED = an._count_inherited


def _count_noting_where(sources):
    """A forked worker's count, its process id noted (a function of this module: pickled by name)."""
    with open(os.environ["KG_TEST_PIDS"], "a") as out:
        out.write(f"{os.getpid()}\n")
    return _COUNT_INHERITED(sources)


@pytest.mark.skipif(not can_fork(), reason="betweenness is shared among forked processes only where fork is")
@pytest.mark.parametrize("name", ["karate", "les miserables", "grid (many equal paths)", "string names"])
@pytest.mark.parametrize("workers", [2, 3])
def test_betweenness_counted_in_several_processes_equals_networkx(name, workers, monkeypatch, tmp_path):
    """The sources shared among processes, each process's shares added: NetworkX's answer
    still, exact and sampled, and the work done in forked processes besides this one."""
    G = GRAPHS[name]()
    seen = tmp_path / "pids"
    monkeypatch.setenv("KG_TEST_PIDS", str(seen))
    monkeypatch.setattr(an, "_count_inherited", _count_noting_where)
    assert_same(an.betweenness(G, workers=workers), nx.betweenness_centrality(G))
    for k, seed in ((2 * workers, 0), (len(G) // 2, 7)):
        assert_same(an.betweenness(G, k=k, seed=seed, workers=workers), nx.betweenness_centrality(G, k=k, seed=seed))
    pids = seen.read_text().split()
    assert len(pids) == 3 * workers and str(os.getpid()) not in pids  # every share counted in a worker


def _count_and_die(sources):
    """A worker killed mid-count (the out-of-memory killer, a crash): no exception, no result."""
    os._exit(9)


@pytest.mark.skipif(not can_fork(), reason="betweenness is shared among forked processes only where fork is")
def test_kg_rank_says_a_worker_died(seeds_ttl, monkeypatch):
    monkeypatch.setattr(an, "_count_inherited", _count_and_die)
    result = CliRunner().invoke(main, ["rank", str(seeds_ttl), "--workers", "2"])
    assert result.exit_code == 1 and "a worker process died" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # a message, not a traceback


def test_betweenness_with_fewer_sources_than_two_per_worker_is_counted_here(monkeypatch):
    """Two pivots among four processes: not worth a fork; the answer is the same."""
    G = nx.karate_club_graph()
    monkeypatch.setattr(an, "_count_inherited", lambda sources: pytest.fail("forked for two sources"))
    assert_same(an.betweenness(G, k=2, seed=1, workers=4), nx.betweenness_centrality(G, k=2, seed=1))


def test_betweenness_without_igraph_is_networkx(monkeypatch):
    G = nx.karate_club_graph()
    monkeypatch.setattr(an, "_igraph", lambda: None)
    assert an.betweenness(G, k=5, seed=3) == nx.betweenness_centrality(G, k=5, seed=3)


@st.composite
def graphs(draw, loops: bool = False) -> nx.Graph:
    n = draw(st.integers(1, 25))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))
    G = nx.Graph()
    G.add_nodes_from(draw(st.permutations(range(n))))
    G.add_edges_from((u, v) for u, v in pairs if loops or u != v)
    return G


@settings(max_examples=150, deadline=None)
@given(graphs(loops=True), st.integers(0, 2**32), st.data())
def test_betweenness_equals_networkx_on_random_graphs(G, seed, data):
    k = data.draw(st.one_of(st.none(), st.integers(1, len(G))))
    assert_same(an.betweenness(G, k=k, seed=seed), nx.betweenness_centrality(G, k=k, seed=seed))


@pytest.mark.parametrize("name", [n for n in GRAPHS if nx.number_of_edges(GRAPHS[n]())])
def test_eigenvector_equals_networkx(name):
    """Bit for bit: the same additions in the same order (see eigenvector_power)."""
    G = GRAPHS[name]()
    assert an.eigenvector_power(G) == nx.eigenvector_centrality(G, max_iter=1000, tol=1e-08)


@settings(max_examples=100, deadline=None)
@given(graphs(loops=True))
def test_eigenvector_equals_networkx_on_random_graphs(G):
    try:
        theirs = nx.eigenvector_centrality(G, max_iter=1000, tol=1e-08)
    except nx.PowerIterationFailedConvergence:
        with pytest.raises(nx.PowerIterationFailedConvergence):
            an.eigenvector_power(G)
        return
    assert an.eigenvector_power(G) == theirs


def test_eigenvector_gives_up_where_networkx_does():
    G = nx.karate_club_graph()
    with pytest.raises(nx.PowerIterationFailedConvergence):
        nx.eigenvector_centrality(G, max_iter=3)
    with pytest.raises(nx.PowerIterationFailedConvergence):
        an.eigenvector_power(G, max_iter=3)


@pytest.mark.parametrize("name", GRAPHS)
def test_pagerank_equals_networkx_bit_for_bit(name):
    """The same matrix, each row divided by its sum, the same steps (see pagerank_of):
    isolated nodes (dangling), one node and no edges included."""
    G = GRAPHS[name]()
    assert an.pagerank(G) == nx.pagerank(an.undirected(G))


@st.composite
def directed_multigraphs(draw) -> nx.MultiDiGraph:
    n = draw(st.integers(1, 25))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80))
    G = nx.MultiDiGraph()
    G.add_nodes_from(draw(st.permutations(range(n))))
    G.add_edges_from(pairs)  # both directions, parallel edges and self-loops
    return G


@settings(max_examples=100, deadline=None)
@given(directed_multigraphs(), st.integers(0, 2**32))
def test_centrality_reads_the_undirected_simple_graph_as_networkx_does(G, seed):
    """One Adjacency for the four measures: each pair of nodes linked either way, or several
    times, is one edge, self-loops are none, as `undirected` makes them; degree, PageRank and
    the eigenvector bit for bit NetworkX's on that graph, betweenness within 1e-9."""
    U = an.undirected(G)
    adjacency = an.Adjacency(G)
    assert adjacency.nodes == list(U)
    pairs = {
        frozenset((adjacency.nodes[a], adjacency.nodes[b])) for a, b in zip(adjacency.lo, adjacency.hi, strict=True)
    }
    assert len(pairs) == len(adjacency.lo) == U.number_of_edges()
    assert pairs == {frozenset(e) for e in U.edges()}
    if not U.number_of_edges():
        return  # NetworkX's eigenvector centrality has no answer there (PageRank's own test has it)
    ours = an.centrality(G, seed=seed)
    try:
        theirs = networkx_centrality(G, seed=seed)
    except nx.PowerIterationFailedConvergence:  # nor where it needs more steps: see the test after
        return
    for measure in ("degree", "pagerank", "eigenvector"):
        assert {n: s[measure] for n, s in ours.scores.items()} == {n: s[measure] for n, s in theirs.scores.items()}
    betweenness = {n: s["betweenness"] for n, s in ours.scores.items()}
    assert_same(betweenness, {n: s["betweenness"] for n, s in theirs.scores.items()})


@pytest.mark.parametrize("extra", [0, 1])
def test_eigenvector_of_components_that_do_not_settle_is_where_the_steps_tend(extra):
    """Two components whose largest eigenvalues are close (2.170 and 2.175): the power
    iteration does not settle in 1,000 steps, and NetworkX's eigensolver refuses a graph of
    several components, so `kg rank` stopped with its error. Now centrality gives what
    NetworkX gives after 10,000 steps: the larger's principal eigenvector, the other ~0. With
    `extra`, a copy of the larger component too: equal eigenvalues, shared equally."""
    U = nx.Graph([(0, 4), (0, 8), (0, 9), (0, 10), (1, 2), (1, 3), (1, 7), (2, 3), (4, 5), (4, 6)])
    if extra:
        U.add_edges_from((a + 20, b + 20) for a, b in [(0, 4), (0, 8), (0, 9), (0, 10), (4, 5), (4, 6)])
    with pytest.raises(nx.PowerIterationFailedConvergence):
        an.eigenvector_power(U)
    with pytest.raises(nx.AmbiguousSolution):
        nx.eigenvector_centrality_numpy(U)
    ours = {n: s["eigenvector"] for n, s in an.centrality(U).scores.items()}
    assert_same(ours, nx.eigenvector_centrality(U, max_iter=100_000, tol=1e-12), tol=1e-6)
    assert ours[1] < 1e-6 and ours[0] > 0.4


def test_centrality_samples_like_networkx(monkeypatch):
    """Above SAMPLE_ABOVE nodes, centrality() samples SAMPLE_K pivots with its seed, as
    nx.betweenness_centrality(U, k, seed) would."""
    monkeypatch.setattr(an, "SAMPLE_ABOVE", 20)
    monkeypatch.setattr(an, "SAMPLE_K", 9)
    G = _named()
    r = an.centrality(G, seed=5)
    assert r.sampled_k == 9
    U = an.undirected(G)
    expected = {
        "degree": nx.degree_centrality(U),
        "betweenness": nx.betweenness_centrality(U, k=9, seed=5),
        "pagerank": nx.pagerank(U),
        "eigenvector": nx.eigenvector_centrality(U, max_iter=1000, tol=1e-08),
    }
    for measure, values in expected.items():
        assert_same({n: s[measure] for n, s in r.scores.items()}, values)


def networkx_centrality(G: nx.Graph, seed: int = 0, workers: int = 1) -> an.Ranking:
    """centrality() as it was before igraph and scipy: NetworkX's own functions on the
    undirected graph, the same pivots."""
    U = an.undirected(G)
    k = an.pivots_for(len(U))
    measures = {
        "degree": nx.degree_centrality(U),
        "betweenness": nx.betweenness_centrality(U, k=k, seed=seed),
        "pagerank": nx.pagerank(U),
        "eigenvector": nx.eigenvector_centrality(U, max_iter=1000, tol=1e-08),
    }
    return an.Ranking({n: {m: float(v[n]) for m, v in measures.items()} for n in U}, k)


def test_seeds_rank_is_unchanged(seeds_graph, seeds_ttl, monkeypatch):
    E = an.entity_graph(seeds_graph)
    ours = an.centrality(E)
    table = CliRunner().invoke(main, ["rank", str(seeds_ttl), "--top", "1000"])
    actors = CliRunner().invoke(main, ["rank", str(seeds_ttl), "--actors", "--by", "betweenness"])
    assert table.exit_code == 0 and actors.exit_code == 0
    for workers in ("2", "0"):  # betweenness counted in two processes, in one per core
        shared = CliRunner().invoke(main, ["rank", str(seeds_ttl), "--top", "1000", "--workers", workers])
        assert shared.exit_code == 0 and shared.output == table.output
    theirs = networkx_centrality(E)
    assert list(ours.scores) == list(theirs.scores)
    for measure in ("degree", "betweenness", "pagerank", "eigenvector"):
        assert_same({n: s[measure] for n, s in ours.scores.items()}, {n: s[measure] for n, s in theirs.scores.items()})
    monkeypatch.setattr(an, "centrality", networkx_centrality)
    assert CliRunner().invoke(main, ["rank", str(seeds_ttl), "--top", "1000"]).output == table.output
    assert CliRunner().invoke(main, ["rank", str(seeds_ttl), "--actors", "--by", "betweenness"]).output == actors.output


def test_communities_are_deterministic(seeds_graph):
    E = an.entity_graph(seeds_graph)
    assert an.communities(E) == an.communities(E)
    assert sum(len(c) for c in an.communities(E)) == len(E)


def test_timeline_keeps_each_sides_figure(small):
    rows = an.timeline(small)
    assert [(r["date"], r["precision"]) for r in rows] == [("2024", "year"), ("2026-01-31", "day")]
    assert rows[1]["perpetrators"] == ["Balochistan Liberation Army"]
    assert rows[1]["places"] == ["Noshki"]
    assert rows[1]["figures"] == ["Balochistan Liberation Army: at least 20 security personnel killed"]


def test_export_graphml_and_dynamic_gexf(small, tmp_path):
    E = an.entity_graph(small)
    an.export(E, str(tmp_path / "g.graphml"))
    back = nx.read_graphml(tmp_path / "g.graphml")
    assert len(back) == len(E) and back.number_of_edges() == E.number_of_edges()
    an.export(E, str(tmp_path / "g.gexf"))
    text = (tmp_path / "g.gexf").read_text()
    assert 'mode="dynamic"' in text and 'timeformat="date"' in text
    assert 'start="2024-01-01"' in text and 'start="2026-01-31"' in text


def test_seeds_projection_and_ranks(seeds_graph):
    E = an.entity_graph(seeds_graph)
    bla = an.resolve(E, "BLA")
    assert E.nodes[bla]["label"] == "Balochistan Liberation Army"
    relations = {k for _, _, k in E.edges(keys=True)}
    assert {"perpetrator", "location", "claimedResponsibilityFor", "leads", "partOf"} <= relations
    assert "sponsors" not in relations  # only ever alleged in the seeds
    rows = an.rank_rows(E, an.centrality(E), types=["ArmedGroup"], top=1)
    assert rows[0]["name"] == "Balochistan Liberation Army"
    for _, _, d in E.edges(data=True):
        for ev in d["evidence"]:
            assert ev["quote"] and ev["document"]


def test_cli_path_rank_timeline_on_seeds(seeds_ttl):
    run = CliRunner().invoke
    out = run(main, ["path", str(seeds_ttl), "bla", "sarfaraz bugti"])
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0].startswith("Balochistan Liberation Army --")
    assert "\u201c" in out.output  # every hop quotes its evidence
    out = run(main, ["rank", str(seeds_ttl), "--type", "ArmedGroup", "--format", "csv", "--top", "3"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("name,type,links,degree") and len(lines) == 4
    out = run(main, ["timeline", str(seeds_ttl)])
    assert out.exit_code == 0 and "Operation Herof 2.0" in out.output
    out = run(main, ["path", str(seeds_ttl), "bla", "no such name"])
    assert out.exit_code != 0 and "no entity named" in out.output


def test_cli_timeline_png(seeds_ttl, tmp_path):
    png = tmp_path / "t.png"
    out = CliRunner().invoke(main, ["timeline", str(seeds_ttl), "--png", str(png)])
    assert out.exit_code == 0, out.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _as_data(E: nx.MultiDiGraph) -> tuple:
    nodes = dict(E.nodes(data=True))
    edges = sorted((u, v, k, repr(sorted(d.items()))) for u, v, k, d in E.edges(keys=True, data=True))
    return nodes, edges


@pytest.mark.parametrize("suffix", [".ttl", ".nq"])
def test_commands_read_a_file_through_oxigraph_as_rdflib_reads_it(seeds_build, tmp_path, suffix):
    """`kg rank/path/viz/timeline FILE` read the file into Oxigraph (an.load_graph): the
    entity graph, every node's and edge's data, and the timeline are what the same functions
    make of an rdflib Graph of that file (kg.api hands them one)."""
    from kg.graph import load, write

    path = tmp_path / f"seeds{suffix}"
    write(seeds_build.quads, path)
    ours, rdflib_graph = an.load_graph(str(path)), load(path)
    assert isinstance(ours, an.StoreGraph)
    assert _as_data(an.entity_graph(ours)) == _as_data(an.entity_graph(rdflib_graph))
    assert an.timeline(ours) == an.timeline(rdflib_graph)
    assert an.class_ancestors(ours) == an.class_ancestors(rdflib_graph)


def test_a_plain_triple_without_a_statement_is_an_asserted_edge_in_both(small, tmp_path):
    """Graphs from elsewhere may state a relation with no rdf:Statement: an Asserted edge with
    no evidence, read the same way through Oxigraph and rdflib."""
    small.add((KGR["ttp"], KGO.operatesIn, KGR["bannu"]))
    path = tmp_path / "small.ttl"
    small.serialize(path, format="turtle")
    E = an.entity_graph(an.load_graph(str(path)))
    assert E[str(KGR["ttp"])][str(KGR["bannu"])]["operatesIn"]["modality"] == ["Asserted"]
    assert _as_data(E) == _as_data(an.entity_graph(small))


def test_the_projection_reads_odd_terms_through_oxigraph_as_through_rdflib(small, tmp_path):
    """Through Oxigraph the projection reads its answers' terms as text, not as rdflib terms:
    a language-tagged label, an empty title (the document's name is used), no title at all,
    and a quote with quotes, a backslash, a line break and characters beyond ASCII come out
    as they do from rdflib's str()."""
    doc3, doc4 = KGR["doc-c"], KGR["doc-d"]
    small.add((doc3, DCTERMS.title, Literal("")))
    small.add((doc4, RDF.type, KGO.Document))
    cell = entity(small, "cell", "ArmedGroup", "placeholder")
    small.set((cell, RDFS.label, Literal("Célula «Norte»", lang="es")))
    quote = 'Dijo "no" \\ y\nse fue: «ya».'
    statement(small, cell, "memberOf", KGR["bla"], docs=(doc3, doc4), quote=quote)
    path = tmp_path / "odd.nt"
    small.serialize(path, format="nt")
    E = an.entity_graph(an.load_graph(str(path)))
    assert _as_data(E) == _as_data(an.entity_graph(small))
    data = E[str(cell)][str(KGR["bla"])]["memberOf"]
    assert E.nodes[str(cell)]["label"] == "Célula «Norte»"
    assert {ev["document"] for ev in data["evidence"]} == {"doc-c", "doc-d"}
    assert {ev["quote"] for ev in data["evidence"]} == {quote}


def test_rank_reads_a_store_directory(seeds_ttl, tmp_path):
    store = tmp_path / "store"
    built = CliRunner().invoke(main, ["build", str(SEEDS), "--store", str(store)])
    assert built.exit_code == 0, built.output
    from_store = CliRunner().invoke(main, ["rank", str(store), "--top", "5"])
    from_file = CliRunner().invoke(main, ["rank", str(seeds_ttl), "--top", "5"])
    assert from_store.exit_code == 0, from_store.output
    assert from_store.output == from_file.output and "Balochistan Liberation Army" in from_store.output


def test_query_rows_read_by_name_position_and_attribute(seeds_ttl):
    [row] = an.load_graph(str(seeds_ttl)).query(
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT ?count ?label WHERE "
        '{ ?x rdfs:label ?label FILTER(?label = "Balochistan Liberation Army") BIND(3 AS ?count) }'
    )
    assert row["count"].toPython() == 3 and str(row.label) == str(row[1]) == "Balochistan Liberation Army"
    assert row.fields == {"count": 0, "label": 1}


def test_explain_says_the_same_through_oxigraph_and_rdflib(seeds_ttl, monkeypatch):
    """`kg explain` reads the file through Oxigraph (its pre-bound name and entity become
    substitutions); every line, in order, is what rdflib's initBindings gave."""
    from kg.graph import load

    names = ["Balochistan Liberation Army", "Operation Herof 2.0", "Noshki", "TTP", "Sarfaraz Bugti"]

    def run() -> list[str]:
        return [CliRunner().invoke(main, ["explain", str(seeds_ttl), name]).output for name in names]

    ours = run()
    monkeypatch.setattr(an, "load_graph", load)
    assert ours == run()
    assert all(out.startswith("== ") for out in ours) and "figure: Balochistan Liberation Army: 84" in ours[1]


@pytest.mark.parametrize("command", ["rank", "timeline", "explain", "stats"])
def test_a_graph_that_cannot_be_read_gets_one_line_naming_it(tmp_path, command):
    broken, missing, not_a_store = tmp_path / "broken.ttl", tmp_path / "missing.nq", tmp_path / "folder"
    broken.write_text("<a> <b> .\n", encoding="utf-8")
    not_a_store.mkdir()
    for source in (broken, missing, not_a_store):
        args = [command, str(source)] + (["BLA"] if command == "explain" else [])
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
        assert result.output.startswith(f"Error: {source}") and "Traceback" not in result.output, result.output


def in_fresh_python(code: str) -> str:
    """What `code` prints when run in a new interpreter: what a module imports shows only there."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


RANK_THREE = (  # a ranking of three nodes, as a notebook would ask for one
    "import sys\n"
    "import networkx as nx\n"
    "from kg.analysis import centrality\n"
    "G = nx.MultiDiGraph()\n"
    "G.add_edge('a', 'b', key='leads'); G.add_edge('b', 'c', key='leads')\n"
)


def test_kg_build_does_not_load_the_analysis_stack(tmp_path):
    """Every command is registered at start-up, but NetworkX loads only for the commands
    that use it (kg.cli_analysis.lazy): a build, or a script of many small ones, does not
    pay for it; an analysis command run after in the same process still has it."""
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from kg.cli import main\n"
        f"built = CliRunner().invoke(main, ['build', {str(SEEDS)!r}, '--out', {str(tmp_path / 'g.nq')!r}])\n"
        "assert built.exit_code == 0, built.output\n"
        "print('networkx' in sys.modules)\n"
        f"ranked = CliRunner().invoke(main, ['rank', {str(tmp_path / 'g.nq')!r}, '--top', '3'])\n"
        "assert ranked.exit_code == 0, ranked.output\n"
        "print('networkx' in sys.modules, 'Balochistan' in ranked.output)\n"
    )
    assert in_fresh_python(script).split("\n")[:2] == ["False", "True True"]


def test_ranking_a_graph_loads_no_extraction_module():
    """A notebook's ranking runs with fewer cyclic collections (kg.gcpolicy) and does not load
    the extraction modules for it (0.16-0.23 s, when the setting lived in kg.parallel)."""
    script = RANK_THREE + (
        "print(centrality(G).scores['b']['betweenness'])\n"
        "print(sorted(m for m in ('kg.extract', 'kg.parallel', 'kg.rules') if m in sys.modules))\n"
    )
    assert in_fresh_python(script).split("\n")[:2] == ["1.0", "[]"]


def test_ranking_imports_igraph_without_matplotlib_and_leaves_matplotlib_importable():
    """igraph's package loads matplotlib.pyplot for its own drawing (~1 s); kg hides it while
    it imports igraph, unless matplotlib is loaded already: then igraph draws with it."""
    script = RANK_THREE + (
        "print(centrality(G).scores['b']['betweenness'], 'igraph' in sys.modules, 'matplotlib' in sys.modules)\n"
        "import matplotlib.pyplot as plt\n"
        "print(plt.figure is not None)\n"
    )
    assert in_fresh_python(script).split("\n")[:2] == ["1.0 True False", "True"]
    drawn = (
        "import sys\nimport matplotlib.pyplot\nimport kg.analysis as an\nig = an._igraph()\n"
        "from igraph.drawing.matplotlib import graph\nprint(graph.mpl is sys.modules['matplotlib'])\n"
    )
    assert in_fresh_python(drawn).strip() == "True"


def test_an_igraph_that_needs_matplotlib_is_imported_with_it(tmp_path):
    """Hiding matplotlib must not cost the fast path: an igraph whose import fails without
    matplotlib (a stand-in package here, first on the path) is imported again with it."""
    (tmp_path / "igraph").mkdir()
    (tmp_path / "igraph" / "__init__.py").write_text("import matplotlib\nSTAND_IN = True\n", encoding="utf-8")
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import kg.analysis as an\n"
        "ig = an._igraph()\n"
        "print(getattr(ig, 'STAND_IN', False), 'matplotlib' in sys.modules)\n"
    )
    assert in_fresh_python(script).strip() == "True True"


def test_a_subgraph_keeps_the_graphs_own_order_of_nodes_and_edges(seeds_graph):
    """networkx's subgraph walks a small node set in hash order (another in each process);
    `induced`, as ego uses it, keeps the graph's order and its edges' keys and data."""
    E = an.entity_graph(seeds_graph)
    center = an.resolve(E, "Balochistan Liberation Army")
    sub = an.ego(E, center, hops=1)
    assert 1 < len(sub) < len(E) / 2  # the size at which networkx walked the set
    assert list(sub) == [n for n in E if n in sub]
    kept = [(u, v, k) for u, v, k in E.edges(keys=True) if u in sub and v in sub]
    assert list(sub.edges(keys=True)) == kept
    assert all(sub.edges[e] == E.edges[e] and sub.edges[e] is not E.edges[e] for e in kept)
    assert all(sub.nodes[n] == E.nodes[n] for n in sub)
