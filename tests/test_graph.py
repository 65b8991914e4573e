"""The built seeds graph against the contract, the analysts' questions and the shapes."""

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import RDF, Graph
from rdflib.compare import to_isomorphic

from kg.cli import main
from kg.graph import FORMATS, QUAD_FORMATS, load, write
from kg.pipeline import build
from kg.validate import validate_graph
from kg.vocab import KGO, ONTOLOGY_DIR
from tests.conftest import ROOT, SEEDS

SHARED_QA = ROOT.parent / "shared" / "qa"


def run_yardstick(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SHARED_QA / script), *args], capture_output=True, text=True, timeout=300)


def test_seeds_graph_passes_the_contract_check(seeds_ttl):
    done = run_yardstick("check_graph.py", str(seeds_ttl), "--docs", str(SEEDS))
    assert done.returncode == 0, done.stdout
    assert "0 do not" in done.stdout


def test_seeds_graph_answers_every_analyst_question(seeds_ttl):
    done = run_yardstick("run_qa.py", str(seeds_ttl), str(SHARED_QA / "seeds.toml"))
    assert done.returncode == 0, done.stdout
    assert done.stdout.strip().endswith("0 failed")


def test_seeds_graph_conforms_to_the_shapes(seeds_graph):
    conforms, report = validate_graph(seeds_graph)
    assert conforms, report


def test_shapes_catch_a_broken_graph(seeds_graph):
    broken = Graph()
    for t in seeds_graph:
        broken.add(t)
    claim = next(broken.subjects(RDF.type, KGO.CasualtyClaim))
    broken.remove((claim, KGO.count, None))
    person = next(broken.subjects(RDF.type, KGO.Person))
    broken.add((person, KGO.leads, KGO.Killed))
    conforms, report = validate_graph(broken)
    assert not conforms
    assert "count" in report and "leads points to an Organization or a Country" in report


def test_every_quote_is_the_document_text_between_its_offsets(seeds_graph):
    texts = {}
    for doc in seeds_graph.subjects(RDF.type, KGO.Document):
        source = str(seeds_graph.value(doc, Graph().namespace_manager.store.namespace("dcterms") or None) or "")
        del source
    for path in SEEDS.glob("*.txt"):
        texts[path.name] = path.read_text(encoding="utf-8")
    from rdflib.namespace import DCTERMS

    checked = 0
    for ev in seeds_graph.subjects(RDF.type, KGO.Evidence):
        doc = seeds_graph.value(ev, KGO.document)
        name = Path(str(seeds_graph.value(doc, DCTERMS.source))).name
        start, end = int(seeds_graph.value(ev, KGO.start)), int(seeds_graph.value(ev, KGO.end))
        assert texts[name][start:end] == str(seeds_graph.value(ev, KGO.quote))
        checked += 1
    assert checked > 50


@pytest.mark.parametrize("suffix", [".ttl", ".nt", ".trig", ".nq", ".jsonld"])
def test_every_output_format_parses_back_to_the_same_graph(seeds_build, seeds_graph, tmp_path, suffix):
    path = tmp_path / f"seeds{suffix}"
    write(seeds_build.quads, path)
    assert to_isomorphic(load(path)) == to_isomorphic(seeds_graph)


@pytest.mark.parametrize("suffix", [".ttl", ".nt", ".trig", ".nq", ".jsonld"])
def test_load_reads_what_rdflibs_own_parser_reads(seeds_build, tmp_path, suffix):
    """kg.graph.load parses with pyoxigraph and hands rdflib the terms: the same triples,
    literals' datatypes and languages included, as rdflib parsing the file itself."""
    from rdflib import Dataset

    path = tmp_path / f"seeds{suffix}"
    write(seeds_build.quads, path)
    fmt = FORMATS[suffix]
    if fmt in QUAD_FORMATS:
        ds = Dataset()
        ds.parse(path, format=fmt)
        expected = {(s, p, o) for s, p, o, _ in ds.quads((None, None, None, None))}
    else:
        expected = set(Graph().parse(path, format=fmt))
    loaded = set(load(path))
    assert loaded == expected
    assert {(type(o), getattr(o, "datatype", None), getattr(o, "language", None)) for _, _, o in loaded} == {
        (type(o), getattr(o, "datatype", None), getattr(o, "language", None)) for _, _, o in expected
    }


