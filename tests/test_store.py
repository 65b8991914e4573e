"""The on-disk store: built in steps it answers like a fresh build, a changed document replaces
its graph, and a load that dies half way leaves the previous store readable."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.graph import FACTS_GRAPH, doc_iri
from kg.pipeline import build
from kg.store import (
    StoreError,
    add_documents,
    current_generation,
    decode_result,
    dump_result,
    open_store,
    query_store,
    remove_documents,
    store_info,
)
from tests.conftest import SEEDS
from tests.helpers import copy_rules, edit_rule, quads, store_quads


@pytest.fixture
def corpus_dir(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(SEEDS / "metadata.json", folder)
    return folder


def copy_docs(folder, names):
    for name in names:
        shutil.copy(SEEDS / name, folder / name)


SEED_FILES = sorted(p.name for p in SEEDS.glob("*.txt"))


def test_steps_equal_a_fresh_build(corpus_dir, tmp_path):
    root = tmp_path / "store"
    copy_docs(corpus_dir, SEED_FILES[:3])
    first = add_documents(root, [str(corpus_dir)])
    assert len(first.report.added) == 3 and first.report.unchanged == 0
    copy_docs(corpus_dir, SEED_FILES[3:])
    second = add_documents(root, [str(corpus_dir)])
    assert len(second.report.added) == 2 and second.report.unchanged == 3
    changed = corpus_dir / SEED_FILES[4]
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\nThe Balochistan Liberation Army claimed "
        "responsibility for the attack on the Quetta checkpoint.\n",
        encoding="utf-8",
    )
    third = add_documents(root, [str(corpus_dir)])
    assert len(third.report.replaced) == 1 and third.report.added == []
    old_id = third.report.replaced[0]
    names = {str(g.value) for g in open_store(root).named_graphs()}
    assert str(doc_iri(old_id)) not in names and str(FACTS_GRAPH) in names
    fresh = build([str(corpus_dir)])
    assert store_quads(root) == quads(fresh.dataset)
    assert quads(third.dataset) == quads(fresh.dataset)
    again = add_documents(root, [str(corpus_dir)])  # nothing new: nothing extracted, same data
    assert again.report.added == [] and again.report.replaced == [] and again.report.rewritten == []
    assert store_quads(root) == quads(fresh.dataset)


def test_a_store_loaded_by_worker_processes_equals_a_fresh_build(seeds_build, tmp_path):
    """`kg build --store DIR --workers 2`: each document's records, entities and all, come
    back pickled from a worker (kg.model.pickled_by_fields) into the same store, with the
    records its index keeps made there (kg.index.index_record), byte for byte the ones the
    load makes itself with one worker."""
    made = add_documents(tmp_path / "two", [str(SEEDS)], workers=2)
    add_documents(tmp_path / "one", [str(SEEDS)])
    assert len(made.report.added) == len(SEED_FILES)
    assert store_quads(tmp_path / "two") == quads(seeds_build.dataset)
    assert index_records(tmp_path / "two") == index_records(tmp_path / "one")
    assert len(index_records(tmp_path / "one")) == len(SEED_FILES)


def index_records(root) -> dict[str, bytes]:
    """Each document's records as the store's index keeps them (kg.index.index_record)."""
    import sqlite3
    import zlib

    from kg.store import INDEX

    with sqlite3.connect(root / INDEX) as db:
        return {i: zlib.decompress(blob) for i, blob in db.execute("SELECT id, result FROM docs")}


def test_a_store_loaded_on_a_dask_cluster_equals_a_fresh_build(seeds_build, tmp_path):
    """`kg build --store DIR --dask ADDRESS`: the cluster's workers extract and make the
    records the index keeps, as forked workers do."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
        made = add_documents(tmp_path / "store", [str(SEEDS)], dask=client)
    add_documents(tmp_path / "one", [str(SEEDS)])
    assert len(made.report.added) == len(SEED_FILES)
    assert store_quads(tmp_path / "store") == quads(seeds_build.dataset)
    assert index_records(tmp_path / "store") == index_records(tmp_path / "one")


def test_a_store_load_runs_with_fewer_collections_and_gives_them_back(corpus_dir, tmp_path):
    """A load keeps a batch's records and graph parts alive: it runs with the build's
    thresholds (kg.gcpolicy.fewer_collections; 1,590 collections and 1.8 s of the 10 MB
    corpus's first load became 115 and 0.35 s), and the caller (a notebook) gets its own
    back after."""
    import gc

    from kg.gcpolicy import GC_THRESHOLDS

    copy_docs(corpus_dir, SEED_FILES[:1])
    before, during = gc.get_threshold(), []
    add_documents(tmp_path / "store", [str(corpus_dir)], crash_after=lambda step: during.append(gc.get_threshold()))
    assert during and set(during) == {GC_THRESHOLDS}
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_crash_mid_load_keeps_previous_store(corpus_dir, tmp_path):
    root = tmp_path / "store"
    copy_docs(corpus_dir, SEED_FILES[:2])
    add_documents(root, [str(corpus_dir)])
    before = store_quads(root)
    generation = current_generation(root)
    copy_docs(corpus_dir, SEED_FILES[2:])

    def crash(step: str) -> None:
        if step == "document":
            raise KeyboardInterrupt("power cut")

    with pytest.raises(KeyboardInterrupt):
        add_documents(root, [str(corpus_dir)], crash_after=crash)
    assert current_generation(root) == generation
    assert store_quads(root) == before
    assert len(query_store(root, "SELECT ?d WHERE { ?d a <https://w3id.org/kgae/ontology#Document> }")) == 2
    done = add_documents(root, [str(corpus_dir)])
    assert len(done.report.added) == 3
    assert store_quads(root) == quads(build([str(corpus_dir)]).dataset)
    assert len(list(root.glob("gen-*"))) == 2  # the current one and the one before


