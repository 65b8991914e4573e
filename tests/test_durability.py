"""A build killed at any moment leaves the previous graph file whole: the writer serialises
to a temporary file beside it and renames (kg.graph.write), and rename is atomic."""

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

KG = [sys.executable, "-m", "kg"]
KILLS = 6


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
