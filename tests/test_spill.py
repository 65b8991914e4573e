"""A build whose statements and claims wait on disk (kg.spill): the graph of the
build that holds them in memory, every quad written once, and no file left behind."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from rdflib.namespace import DCTERMS

from kg import pipeline
from kg.cli import main
from kg.extract import extract
from kg.graph import (
    ASSERTED_ONCE,
    CLAIM_ONCE,
    EVENT_EVIDENCE,
    OBSERVED_ONCE,
    STATEMENT_ONCE,
    UNVERIFIED_ONCE,
    KeySet,
    doc_node,
    kgo,
    once_key,
    short_hash,
)
from kg.pipeline import build
from kg.reports import report
from kg.resolve import resolve
from kg.shards import read_shards
from kg.spill import Spill
from tests.conftest import ROOT, SEEDS, make_doc

sys.path.insert(0, str(ROOT / "bench"))
from gen import generate  # noqa: E402  (bench/ is scripts, not a package)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """About 40 documents with many reports of the same events: statements, claims and
    events said by several articles, so parts share triples."""
    folder = tmp_path_factory.mktemp("gen")
    generate(folder, 0.3, doc_kb=8, seed=11)
    return folder


RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def parsed(path: Path) -> set[ox.Quad]:
    return set(ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS))


def on_disk_in(spill: Spill, folder: Path) -> bool:
    """The spill's files are on the folder's file system, with no name left in the folder."""
    on = all(os.fstat(f.fileno()).st_dev == folder.stat().st_dev for f in (spill.file, spill.reports_file))
    return on and not list(folder.glob(".kg-*"))


@pytest.mark.parametrize("corpus", ["seeds", "generated"])
def test_a_spilled_build_writes_the_graph_of_a_build_in_memory(corpus, generated, tmp_path):
    paths = [str(SEEDS if corpus == "seeds" else generated)]
    held = build(paths)
    with build(paths, spill_to=tmp_path) as spilled:
        assert spilled.spill is not None and on_disk_in(spilled.spill, tmp_path)
        spilled.write(tmp_path / "graph.nq")
        shards = spilled.write_shards(tmp_path / "shards", docs_per_shard=7)
        summary = spilled.summary
    lines = lines_of(tmp_path / "graph.nq")
    assert len(lines) == len(set(lines))  # what two documents' parts share is written once
    assert parsed(tmp_path / "graph.nq") == set(held.quads.quads())
    assert sum(s.quads for s in shards) == len(lines)
    union = set().union(*(parsed(file) for file, _ in read_shards(tmp_path / "shards")))
    assert union == set(held.quads.quads())
    assert summary == held.summary
    assert spilled.spill.file.closed


def test_two_articles_saying_the_same_are_one_statement_and_one_claim(tmp_path):
    """The same sentence on two days: one statement observed on both, one claim node; the
    second article's doubt about the figure marks the claim unverified however the parts
    arrive."""
    said = (
        "The Balochistan Liberation Army claimed responsibility for the attack on a Frontier Corps "
        "checkpoint in Turbat on March 1, 2026. The government said at least 30 civilians were killed."
    )
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(f"Attack in Turbat\n\n{said}\n", encoding="utf-8")
    (tmp_path / "in" / "b.txt").write_text(
        f"Turbat attack claimed\n\n{said} Reporters could not independently verify the figure.\n", encoding="utf-8"
    )
    (tmp_path / "in" / "metadata.json").write_text(
        '{"a.txt": {"date": "2026-03-02"}, "b.txt": {"date": "2026-03-03"}}', encoding="utf-8"
    )
    paths = [str(tmp_path / "in")]
    with build(paths, spill_to=tmp_path) as spilled:
        spilled.write(tmp_path / "graph.nq")
    quads = parsed(tmp_path / "graph.nq")
    assert quads == set(build(paths).quads.quads())
    lines = lines_of(tmp_path / "graph.nq")
    assert len(lines) == len(set(lines))
    observed = {q.object.value for q in quads if q.predicate == kgo("observedOn")}
    assert observed == {"2026-03-02", "2026-03-03"}
    claims = {q.subject for q in quads if q.predicate == RDF_TYPE and q.object == kgo("CasualtyClaim")}
    assert len(claims) == 1
    assert [q.object.value for q in quads if q.predicate == kgo("verified")] == ["false"]


def test_a_spilled_build_keeps_its_documents_metadata_with_their_records(tmp_path):
    """What a spilled build holds of a document until the graph is written is what ordering
    and resolution read (id, source, date); its title, hash and address go to disk with its
    records, and the graph's document node reads them back."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(
        "Blast in Turbat\n\nA bomb exploded near a market in Turbat on March 1, 2026.\n", encoding="utf-8"
    )
    (tmp_path / "in" / "metadata.json").write_text(
        '{"a.txt": {"date": "2026-03-02", "title": "Turbat market blast", "url": "https://example.org/a"}}',
        encoding="utf-8",
    )
    paths = [str(tmp_path / "in")]
    with build(paths, spill_to=tmp_path) as spilled:
        (doc,) = spilled.corpus.documents
        spilled.write(tmp_path / "graph.nq")
    assert (doc.date, Path(doc.source).name) == ("2026-03-02", "a.txt")
    assert (doc.title, doc.sha256, doc.url, doc.text) == ("", "", None, "")
    quads = parsed(tmp_path / "graph.nq")
    assert quads == set(build(paths).quads.quads())
    said = {q.predicate: q.object.value for q in quads if q.subject == doc_node(doc.id)}
    assert said[ox.NamedNode(str(DCTERMS.title))] == "Turbat market blast"
    assert said[ox.NamedNode(str(DCTERMS.source))] == "https://example.org/a"
    assert said[ox.NamedNode(str(DCTERMS.date))] == "2026-03-02"
    assert len(said[kgo("sha256")]) == 64 and said[kgo("sha256")].startswith(doc.id)


