"""Every saved question in queries/ answers on the seeds graph with the values an analyst
expects, and parameters enter queries only as escaped SPARQL literals."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from kg.cli import main, python_value, run_query
from kg.store import QUERIES_DIR, render_saved, saved_queries, sparql_literal

# name, parameters, a column, values that column must hold
EXPECTED = [
    ("claimed-responsibility", {}, "event", {"Operation Herof 2.0", "Hijacking on Jaffar Express (2025-03)"}),
    ("figures-by-claimant", {}, "figure", {"Balochistan Liberation Army: 84 security personnel killed"}),
    (
        "figures-by-claimant",
        {"claimant": "ISPR"},
        "figure",
        {"Inter-Services Public Relations: at least 41 militants killed"},
    ),
    ("attacks-by-group-month", {}, "month", {"2025-03", "2026-01", "2026-02"}),
    ("figures-side-by-side", {}, "event", {"Operation Herof 2.0"}),
    ("linked-within-two-hops", {}, "actor", {"Government of Balochistan", "India", "Pakistan"}),
    ("party-leadership", {}, "person", {"Akhtar Mengal", "Fazlur Rahman", "Imran Khan"}),
    ("groups-active-in", {}, "group", {"Balochistan Liberation Army"}),
    ("groups-active-in", {"place": "Khyber Pakhtunkhwa"}, "group", {"Tehreek-e-Taliban Pakistan"}),
    ("unverified-figures", {}, "event", {"Operation Herof 2.0"}),
    ("allegations-and-denials", {}, "claimant", {"Sarfaraz Bugti"}),
    ("document-contributions", {}, "title", {"What's Behind The Unprecedented Attacks In Pakistan's Balochistan?"}),
    ("fact-sources", {"name": "BLA"}, "rule", {"claim.group-claimed-its-fighters"}),
    ("timeline", {}, "event", {"Operation Azm-e-Istehkam", "Attack in Quetta (2026-02-01)"}),
    ("attacks-and-responses", {}, "targets", {"Jaffar Express"}),
    ("names-of", {"name": "TTP"}, "label", {"Tehreek-e-Taliban Pakistan"}),
    ("leaders-as-reported", {}, "leader", {"Sarfaraz Bugti"}),
    ("most-mentioned", {}, "entity", {"Balochistan Liberation Army"}),
    ("events-in", {}, "where", {"Noshki", "Quetta", "Sibi"}),
]


def answers(source: str, name: str, params: dict[str, str]) -> list[dict[str, str]]:
    result = run_query(str(source), render_saved(name, params))
    names = [str(v) for v in result.vars]
    return [{n: str(python_value(row[i])) for i, n in enumerate(names)} for row in result]


def test_at_least_fifteen_documented_questions():
    queries = saved_queries()
    assert len(queries) >= 15
    for q in queries.values():
        assert q.question.endswith("?"), q.name
        assert q.example.startswith("kg query"), q.name
        for key in q.parameters:
            assert f"${key}" in q.text, (q.name, key)


def test_every_question_has_an_expected_answer():
    assert {name for name, *_ in EXPECTED} == set(saved_queries())


@pytest.mark.parametrize(("name", "params", "column", "wanted"), EXPECTED)
def test_saved_question_on_seeds(seeds_ttl, name, params, column, wanted):
    got = {row[column] for row in answers(seeds_ttl, name, params)}
    assert wanted <= got, (name, sorted(got))


def test_side_by_side_puts_both_sides_on_one_row(seeds_ttl):
    rows = answers(seeds_ttl, "figures-side-by-side", {"event": "Herof"})
    killed = next(r for r in rows if r["outcome"] == "Killed" and r["victims"] == "SecurityPersonnel")
    assert "Balochistan Liberation Army: 84 (unverified)" in killed["figures"]
    assert "Government of Pakistan" in killed["figures"]


def test_allegation_names_who_denied_it(seeds_ttl):
    [row] = answers(seeds_ttl, "allegations-and-denials", {})
    assert (row["subject"], row["relation"], row["object"], row["deniedBy"]) == (
        "India",
        "sponsors",
        "Balochistan Liberation Army",
        "India",
    )


def test_two_hops_are_counted(seeds_ttl):
    hops = {r["actor"]: r["hops"] for r in answers(seeds_ttl, "linked-within-two-hops", {"name": "sarfaraz bugti"})}
    assert hops["India"] == "1" and hops["Pakistan"] == "2"


@pytest.mark.parametrize("value", ['x" } ; DROP ALL #', "back\\slash\\", "new\nline", "$name", "'single'"])
def test_parameters_are_literals_not_syntax(seeds_ttl, value):
    text = render_saved("names-of", {"name": value})
    assert sparql_literal(value) in text
    assert answers(seeds_ttl, "names-of", {"name": value}) == []  # parses, matches nothing


def test_sparql_literal_escapes():
    assert sparql_literal('a"b\\c\n') == '"a\\"b\\\\c\\n"'


def test_unknown_parameter_and_query_are_refused():
    runner = CliRunner()
    result = runner.invoke(main, ["query", "x.ttl", "--saved", "names-of", "--param", "nom=BLA"])
    assert result.exit_code != 0 and "takes name" in result.output
    result = runner.invoke(main, ["query", "x.ttl", "--saved", "no-such"])
    assert result.exit_code != 0 and "kg queries" in result.output


def test_cli_saved_and_list(seeds_ttl):
    runner = CliRunner()
    result = runner.invoke(main, ["query", str(seeds_ttl), "--saved", "party-leadership", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "Balochistan National Party,leads,Akhtar Mengal" in result.output
    listing = runner.invoke(main, ["queries"]).output
    for q in QUERIES_DIR.glob("*.rq"):
        assert f"{q.stem}: " in listing
    assert "--param place=" in listing


@pytest.mark.parametrize("suffix", [".ttl", ".nq", ".trig"])
def test_a_graph_file_answers_as_rdflib_answers_it(seeds_build, seeds_graph, tmp_path, suffix):
    """`kg query FILE` reads the file into Oxigraph (kg.store.query_file); each saved
    question, with its default parameters, gives the rows rdflib's SPARQL gives over the same
    graph (named graphs and all, for quad formats). GROUP_CONCAT's order is the engine's
    choice in SPARQL, so those columns compare as sets of their parts."""
    from kg.graph import load, write

    path = tmp_path / f"seeds{suffix}"
    write(seeds_build.quads, path)
    graph = seeds_graph if suffix == ".ttl" else load(path)
    for name in saved_queries():
        text = render_saved(name, {})
        ours = run_query(str(path), text)
        joined = {var: separator(inner) for inner, var in GROUP_CONCAT.findall(text)}
        columns = [joined.get(str(v)) for v in ours.vars]
        assert rows_of(ours, columns) == rows_of(graph.query(text), columns), name
        assert len(ours), name  # each question has answers on the seeds


GROUP_CONCAT = re.compile(r"GROUP_CONCAT\((.*?)\)\s+AS\s+\?(\w+)", re.S | re.I)


def separator(inner: str) -> str:
    found = re.search(r'SEPARATOR\s*=\s*"([^"]*)"', inner, re.I)
    return found.group(1) if found else " "


def rows_of(result, separators: list[str | None]) -> list[tuple]:
    """Rows as text, sorted; a GROUP_CONCAT cell as the sorted list of its parts."""
    rows = []
    for row in result:
        cells = [str(python_value(term)) for term in row]
        rows.append(tuple(sorted(c.split(sep)) if sep else c for c, sep in zip(cells, separators, strict=True)))
    return sorted(rows, key=repr)


def test_each_document_contribution_is_counted_from_its_own_spans(seeds_ttl, seeds_build):
    """document-contributions counts per document, in subqueries: each seed's row holds the
    spans whose kgo:document it is, the statements and the casualty figures derived from
    them, as counted straight off the graph (a document without spans counts 0)."""
    from rdflib import RDF, Namespace

    from kg.graph import doc_iri

    kgo, prov = Namespace("https://w3id.org/kgae/ontology#"), Namespace("http://www.w3.org/ns/prov#")
    g = seeds_build.quads.to_graph()  # every named graph in one
    expected = {}
    for doc in seeds_build.corpus.documents:
        spans = set(g.subjects(kgo.document, doc_iri(doc.id)))
        derived = {s for ev in spans for s in g.subjects(prov.wasDerivedFrom, ev)}
        kinds = [{s for s in derived if (s, RDF.type, t) in g} for t in (RDF.Statement, kgo.CasualtyClaim)]
        expected[doc.title] = (str(len(spans)), str(len(kinds[0])), str(len(kinds[1])))
    rows = answers(seeds_ttl, "document-contributions", {})
    assert {r["title"]: (r["spans"], r["statements"], r["figures"]) for r in rows} == expected
    assert all(int(spans) > 0 and int(statements) > 0 for spans, statements, _ in expected.values())


ALLEGATION = """
@prefix kgo: <https://w3id.org/kgae/ontology#> . @prefix kgr: <https://w3id.org/kgae/id/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix prov: <http://www.w3.org/ns/prov#> .
kgr:minister rdfs:label "Minister A" . kgr:state rdfs:label "State B" . kgr:front rdfs:label "Front C" .
kgr:raid rdfs:label "Raid on D" .
kgr:st1 a rdf:Statement ; rdf:subject kgr:state ; rdf:predicate kgo:sponsors ; rdf:object kgr:front ;
    kgo:claimant kgr:minister ; kgo:modality kgo:Alleged ; kgo:deniedBy kgr:state ;
    prov:wasDerivedFrom kgr:ev1, kgr:ev2 .
