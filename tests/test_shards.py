"""N-Quads shards: written whole, loaded into a store that answers like a plain build."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.shards import MANIFEST, ShardError, read_shards, write_shards
from kg.store import add_documents, bulk_load_nquads, load_shards, open_store

SEEDS = str(Path(__file__).resolve().parent.parent / "seeds")


def canonical(quads) -> set[str]:
    """Through an oxigraph store, which keeps literals in canonical form ("30.0" decimal is 30)."""
    store = ox.Store()
    store.extend(list(quads))
    return {str(q) for q in store}


def shard_quads(folder: Path) -> set[str]:
    return {str(q) for file, _ in read_shards(folder) for q in ox.parse(path=str(file), format=ox.RdfFormat.N_QUADS)}


def canonical_shards(folder: Path) -> set[str]:
    return canonical(
        q for file, _ in read_shards(folder) for q in ox.parse(path=str(file), format=ox.RdfFormat.N_QUADS)
    )


@pytest.fixture
def seeds(seeds_build):
    return seeds_build  # the session's seeds build (tests/conftest.py)


def test_shards_hold_every_quad_once_and_whole_graphs(seeds, tmp_path):
    doc_ids = [d.id for d in seeds.corpus.documents]
    shards = write_shards(seeds.quads, doc_ids, tmp_path / "shards", docs_per_shard=2)
    assert [s.file for s in shards] == ["docs-00000.nq", "docs-00001.nq", "docs-00002.nq", "facts.nq"]
    assert shard_quads(tmp_path / "shards") == {str(q) for q in seeds.quads.quads()}
    graphs = [g for s in shards for g in s.graphs]
    assert len(graphs) == len(set(graphs)) == len(doc_ids) + 1  # each named graph in one file only
    for file, shard in read_shards(tmp_path / "shards"):
        names = {q.graph_name.value for q in ox.parse(path=str(file), format=ox.RdfFormat.N_QUADS)}
        assert names <= set(shard.graphs)
        assert shard.quads == sum(1 for _ in ox.parse(path=str(file), format=ox.RdfFormat.N_QUADS))


def test_store_load_answers_like_a_build(seeds, tmp_path):
    runner = CliRunner()
    out = runner.invoke(main, ["build", SEEDS, "--shards", str(tmp_path / "sh"), "--shard-docs", "3"])
    assert out.exit_code == 0, out.output
    assert "3 shards" in out.output
    loaded = runner.invoke(main, ["store", "load", str(tmp_path / "st"), str(tmp_path / "sh")])
    assert loaded.exit_code == 0, loaded.output
    assert canonical(open_store(tmp_path / "st")) == canonical(seeds.quads.quads())
    answer = runner.invoke(main, ["query", str(tmp_path / "st"), "--saved", "party-leadership", "--format", "csv"])
    assert "Balochistan National Party,leads,Akhtar Mengal" in answer.output
    refused = runner.invoke(main, ["build", SEEDS, "--store", str(tmp_path / "st")])
    assert refused.exit_code != 0 and "bulk-loaded from shards" in refused.output


def test_changed_shard_is_refused_and_store_kept(seeds, tmp_path):
    store = tmp_path / "st"
    add_documents(store, [SEEDS])
    before = canonical(open_store(store))
    write_shards(seeds.quads, [d.id for d in seeds.corpus.documents], tmp_path / "sh", docs_per_shard=10)
    facts = tmp_path / "sh" / "facts.nq"
    facts.write_bytes(facts.read_bytes().replace(b"Mengal", b"Mengel"))
    with pytest.raises(ShardError, match=r"facts\.nq: changed since it was written"):
        load_shards(store, tmp_path / "sh")
    (tmp_path / "sh" / "docs-00000.nq").unlink()
    with pytest.raises(ShardError, match=r"docs-00000\.nq: listed in shards\.json but missing"):
        read_shards(tmp_path / "sh", check=False)
    assert canonical(open_store(store)) == before


def test_manifest_cannot_point_outside_the_folder(seeds, tmp_path):
    write_shards(seeds.quads, [d.id for d in seeds.corpus.documents], tmp_path / "sh")
    manifest = json.loads((tmp_path / "sh" / MANIFEST).read_text())
    manifest["shards"][0]["file"] = "../elsewhere.nq"
    (tmp_path / "sh" / MANIFEST).write_text(json.dumps(manifest))
    (tmp_path / "elsewhere.nq").write_text("")
    with pytest.raises(ShardError, match="missing"):
        read_shards(tmp_path / "sh", check=False)


def test_rewrite_replaces_shards_but_not_another_folder(seeds, tmp_path):
    ids = [d.id for d in seeds.corpus.documents]
    write_shards(seeds.quads, ids, tmp_path / "sh", docs_per_shard=1)
    write_shards(seeds.quads, ids, tmp_path / "sh", docs_per_shard=5)
    assert sorted(p.name for p in (tmp_path / "sh").iterdir()) == ["docs-00000.nq", "facts.nq", MANIFEST]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(ShardError, match="not a shard folder"):
        write_shards(seeds.quads, ids, other)
    assert (other / "keep.txt").read_text() == "mine"


def test_store_refuses_unknown_store_dir_for_shards(tmp_path):
    with pytest.raises(ShardError, match="not a readable shard manifest"):
        load_shards(tmp_path / "st", tmp_path)
    assert not (tmp_path / "st").exists()


def test_dask_build_writes_the_same_shards(seeds, tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster:
        out = CliRunner().invoke(
            main, ["build", SEEDS, "--dask", cluster.scheduler_address, "--shards", str(tmp_path / "sh")]
        )
    assert out.exit_code == 0, out.output
    assert canonical_shards(tmp_path / "sh") == canonical(seeds.quads.quads())


def test_chunked_bulk_load_equals_one_load(seeds, tmp_path):
    path = tmp_path / "all.nq"
    ox.serialize(seeds.quads.quads(), str(path), ox.RdfFormat.N_QUADS)
    whole, chunked = ox.Store(), ox.Store()
    whole.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
    bulk_load_nquads(chunked, path, chunk=7)  # 3,000 lines in chunks of 7: many boundaries
    assert len(chunked) == len(whole) > 3000
    assert {str(q) for q in chunked} == {str(q) for q in whole}


def test_threaded_bulk_load_on_disk_equals_one_load(seeds, tmp_path):
    """kg store load loads several chunks at once into RocksDB (threads): the same quads as
    one load, however the chunks interleave; a bad chunk is reported, not lost."""
    path = tmp_path / "all.nq"
    ox.serialize(seeds.quads.quads(), str(path), ox.RdfFormat.N_QUADS)
    whole = ox.Store()
    whole.bulk_load(path=str(path), format=ox.RdfFormat.N_QUADS)
    threaded = ox.Store(str(tmp_path / "disk"))
    bulk_load_nquads(threaded, path, chunk=50, threads=3)
    threaded.flush()
    assert len(threaded) == len(whole) > 3000
    assert {str(q) for q in threaded} == {str(q) for q in whole}
    bad = tmp_path / "bad.nq"
    bad.write_bytes(path.read_bytes()[:20_000] + b"<broken\n" + path.read_bytes()[20_000:])
    with pytest.raises(SyntaxError):
        bulk_load_nquads(ox.Store(str(tmp_path / "disk2")), bad, chunk=50, threads=3)


@pytest.mark.parametrize("suffix", [".nq", ".trig"])
def test_push_reads_the_named_graphs_of_a_quads_file(seeds, tmp_path, suffix):
    from kg.store import graphs_of

    path = tmp_path / f"g{suffix}"
    seeds.write(path)
    graphs = graphs_of(path)
    assert len(graphs) == len(seeds.corpus.documents) + 1  # each document's graph and the facts
    assert sum(body.count(b"\n") for body in graphs.values()) == len(seeds.quads)
