"""Broken and hostile input: every bad file gets one clear line on stderr, the rest of the
corpus still builds (exit 3), and hostile text comes back out of every RDF format unchanged."""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import shutil
import tracemalloc
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Literal, URIRef
from rdflib.compare import isomorphic

from kg.cli import main
from kg.extract import extract
from kg.graph import FORMATS, load, to_graph, write
from kg.ingest import make_document, read_corpus, read_file
from kg.pipeline import Build, build
from kg.vocab import KGO
from tests.conftest import SEEDS

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ARTICLE = "Chief Minister Sarfaraz Bugti said the BLA attacked a convoy in Noshki, killing 10 soldiers."
# A character an IRI may never hold: space, <>"{}|^`\ and the C0/C1 controls.
BAD_IRI_CHAR = re.compile(r'[\s<>"{}|^`\\\x00-\x1f\x7f-\x9f]')

# name -> (content, the reason its stderr line must give)
BAD_FILES: dict[str, tuple[bytes, str]] = {
    "empty.txt": (b"", "empty file"),
    "blank.md": (b"  \n\t\n", "empty file"),
    "image.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    "paper.txt": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "binary file"),
    "archive.txt": (gzip.compress(ARTICLE.encode()), "binary file"),
    "latin1.txt": (ARTICLE.replace("said", "d\xe9clared").encode("latin-1"), "invalid UTF-8 at byte"),
    "nested.html": (b"<html><body>" + b"<div>" * 5000 + b"<p>" + b"</span>" * 50, "no article text found"),
    "broken.jsonl": (json.dumps({"text": ARTICLE}).encode() + b"\n{broken\n", "broken JSON line skipped"),
}


def hostile_corpus(root: Path) -> Path:
    """The seeds plus every kind of bad file, and a malformed metadata.json in a sub-folder."""
    corpus = root / "corpus"
    shutil.copytree(SEEDS, corpus)
    for name, (content, _) in BAD_FILES.items():
        (corpus / name).write_bytes(content)
    (corpus / "loop-a.txt").symlink_to("loop-b.txt")
    (corpus / "loop-b.txt").symlink_to("loop-a.txt")
    (corpus / "dangling.txt").symlink_to("nowhere.txt")
    os.mkfifo(corpus / "pipe.txt")  # would block a naive open() forever
    if not IS_ROOT:  # root reads a chmod 000 file anyway; the FIFO and symlinks cover it there
        (corpus / "locked.txt").write_text(ARTICLE)
        (corpus / "locked.txt").chmod(0)
    sub = corpus / "sub"
    sub.mkdir()
    (sub / "metadata.json").write_text("{not json")
    (sub / "ok.txt").write_text(ARTICLE)
    other = corpus / "other"
    other.mkdir()
    (other / "metadata.json").write_text(json.dumps({"ghost.txt": {"title": "x"}, "ok.txt": {"title": "T"}}))
    (other / "ok.txt").write_text(ARTICLE.replace("10", "12"))
    return corpus


def expected_lines(corpus: Path) -> dict[str, str]:
    expected = {str(corpus / name): reason for name, (_, reason) in BAD_FILES.items()}
    expected[str(corpus / "broken.jsonl") + ":2"] = expected.pop(str(corpus / "broken.jsonl"))
    expected[str(corpus / "loop-a.txt")] = "unreadable: Too many levels of symbolic links"
    expected[str(corpus / "loop-b.txt")] = "unreadable: Too many levels of symbolic links"
    expected[str(corpus / "dangling.txt")] = "unreadable: No such file"
    expected[str(corpus / "pipe.txt")] = "not a regular file"
    expected[str(corpus / "sub" / "metadata.json")] = "malformed metadata"
    expected[str(corpus / "other" / "metadata.json")] = "names a file that does not exist: ghost.txt"
    if not IS_ROOT:
        expected[str(corpus / "locked.txt")] = "unreadable: Permission denied"
    return expected


@pytest.fixture(scope="module")
def bad_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("robust")
    corpus = hostile_corpus(root)
    out = root / "graph.ttl"
    result = CliRunner().invoke(main, ["build", str(corpus), "--out", str(out)])
    return corpus, out, result


def test_each_bad_file_gets_one_clear_line_and_exit_3(bad_build):
    corpus, _, result = bad_build
    assert result.exit_code == 3, result.output
    warnings_ = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    for where, reason in expected_lines(corpus).items():
        mine = [line for line in warnings_ if line.startswith(f"warning: {where}: ")]
        assert len(mine) == 1, (where, warnings_)
        assert reason in mine[0], mine[0]
    assert "Traceback" not in result.output


