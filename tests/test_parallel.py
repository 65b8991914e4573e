"""Parallel and distributed builds give the same graph as a plain one."""

from __future__ import annotations

import os
import pickle
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from kg.cli import main
from kg.ingest import Document, read_corpus
from kg.match import Mention, mask, select_longest
from kg.parallel import IN_FLIGHT_PER_WORKER, STREAM_BATCH, batches, extract_all, held
from kg.pipeline import build
from kg.rules import OPEN, SEP

SEEDS = str(Path(__file__).resolve().parent.parent / "seeds")


def quads(paths: list[str], **kwargs) -> list[str]:
    return sorted(build(paths, **kwargs).dataset.serialize(format="nquads").splitlines())


@pytest.fixture(scope="module")
def serial() -> list[str]:
    return quads([SEEDS])


def test_two_workers_same_graph(serial: list[str]) -> None:
    assert len(serial) > 1000
    assert quads([SEEDS], workers=2) == serial


def test_dask_local_cluster_same_graph(serial: list[str]) -> None:
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            assert quads([SEEDS], dask=client) == serial
        assert quads([SEEDS], dask=cluster.scheduler_address) == serial  # what --dask passes


def test_results_in_document_order_and_failures_reported() -> None:
    docs, _ = read_corpus([SEEDS])
    bad = Document("bad", "bad.txt", None, "0" * 64)  # text None: extraction raises
    results, errors = extract_all([*docs, bad], workers=2)
    assert [r.doc.id for r in results] == [d.id for d in docs]
    assert [e.path for e in errors] == ["bad.txt"]
    assert errors[0].reason.startswith("extraction failed: ")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stream_is_read_a_window_at_a_time(workers: int) -> None:
    """A corpus need not fit in memory: documents are pulled as results come back, and the
    results keep the records without the text or the metadata the document was read with."""
    docs, _ = read_corpus([SEEDS])
    many = [replace(docs[i % len(docs)], id=f"d{i:04d}") for i in range(300)]
    pulled: list[int] = []
    seen_at_progress: list[int] = []

    def stream():
        for doc in many:
            pulled.append(1)
            yield doc

    results, _ = extract_all(
        stream(), workers, progress=lambda done, total: seen_at_progress.append(len(pulled)), keep_text=False
    )
    window = 1 if workers == 1 else workers * IN_FLIGHT_PER_WORKER * STREAM_BATCH
    assert seen_at_progress[0] <= window < len(many)  # the first results came before the stream was drained
    assert [r.doc.id for r in results] == [d.id for d in many]
    assert all(r.doc.text == "" and r.doc.sha256 for r in results)
    assert any(d.metadata for d in many) and not any(r.doc.metadata for r in results)  # what it was read with, let go
    kept = [(r.doc.title, r.doc.date) for r in results]  # what the graph says of it stays
    assert kept == [(d.title, d.date) for d in many]


def test_records_come_back_from_a_worker_as_they_went() -> None:
    """Workers pickle their records back (kg.model.pickled_by_fields): every field of every
    statement, figure, span and event survives, claimants, denials and verdicts included."""
    docs, _ = read_corpus([SEEDS])
    results, _ = extract_all(docs)
    records = [(r.facts, r.claims, r.events, r.entities) for r in results]
    facts = [f for r in results for f in r.facts]
    assert {f.modality for f in facts} >= {"Asserted", "Alleged"} and any(f.denied_by for f in facts)
    assert any(c.claimant for r in results for c in r.claims)
    back = pickle.loads(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL))

    def fields_of(event: object) -> list:  # Event compares by identity
        return [getattr(event, name) for name in event.__slots__]

    assert [(f, c, [fields_of(e) for e in ev], ent) for f, c, ev, ent in back] == [
        (f, c, [fields_of(e) for e in ev], ent) for f, c, ev, ent in records
    ]
    span = facts[0].evidence
    assert pickle.loads(pickle.dumps(span)) == span and type(span).__reduce__(span)[0] is type(span)


def test_records_for_an_index_are_made_only_of_results_held_as_a_store_load_holds_them() -> None:
    """`record` is made of the result without its text, unfolded and unspilled: asked with
    any of those kept, iter_extract says so rather than making records the load would not."""
    from kg.parallel import iter_extract
    from kg.resolve import EntityFold

    docs, _ = read_corpus([SEEDS])
    with pytest.raises(ValueError, match="a store's load"):
        next(iter_extract(docs, record=len))
    with pytest.raises(ValueError, match="a store's load"):
        next(iter_extract(docs, keep_text=False, fold=EntityFold(), record=len))


def test_batches_cover_every_document_once() -> None:
    docs = list(range(103))
    chunks = batches(docs, 2)
    assert [d for c in chunks for d in c] == docs
    assert len(chunks) >= 8