def test_named_graph_per_document_in_trig(seeds_build, tmp_path):
    from rdflib import Dataset

    path = tmp_path / "seeds.trig"
    write(seeds_build.quads, path)
    ds = Dataset()
    ds.parse(path, format="trig")
    names = {str(g.identifier) for g in ds.graphs() if "doc-" in str(g.identifier)}
    assert len(names) == 5


def test_build_is_deterministic(tmp_path):
    outputs = []
    for run in range(2):
        path = tmp_path / f"run{run}.nt"
        build([str(SEEDS)]).write(path)
        outputs.append(sorted(path.read_text(encoding="utf-8").splitlines()))
    assert outputs[0] == outputs[1]


def test_vocabulary_module_agrees_with_the_ontology():
    ontology = Graph().parse(ONTOLOGY_DIR / "kgo.ttl")
    defined = {str(s).split("#")[1] for s in ontology.subjects() if str(s).startswith(str(KGO._NS))}
    annotated = set(KGO.__annotations__)
    assert defined == annotated


def test_cli_build_query_explain_and_stats(tmp_path):
    runner = CliRunner()
    out = tmp_path / "seeds.ttl"
    result = runner.invoke(main, ["build", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        main,
        [
            "query",
            str(out),
            'SELECT ?p WHERE { ?p kgo:leads ?o . ?o rdfs:label "Balochistan National Party" }',
            "--format",
            "csv",
        ],
    )
    assert result.output.splitlines() == ["p", "https://w3id.org/kgae/id/akhtar-mengal"]
    result = runner.invoke(main, ["explain", str(out), "Jaffar Express"])
    assert result.exit_code == 0
    assert "claimedResponsibilityFor" in result.output and "claim.responsibility-for" in result.output
    result = runner.invoke(main, ["explain", str(out), "Operation Herof 2.0"])
    assert "Balochistan Liberation Army: more than 200 security personnel killed (unverified)" in result.output
    result = runner.invoke(main, ["stats", str(out)])
    assert "CasualtyClaim" in result.output


def test_cli_refuses_an_unknown_format_without_touching_the_old_file(tmp_path):
    out = tmp_path / "seeds.ttl"
    out.write_text("previous", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(SEEDS), "--out", str(tmp_path / "seeds.xyz")])
    assert result.exit_code != 0
    assert out.read_text(encoding="utf-8") == "previous"


def test_streamed_outputs_equal_the_built_graph(seeds_build, tmp_path):
    """--out in every format, and shards, are written as the graph is made; the same quads, each once."""
    import pyoxigraph as ox

    from kg.graph import GraphWriter
    from kg.pipeline import Build

    emitted: list[tuple] = []
    GraphWriter(seeds_build.corpus, seeds_build.rules, sink=lambda *quad: emitted.append(quad)).build()
    in_memory = {(q.graph_name, q.subject, q.predicate, q.object) for q in seeds_build.quads.quads()}
    assert len(emitted) == len(set(emitted)) == len(in_memory) > 3000
    assert set(emitted) == in_memory

    fresh = Build(seeds_build.corpus, [], seeds_build.rules)  # its graph not made yet: streamed
    for suffix in FORMATS:
        fresh.write(tmp_path / f"g{suffix}")
    fresh.write_shards(tmp_path / "shards", docs_per_shard=2)
    assert "quads" not in fresh.__dict__
    nq = {(q.graph_name, q.subject, q.predicate, q.object) for q in ox.parse(path=str(tmp_path / "g.nq"))}
    assert nq == in_memory
    nt = {(t.subject, t.predicate, t.object) for t in ox.parse(path=str(tmp_path / "g.nt"))}
    assert nt == {quad[1:] for quad in in_memory}
    trig = {(q.graph_name, q.subject, q.predicate, q.object) for q in ox.parse(path=str(tmp_path / "g.trig"))}
    assert trig == in_memory
    for grouped in ("g.ttl", "g.jsonld"):  # the named graphs' union, as Turtle and JSON-LD hold it
        assert {(t.subject, t.predicate, t.object) for t in ox.parse(path=str(tmp_path / grouped))} == nt
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(f"g{s}" for s in FORMATS), "shards"])
    sharded = {
        (q.graph_name, q.subject, q.predicate, q.object)
        for f in sorted((tmp_path / "shards").glob("*.nq"))
        for q in ox.parse(path=str(f))
    }
    assert sharded == in_memory


