"""The benchmark suite: one command, one table (bench/RESULTS.md).

    .venv/bin/python bench/run.py            # 1 MB and 10 MB corpora, 1 M triples, 10k/100k nodes
    .venv/bin/python bench/run.py --quick    # 1 MB, 200k triples, 10k nodes: a smoke run
    .venv/bin/python bench/run.py --big      # adds 100 MB and 10 M triples
    .venv/bin/python bench/run.py --only parallel   # one section, printed (or analysis,
                                                    # incremental, names, saved, viz)

Each case runs in a fresh child process so its peak memory (ru_maxrss) is its own; timings
are the median of repeated runs in that process.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

TARGETS = {
    "extract": "end to end >= 20,000 sentences/s per core",
    "load": "1 M triples loaded < 5 s and < 500 MB",
    "query": "saved question < 100 ms at 1 M triples",
    "rank": "rank at 100k nodes / 500k edges < 30 s",
    "viz": "kg viz of 5,000 nodes written < 1 s and drawn in the browser < 3 s",
    "parallel": ">= 1.8x on 2 cores",
    "incremental": "adding 10 documents costs time proportional to the 10, not to the store",
}


def peak_mb(children: bool = False) -> float:
    """Peak resident memory so far, in MB (Linux reports KiB)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of `repeats` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


# ---------------------------------------------------------------- cases (run in a child)
def made_once(name: str, make) -> Path:
    """The folder `name` under the temp folder, filled by `make(folder)` the first time only
    (a marker says it was finished, not cut short)."""
    folder = Path(tempfile.gettempdir()) / name
    if not (folder / ".done").exists():
        make(folder)
        (folder / ".done").write_text("ok")
    return folder


def corpus(mb: float, doc_kb: float = 8) -> Path:
    """The generated corpus of `mb` MB, made once and kept under the temp folder."""
    from gen import generate

    return made_once(f"kg-bench-{mb:g}mb-{doc_kb:g}kb-dated", lambda folder: generate(folder, mb, doc_kb))


def corpus_stats(folder: Path) -> tuple[int, int, int]:
    """Documents, bytes and sentences in a corpus."""
    from kg.ingest import read_corpus
    from kg.text import normalise, split_sentences

    docs, _ = read_corpus([folder])
    size = sum(len(d.text.encode("utf-8")) for d in docs)
    return len(docs), size, sum(len(split_sentences(normalise(d.text))) for d in docs)


def case_read(mb: float, repeats: int) -> dict:
    from kg.ingest import read_corpus

    folder = corpus(mb)
    ndocs, size, sents = corpus_stats(folder)
    t, _ = timed(lambda: read_corpus([folder]), repeats)
    return {
        "what": f"floor: read files ({mb:g} MB)",
        "docs": ndocs,
        "sentences": sents,
        "bytes": size,
        "s": t,
    }


def case_scan(mb: float, repeats: int) -> dict:
    from kg.extract import matcher_for
    from kg.ingest import read_corpus
    from kg.rules import load_rules
    from kg.text import normalise

    folder = corpus(mb)
    ndocs, size, sents = corpus_stats(folder)
    docs, _ = read_corpus([folder])
    matcher = matcher_for(load_rules())
    t, found = timed(lambda: sum(len(matcher.scan(normalise(d.text))) for d in docs), repeats)
    return {
        "what": f"floor: dictionary scan ({mb:g} MB)",
        "docs": ndocs,
        "sentences": sents,
        "bytes": size,
        "s": t,
        "note": f"{found} mentions",
    }


def case_extract(mb: float, repeats: int, workers: int = 1) -> dict:
    """read -> sentences -> matching -> rules -> resolution -> RDF (N-Quads written): the
    steps of kg.pipeline.build, timed one by one so the table says what dominates."""
    from kg.gcpolicy import fewer_collections
    from kg.graph import GraphWriter, write
    from kg.ingest import read_corpus
    from kg.parallel import extract_all
    from kg.resolve import EntityFold, resolve
    from kg.rules import load_rules

    rules = load_rules()
    folder = corpus(mb)
    ndocs, size, sents = corpus_stats(folder)
    out = Path(tempfile.gettempdir()) / "kg-bench-out.nq"
    phases: dict[str, float] = {}

    def step(name: str, fn):
        start = time.perf_counter()
        value = fn()
        phases[name] = time.perf_counter() - start
        return value

    @fewer_collections()  # as kg.pipeline.build runs
    def run() -> int:
        docs, _ = step("read", lambda: read_corpus([folder]))
        fold = EntityFold()  # as kg.pipeline.build does: entities folded in the workers
        results, _ = step("extract", lambda: extract_all(docs, workers, fold=fold))
        corpus_ = step("resolve", lambda: resolve(results, fold.entities()))
        built = step("rdf", lambda: GraphWriter(corpus_, rules).build())
        step("write", lambda: write(built, str(out)))
        return len(built)

    t, quads = timed(run, repeats)
    split = ", ".join(f"{k} {v:.1f}" for k, v in phases.items())
    return {
        "what": f"end to end, {workers} worker(s) ({mb:g} MB)",
        "docs": ndocs,
        "sentences": sents,
        "bytes": size,
        "s": t,
        "workers": workers,
        "note": f"{quads:,} quads; last run's seconds: {split}",
    }