def test_cli_workers_same_file(tmp_path: Path) -> None:
    """The same file, byte for byte: with workers the graph's parts are written by them (kg.parts)."""
    runner = CliRunner()
    for n in (1, 2):
        out = str(tmp_path / f"w{n}.nt")
        result = runner.invoke(main, ["build", SEEDS, "--workers", str(n), "--out", out])
        assert result.exit_code == 0, result.output
    one, two = ((tmp_path / f"w{n}.nt").read_bytes() for n in (1, 2))
    assert one == two and one.count(b"\n") > 1000


def test_cli_workers_0_is_one_per_available_core(tmp_path: Path, monkeypatch) -> None:
    import kg.parallel
    import kg.pipeline

    assert 1 <= kg.parallel.available_cores() <= (os.cpu_count() or 1)
    asked: list[int] = []
    real = kg.pipeline.build
    monkeypatch.setattr(kg.parallel, "available_cores", lambda: 3)
    monkeypatch.setattr(kg.pipeline, "build", lambda *a, **k: asked.append(k["workers"]) or real(*a, **k))
    result = CliRunner().invoke(main, ["build", SEEDS, "--workers", "0", "--out", str(tmp_path / "g.nq")])
    assert result.exit_code == 0, result.output
    assert asked == [3]


def select_longest_by_scan(mentions: list) -> list:
    """The quadratic reference the bisecting kg.match.select_longest must agree with."""
    chosen: list = []
    for m in sorted(mentions, key=lambda m: (-(m.end - m.start), m.start)):
        if all(m.end <= c.start or m.start >= c.end for c in chosen):
            chosen.append(m)
    return sorted(chosen, key=lambda m: m.start)


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 12)), max_size=40))
def test_select_longest_same_as_scan(spans: list[tuple[int, int]]) -> None:
    mentions = [Mention(s, s + n, f"e{i}", "City", "x" * n, "d") for i, (s, n) in enumerate(spans)]
    assert select_longest(mentions) == select_longest_by_scan(mentions)


def test_mask_takes_only_the_sentence_mentions() -> None:
    text = "Quetta and Peshawar. Karachi is far."
    found = [
        Mention(0, 6, "quetta", "City", "Quetta", "d"),
        Mention(11, 19, "peshawar", "City", "Peshawar", "d"),
        Mention(21, 28, "karachi", "City", "Karachi", "d"),
    ]
    masked = mask(text[21:], 21, found)
    assert masked.mentions == found[2:]
    assert masked.text.startswith(OPEN + "0" + SEP) and masked.text.endswith(" is far.")


def test_a_build_leaves_the_collector_as_it_found_it():
    """kg.pipeline.build runs with fewer cyclic collections (kg.gcpolicy.fewer_collections),
    and a notebook that calls it gets its own thresholds back, and nothing left frozen, even
    when the build fails."""
    import gc

    from kg.gcpolicy import GC_THRESHOLDS, fewer_collections

    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with fewer_collections():
        assert gc.get_threshold() == GC_THRESHOLDS and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a build that fails")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_documents_of_one_day_held_share_its_date() -> None:
    """A streamed build holds every document's metadata until it is written: documents of one
    day share one date string (a year of news has a few hundred dates for its thousands of
    articles), and none keeps its text or the metadata it was read with."""
    doc = read_corpus([SEEDS])[0][0]
    made = [replace(doc, id=f"d{n}", date="-".join(("2025", "03", "01"))) for n in range(2)]
    assert made[0].date is not made[1].date  # equal strings, made apart
    first, second = (held(d) for d in made)
    assert first.date == "2025-03-01" and first.date is second.date
    assert (first.id, first.title, first.sha256) == (made[0].id, doc.title, doc.sha256)
    assert first.text == "" and first.metadata == {} and doc.metadata


def test_a_store_load_keeps_its_next_batch_extracting_while_it_indexes_one(tmp_path, monkeypatch):
    """Workers are handed enough of a stream for `ahead` documents (a store load: one
    STORE_BATCH) before the first is asked for, not only IN_FLIGHT_PER_WORKER batches each;
    and a store load asks for that."""
    from concurrent.futures import Future

    from kg import parallel, store

    def in_flight(ahead: int) -> int:
        submitted = []

        def submit(batch):
            submitted.append(batch)
            done = Future()
            done.set_result(([None] * len(batch), None))
            return done

        stream = (n for n in range(10_000))  # a stream: batches of STREAM_BATCH
        next(parallel._in_order(submit, stream, 2, ahead))
        return len(submitted)

    assert in_flight(0) == 2 * IN_FLIGHT_PER_WORKER
    assert in_flight(1000) == -(-1000 // STREAM_BATCH)  # 63 batches, 1,008 documents
    asked = []
    real = parallel.iter_extract
    monkeypatch.setattr(parallel, "iter_extract", lambda *a, **k: asked.append(k.get("ahead")) or real(*a, **k))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "one.txt").write_text("A title\n\nThe army said it killed five militants in Kech.\n", encoding="utf-8")
    store.add_documents(tmp_path / "store", [str(folder)])
    assert asked == [store.STORE_BATCH]