def test_the_rest_of_the_corpus_still_builds(bad_build):
    corpus, out, _ = bad_build
    graph = load(out)
    titles = {str(t) for t in graph.objects(None, URIRef("http://purl.org/dc/terms/title"))}
    seeds_meta = json.loads((SEEDS / "metadata.json").read_text())
    assert {m["title"] for m in seeds_meta.values()} <= titles
    assert "T" in titles  # metadata naming a missing file still applies to the files it does name
    sources = {str(s) for s in graph.objects(None, URIRef("http://purl.org/dc/terms/source"))}
    assert str(corpus / "latin1.txt") in sources  # decoded with replacements, not dropped
    assert str(corpus / "sub" / "ok.txt") in sources  # malformed metadata ignored, file kept
    assert str(corpus / "broken.jsonl") + ":1" in sources  # the good line of a broken JSONL


def test_no_documents_at_all_is_an_error_not_a_crash(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    out = tmp_path / "g.ttl"
    result = CliRunner().invoke(main, ["build", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 1 and "no documents could be read" in result.stderr
    assert not out.exists()


def evidence_offsets_hold(text: str) -> int:
    """Extract from a file holding `text`; every quote must be its slice. Returns how many."""
    result = extract(doc_from(text))
    spans = [f.evidence for f in result.facts] + [c.evidence for c in result.claims]
    spans += [ev for e in result.events for ev in e.evidence]
    spans += [ev for e in result.entities.values() for ev in e.evidence]
    for ev in spans:
        assert result.doc.text[ev.start : ev.end] == ev.quote
    return len(spans)


def doc_from(text: str):
    return make_document("mem.txt", text.encode("utf-8"), text, {}, "text")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-8-sig"])
def test_windows_line_endings_and_bom_keep_offsets_exact(tmp_path, encoding):
    text = f"Quetta, Sunday, February 1, 2026\r\n\r\n{ARTICLE}\r\nThe BLA claimed responsibility.\r\n"
    path = tmp_path / "crlf.txt"
    path.write_bytes(text.encode(encoding))
    [doc] = read_file(path, {})
    assert doc.text == text  # CRLF kept, BOM dropped, UTF-16 decoded
    result = extract(doc)
    spans = [f.evidence for f in result.facts] + [c.evidence for c in result.claims]
    assert spans, "the rules should fire on this text"
    for ev in spans:
        assert doc.text[ev.start : ev.end] == ev.quote


def test_a_one_megabyte_line_is_read_and_extracted(tmp_path):
    """One line, 9,500 sentences: splitting it used to search the whole line before every
    full stop (quadratic); now about 2 s. Dense text (a figure every sentence) is still
    slower than linear in kg.events: 256 KB of it takes about 3 s."""
    filler = "Shops remained closed in the main bazaar and phone services were suspended. " * 120
    text = (filler + ARTICLE + " ") * (2**20 // (len(filler) + len(ARTICLE) + 1))
    path = tmp_path / "line.txt"
    path.write_text(text)
    [doc] = read_file(path, {})
    assert len(doc.text) > 2**20 - 10_000 and "\n" not in doc.text
    assert evidence_offsets_hold(doc.text) > 0


def test_a_50_megabyte_file_is_read_within_a_bounded_memory(tmp_path):
    """The reader holds the bytes and the decoded text, little else: measured peak 3.0x the
    file for ASCII text (4x for text with non-Latin-1 characters, which Python stores wide)."""
    line = (ARTICLE + " ") * 20 + "\n"
    path = tmp_path / "big.txt"
    with path.open("w") as fh:
        for _ in range(50 * 2**20 // len(line)):
            fh.write(line)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        [doc] = read_file(path, {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(doc.text) == size
    assert peak < 3.5 * size, f"peak {peak / 2**20:.0f} MiB for a {size / 2**20:.0f} MiB file"


def test_broken_html_still_gives_its_article(tmp_path):
    page = "<html><body><article><p>" + ARTICLE + " " + ARTICLE + "<p><b><i>" + ARTICLE + "</div></span>"
    (tmp_path / "broken.html").write_text(page * 3)
    docs, errors = read_corpus([tmp_path])
    assert errors == [] and "Sarfaraz Bugti" in docs[0].text


# ------------------------------------------------------------------ hostile text
HOSTILE_NAME = "Ka" + "x" * 10_000
HOSTILE = {
    "img.txt": "Chief Minister <img src=x onerror=alert(1)> Khan said the BLA attacked a convoy in Noshki.\n",
    "script.txt": 'PTI leader Imran Khan said "</script><script>alert(1)</script>" after the BLA attacked Quetta.\n',
    "spokesman.txt": 'BLA spokesman Jeeyand Baloch"> . said the group attacked the Jaffar Express near Sibi.\n',
    "js.md": "[BLA](javascript:alert(1)) claimed the attack in Turbat, killing 10 soldiers. <a href='javascript:x'>\n",
    "turtle.txt": 'BLA spokesman Jeeyand Baloch said "10 soldiers" \\" were killed> . <http://x> ; ] } in Gwadar.'
    "\\n\\u0000 _:b0 <a> <b> . \"\"\" ''' @prefix x: <y> .\n",
    "bidi.txt": "BLA spokesman Jeeyand\u200d Baloch\u202e said the group attacked a convoy in Noshki\u202c.\u2066\u2069\n",
    "long.txt": f"Balochistan Chief Minister {HOSTILE_NAME} Bugti said 31 soldiers were killed in Quetta. "
    f"{HOSTILE_NAME} Baloch, a spokesman for the BLA, said the group attacked Noshki.\n",
    "ctrl.txt": "BLA spokesman Jeeyand Baloch said\x0b the group attacked\x1b[31m a convoy\x7f in Noshki\x85 killing "
    "3 soldiers.\x0c\n",
}


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("hostile")
    for name, text in HOSTILE.items():
        (corpus / name).write_bytes(text.encode("utf-8"))
    (corpus / "metadata.json").write_text(
        json.dumps(
            {"img.txt": {"title": '"><script>alert(1)</script> \\ """ > .', "url": "javascript:alert(document.cookie)"}}
        )
    )
    (corpus / "feed.jsonl").write_text(
        json.dumps({"text": "The BLA said \ud800 it attacked Noshki, killing 4 soldiers.", "title": "t\udfff"}) + "\n"
    )
    built = build([str(corpus)])
    built.folder = corpus
    return built


def test_hostile_text_reaches_the_graph(hostile_build):
    quotes = {ev.quote for evs in hostile_build.corpus.facts.values() for ev in evs}
    quotes |= {ev.quote for evs in hostile_build.corpus.claims.values() for ev in evs}
    assert any("<img src=x" in q for q in quotes)
    assert any('Baloch"> .' in q for q in quotes)
    assert any("\u202e" in q for q in quotes) and any("\x1b[31m" in q for q in quotes)
    assert any('\\n\\u0000 _:b0 <a> <b> . """' in q for q in quotes)
    assert any(HOSTILE_NAME in q for q in quotes)
    assert [str(e) for e in hostile_build.errors] == [f"{e.path}: {e.reason}" for e in hostile_build.errors]
    assert any("surrogate" in e.reason for e in hostile_build.errors)


@pytest.mark.parametrize("streamed", [False, True], ids=["from-memory", "streamed"])
@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_hostile_text_round_trips_through_every_format(hostile_build, tmp_path, suffix, streamed, caplog):
    """Written from the graph held in memory, and streamed as it is made (`kg build --out`:
    Turtle, TriG and JSON-LD through lines sorted on disk, kg.linesort)."""
    path = tmp_path / f"graph{suffix}"
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, logger="rdflib"):
        warnings.simplefilter("always")
        if streamed:
            Build(hostile_build.corpus, [], hostile_build.rules).write(path)
        else:
            write(hostile_build.quads, path)
        graph = load(path)
    assert not [r for r in caplog.records if r.name.startswith("rdflib")], caplog.text
    assert not [w for w in caught if re.search(r"\bUR[IL]|IRI", str(w.message))], [str(w.message) for w in caught]
    assert isomorphic(graph, to_graph(hostile_build.quads))
    documents, _ = read_corpus([hostile_build.folder])  # a build keeps the records, not the text
    texts = {f"https://w3id.org/kgae/id/doc-{d.id}": d.text for d in documents}
    checked = 0
    for ev in graph.subjects(KGO.quote, None):
        doc = str(graph.value(ev, KGO.document))
        start, end = graph.value(ev, KGO.start).toPython(), graph.value(ev, KGO.end).toPython()
        assert texts[doc][start:end] == str(graph.value(ev, KGO.quote))
        checked += 1
    assert checked >= len(HOSTILE)
    assert_iris_valid(graph)


def assert_iris_valid(graph) -> None:
    for triple in graph:
        for term in triple:
            if isinstance(term, URIRef):
                assert not BAD_IRI_CHAR.search(str(term)), repr(term)
                assert re.match(r"^[a-z][a-z0-9+.-]*:", str(term)), repr(term)
                assert len(str(term)) < 300, repr(term)[:100]
            elif isinstance(term, Literal):
                assert not re.search("[\ud800-\udfff]", str(term))


def test_fuzz_the_reader_and_the_rules_for_a_bounded_time():
    """A few seconds in CI; KG_FUZZ_SECONDS=600 for a long run (see tests/fuzz_ingest.py)."""
    from tests.fuzz_ingest import budget, run

    tried, read = run(budget())
    assert tried > 50 and read > 0
