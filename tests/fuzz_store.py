"""A time-bounded differential fuzzer for the ways kg builds a graph.

A fresh build in memory is the reference; every other way of building the same documents
must give its quads exactly (as Oxigraph holds them). Each case draws a corpus, 0.1-2 MB of
generated articles of 1-8 KB (bench/gen.py) with, at random, the seed articles and articles
naming made-up people (bench/synth.py), split into folders, and builds it:

- into a store in random steps: a few folders an add, in batches of 5 to 1,000 records, in
  one process, two, or on a Dask cluster when the run has one; then one file edited, so that
  its new document replaces the old; then one folder's documents removed, and added again.
  The store is compared after each step;
- with `kg build` to N-Quads and to TriG, and to shards of 1 to 1,000 documents (then
  bulk-loaded into a store, as `kg store load` does), in one process, two, or on the
  cluster, the folders given in random order.

Why: a store grows in steps no fresh build takes, and a build with workers writes parts
another process made. A store that drifted from a fresh build was found by hand once, at
100 MB (docs/performance.md, "Incremental builds"); the tests fix some orders, this draws them.
A difference raises with the seed and the case, and the case's files are kept for replay.

    .venv/bin/python -m tests.fuzz_store [SECONDS] [SEED]     # on demand, e.g. 1800; with a
                                                               # local Dask cluster if kg[scale]
    KG_FUZZ_SECONDS=600 .venv/bin/pytest tests/test_store.py -k fuzz
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

import kg.store
from kg.cli import main
from kg.store import add_documents, load_shards, memory_store, remove_documents
from tests.conftest import ROOT, SEEDS
from tests.fuzz_ingest import budget
from tests.test_index import fresh, stored

sys.path.insert(0, str(ROOT / "bench"))
from gen import generate  # noqa: E402  (bench/ is scripts, not a package)
from synth import people_corpus  # noqa: E402


class Finding(AssertionError):
    """A way of building that did not give a fresh build's quads."""


def draw_extraction(rng: random.Random, dask: str | None) -> dict:
    """One process, two, or the Dask cluster at `dask` (two processes in a run without one,
    so that a case draws the same from its seed either way): add_documents' keywords."""
    how = rng.choice(["one", "two", "dask"])
    if how == "dask" and dask:
        return {"dask": dask}
    return {"workers": 1 if how == "one" else 2}


SMALL_MB, LARGE_MB = (0.1, 0.2, 0.4), (0.4, 1.0, 2.0)  # of generated articles in a case


def draw_corpus(rng: random.Random, seed: int, folder: Path, sizes: tuple[float, ...]) -> list[Path]:
    """The case's documents, split into 1-4 folders per source, each with its metadata."""
    sources = folder / "sources"
    generate(sources / "generated", rng.choice(sizes), doc_kb=rng.choice([1, 2, 4, 8]), seed=seed)
    if rng.random() < 0.5:
        (sources / "seeds").mkdir()
        for path in [*SEEDS.glob("*.txt"), SEEDS / "metadata.json"]:
            shutil.copy(path, sources / "seeds" / path.name)
    if rng.random() < 0.5:
        people_corpus(sources / "people", rng.choice([50, 200]), seed=seed)
    parts = []
    for source in sorted(sources.iterdir()):
        parts += split(source, rng.randint(1, 4), rng, folder / "parts")
    rng.shuffle(parts)
    return parts


def split(source: Path, count: int, rng: random.Random, out: Path) -> list[Path]:
    """The documents of `source` dealt at random into `count` folders."""
    metadata = json.loads((source / "metadata.json").read_text(encoding="utf-8"))
    files = sorted(source.glob("*.txt"))
    rng.shuffle(files)
    folders = []
    for number in range(count):
        folder = out / f"{source.name}-{number}"
        folder.mkdir(parents=True)
        mine = files[number::count]
        for path in mine:
            shutil.copy(path, folder / path.name)
        kept = {p.name: metadata[p.name] for p in mine if p.name in metadata}
        (folder / "metadata.json").write_text(json.dumps(kept), encoding="utf-8")
        folders.append(folder)
    return folders


def compare(what: str, made: set[str], want: set[str]) -> None:
    if made != want:
        raise Finding(f"{what}: {len(made - want)} quads only there, {len(want - made)} only in a fresh build")