def crash_at(n: int):
    """A crash_after hook that cuts the load at its `n`th batch written to the store."""
    calls = []

    def crash(step: str) -> None:
        calls.append(step)
        if calls.count("document") == n:
            raise KeyboardInterrupt("power cut")

    return crash


def test_a_long_load_commits_on_the_way_and_a_rerun_goes_on(corpus_dir, tmp_path, monkeypatch):
    import kg.store

    monkeypatch.setattr(kg.store, "STORE_BATCH", 2)
    monkeypatch.setattr(kg.store, "CHECKPOINT_S", 0.0)
    root, whole = tmp_path / "store", tmp_path / "whole"
    copy_docs(corpus_dir, SEED_FILES)
    with pytest.raises(KeyboardInterrupt):
        add_documents(root, [str(corpus_dir)], crash_after=crash_at(3))
    kept = store_info(root)["documents"]  # the two batches committed before the third
    assert len(kept) == 4 and len(list(root.glob("gen-*"))) <= 3
    assert store_quads(root) == quads(build(sorted(kept)).dataset)

    rerun = add_documents(root, [str(corpus_dir)])
    assert len(rerun.report.added) == 1 and rerun.report.unchanged == 4
    assert store_quads(root) == quads(build([str(corpus_dir)]).dataset)
    add_documents(whole, [str(corpus_dir / SEED_FILES[0])])
    opened = current_generation(whole)  # as a running kg serve would have it
    done = add_documents(whole, [str(corpus_dir)])  # batches 2, 2: committed after the first
    assert done.report.checkpoints == 1 and "committed 1 time on the way" in str(done.report)
    assert store_quads(whole) == store_quads(root)
    assert opened.is_dir() and len(list(whole.glob("gen-*"))) == 2  # the checkpoint's own is gone