def case_build(mb: float, repeats: int, workers: int = 1, out_name: str = "shards") -> dict:
    """`kg build DIR --shards OUT [--workers N]` (or `--out graph.ttl`, `out_name`) as users
    run it: documents streamed (text dropped after extraction, statements and claims spilled
    beside the output), resolution, the graph, N-Quads shards written (with workers, the
    documents' parts written by them: kg.parts), or Turtle through lines sorted on disk
    (kg.linesort); its peak memory is the one to compare with the corpus size."""
    import shutil

    from kg.pipeline import build

    folder = corpus(mb)
    ndocs, size, sents = corpus_stats(folder)
    out = Path(tempfile.mkdtemp(prefix="kg-bench-build-")) / out_name

    def run() -> int:
        with build([str(folder)], workers=workers, spill_to=out.parent) as built:
            if out_name == "shards":
                return sum(s.quads for s in built.write_shards(out))
            built.write(out)
            return 0

    t, made = timed(run, repeats)
    written = f"{made:,} quads in shards" if out_name == "shards" else f"{out.stat().st_size / 1e6:.0f} MB of Turtle"
    shutil.rmtree(out.parent, ignore_errors=True)
    how = "--shards" if out_name == "shards" else f"--out {out_name}"
    return {
        "what": f"kg build {how}, streamed, {workers} worker(s) ({mb:g} MB)",
        "docs": ndocs,
        "sentences": sents,
        "bytes": size,
        "s": t,
        "workers": workers,
        "note": written,
    }


def case_extract_only(mb: float, repeats: int, workers: int = 1) -> dict:
    """Only the per-document extraction (what --workers parallelises)."""
    from kg.gcpolicy import fewer_collections
    from kg.ingest import read_corpus
    from kg.parallel import extract_all
    from kg.resolve import EntityFold
    from kg.rules import load_rules

    load_rules()
    folder = corpus(mb)
    ndocs, size, sents = corpus_stats(folder)
    docs, _ = read_corpus([folder])
    with fewer_collections():  # as kg.pipeline.build runs it
        t, _ = timed(lambda: extract_all(docs, workers, fold=EntityFold()), repeats)
    return {
        "what": f"extraction only, {workers} worker(s) ({mb:g} MB)",
        "docs": ndocs,
        "sentences": sents,
        "bytes": size,
        "s": t,
        "workers": workers,
    }


def spin(n: int) -> int:
    """A pure-Python loop: CPU alone, nothing shared, nothing serial."""
    total = 0
    for i in range(n):
        total += i
    return total