def store_in_steps(rng: random.Random, folders: list[Path], root: Path, dask: str | None) -> set[str]:
    """Add the folders a few at a time, edit a file, remove a folder and add it back; returns
    a fresh build's quads of the folders as they end."""
    batch = kg.store.STORE_BATCH
    kg.store.STORE_BATCH = rng.choice([5, 17, 60, 1000])
    try:
        start = 0
        while start < len(folders):
            step = folders[start : start + rng.randint(1, 3)]
            add_documents(root, [str(f) for f in step], **draw_extraction(rng, dask))
            start += len(step)
        compare(f"a store added in steps (batches of {kg.store.STORE_BATCH})", stored(root), fresh(folders))
        edited, donor = rng.sample(sorted(p for f in folders for p in f.glob("*.txt")), 2)
        sentence = rng.choice([line for line in donor.read_text(encoding="utf-8").splitlines() if line.strip()])
        edited.write_text(edited.read_text(encoding="utf-8") + "\n" + sentence + "\n", encoding="utf-8")
        add_documents(root, [str(f) for f in folders])
        want = fresh(folders)
        compare(f"the store after {edited.name} was edited", stored(root), want)
        if len(folders) > 1:
            gone = rng.choice(folders)
            remove_documents(root, [str(p) for p in sorted(gone.glob("*.txt"))])
            compare(f"the store without {gone.name}", stored(root), fresh([f for f in folders if f != gone]))
            add_documents(root, [str(gone)])
            compare(f"the store with {gone.name} added back", stored(root), want)
        return want
    finally:
        kg.store.STORE_BATCH = batch


def builds(rng: random.Random, folders: list[Path], out: Path, want: set[str], dask: str | None) -> None:
    """`kg build` to N-Quads, TriG and shards, the folders in random order; `want`: a fresh
    build's quads of them."""
    order = rng.sample(folders, len(folders))

    def build(*args: object) -> None:
        how = [f"--{k}={v}" for k, v in draw_extraction(rng, dask).items()]
        result = CliRunner().invoke(main, ["build", *map(str, order), *map(str, args), *how])
        if result.exit_code != 0:
            raise Finding(f"kg build {' '.join(map(str, [*args, *how]))}: {result.output[-500:]}")

    for name in ("graph.nq", "graph.trig"):
        build("--out", out / name)
        compare(f"kg build --out {name}", {str(q) for q in memory_store(out / name)}, want)  # as kg query FILE reads it
    docs = rng.choice([1, 7, 50, 1000])
    build("--shards", out / "shards", "--shard-docs", docs)
    load_shards(out / "store", out / "shards")  # kg store load
    compare(f"kg build --shards (--shard-docs {docs}), bulk-loaded", stored(out / "store"), want)


def case(seed: int, folder: Path, sizes: tuple[float, ...] = SMALL_MB, dask: str | None = None) -> None:
    """One drawn corpus, built every way (`dask`: a scheduler's address, for the cluster's
    turns); raises a Finding on the first difference."""
    rng = random.Random(seed)
    folders = draw_corpus(rng, seed, folder, sizes)
    want = store_in_steps(rng, folders, folder / "store", dask)
    builds(rng, folders, folder / "out", want, dask)


def run(
    seconds: float, seed: int | None = None, report: Callable[[str], None] = lambda _: None, dask: str | None = None
) -> int:
    """Cases for `seconds` (at least one); returns how many. The first is small, so that a short
    run (the suite's) takes seconds; the rest alternate small and large corpora, where rarer
    drifts show: the store's of the fifteenth session, put back, was found by the 24th case of
    a run (2 MB, 8 minutes) and by none of 43 small ones. Raises on the first finding, with
    the seed and sizes to replay it (`case(seed, folder, sizes)`) and its files kept."""
    seed = random.randrange(2**32) if seed is None else seed
    deadline, cases = time.monotonic() + seconds, 0
    while cases == 0 or time.monotonic() < deadline:
        this, sizes = seed + cases, LARGE_MB if cases % 2 else SMALL_MB
        folder = Path(tempfile.mkdtemp(prefix=f"kg-fuzz-store-{this}-"))
        try:
            case(this, folder, sizes, dask)
        except Exception as exc:
            raise Finding(f"seed {this}, sizes {sizes}: {exc}; its files are kept in {folder}") from exc
        shutil.rmtree(folder)
        cases += 1
        report(f"seed {this}, sizes {sizes}: the same graph every way")
    return cases


def local_cluster() -> contextlib.AbstractContextManager:
    """Two Dask worker processes on this machine, or nothing without kg[scale]."""
    try:
        from dask.distributed import LocalCluster
    except ImportError:
        return contextlib.nullcontext()
    return LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0")  # any free port


if __name__ == "__main__":
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else budget()
    with local_cluster() as cluster:
        address = cluster.scheduler_address if cluster else None
        done = run(secs, int(sys.argv[2]) if len(sys.argv) > 2 else None, report=print, dask=address)
    print(f"{done} corpora built every way{' (and on a Dask cluster)' if address else ''}, no findings in {secs:.0f} s")
