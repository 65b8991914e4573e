"""A spilled graph's document parts written by worker processes (kg.parts): the bytes the
serial build writes, in its order, with what parts share written once whichever worker
wrote which part; the work really done in the workers; a worker's failure stops the build
without leaving a half-written graph."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from kg import parts
from kg.parallel import can_fork
from kg.pipeline import build
from kg.shards import read_shards
from tests.conftest import ROOT, SEEDS

sys.path.insert(0, str(ROOT / "bench"))
from gen import generate  # noqa: E402  (bench/ is scripts, not a package)

pytestmark = pytest.mark.skipif(not can_fork(), reason="parts are written in forked workers only where fork is")


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """About 40 documents re-telling the seeds' events: statements, claims, dates and
    asserted triples that many parts share, so that which part writes them first matters."""
    folder = tmp_path_factory.mktemp("gen")
    generate(folder, 0.3, doc_kb=8, seed=11)
    return folder


def outputs(paths: list[str], workers: int, out: Path) -> tuple[dict[str, bytes], dict[str, int]]:
    """Every file a build writes (.nq, .nt, Turtle and TriG sorted on disk, shards), as
    bytes, and its counts."""
    names = ("graph.nq", "graph.nt", "graph.ttl", "graph.trig")
    with build(paths, workers=workers, spill_to=out) as built:
        for name in names:
            built.write(out / name)
        built.write_shards(out / "shards", docs_per_shard=5)
        summary = built.summary
    files = {name: (out / name).read_bytes() for name in names}
    files.update({f"shards/{f.name}": f.read_bytes() for f, _ in read_shards(out / "shards")})
    return files, summary


@pytest.mark.parametrize("corpus", ["seeds", "generated"])
def test_parts_written_by_workers_are_the_serial_build_byte_for_byte(corpus, generated, tmp_path, monkeypatch):
    """Three documents a task: a statement two documents share is met in parts that
    different workers write, and only the first part in document order may write it."""
    monkeypatch.setattr(parts, "DOCS_PER_TASK", 3)
    paths = [str(SEEDS if corpus == "seeds" else generated)]
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "three").mkdir()
    serial, counts = outputs(paths, 1, tmp_path / "one")
    assert len(serial) > 3 and all(serial.values())
    for folder, workers in (("two", 2), ("three", 3)):
        written, summary = outputs(paths, workers, tmp_path / folder)
        assert written.keys() == serial.keys()
        for name, data in serial.items():
            assert written[name] == data, f"{name} differs with {workers} workers"
        assert summary == counts


NOTED: list[Path] = []  # where noted_batch leaves a file per task (set before the workers fork)
_write_batch = parts.write_batch


def noted_batch(start: int, stop: int, resolved: dict) -> list:
    """write_batch, leaving a file named by the process and task that ran it."""
    (NOTED[0] / f"{os.getpid()}-{start}").write_text(str(stop - start))
    return _write_batch(start, stop, resolved)


def test_the_parts_are_written_in_the_workers(generated, tmp_path, monkeypatch):
    """Every part comes from a forked worker, none from the building process itself."""
    monkeypatch.setattr(parts, "DOCS_PER_TASK", 4)
    monkeypatch.setattr(parts, "write_batch", noted_batch)
    monkeypatch.setattr(sys.modules[__name__], "NOTED", [tmp_path / "pids"])
    (tmp_path / "pids").mkdir()
    with build([str(generated)], workers=2, spill_to=tmp_path) as built:
        built.write(tmp_path / "graph.nq")
        ndocs = len(built.corpus.documents)
    tasks = [p.name.split("-") for p in (tmp_path / "pids").iterdir()]
    assert tasks and str(os.getpid()) not in {pid for pid, _ in tasks}
    assert sum(int((tmp_path / "pids" / f"{pid}-{start}").read_text()) for pid, start in tasks) == ndocs


def test_a_worker_that_fails_stops_the_build_and_leaves_the_old_graph(generated, tmp_path, monkeypatch):
    (tmp_path / "graph.nq").write_bytes(b"the graph of yesterday\n")

    def broken(record: tuple):
        raise ValueError(f"unreadable record for {record[0]}")

    monkeypatch.setattr(parts, "result", broken)
    with build([str(generated)], workers=2, spill_to=tmp_path) as built, pytest.raises(ValueError, match="unreadable"):
        built.write(tmp_path / "graph.nq")
    assert (tmp_path / "graph.nq").read_bytes() == b"the graph of yesterday\n"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.nq"]


def test_a_range_of_records_reads_as_the_whole_file_does(generated, tmp_path):
    with build([str(generated)], spill_to=tmp_path) as built:
        spill = built.spill
        whole = list(spill._records())
        n = len(whole)
        for start, stop in ((0, n), (0, 1), (n - 1, n), (3, 7), (5, 5)):
            assert list(spill.read_range(start, stop)) == whole[start:stop]


def test_parts_written_on_a_dask_cluster_are_the_serial_build_byte_for_byte(generated, tmp_path, monkeypatch):
    """Worker processes that share nothing with the build: each task carries its records and
    its share of the plan, pickled, and what all parts need is sent to each worker once."""
    from dask.distributed import Client, LocalCluster, get_task_stream

    monkeypatch.setattr(parts, "DOCS_PER_TASK", 3)
    paths = [str(generated)]
    (tmp_path / "one").mkdir()
    (tmp_path / "cluster").mkdir()
    serial, counts = outputs(paths, 1, tmp_path / "one")
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client, build(paths, dask=client, spill_to=tmp_path / "cluster") as built:
        assert built.workers == 1 and built.dask is client
        with get_task_stream(client) as tasks:
            built.write(tmp_path / "cluster" / "graph.nq")
            built.write_shards(tmp_path / "cluster" / "shards", docs_per_shard=5)
        assert built.summary == counts
        ndocs = len(built.corpus.documents)
    written = [t for t in tasks.data if t["key"].startswith("write_remote")]
    assert len(written) == 2 * -(-ndocs // 3)  # every part, for both outputs, written on the cluster
    assert len({t["worker"] for t in written}) == 2
    assert (tmp_path / "cluster" / "graph.nq").read_bytes() == serial["graph.nq"]
    for file, _ in read_shards(tmp_path / "cluster" / "shards"):
        assert file.read_bytes() == serial[f"shards/{file.name}"]


def dying(*_: object) -> None:
    """A worker killed mid-task (the out-of-memory killer, a crash): no exception, no result."""
    os._exit(9)


@pytest.mark.parametrize("stage", ["extraction", "writing"])
def test_a_worker_that_dies_is_reported_and_the_old_graph_stays(stage, generated, tmp_path, monkeypatch):
    from click.testing import CliRunner

    import kg.parallel
    from kg.cli import main

    if stage == "extraction":
        monkeypatch.setattr(kg.parallel, "extract_batch", dying)
    else:
        monkeypatch.setattr(parts, "write_batch", dying)
    out = tmp_path / "graph.nq"
    out.write_bytes(b"the graph of yesterday\n")
    result = CliRunner().invoke(main, ["build", str(generated), "--workers", "2", "--out", str(out)])
    assert result.exit_code == 1
    assert "a worker process died" in result.output and "left as it was" in result.output
    assert out.read_bytes() == b"the graph of yesterday\n"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.nq"]


@pytest.mark.parametrize("workers", [1, 2])
def test_writing_the_graph_reports_its_progress(workers, generated, tmp_path, monkeypatch):
    """A graph of a million documents takes minutes to write: the build says how far it is,
    document by document on one process, task by task with workers."""
    monkeypatch.setattr(parts, "DOCS_PER_TASK", 4)
    seen: list[tuple[int, int | None]] = []
    with build([str(generated)], workers=workers, spill_to=tmp_path) as built:
        built.progress = lambda done, total: seen.append((done, total))
        built.write(tmp_path / "graph.nq")
        ndocs = len(built.corpus.documents)
    assert seen[-1] == (ndocs, ndocs) and len(seen) >= ndocs // 4
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})