def test_written_graph_has_the_usual_file_mode(seeds_build, tmp_path):
    """Written through a temporary file (mkstemp: 0600), but published as open() would."""
    import os

    mask = os.umask(0o022)
    try:
        for name in ("g.ttl", "g.nq"):
            seeds_build.write(tmp_path / name)
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(mask)


def test_a_graph_held_whole_is_written_as_pyoxigraphs_n_quads(seeds_build, tmp_path):
    """kg.graph.write renders a held graph's N-Quads lines itself (as a streamed build does,
    without a Quad made per quad): byte for byte, in the same order, what pyoxigraph's
    serialiser writes of the same quads; and a second graph written over it replaces it."""
    import pyoxigraph as ox

    from kg.graph import PREFIXES, Quads

    theirs = tmp_path / "theirs.nq"
    with open(theirs, "wb") as fh:
        ox.serialize(seeds_build.quads.quads(), fh, ox.RdfFormat.N_QUADS, prefixes=PREFIXES)
    ours = tmp_path / "ours.nq"
    write(seeds_build.quads, ours)
    assert ours.read_bytes() == theirs.read_bytes()
    assert len(seeds_build.quads) > 2_000  # more lines than one flush holds (FLUSH_EVERY)
    write(Quads(), ours)
    assert ours.read_bytes() == b""


@pytest.mark.parametrize("triples", [False, True], ids=["n-quads", "n-triples"])
def test_the_streamed_writer_writes_the_bytes_of_pyoxigraphs_serialiser(triples):
    """Text from documents reaches literals as it is: quotes, backslashes, line breaks,
    control characters, characters beyond the BMP. The streamed writer (kg build --out,
    shards) must write each as a parser reads it back, byte for byte what pyoxigraph writes."""
    import io

    import pyoxigraph as ox

    from kg.graph import BufferedWriter

    said = ['a "quoted" word', "back\\slash", "two\nlines", "cr\rlf", "tab\there", "bell\x07", "nul\x00", "del\x7f"]
    said += ["Ünïcode ☃ 𝄞", "line\u2028separator", ""]
    objects = [ox.Literal(v) for v in said] + [
        ox.Literal("3", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
        ox.Literal("Kalat", language="en"),
        ox.NamedNode("https://example.org/r/a?b=1&c=é"),
        ox.BlankNode("b1"),
    ]
    s, p = ox.NamedNode("https://example.org/s"), ox.NamedNode("https://example.org/p")
    graphs = [ox.NamedNode("https://example.org/g"), ox.DefaultGraph()]
    quads = [ox.Quad(s, p, o, g) for o in objects for g in graphs]
    ours = io.BytesIO()
    writer = BufferedWriter(ours, triples=triples)
    for q in quads:
        writer(q.graph_name, q.subject, q.predicate, q.object)
    writer.flush()
    theirs = io.BytesIO()
    if triples:
        ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in quads], theirs, ox.RdfFormat.N_TRIPLES)
    else:
        ox.serialize(quads, theirs, ox.RdfFormat.N_QUADS)
    assert ours.getvalue() == theirs.getvalue()
    assert writer.count == len(quads)
    fmt = ox.RdfFormat.N_TRIPLES if triples else ox.RdfFormat.N_QUADS
    assert len(list(ox.parse(ours.getvalue(), format=fmt))) == len(quads)
