"""A build killed at any moment leaves the previous graph whole: the writer serialises to a
temporary file beside it and renames (kg.graph.write), and rename is atomic; a store load
stages a new generation and switches it in with one rename (kg.store)."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from kg.graph import load
from tests.conftest import ROOT, SEEDS
from tests.helpers import store_quads

KG = [sys.executable, "-m", "kg"]
KILLS = 6
STORE_KILLS = 4  # each copies the store before the load and runs it again after


def kg_build(corpus: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*KG, "build", str(corpus), "--out", str(out)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def test_sigkill_at_random_moments_never_leaves_a_broken_graph(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    first = sorted(SEEDS.glob("*.txt"))[0]
    shutil.copy(first, small / first.name)
    out = tmp_path / "graph.ttl"
    assert kg_build(small, out).wait() == 0
    previous = out.read_bytes()

    started = time.monotonic()
    assert kg_build(SEEDS, tmp_path / "full.ttl").wait() == 0
    duration = time.monotonic() - started
    complete = (tmp_path / "full.ttl").read_bytes()

    rng = random.Random(8)
    for _ in range(KILLS):
        proc = kg_build(SEEDS, out)
        time.sleep(rng.uniform(0.3, 1.0) * duration)  # from start-up to the final rename
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = out.read_bytes()
        assert now in (previous, complete), "a killed build left a partial graph"
        assert len(load(out)) > 0
        previous = now

    assert kg_build(SEEDS, out).wait() == 0  # the interrupted run, run again
    assert out.read_bytes() == complete


def kg_store(corpus: Path, root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*KG, "build", str(corpus), "--store", str(root)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_during_a_store_load_leaves_the_store_before_or_after(tmp_path):
    """The store's generations and its index, committed before the switch, under real kills:
    after each, the store opens and holds the graph before the load or after it, and the
    interrupted load run again finishes it."""
    before, whole = tmp_path / "before", tmp_path / "whole"
    assert kg_store(sorted(SEEDS.glob("*.txt"))[0], before).wait() == 0  # the same source as in the folder
    previous = store_quads(before)
    started = time.monotonic()
    assert kg_store(SEEDS, whole).wait() == 0
    duration = time.monotonic() - started
    complete = store_quads(whole)

    rng = random.Random(8)
    for kill in range(STORE_KILLS):
        root = tmp_path / f"store{kill}"
        shutil.copytree(before, root, symlinks=True)
        proc = kg_store(SEEDS, root)
        time.sleep(rng.uniform(0.3, 1.0) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert store_quads(root) in (previous, complete), "a killed load left a store between the two"
        assert kg_store(SEEDS, root).wait() == 0  # the interrupted load, run again
        assert store_quads(root) == complete
