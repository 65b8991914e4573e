"""N-Quads shards: the built graph split into files a triple store bulk-loads in parallel.

A corpus too big for one `--out` file is written as `docs-00000.nq`, `docs-00001.nq`, ... (the
named graphs of up to `docs_per_shard` documents each: their metadata and evidence) and
`facts.nq` (`kgr:graph-facts`: entities, events, statements, claims), with `shards.json`
listing each file, its graphs, its quad count and its sha256 so a loader can check it got
what was written. Each file is whole named graphs, so loading shards in any order, or
re-sending one, gives the same store. The folder is written beside its final place and
renamed into it: a crash leaves the previous shards, never half of new ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from kg.graph import FACTS_GRAPH, BufferedWriter, LineGraph, Quads, Sink, Term, doc_node

MANIFEST = "shards.json"


class ShardError(ValueError):
    """A shard folder that is not whole: missing manifest, missing or changed file."""


@dataclass(frozen=True)
class Shard:
    file: str
    graphs: list[str]
    quads: int
    sha256: str


def write_shards(
    source: Quads | Callable[[Sink], object],
    doc_ids: list[str],
    out_dir: str | os.PathLike,
    docs_per_shard: int = 1000,
) -> list[Shard]:
    """Write the graph as shards of `docs_per_shard` documents' graphs plus the facts graph.
    `source` is built quads, or a function that emits the graph into a sink (a GraphWriter's
    build with that sink): then quads go to their file as they are made."""
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()  # not mkdtemp: its 0700 mode would stay on the published folder
    try:
        groups = [doc_ids[i : i + docs_per_shard] for i in range(0, len(doc_ids), docs_per_shard)]
        writers: list[BufferedWriter] = []
        names = [f"docs-{n:05d}.nq" for n in range(len(groups))] + ["facts.nq"]
        graphs = [[doc_node(d) for d in ids] for ids in groups] + [[ox.NamedNode(str(FACTS_GRAPH))]]
        sink = _Router(writers, {g: n for n, members in enumerate(graphs) for g in members})
        with ExitStack() as files:
            writers.extend(BufferedWriter(files.enter_context(open(tmp / name, "wb"))) for name in names)
            (source.into if isinstance(source, Quads) else source)(sink)
            for writer in writers:
                writer.flush()
        shards = [
            Shard(name, [g.value for g in members], writer.count, file_sha256(tmp / name))
            for name, members, writer in zip(names, graphs, writers, strict=True)
        ]
        manifest = {"format": "application/n-quads", "shards": [s.__dict__ for s in shards]}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return shards


class _Router:
    """The shards' sink: each quad to the file of its graph."""

    def __init__(self, writers: list[BufferedWriter], route: dict[ox.NamedNode, int]):
        self.writers, self.route = writers, route
        self.by_name = {g.value: n for g, n in route.items()}

    def graph(self, name: ox.NamedNode) -> LineGraph:
        return self.writers[self.route[name]].graph(name)

    def __call__(self, g: ox.NamedNode, s: Term, p: Term, o: Term) -> None:
        self.writers[self.route[g]](g, s, p, o)

    def text(self, pieces: list[tuple[str, bytes, int]]) -> None:
        """Rendered lines (kg.parts: graph, text, quads), each piece to its graph's file."""
        per_file: dict[int, list[tuple[str, bytes, int]]] = {}
        for piece in pieces:
            per_file.setdefault(self.by_name[piece[0]], []).append(piece)
        for n, mine in per_file.items():
            self.writers[n].text(mine)


def _swap_in(tmp: Path, out: Path) -> None:
    """Replace `out` by `tmp`: the old folder is moved aside first, then removed."""
    if out.exists():
        if not is_shard_dir(out) and any(out.iterdir()):
            raise ShardError(f"{out}: exists and is not a shard folder; not replacing it")
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_shard_dir(path: str | os.PathLike) -> bool:
    return (Path(path) / MANIFEST).is_file()


def read_shards(path: str | os.PathLike, check: bool = True) -> list[tuple[Path, Shard]]:
    """The shard files of a folder, each checked against the manifest's sha256 (`check`)."""
    root = Path(path)
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        shards = [Shard(**s) for s in manifest["shards"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ShardError(f"{root / MANIFEST}: not a readable shard manifest ({exc})") from exc
    found = []
    for shard in shards:
        file = root / shard.file
        if Path(shard.file).name != shard.file or not file.is_file():
            raise ShardError(f"{file}: listed in {MANIFEST} but missing")
        if check and file_sha256(file) != shard.sha256:
            raise ShardError(f"{file}: changed since it was written (sha256 differs from {MANIFEST})")
        found.append((file, shard))
    return found


def shard_graphs(file: Path, fmt: ox.RdfFormat = ox.RdfFormat.N_QUADS) -> dict[str, bytes]:
    """The named graphs of a quads file (a shard, N-Quads or TriG) as N-Triples bodies, for a
    Graph Store Protocol PUT; triples in the default graph are left out."""
    graphs: dict[str, list[ox.Triple]] = {}
    for q in ox.parse(path=str(file), format=fmt):
        if isinstance(q.graph_name, ox.NamedNode):
            graphs.setdefault(q.graph_name.value, []).append(ox.Triple(q.subject, q.predicate, q.object))
    return {name: ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) for name, triples in graphs.items()}