def test_the_records_wait_on_disk_and_come_back_whole(tmp_path):
    result = extract(
        make_doc(
            "Gunmen attacked a police station in Quetta on Monday, killing three policemen, officials said. "
            "The Tehreek-e-Taliban Pakistan claimed responsibility for the attack. "
            + "Police said the attack on the station in Quetta was the third this month. "
            * 8
        )
    )
    facts, claims, events = list(result.facts), list(result.claims), list(result.events)
    assert facts and claims and events
    spans = [[replace(ev, quote="") for ev in e.evidence[:EVENT_EVIDENCE]] for e in events]
    spill = Spill(tmp_path)
    spill.put(result)
    assert not result.facts and not result.claims and not result.events and not result.fired
    assert result.packed is None and result.packed_reports is None
    (rows,) = spill.reports([result.doc.id])
    back = [report(*row) for row in rows]  # quotes on disk with the statements, read back to write
    assert [(e.id, e.type, e.names, e.targets, e.locations) for e in back] == [
        (e.id, e.type, e.names, e.targets, e.locations) for e in events
    ]
    assert [e.evidence for e in back] == spans and any(len(s) > 1 for s in spans)
    assert list(spill) == [(result.doc.id, facts, claims)]
    assert list(spill) == [(result.doc.id, facts, claims)]  # read again for a second output
    assert on_disk_in(spill, tmp_path)
    spill.close()
    assert spill.file.closed and spill.reports_file.closed


def test_records_packed_by_workers_make_the_same_graph(generated, tmp_path):
    paths = [str(generated)]
    with build(paths, workers=2, spill_to=tmp_path) as spilled:
        spilled.write(tmp_path / "graph.nq")
    lines = lines_of(tmp_path / "graph.nq")
    assert len(lines) == len(set(lines))
    assert parsed(tmp_path / "graph.nq") == set(build(paths).quads.quads())


def test_a_build_that_fails_closes_its_spill(tmp_path, monkeypatch):
    opened: list[Spill] = []

    class Watched(Spill):
        def __init__(self, directory):
            super().__init__(directory)
            opened.append(self)

    def broken(*_args, **_kwargs):
        raise RuntimeError("resolution failed")

    monkeypatch.setattr(pipeline, "Spill", Watched)
    monkeypatch.setattr(pipeline, "resolve", broken)
    with pytest.raises(RuntimeError):
        build([str(SEEDS)], spill_to=tmp_path)
    assert len(opened) == 1 and opened[0].file.closed