kgr:st2 a rdf:Statement ; rdf:subject kgr:front ; rdf:predicate kgo:claimedResponsibilityFor ;
    rdf:object kgr:raid ; kgo:claimant kgr:front ; prov:wasDerivedFrom kgr:ev3 .
kgr:claim1 a kgo:CasualtyClaim ; kgo:claimant kgr:minister ; kgo:aboutEvent kgr:raid ;
    rdfs:label "Minister A: 4 killed" ; kgo:verified false ; prov:wasDerivedFrom kgr:ev3 .
kgr:ev1 kgo:quote "A said B funds C." . kgr:ev2 kgo:quote "B is behind C, A repeated." .
kgr:ev3 kgo:quote "C claimed the raid; A said four died." .
"""


def test_allegations_are_the_claimants_statements_each_with_its_quotes(tmp_path):
    """allegations-and-denials finds a claimant's statements by their rdf:predicate (whose
    domain is rdf:Statement) and joins each quote of their evidence: one row per quote,
    with the denier; a casualty figure's claimant and a claim of responsibility are not
    allegations."""
    path = tmp_path / "allegation.ttl"
    path.write_text(ALLEGATION, encoding="utf-8")
    rows = answers(path, "allegations-and-denials", {})
    assert sorted(tuple(r.values()) for r in rows) == [
        ("Minister A", "State B", "sponsors", "Front C", "State B", "A said B funds C."),
        ("Minister A", "State B", "sponsors", "Front C", "State B", "B is behind C, A repeated."),
    ]


def test_a_sides_figures_are_its_casualty_claims_not_its_allegations(tmp_path):
    """figures-by-claimant finds a side's figures by kgo:aboutEvent (whose domain is
    kgo:CasualtyClaim): the same side's allegation, a statement with the same kgo:claimant,
    is not one of them."""
    path = tmp_path / "allegation.ttl"
    path.write_text(ALLEGATION, encoding="utf-8")
    rows = answers(path, "figures-by-claimant", {"claimant": "minister a"})
    assert [tuple(r.values()) for r in rows] == [("Raid on D", "Minister A: 4 killed", "False")]