def case_ceiling(repeats: int, workers: int) -> dict:
    """What this machine's cores give a job with nothing serial at all, at that moment: the
    same loop run once, then once in each of `workers` processes at once (forked, as
    `--workers` forks). On a shared or virtual machine two vCPUs may give less than twice
    one; the speed-up the builds get is read against it."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    n = 15_000_000
    alone, _ = timed(lambda: spin(n), repeats)
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        together, _ = timed(lambda: list(pool.map(spin, [n] * workers)), repeats)
    return {"alone_s": alone, "together_s": together, "workers": workers, "speedup": workers * alone / together}


def case_load(triples: int, repeats: int, on_disk: bool = False) -> dict:
    """Bulk load into a pyoxigraph Store (in memory, or RocksDB in a temp folder), then the
    analyst questions of bench/synth.py, median of 5 each."""
    import shutil

    import pyoxigraph as ox
    from synth import QUERIES, write_nquads

    path = Path(tempfile.gettempdir()) / f"kg-bench-{triples}.nq"
    if not path.exists():
        write_nquads(path, triples)
    count = sum(1 for _ in path.open("rb"))
    holder: dict = {}

    def load() -> int:
        holder.pop("store", None)  # the previous run's store goes first: peak memory is one load's
        if "folder" in holder:
            shutil.rmtree(holder.pop("folder"), ignore_errors=True)
        if on_disk:  # how `kg store load` loads shards: kg.store.bulk_load_nquads, in chunks
            from kg.store import LOAD_CHUNK_QUADS, LOAD_THREADS, bulk_load_nquads

            holder["folder"] = tempfile.mkdtemp(prefix="kg-bench-store-")
            store = ox.Store(holder["folder"])
            bulk_load_nquads(store, path, LOAD_CHUNK_QUADS, threads=LOAD_THREADS)
            store.flush()
            store.optimize()  # as kg store load does
        else:  # how `kg query FILE` reads a graph file: kg.store.memory_store, in chunks
            from kg.store import memory_store

            store = memory_store(path)
        holder["store"] = store
        return len(store)

    t, loaded = timed(load, repeats)
    latencies = {}
    for name, query in QUERIES.items():
        latencies[name], _ = timed(lambda q=query: list(holder["store"].query(q)), 5)
    holder.pop("store")
    shutil.rmtree(holder.get("folder", ""), ignore_errors=True)
    where = "on disk, kg store load" if on_disk else "in memory, kg query FILE"
    return {
        "what": f"load into pyoxigraph Store ({where}) ({count:,} quads)",
        "s": t,
        "quads": loaded,
        "queries_ms": {k: round(v * 1000, 1) for k, v in latencies.items()},
        "file_mb": round(path.stat().st_size / 1e6, 1),
    }


def case_rank(nodes: int, repeats: int, workers: int = 1) -> dict:
    """What `kg rank` runs: kg.analysis.centrality (degree; betweenness in igraph, sampled from
    SAMPLE_K pivots above SAMPLE_ABOVE nodes, its sources shared among `workers` processes;
    PageRank; eigenvector in scipy), on a preferential-attachment graph with IRI node names
    like the projection's. The total is one centrality() call; the measures are then timed one
    by one on its undirected graph."""
    import networkx as nx
    from synth import KGR, graph_edges

    from kg import analysis as an

    iri = [f"{KGR}e{i}" for i in range(nodes)]
    graph = nx.Graph((iri[u], iri[v]) for u, v in graph_edges(nodes, nodes * 5))
    pairs = [(iri[i * 7919 % nodes], iri[i * 104729 % nodes]) for i in range(20)]
    t_path, _ = timed(lambda: [nx.shortest_path_length(graph, a, b) for a, b in pairs], repeats)
    t_total, ranking = timed(lambda: an.centrality(graph, seed=0, workers=workers), repeats)
    k = ranking.sampled_k
    t_adj, adjacency = timed(lambda: an.Adjacency(graph), repeats)
    t_deg, _ = timed(adjacency.degrees, repeats)
    t_bc, _ = timed(lambda: an.betweenness_of(adjacency, k, 0, workers), repeats)
    t_pr, _ = timed(lambda: an.pagerank_of(adjacency), repeats)
    t_eig, _ = timed(lambda: an._eigenvector(adjacency, graph), repeats)
    return {
        "what": f"kg rank (kg.analysis.centrality) on {nodes:,} nodes / {graph.number_of_edges():,} edges"
        + (f", {workers} workers" if workers > 1 else ""),
        "s": t_total,
        "paths_s": t_path,
        "adjacency_s": t_adj,
        "degree_s": t_deg,
        "betweenness_s": t_bc,
        "pagerank_s": t_pr,
        "eigenvector_s": t_eig,
        "k": k,
        "igraph": an._igraph() is not None,
    }


def case_project(mb: float, repeats: int) -> dict:
    """What every analysis command (`kg rank/path/viz/timeline GRAPH`) does first: the graph
    file of a generated corpus read into Oxigraph and projected into NetworkX
    (kg.analysis.load_graph, entity_graph), then ranked."""
    import shutil

    from kg import analysis as an
    from kg.pipeline import build

    folder = Path(tempfile.mkdtemp(prefix="kg-bench-project-"))
    path = folder / "graph.nq"
    build([str(corpus(mb))]).write(path)
    quads = sum(1 for _ in path.open("rb"))
    t_project, E = timed(lambda: an.entity_graph(an.load_graph(str(path))), repeats)
    t_rank, _ = timed(lambda: an.centrality(E), repeats)
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "what": f"the {mb:g} MB corpus's graph ({quads:,} quads): {E.number_of_nodes():,} nodes / "
        f"{E.number_of_edges():,} edges",
        "s": t_project,
        "rank_s": t_rank,
    }


def case_names(count: int, repeats: int) -> dict:
    """Merging minted names (kg.resolve.merge_entities), which every build runs over all the
    corpus's entities (and a store's first batches): `count` made-up people's names, a fifth
    of them spelled a second way (bench/synth.py). The generated corpora mint few names
    (theirs come from the dictionaries); a year of real news mints tens of thousands."""
    import copy

    from synth import minted_people

    from kg.gcpolicy import fewer_collections
    from kg.model import Entity
    from kg.resolve import merge_entities
    from kg.rules import load_rules

    load_rules()
    people = {i: Entity(i, label, "Person") for i, label in minted_people(count)}
    fresh = [copy.deepcopy(people) for _ in range(repeats)]  # a merge changes the entities it is given
    with fewer_collections():  # as a build runs it
        t, (_, mapping) = timed(lambda: merge_entities([], fresh.pop()), repeats)
    return {"what": f"{count:,} minted people's names", "s": t, "merged": len(mapping)}


def case_people_build(people: int, repeats: int) -> dict:
    """`kg build DIR --out graph.nq` of a corpus made to mint `people` people (synth.people_corpus):
    what the merge of minted names costs a whole build."""
    import shutil

    from synth import people_corpus

    from kg.pipeline import build

    folder = made_once(f"kg-bench-people-{people}", lambda folder: people_corpus(folder, people))
    out = Path(tempfile.mkdtemp(prefix="kg-bench-people-out-")) / "graph.nq"

    def run() -> int:
        with build([str(folder)], spill_to=out.parent) as built:
            built.write(out)
            return len(built.corpus.entities)

    t, entities = timed(run, repeats)
    shutil.rmtree(out.parent, ignore_errors=True)
    docs = len(list(folder.glob("*.txt")))
    return {"what": f"{docs:,} documents naming {people:,} made-up people", "s": t, "entities": entities}


def names_table(rows: list[dict], builds: list[dict]) -> list[str]:
    """The entity resolution section of RESULTS.md."""
    lines = [
        "## Entity resolution (minted names: kg.resolve.merge_entities)",
        "",
        "No target in the issue. Every build merges all minted names (a store add only those its new"
        " names can change: kg.resolve.NameMerge, see Incremental builds); each joins the closest"
        " spelling of its type if that one is the same name (kg.resolve.same_name). Most are settled"
        " from the names sharing their consonants or initials, the rest compared with the names sharing"
        " enough bigrams and letters (kg.resolve.NamePool). Made-up names, a fifth spelled two ways"
        " (bench/synth.py); median of 3.",
        "",
        "| names | merged into another | median time | peak MB |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['what']} | {r['merged']:,} | {r['s']:.2f} s | {r['peak_mb']:.0f} |")
    lines += [
        "",
        "A whole build of a corpus made to mint people (bench/synth.py's people_corpus: five names a"
        " document in sentences the name patterns read), `kg build DIR --out graph.nq` as users run it:",
        "",
        "| corpus | entities after the merge | median time | peak MB |",
        "|---|---|---|---|",
    ]
    for r in builds:
        lines.append(f"| {r['what']} | {r['entities']:,} | {r['s']:.2f} s | {r['peak_mb']:.0f} |")
    return lines


def case_saved(mb: float, repeats: int) -> dict:
    """Every saved question (queries/*.rq, its parameters' defaults) over the graph of a
    generated corpus, as `kg query GRAPH --saved NAME` runs it (kg.store.answers over the file
    read into memory): the target is per saved question, and the synthetic questions of the
    load rows are not they. Median of `repeats` runs each."""
    import shutil

    from kg.pipeline import build
    from kg.store import answers, memory_store, render_saved, saved_queries

    folder = Path(tempfile.mkdtemp(prefix="kg-bench-saved-"))
    path = folder / "graph.nq"
    with build([str(corpus(mb))], workers=2, spill_to=folder) as built:
        built.write(path)
    store = memory_store(path)
    latencies, rows = {}, {}
    for name in sorted(saved_queries()):
        query = render_saved(name, {})
        latencies[name], found = timed(lambda q=query: answers(store, q), repeats)
        rows[name] = len(found)
    quads = len(store)
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "what": f"the {mb:g} MB corpus's graph ({quads:,} quads)",
        "queries_ms": {k: round(v * 1000, 1) for k, v in latencies.items()},
        "rows": rows,
    }


def saved_table(cases: list[dict]) -> list[str]:
    lines = [
        "## Saved questions (`kg query GRAPH --saved NAME`)",
        "",
        f"Target: {TARGETS['query']}. Each saved question with its parameters' defaults, over a"
        " generated corpus's graph read into memory; median of 5 (rows found in brackets).",
        "",
        "| saved question | " + " | ".join(c["what"] for c in cases) + " |",
        "|---|" + "---|" * len(cases),
    ]
    for name in cases[0]["queries_ms"]:
        cells = [f"{c['queries_ms'][name]} ms ({c['rows'][name]})" for c in cases]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def case_viz(nodes: int, repeats: int) -> dict:
    """What `kg viz --max-nodes N` does once the graph is projected (kg.viz.write_html: PageRank,
    the layout above BROWSER_LAYOUT_MAX nodes, the page), then the page opened in headless
    Chromium until it has drawn every node; the browser's own start (an empty page) is
    measured apart. Virtual time: the page's timers do not wait, so this is its work."""
    import re
    import shutil

    from synth import entity_graph

    from kg.viz import write_html

    E = entity_graph(nodes)
    folder = Path(tempfile.mkdtemp(prefix="kg-bench-viz-"))
    page = folder / "graph.html"
    start = time.perf_counter()
    write_html(E, page, "bench", max_nodes=nodes)
    first = time.perf_counter() - start
    t_write, _ = timed(lambda: write_html(E, page, "bench", max_nodes=nodes), repeats)
    result = {
        "what": f"kg viz: {nodes:,} nodes / {E.number_of_edges():,} edges",
        "s": t_write,
        "first_s": first,
        "page_mb": round(page.stat().st_size / 1e6, 1),
    }
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        empty = folder / "empty.html"
        empty.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
        t_empty, _ = timed(lambda: browse(exe, empty, folder), repeats)
        bodies: list[str] = []
        t_page, _ = timed(lambda: bodies.append(re.search(r"<body[^>]*>", browse(exe, page, folder)).group(0)), repeats)
        body = bodies[-1]
        drawn = re.search(r'data-nodes-drawn="(\d*)"', body).group(1)
        result.update(browser_s=t_page, browser_start_s=t_empty, drawn=drawn, state="stabilised" in body)
        clocks = [re.search(r'data-drawn-ms="(\d+)"', b) for b in bodies]  # by the page's own clock
        result["page_drawn_s"] = statistics.median(int(c.group(1)) / 1000 for c in clocks) if all(clocks) else None
    shutil.rmtree(folder, ignore_errors=True)
    return result


def browse(exe: str, page: Path, folder: Path) -> str:
    """The page's DOM once headless Chromium has loaded it and run its timers."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    flags += ["--disable-component-update", "--disable-sync", f"--user-data-dir={folder / 'profile'}"]
    flags += ["--virtual-time-budget=120000", "--window-size=1200,800", "--dump-dom", page.as_uri()]
    return subprocess.run([exe, *flags], capture_output=True, text=True, timeout=600, check=True).stdout


def viz_table(pages: list[dict]) -> list[str]:
    """The HTML section of RESULTS.md."""
    lines = [
        "## HTML pages (`kg viz`: kg.viz.write_html, headless Chromium)",
        "",
        f"Target: {TARGETS['viz']}. Written: the page from the projected graph (median; the first call,"
        " which imports igraph, beside it). Drawn: by the page's own clock, from the start of loading"
        " it to its first drawing of every node (`data-drawn-ms`: what a reader waits); and headless"
        " Chromium's whole run (median) less its start on an empty page, which adds the browser writing"
        " out the page's DOM and closing.",
        "",
        "| graph | written | first write | page | drawn (the page's clock) | browser run less its start "
        "| browser start | nodes drawn | peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in pages:
        if "browser_s" in r:
            clock = f"{r['page_drawn_s']:.2f} s" if r.get("page_drawn_s") is not None else "not reported"
            run = f"{r['browser_s'] - r['browser_start_s']:.2f} s"
            start, count = f"{r['browser_start_s']:.2f} s", r["drawn"] + ("" if r["state"] else " (not settled)")
        else:
            clock, run, start, count = "no Chromium", "", "", ""
        lines.append(
            f"| {r['what']} | {r['s']:.2f} s | {r['first_s']:.2f} s | {r['page_mb']:.1f} MB | {clock} | {run}"
            f" | {start} | {count} | {r['peak_mb']:.0f} |"
        )
    return lines


def project_table(projections: list[dict]) -> list[str]:
    """The projection rows of RESULTS.md's analysis section."""
    lines = [
        "What every analysis command reads first: a built graph file into Oxigraph, projected into"
        " NetworkX (kg.analysis.load_graph + entity_graph; through rdflib the 10 MB corpus's graph took"
        " 55 s), then ranked:",
        "",
        "| graph | read and projected | centrality() | peak MB |",
        "|---|---|---|---|",
    ]
    for r in projections:
        lines.append(f"| {r['what']} | {r['s']:.2f} s | {r['rank_s']:.2f} s | {r['peak_mb']:.0f} |")
    return lines


def rank_table(ranks: list[dict]) -> list[str]:
    """The analysis section of RESULTS.md."""
    lines = [
        "## Analysis (`kg rank`: kg.analysis.centrality)",
        "",
        f"Target: {TARGETS['rank']}. Betweenness runs in igraph (NetworkX's pivots and rescaling: the"
        " same numbers), PageRank and the eigenvector power iteration in scipy (bit for bit NetworkX's),"
        " all four read off one index of the graph's nodes and undirected edges (kg.analysis.Adjacency)."
        " With workers (`kg rank --workers N`), betweenness's sources are shared among N processes.",
        "",
        "| graph | 20 shortest paths | the graph indexed | degree | betweenness (pivots) | PageRank "
        "| eigenvector | centrality() total | peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in ranks:
        pivots = f"k={r['k']}" if r["k"] else "exact"
        engine = "igraph" if r["igraph"] else "NetworkX"
        lines.append(
            f"| {r['what']} | {r['paths_s']:.2f} s | {r['adjacency_s']:.2f} s | {r['degree_s']:.2f} s"
            f" | {r['betweenness_s']:.2f} s"
            f" ({engine}, {pivots}) | {r['pagerank_s']:.2f} s | {r['eigenvector_s']:.2f} s | {r['s']:.2f} s"
            f" | {r['peak_mb']:.0f} |"
        )
    return lines


def child(name: str, args: list) -> None:
    result = globals()[f"case_{name}"](*args)
    result.setdefault("peak_mb", round(max(peak_mb(), peak_mb(children=True)), 1))  # (or the case's own)
    print(json.dumps(result))


# ---------------------------------------------------------------- the parent
def run_case(name: str, *args) -> dict:
    print(f"  {name} {args} ...", file=sys.stderr, flush=True)
    proc = subprocess.run(
        [sys.executable, __file__, "--case", name, json.dumps(list(args))],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(f"case {name} {args} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> list[str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(
            int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")
        )
        ram = f"{mem / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        ram = "?"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = []
    for pkg in (
        "rdflib",
        "pyoxigraph",
        "networkx",
        "scipy",
        "pyahocorasick",
        "rapidfuzz",
        "numpy",
        "dask",
        "distributed",
    ):
        try:
            versions.append(f"{pkg} {importlib.metadata.version(pkg)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{pkg} (not installed)")
    return [
        f"- CPU: {cpu}, {cores} cores available; RAM {ram}",
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}",
        f"- {', '.join(versions)}",
    ]


RATE_HEADER = "| case | input | median time | sentences/s | sentences/s per core | MB/s per core | peak MB | note |"


def rate_row(r: dict) -> str:
    per_core = r["sentences"] / r["s"] / r.get("workers", 1)
    mb_s = r["bytes"] / 1e6 / r["s"] / r.get("workers", 1)
    size = f"{r['docs']} docs, {r['sentences']:,} sentences, {r['bytes'] / 1e6:.1f} MB"
    return (
        f"| {r['what']} | {size} | {r['s']:.2f} s | {r['sentences'] / r['s']:,.0f} "
        f"| {per_core:,.0f} | {mb_s:.2f} | {r['peak_mb']:.0f} | {r.get('note', '')} |"
    )


PAIRS = 3  # side-by-side runs of each parallel case, 1 worker then 2
PARALLEL_CASES = (  # (case, its extra arguments, what its speed-up is called)
    ("extract_only", (), "extraction"),
    ("build", (), "`kg build --shards` (or `--out x.nq`: the documents' parts written by the workers)"),
    (
        "build",
        ("graph.ttl",),
        "`kg build --out graph.ttl` (the parts written by the workers, their lines sorted in the parent)",
    ),
    ("extract", (), "end to end with the graph held in memory (kg.api, notebooks; resolution and RDF stay serial)"),
)


def paired(case: str, mb: float, pairs: int, *extra) -> dict:
    """`case` run with 1 worker and right after with 2, `pairs` times: the median run of each,
    and each pair's speed-up. A shared host's speed drifts over minutes (the same extraction of
    10 MB took 8.2 s and 12.3 s an hour apart), much less between two runs side by side."""
    ones, twos = [], []
    for _ in range(pairs):
        ones.append(run_case(case, mb, 1, 1, *extra))
        twos.append(run_case(case, mb, 1, 2, *extra))
    return {
        "one": middle(ones),
        "two": middle(twos),
        "ratios": [a["s"] / b["s"] for a, b in zip(ones, twos, strict=True)],
    }


def middle(runs: list[dict]) -> dict:
    """The run of median time (with its own peak and notes)."""
    return sorted(runs, key=lambda r: r["s"])[len(runs) // 2]


def parallel_runs(mb: float, pairs: int) -> dict:
    """Every parallel case, paired, and the machine's ceiling measured before and after them."""
    ceilings = [run_case("ceiling", 3, 2)]
    cases = [paired(case, mb, pairs, *extra) for case, extra, _ in PARALLEL_CASES]
    ceilings.append(run_case("ceiling", 3, 2))
    return {"cases": cases, "ceilings": ceilings}


def parallel_section(runs: dict) -> list[str]:
    """The parallel table (each case's median run with 1 worker and with 2), the speed-ups of
    its side-by-side pairs, and the machine's ceiling."""
    cases = runs["cases"]
    speedups = "; ".join(
        f"{name} {statistics.median(r['ratios']):.2f}x ({', '.join(f'{x:.2f}' for x in r['ratios'])})"
        for (_, _, name), r in zip(PARALLEL_CASES, cases, strict=True)
    )
    return [
        "## Parallel builds (`--workers`)",
        "",
        f"Target: {TARGETS['parallel']}.",
        "",
        *rate_table([row for r in cases for row in (r["one"], r["two"])]),
        "",
        f"Speed-up with 2 workers, the median over {len(cases[0]['ratios'])} pair(s) of runs, 1 worker then 2"
        f" right after (each pair's in brackets): {speedups}.",
        "",
        ceiling_line(runs["ceilings"]),
        "",
    ]


def rate_table(rows: list[dict]) -> list[str]:
    """A table of rate rows (rate_row) under RATE_HEADER."""
    return [RATE_HEADER, "|---|---|---|---|---|---|---|---|", *(rate_row(r) for r in rows)]


def ceiling_line(ceilings: list[dict]) -> str:
    """The machine's own speed-up for a job with nothing serial, before and after the parallel cases."""
    found = ", ".join(
        f"{c['speedup']:.2f}x ({c['alone_s']:.2f} s alone, {c['together_s']:.2f} s as {c['workers']} at once)"
        for c in ceilings
    )
    return (
        "The ceiling on this machine, in the same run: a pure-Python loop with nothing serial, run"
        f" alone and then in 2 forked processes at once (`case_ceiling`), before and after the cases above: {found}."
    )


def case_incremental(mb: float, repeats: int) -> dict:
    """A store of the `mb` MB corpus; then, `repeats` times, 10 new documents added to it (only
    they are named, dated the days after the corpus, as a daily feed would give them); then a
    full rebuild with all of them."""
    from datetime import date, timedelta

    from gen import PER_DAY, generate

    base = corpus(mb)
    after = date(2025, 1, 1) + timedelta(days=len(list(base.glob("*.txt"))) // PER_DAY + 1)

    def extra(folder: Path, i: int) -> None:  # the next days' news
        generate(folder, 0.08, doc_kb=8, seed=100 + i, first_day=after + timedelta(days=i))

    return incremental(base, f"({mb:g} MB)", extra, repeats)


def case_incremental_people(people: int, repeats: int) -> dict:
    """As case_incremental, on the corpus made to mint `people` people (synth.people_corpus),
    adding 10 documents that name 50 more, some spelled close to the store's: what the kept
    merge of minted names (kg.resolve.NameMerge) decides again is what they can change."""
    from synth import people_corpus

    base = made_once(f"kg-bench-people-{people}", lambda folder: people_corpus(folder, people))
    return incremental(
        base, f"naming {people:,} made-up people", lambda f, i: people_corpus(f, 50, seed=100 + i), repeats
    )


def incremental(base: Path, described: str, extra, repeats: int) -> dict:
    """A store of `base`; `repeats` times, the documents `extra(folder, i)` writes added to it;
    then a full rebuild with all of them."""
    from kg.store import add_documents

    work = Path(tempfile.mkdtemp(prefix="kg-bench-store-"))
    t_first, first = timed(lambda: add_documents(work / "inc", [base]), 1)
    extras, adds = [], []
    for i in range(repeats):
        folder = work / f"extra{i}"
        extra(folder, i)
        extras.append(folder)
        adds.append(timed(lambda folder=folder: add_documents(work / "inc", [folder]), 1))
    t_full, _ = timed(lambda: add_documents(work / "full", [base, *extras]), 1)
    peak = round(max(peak_mb(), peak_mb(children=True)), 1)  # the store's, before the check below
    same = same_as_fresh(work / "inc", [base, *extras])
    shutil.rmtree(work, ignore_errors=True)
    median = sorted(adds, key=lambda a: a[0])[len(adds) // 2]
    reports = [r.report for _, r in adds]
    split = ", ".join(f"{k} {v:.2f}" for k, v in median[1].report.seconds.items() if k != "total")
    return {
        "what": f"add {len(median[1].report.added)} documents to a store of "
        f"{first.summary['documents']:,} documents {described}",
        "s": median[0],
        "range": [min(a[0] for a in adds), max(a[0] for a in adds)],
        "first": t_first,
        "full": t_full,
        "rewritten": [len(r.rewritten) for r in reports],
        "quads": [r.quads_added + r.quads_removed for r in reports],
        "note": split,
        "peak_mb": peak,
        "same": same,
    }


def same_as_fresh(root: Path, paths: list[Path]) -> str:
    """Whether the store at `root` holds the quads a fresh build of `paths` makes, compared as
    Oxigraph holds both (it writes the decimal 65.0 as 65). A store built in steps that
    drifted from a rebuild shows here: one did, at 10 MB, until the fifteenth session."""
    import pyoxigraph as ox

    from kg.pipeline import build
    from kg.store import open_store

    fresh = ox.Store()
    fresh.extend(build([str(p) for p in paths]).quads.quads())
    made, want = {str(q) for q in open_store(root)}, {str(q) for q in fresh}
    if made == want:
        return f"yes ({len(made):,} quads)"
    return f"**no**: {len(made - want):,} quads only in the store, {len(want - made):,} only in the fresh build"


def incremental_rows(rows: list[dict]) -> list[str]:
    """Adding 10 documents to stores of growing size, against a rebuild."""
    out = [
        f"Target: {TARGETS['incremental']}.",
        "",
        "| case | first build of the store | add 10 (median, range) | other documents written again "
        "| quads changed | full rebuild with them | peak MB | seconds of the median add "
        "| the graph a fresh build of them all makes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lo, hi = r["range"]
        out.append(
            f"| {r['what']} | {r['first']:.2f} s | {r['s']:.2f} s ({lo:.2f}-{hi:.2f}) "
            f"| {', '.join(map(str, r['rewritten']))} | {', '.join(f'{q:,}' for q in r['quads'])} "
            f"| {r['full']:.2f} s | {r['peak_mb']:.0f} | {r['note']} | {r.get('same', '(not checked)')} |"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="kg benchmark suite")
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--big", action="store_true", help="add 100 MB and 10 M triples")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument(
        "--only",
        choices=["analysis", "incremental", "names", "parallel", "saved", "viz"],
        help="run one section and print its table (RESULTS.md is left as it is)",
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="?", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.case:
        child(opts.case, json.loads(opts.args))
        return
    sizes = [1.0] if opts.quick else [1.0, 10.0] + ([100.0] if opts.big else [])
    triples = [200_000] if opts.quick else [1_000_000] + ([10_000_000] if opts.big else [])
    nodes = [10_000] if opts.quick else [10_000, 100_000]
    par_mb = 1.0 if opts.quick else 10.0
    minted = [2_000] if opts.quick else [10_000, 40_000]
    if opts.only == "analysis":
        print("\n".join(rank_table([run_case("rank", n, 1) for n in nodes] + [run_case("rank", nodes[-1], 1, 2)])))
        print("\n".join(project_table([run_case("project", mb, 3) for mb in sizes])))
        return
    if opts.only == "names":
        merges = [run_case("names", n, 3) for n in minted]
        print("\n".join(names_table(merges, [run_case("people_build", minted[-1], 1)])))
        return
    if opts.only == "viz":
        print("\n".join(viz_table([run_case("viz", n, 3) for n in ([1_000] if opts.quick else [1_000, 5_000])])))
        return
    if opts.only == "parallel":
        print("\n".join(parallel_section(parallel_runs(par_mb, 1 if opts.quick else PAIRS))))
        return
    saved_mb = [1.0] if opts.quick else [10.0, 50.0]
    if opts.only == "saved":
        print("\n".join(saved_table([run_case("saved", mb, 5) for mb in saved_mb])))
        return
    if opts.only == "incremental":
        inc = [run_case("incremental", mb, 1 if opts.quick else 5) for mb in sizes]
        inc += [run_case("incremental_people", n, 1 if opts.quick else 5) for n in minted]
        print("\n".join(incremental_rows(inc)))
        return
    started = time.time()

    rows = []
    for mb in sizes:
        reps = 3 if mb <= 1 else 1
        rows += [
            run_case("read", mb, reps),
            run_case("scan", mb, reps),
            run_case("extract", mb, reps),
            run_case("build", mb, reps),
            run_case("build", mb, reps, 1, "graph.ttl"),
        ]
    par = parallel_runs(par_mb, 1 if opts.quick else PAIRS)
    big = [run_case("build", 100.0, 1, 2)] if opts.big else []  # beside the 1-worker 100 MB build above
    loads = [run_case("load", n, 3 if n <= 1_000_000 else 1, disk) for n in triples for disk in (0, 1)]
    saved = [run_case("saved", mb, 5) for mb in saved_mb]
    ranks = [run_case("rank", n, 1) for n in nodes] + [run_case("rank", nodes[-1], 1, 2)]
    projections = [run_case("project", mb, 3) for mb in sizes]
    pages = [run_case("viz", n, 3) for n in ([1_000] if opts.quick else [1_000, 5_000])]
    inc = [run_case("incremental", mb, 1 if opts.quick else 5) for mb in sizes]
    inc += [run_case("incremental_people", n, 1 if opts.quick else 5) for n in minted]
    names = [run_case("names", n, 3) for n in minted]
    people = [run_case("people_build", minted[-1], 1)]

    flags = (" --quick" if opts.quick else "") + (" --big" if opts.big else "")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "# Benchmark results",
        "",
        f"`.venv/bin/python bench/run.py{flags}` — {when}, {time.time() - started:.0f} s in all.",
        "",
        *machine(),
        "",
        "Corpora are made by `bench/gen.py` (seed sentences, names re-drawn from the"
        " dictionaries, ~8 KB documents). Peak memory is the child process's ru_maxrss, or its"
        " largest worker's if larger.",
        "",
        "## Extraction",
        "",
        f"Target: {TARGETS['extract']}.",
        "",
        *rate_table(rows + big),
        "",
        *parallel_section(par),
    ]
    lines += [
        "## Load and query (pyoxigraph)",
        "",
        f"Targets: {TARGETS['load']}; {TARGETS['query']}.",
        "",
        "| case | N-Quads file | median load | peak MB | " + " | ".join(loads[0]["queries_ms"]) + " |",
        "|---|---|---|---|" + "---|" * len(loads[0]["queries_ms"]),
    ]
    for r in loads:
        lines.append(
            f"| {r['what']} | {r['file_mb']} MB | {r['s']:.2f} s | {r['peak_mb']:.0f} | "
            + " | ".join(f"{v} ms" for v in r["queries_ms"].values())
            + " |"
        )
    lines += ["", *saved_table(saved)]
    lines += ["", *rank_table(ranks), "", *project_table(projections)]
    lines += ["", *viz_table(pages)]
    lines += ["", "## Incremental builds (kg.store.add_documents)", "", *incremental_rows(inc)]
    lines += ["", *names_table(names, people)]
    opts.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"-> {opts.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