def test_kg_build_leaves_only_its_output_beside_it(tmp_path):
    out = tmp_path / "seeds.nq"
    result = CliRunner().invoke(main, ["build", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["seeds.nq"]
    assert "statements" in result.output and "casualty claims" in result.output


def test_kg_build_says_which_folder_it_cannot_write(tmp_path):
    (tmp_path / "not-a-folder").write_text("a file", encoding="utf-8")
    out = tmp_path / "not-a-folder" / "seeds.nq"
    result = CliRunner().invoke(main, ["build", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 1
    assert f"cannot write {tmp_path / 'not-a-folder'}" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # a message, not a traceback


def test_what_a_spilled_build_remembers_of_a_statement_tells_every_statement_kind_and_date_apart():
    """build_parts writes a statement's triples, a claim's, "unverified" and each reported
    date once, remembering one int per (node, what, date): two of them that differ anywhere,
    a date's precision included, must not share a key, or a triple would be left out."""
    digests = [short_hash("a", "attacked", "b"), short_hash("a", "attacked", "c"), "0" * 16, "0" * 15 + "1", "f" * 16]
    dates = [None, "2025", "2025-01", "2025-02", "2025-01-01", "2025-01-16", "2025-10-01", "2025-01-10", "2026-01-01"]
    dates += ["2024-12-31", "2009-01-01", "9999-12-31"]
    keys = [
        once_key(d, kind, date)
        for d in digests
        for kind in (STATEMENT_ONCE, CLAIM_ONCE, UNVERIFIED_ONCE, OBSERVED_ONCE, ASSERTED_ONCE)
        for date in dates
        if (date is None) != (kind == OBSERVED_ONCE)
    ]
    assert len(keys) == len(set(keys)) == len(digests) * (4 + len(dates) - 1)
    assert once_key(digests[0], OBSERVED_ONCE, "2025-03-01") == once_key(digests[0], OBSERVED_ONCE, "2025-03-01")


@given(st.lists(st.integers(min_value=0, max_value=(1 << 90) - 1) | st.integers(min_value=0, max_value=64)))
def test_the_written_keys_table_answers_as_a_set(keys):
    """KeySet holds once_key's ints (up to 90 bits) in two arrays: whatever the keys (small,
    colliding in their low bits, repeated), add and membership answer as a set does, and it
    grows past its first table without losing one."""
    table, seen = KeySet(slots=2), set()
    for key in keys:
        assert table.add(key) is (key not in seen)
        seen.add(key)
    assert len(table) == len(seen) and set(table) == seen
    assert all(key in table for key in seen)
    assert not any(key in table for key in ({1 << 89, 3 << 64, 12345} - seen))


def test_the_written_keys_table_refuses_a_key_it_cannot_hold():
    """A key wider than its two words must fail loudly, not be stored cut short (two such
    keys would then be taken for one, and a triple left out)."""
    table = KeySet()
    table.add((1 << 95) - 1)
    with pytest.raises(OverflowError):
        table.add(1 << 96)
    assert (1 << 95) - 1 in table and len(table) == 1


def test_a_spilled_graph_is_not_written_without_the_records_its_events_cite(tmp_path):
    """Each event's spans are written with its document's part: records missing for a
    document its events cite would leave events without evidence, so writing stops."""
    from kg.graph import GraphWriter

    with build([str(SEEDS)], spill_to=tmp_path) as spilled:
        records = list(spilled.spill.records())
        cited = {ev.doc for e in spilled.corpus.events.values() for ev in e.evidence}
        kept = [(r, q) for r, q in records if r.doc.id != min(cited)]
        writer = GraphWriter(spilled.corpus, spilled.rules, lambda *_: None)
        with pytest.raises(RuntimeError, match="no records for documents"):
            writer.build_parts(kept, spilled.places)
        GraphWriter(spilled.corpus, spilled.rules, lambda *_: None).build_parts(records, spilled.places)


def test_a_spilled_build_resolves_its_event_reports_from_disk(generated, tmp_path, monkeypatch):
    """After extraction the results hold no event reports (they wait in the spill); read
    back for resolution, they make the events a build holding them makes, which then wait
    on disk too (kg.reports: the same events, names, dates and spans, and the same ids)."""
    seen: dict = {}

    def watched(results, entities=None, rules=None, reports=None, scratch=None):
        seen["held"] = sum(len(r.events) for r in results)
        seen["from disk"], seen["beside"] = reports is not None, scratch
        return resolve(results, entities, rules, reports, scratch)

    monkeypatch.setattr(pipeline, "resolve", watched)

    def made(built) -> dict:  # (quotes: a spilled build's wait on disk with the statements)
        cited = lambda e: [replace(ev, quote="") for ev in e.evidence]  # noqa: E731
        return {gid: (e.names, e.date, e.type, cited(e)) for gid, e in built.corpus.events.items()}

    with build([str(generated)], spill_to=tmp_path) as spilled:
        events, ids = made(spilled), dict(spilled.corpus.ids)  # the entities' names; the reports' by document:
        for reports in spilled.corpus.resolution.report_ids([d.id for d in spilled.corpus.documents]).values():
            ids.update(reports)
        assert not spilled.corpus.facts  # the events' dates' statements wait with them
    assert seen == {"held": 0, "from disk": True, "beside": tmp_path}
    monkeypatch.undo()
    held = build([str(generated)])
    assert len(events) > 20 and events == made(held) and ids == held.corpus.ids
