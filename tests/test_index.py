"""The store's index (kg.index): a store built in steps, in any order and any split, holds
exactly the graph a fresh build of all its documents makes, while each step writes again only
the parts of the graph the new documents change."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.graph import FACTS_GRAPH, doc_node, kgr
from kg.index import Index, parse_lines, update
from kg.ingest import read_corpus
from kg.parallel import extract_all
from kg.pipeline import build
from kg.rules import load_rules
from kg.store import StoreError, add_documents, load_shards, open_store
from tests.conftest import ROOT, SEEDS

sys.path.insert(0, str(ROOT / "bench"))
from gen import generate  # noqa: E402  (bench/ is scripts, not a package)


def fresh(paths) -> set[str]:
    """A fresh build's quads as a store holds them (oxigraph writes 72.0 as the decimal 72)."""
    memory = ox.Store()
    memory.extend(build([str(p) for p in paths]).quads.quads())
    return {str(q) for q in memory}


def stored(root) -> set[str]:
    return {str(q) for q in open_store(root)}


def article(folder: Path, name: str, title: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> list[Path]:
    """About 40 documents re-combined from the seeds' sentences with dictionary names: many
    reports of the same named operations and attacks, so steps merge and re-root clusters."""
    return generate(tmp_path_factory.mktemp("gen"), 0.3, doc_kb=8, seed=11)


def test_the_parts_make_the_whole_graph(tmp_path, seeds_build):
    documents, _ = read_corpus([str(SEEDS)])
    results, _ = extract_all(documents, keep_text=False)
    index = Index(tmp_path / "index.sqlite")
    index.begin()
    change = update(index, results, load_rules(), first=True)
    index.commit()
    assert change.vanish == []
    assert {str(q) for q in parse_lines(change.appear)} == {str(q) for q in seeds_build.quads.quads()}


@pytest.mark.parametrize("order", [1, 2, 3])
def test_seeds_in_random_steps_equal_a_fresh_build(tmp_path, order):
    files = sorted(SEEDS.glob("*.txt"))
    random.Random(order).shuffle(files)
    root = tmp_path / "store"
    for step in ([files[0]], files[1:3], files[3:]):
        add_documents(root, [str(p) for p in step])  # only the new files: the store keeps the others
    assert stored(root) == fresh(files)


@pytest.mark.parametrize("order", [5, 6])
def test_generated_corpus_in_random_steps_equals_a_fresh_build(generated, tmp_path, order):
    files = list(generated)
    random.Random(order).shuffle(files)
    cuts = sorted(random.Random(order).sample(range(1, len(files)), 5))
    root = tmp_path / "store"
    for start, end in zip([0, *cuts], [*cuts, len(files)], strict=True):
        add_documents(root, [str(p) for p in files[start:end]])
    assert stored(root) == fresh(files)


def test_adding_one_document_writes_its_own_part_not_the_stores(generated, tmp_path):
    root = tmp_path / "store"
    first = add_documents(root, [str(p) for p in generated[:-1]])
    assert first.report.full
    step = add_documents(root, [str(generated[-1])])
    assert not step.report.full and step.report.added and step.report.unchanged == len(generated) - 1
    # the other documents' parts change only where an event they report gets a new id (its
    # first report by id is now the new one): a handful, not the store
    assert len(step.report.rewritten) < len(generated) // 4
    assert stored(root) == fresh(generated)


def test_a_narrower_place_drops_the_broader_one_from_an_earlier_article(tmp_path):
    """'Balochistan' is the attack's place until a later report says 'Turbat': the contract
    wants the most specific place, so the earlier article's statement must leave the store."""
    a = article(
        tmp_path,
        "a.txt",
        "Gunmen attack checkpoint in Balochistan",
        "The Balochistan Liberation Army launched an attack on a Frontier Corps checkpoint in "
        "Balochistan on March 1, 2026, killing two soldiers, officials said.",
    )
    b = article(
        tmp_path,
        "b.txt",
        "Four soldiers killed in Turbat attack",
        "The Balochistan Liberation Army launched an attack on a Frontier Corps checkpoint in "
        "Turbat on March 1, 2026, killing four soldiers, officials said.",
    )
    root = tmp_path / "store"
    add_documents(root, [str(a)])
    where = "SELECT ?p WHERE { GRAPH ?g { ?e <https://w3id.org/kgae/ontology#location> ?p } }"
    assert {r["p"].value for r in open_store(root).query(where)} == {kgr("balochistan").value}
    step = add_documents(root, [str(b)])
    assert {r["p"].value for r in open_store(root).query(where)} == {kgr("turbat").value}
    assert (
        len(
            {
                r["e"]
                for r in open_store(root).query(
                    "SELECT ?e WHERE { GRAPH ?g { ?e a <https://w3id.org/kgae/ontology#Attack> } }"
                )
            }
        )
        == 1
    )
    assert step.report.rewritten  # a.txt's statement went
    assert stored(root) == fresh([a, b])


def test_a_name_that_now_resolves_elsewhere_rewrites_the_earlier_article(tmp_path):
    """A minted name joins a later, closer spelling of it (the smaller id wins the merge): the
    earlier article's statements must move to the merged person, none left on the old id."""
    p1 = article(
        tmp_path,
        "p1.txt",
        "Party leader speaks on unrest",
        "Shahzaib Rindh, a senior leader of the Balochistan National Party, said on Tuesday "
        "that the provincial government had failed to protect traders in Quetta.",
    )
    p2 = article(
        tmp_path,
        "p2.txt",
        "Traders protest in Quetta",
        "Shahzaib Rind, a senior leader of the Balochistan National Party, addressed the "
        "traders and demanded compensation, the party said.",
    )
    root = tmp_path / "store"
    first = add_documents(root, [str(p1)])
    assert any(kgr("shahzaib-rindh").value in q for q in stored(root))
    step = add_documents(root, [str(p2)])
    p1_id = first.report.added[0]
    assert step.report.rewritten == [p1_id]
    assert not any(kgr("shahzaib-rindh").value in q for q in stored(root))
    assert stored(root) == fresh([p1, p2])


def test_operations_answering_two_events_that_become_one_become_one(tmp_path):
    """Each article's clearance operation answers its own offensive; a third article says the
    two offensives are one (a name and its alias), so the two operations, on the same day, now
    answer one event and must be merged, though only the third article is new."""
    body = (
        "The BLA launched Operation {} on March 1, 2025, hitting {}. "
        "Security forces began clearance operations on March 2, 2025."
    )
    a = article(tmp_path, "a.txt", "Militants strike in Balochistan", body.format("Storm", "Quetta and Mastung"))
    b = article(tmp_path, "b.txt", "Attacks across the province", body.format("Thunder", "Turbat"))
    c = article(
        tmp_path,
        "c.txt",
        "Insurgents widen offensive",
        'The BLA launched Operation Thunder (also known as "Operation Storm") on March 1, 2025, officials said.',
    )
    operations = "SELECT DISTINCT ?o WHERE { GRAPH ?g { ?o a <https://w3id.org/kgae/ontology#SecurityOperation> } }"
    root = tmp_path / "store"
    add_documents(root, [str(a), str(b)])
    assert len(list(open_store(root).query(operations))) == 2
    step = add_documents(root, [str(c)])
    assert len(list(open_store(root).query(operations))) == 1
    assert len(step.report.added) == 1  # c.txt; the others' operations come from the index
    assert stored(root) == fresh([a, b, c])


def test_crash_after_the_index_commits_is_finished_on_next_open(tmp_path):
    files = sorted(SEEDS.glob("*.txt"))
    root = tmp_path / "store"
    add_documents(root, [str(p) for p in files[:3]])

    def crash(step: str) -> None:
        if step == "written":
            raise KeyboardInterrupt("power cut between committing the index and switching")

    with pytest.raises(KeyboardInterrupt):
        add_documents(root, [str(p) for p in files[3:]], crash_after=crash)
    again = add_documents(root, [str(p) for p in files])  # opens the index: switches to what it committed
    assert again.report.added == [] and again.summary["documents"] == 5
    assert stored(root) == fresh(files)
    assert {q.graph_name.value for q in open_store(root)} >= {doc_node(d).value for d in _ids(files)} | {
        FACTS_GRAPH.toPython()
    }


def _ids(files) -> list[str]:
    documents, _ = read_corpus([str(p) for p in files])
    return [d.id for d in documents]


def test_a_shard_load_retires_the_index(tmp_path, seeds_build):
    root = tmp_path / "store"
    add_documents(root, [str(SEEDS)])
    seeds_build.write_shards(tmp_path / "shards", 2)
    load_shards(root, tmp_path / "shards")
    assert not (root / "index.sqlite").exists()
    with pytest.raises(StoreError, match="bulk-loaded from shards"):
        add_documents(root, [str(SEEDS)])


def test_a_store_is_built_a_batch_of_records_at_a_time(generated, tmp_path, monkeypatch):
    """A load holds one batch's records, not the corpus's; the batches make the same graph."""
    import kg.index
    import kg.store

    sizes = []
    real = kg.index.update

    def counted(index, results, rules, first=False):
        sizes.append(len(results))
        return real(index, results, rules, first)

    monkeypatch.setattr(kg.store, "STORE_BATCH", 7)
    monkeypatch.setattr(kg.index, "update", counted)
    root = tmp_path / "store"
    built = add_documents(root, [str(p) for p in generated])
    assert max(sizes) == 7 and sum(sizes) == len(generated) == built.summary["documents"]
    assert built.report.full and built.report.added and not built.report.rewritten
    assert stored(root) == fresh(generated)