def test_a_load_replacing_a_document_does_not_commit_on_the_way(corpus_dir, tmp_path, monkeypatch):
    """The replaced document leaves only at the end: a commit before would keep both."""
    import kg.store

    root = tmp_path / "store"
    copy_docs(corpus_dir, SEED_FILES[:3])
    add_documents(root, [str(corpus_dir)])
    before, generation = store_quads(root), current_generation(root)
    monkeypatch.setattr(kg.store, "STORE_BATCH", 1)
    monkeypatch.setattr(kg.store, "CHECKPOINT_S", 0.0)
    edited = corpus_dir / SEED_FILES[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\nThe BLA claimed the attack.\n", encoding="utf-8")
    copy_docs(corpus_dir, SEED_FILES[3:])
    with pytest.raises(KeyboardInterrupt):
        add_documents(root, [str(corpus_dir)], crash_after=crash_at(3))
    assert current_generation(root) == generation and store_quads(root) == before
    done = add_documents(root, [str(corpus_dir)])
    assert len(done.report.replaced) == 1 and done.report.checkpoints == 0
    assert store_quads(root) == quads(build([str(corpus_dir)]).dataset)


def test_remove_document_rebuilds_facts(corpus_dir, tmp_path):
    root = tmp_path / "store"
    copy_docs(corpus_dir, SEED_FILES)
    add_documents(root, [str(corpus_dir)])
    remove_documents(root, [str(corpus_dir / SEED_FILES[0])])
    (corpus_dir / SEED_FILES[0]).unlink()
    assert store_quads(root) == quads(build([str(corpus_dir)]).dataset)
    assert len(store_info(root)["documents"]) == 4


def made_with_other_rules(monkeypatch, tmp_path, root, paths) -> None:
    """A store whose documents were extracted with rules that lack the BLA's acronym, as if
    an analyst added the alias to the dictionary after it was made."""
    import kg.parallel
    import kg.store
    from kg.rules import load_rules

    rules_dir = copy_rules(tmp_path)
    aliases = ["Baloch Liberation Army", "Baluch Liberation Army"]
    edit_rule(rules_dir, "actors.yaml", "entries", "balochistan-liberation-army", {"aliases": aliases})
    with monkeypatch.context() as patch:
        for module in (kg.parallel, kg.store):
            patch.setattr(module, "load_rules", lambda: load_rules(rules_dir))
        add_documents(root, paths)


def test_changed_rules_extract_every_document_again(corpus_dir, tmp_path, monkeypatch):
    root, more = tmp_path / "store", tmp_path / "more"
    copy_docs(corpus_dir, SEED_FILES[:3])
    made_with_other_rules(monkeypatch, tmp_path, root, [str(corpus_dir)])
    assert store_quads(root) != quads(build([str(corpus_dir)]).dataset)  # the edit shows in the graph
    assert store_info(root)["rules_changed"] == ["actors.yaml"]
    shown = CliRunner().invoke(main, ["store", "info", str(root)]).output
    assert "rules changed since its documents were extracted: actors.yaml" in shown
    more.mkdir()
    copy_docs(more, SEED_FILES[3:])
    before, generation = store_quads(root), current_generation(root)
    with pytest.raises(StoreError, match=r"changed: actors\.yaml.*3 of its 3 documents are not under the paths"):
        add_documents(root, [str(more)])
    with pytest.raises(StoreError, match=r"changed: actors\.yaml.*add every source again"):
        remove_documents(root, [str(corpus_dir / SEED_FILES[0])])
    assert current_generation(root) == generation and store_quads(root) == before

    again = add_documents(root, [str(corpus_dir), str(more)])
    assert again.report.rules_changed == ["actors.yaml"] and again.report.again == 3
    assert len(again.report.added) == 2 and again.report.replaced == []
    assert store_quads(root) == quads(build([str(corpus_dir), str(more)]).dataset)
    assert store_info(root)["rules_changed"] == []
    after = add_documents(root, [str(more)])  # the rules recorded now: an add as usual
    assert after.report.unchanged == 5 and after.report.rules_changed == []


def test_changed_rules_and_an_edited_source(corpus_dir, tmp_path, monkeypatch):
    """Given again, a source whose file changed replaces its old document."""
    root = tmp_path / "store"
    copy_docs(corpus_dir, SEED_FILES[:2])
    made_with_other_rules(monkeypatch, tmp_path, root, [str(corpus_dir)])
    edited = corpus_dir / SEED_FILES[1]
    edited.write_text(edited.read_text(encoding="utf-8") + "\nThe BLA claimed the attack.\n", encoding="utf-8")
    again = add_documents(root, [str(corpus_dir)])
    assert again.report.again == 1 and len(again.report.replaced) == 1 and again.report.added == []
    assert store_quads(root) == quads(build([str(corpus_dir)]).dataset)


def test_fingerprint_names_the_files_not_where_they_are(tmp_path):
    """A copy of the rules elsewhere is the same rules; any edit to a file changes its print."""
    from kg.rules import fingerprint, load_rules

    here = fingerprint(load_rules())
    assert fingerprint(load_rules(copy_rules(tmp_path / "a"))) == here
    copied = copy_rules(tmp_path / "b")
    with (copied / "names.yaml").open("a", encoding="utf-8") as fh:
        fh.write("# a comment is an edit too\n")
    edited = fingerprint(load_rules(copied))  # (rules are loaded once per folder and process)
    assert sorted(k for k in here if here[k] != edited[k]) == ["names.yaml"]


def test_an_edited_ontology_is_a_change_too(corpus_dir, tmp_path, monkeypatch):
    """The ontology is written into the graph once, when the store is made."""
    import kg.store

    root = tmp_path / "store"
    copy_docs(corpus_dir, SEED_FILES[:1])
    add_documents(root, [str(corpus_dir)])
    assert store_info(root)["rules_changed"] == []
    ontology = tmp_path / "ontology"
    shutil.copytree(kg.store.ONTOLOGY_DIR, ontology)
    with (ontology / "kgo.ttl").open("a", encoding="utf-8") as fh:
        fh.write("# an edit\n")
    monkeypatch.setattr(kg.store, "ONTOLOGY_DIR", ontology)
    assert store_info(root)["rules_changed"] == ["kgo.ttl"]


def test_extraction_records_survive_json():
    from kg.ingest import read_corpus
    from kg.parallel import extract_all

    docs, _ = read_corpus([str(SEEDS)])
    results, _ = extract_all(docs[:2])
    for r in results:
        assert asdict(decode_result(json.loads(dump_result(r)))) == asdict(r)  # Event compares by identity


def test_cli_build_store_and_query(tmp_path):
    root = tmp_path / "store"
    runner = CliRunner()
    result = runner.invoke(main, ["build", str(SEEDS), "--store", str(root), "--out", str(tmp_path / "g.trig")])
    assert result.exit_code == 0, result.output
    assert "5 documents added" in result.output
    out = runner.invoke(main, ["query", str(root), "--saved", "allegations-and-denials", "--format", "csv"]).output
    assert "Sarfaraz Bugti,India,sponsors,Balochistan Liberation Army,India" in out
    info = runner.invoke(main, ["store", "info", str(root)]).output
    assert "graph-facts" in info and "gen-000001" in info
    assert runner.invoke(main, ["build", str(SEEDS)]).exit_code != 0  # neither --out nor --store


def test_fuzz_the_ways_of_building_for_a_bounded_time():
    """At least one drawn corpus in CI; KG_FUZZ_SECONDS=600 for a long run (tests/fuzz_store.py)."""
    from tests.fuzz_store import budget, run

    assert run(budget()) >= 1
