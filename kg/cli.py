"""The command line: a thin click layer over the pipeline, the graph and the analyses."""

from __future__ import annotations

import csv
import importlib
import io
import json
import sys
from concurrent.futures import BrokenExecutor
from contextlib import ExitStack
from pathlib import Path

import click

from kg import __version__
from kg.vocab import PREFIXES


@click.group()
@click.version_option(__version__)
def main() -> None:
    """kg: a knowledge graph of actors, groups and events from news, every fact with its evidence."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    help="Graph file; format from the extension: .ttl .nt .trig .nq .jsonld",
)
@click.option(
    "--store",
    "store",
    type=click.Path(file_okay=False),
    help="Add the documents to this on-disk store (kg.store); --out is then optional.",
)
@click.option(
    "--shards",
    "shards",
    type=click.Path(file_okay=False),
    help="Also write the graph as N-Quads shards in this folder (for `kg store load` or `kg push`).",
)
@click.option(
    "--shard-docs",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Documents' graphs per shard file.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Extract documents in N processes (and write them, for .nq, .nt and --shards), 0 for one per core"
    " this process may use; the graph is the same for any N.",
)
@click.option(
    "--dask",
    "dask",
    metavar="SCHEDULER_ADDRESS",
    default=None,
    help="Extract documents on a Dask cluster (e.g. tcp://host:8786) instead.",
)
def build(paths: tuple[str, ...], **options) -> None:
    """Read documents (files or folders) and write the whole graph to OUT, STORE and/or SHARDS."""
    out, store, shards = options["out"], options["store"], options["shards"]
    if not out and not store and not shards:
        raise click.UsageError("give --out FILE, --store DIR or --shards DIR")
    try:
        result, counts = run_build_command(paths, **options)
    except OSError as exc:  # a folder that cannot be written, a full disk: say where, not a traceback
        where = exc.filename or out or shards or store
        raise click.ClickException(f"cannot write {where}: {exc.strerror or exc}") from exc
    except BrokenExecutor as exc:  # a worker killed (out of memory?) or crashed: outputs stay as they were
        raise click.ClickException(
            f"a worker process died ({exc}); the output it was making is left as it was"
            " (fewer --workers need less memory)"
        ) from exc
    click.echo(f"{counts} -> {out or store or shards}", err=True)
    if result.errors:
        sys.exit(3)


def run_build_command(
    paths: tuple[str, ...],
    *,
    out: str | None,
    workers: int,
    dask: str | None,
    store: str | None,
    shards: str | None,
    shard_docs: int,
) -> tuple[object, str]:
    """`kg build`'s work: the build (or store load) and its outputs; the result and its counts."""
    from kg.parallel import stderr_progress, workers_for
    from kg.pipeline import build as run_build

    workers = workers_for(workers)

    with ExitStack() as cleanup:
        if store:
            from kg.store import StoreError, add_documents

            try:
                result = add_documents(store, paths, workers=workers, dask=dask, progress=stderr_progress())
            except StoreError as exc:
                raise click.ClickException(str(exc)) from exc
            click.echo(str(result.report), err=True)
        else:
            # statements and claims wait on disk beside the output, not in memory (kg.spill);
            # a folder that cannot take them fails here, before any document is read
            beside = Path(out or shards).absolute().parent
            result = run_build(paths, workers=workers, dask=dask, progress=stderr_progress(), spill_to=beside)
            result.progress = stderr_progress(done_what="wrote the graph of")
            cleanup.enter_context(result)
        for error in result.errors:
            click.echo(f"warning: {error}", err=True)
        if not (result.summary["documents"] if store else result.corpus.documents):  # (a build counts as it writes)
            raise click.ClickException("no documents could be read; nothing written")
        if out:
            result.write(out)
        if shards:
            from kg.shards import ShardError

            try:
                written = result.write_shards(shards, shard_docs)
            except ShardError as exc:
                raise click.ClickException(str(exc)) from exc
            click.echo(f"{len(written)} shards, {sum(s.quads for s in written)} quads -> {shards}", err=True)
        return result, ", ".join(f"{n} {what}" for what, n in result.summary.items())


def run_query(source: str, query: str):
    """Answers from an endpoint, a store directory or a graph file (read into an in-memory
    Oxigraph store: the same SPARQL engine as the store, ~10x faster to load than rdflib)."""
    from kg import store

    if query.startswith("@"):
        query = Path(query[1:]).read_text(encoding="utf-8")
    query = PREFIXES + query if "PREFIX kgo:" not in query else query
    if store.is_url(source):
        return store.query_endpoint(source, query)
    return store.query_store(source, query) if Path(source).is_dir() else store.query_file(source, query)


def python_value(term) -> object:
    if term is None:
        return ""
    return term.toPython() if hasattr(term, "toPython") else str(term)


@main.command()
@click.argument("source")
@click.argument("query", required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "tsv", "json"]), default="table")
@click.option("--saved", metavar="NAME", help="Run the saved question NAME from queries/ (see `kg queries`).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A saved question's parameter.")
def query(source: str, query: str | None, fmt: str, saved: str | None, params: tuple[str, ...]) -> None:
    """Run a SPARQL 1.1 QUERY (a string, or @file.rq) over SOURCE (a graph file, a store directory
    or an http(s) endpoint) and print the answers."""
    try:
        if saved:
            from kg.store import render_saved

            query = render_saved(saved, dict(p.partition("=")[::2] for p in params))
        elif not query:
            raise click.UsageError("give a QUERY or --saved NAME")
        result = run_query(source, query)
    except Exception as exc:
        raise click.ClickException(f"{source}: {exc}") from exc
    names = [str(v) for v in result.vars]
    rows = [[str(python_value(row[i])) for i in range(len(names))] for row in result]
    click.echo(format_rows(names, rows, fmt), nl=False)


def format_rows(names: list[str], rows: list[list[str]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([dict(zip(names, r, strict=True)) for r in rows], ensure_ascii=False, indent=1) + "\n"
    if fmt in ("csv", "tsv"):
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
        return buf.getvalue()
    widths = [min(60, max([len(n)] + [len(r[i]) for r in rows])) for i, n in enumerate(names)]
    lines = [" | ".join(n.ljust(w) for n, w in zip(names, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    for r in rows:
        lines.append(" | ".join(c[:w].ljust(w) for c, w in zip(r, widths, strict=True)))
    lines.append(f"({len(rows)} rows)")
    return "\n".join(lines) + "\n"


FIND = """
SELECT DISTINCT ?x ?label ?name WHERE {
  { ?x rdfs:label|skos:altLabel ?n . FILTER(LCASE(STR(?n)) = LCASE(?name)) }
  UNION { ?t rdfs:label|skos:altLabel ?n . FILTER(LCASE(STR(?n)) = LCASE(?name)) ?x kgo:target ?t }
  UNION { ?t rdfs:label|skos:altLabel ?n . FILTER(LCASE(STR(?n)) = LCASE(?name)) ?x kgo:respondsTo/kgo:target ?t }
  ?x rdfs:label ?label .
} ORDER BY ?label ?x
"""
EXPLAIN = """
SELECT ?dir ?pred ?other ?modality ?quote ?rule ?doc ?claimant ?e WHERE {
  { ?st rdf:subject ?e ; rdf:predicate ?pred ; rdf:object ?o . BIND("->" AS ?dir) }
  UNION { ?st rdf:object ?e ; rdf:predicate ?pred ; rdf:subject ?o . BIND("<-" AS ?dir) }
  ?st kgo:modality ?m ; prov:wasDerivedFrom ?ev .
  OPTIONAL { ?st kgo:claimant/rdfs:label ?claimant }
  OPTIONAL { ?ev kgo:quote ?quote ; kgo:rule ?rule ; kgo:document/dcterms:title ?doc }
  OPTIONAL { ?o rdfs:label ?ol }
  BIND(COALESCE(?ol, STR(?o)) AS ?other)
  BIND(STRAFTER(STR(?m), "#") AS ?modality)
} ORDER BY ?pred ?other ?dir ?doc ?quote ?rule
"""
EXPLAIN_CLAIMS = """
SELECT ?claim ?quote ?rule ?doc ?verified ?e WHERE {
  ?c kgo:aboutEvent ?e ; rdfs:label ?claim ; prov:wasDerivedFrom ?ev .
  OPTIONAL { ?c kgo:verified ?verified }
  ?ev kgo:quote ?quote ; kgo:rule ?rule ; kgo:document/dcterms:title ?doc .
} ORDER BY ?claim ?doc ?quote ?rule
"""


def local_name(term) -> str:
    return str(term).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


@main.command()
@click.argument("source")
@click.argument("name")
def explain(source: str, name: str) -> None:
    """Every fact about the entity or event NAME (and the events aimed at it), each with the
    quote and the rule that gave it, and every casualty figure with its claimant."""
    from rdflib import Literal

    from kg.cli_analysis import read_graph

    graph = read_graph(source)
    nodes = list(graph.query(PREFIXES + FIND, initBindings={"name": Literal(name)}))
    if not nodes:
        raise click.ClickException(f"nothing in {source} is called {name!r}")
    for node in nodes:
        click.echo(f"== {node.label}")
        for r in graph.query(PREFIXES + EXPLAIN, initBindings={"e": node.x}):
            said = f", claimed by {r.claimant}" if r.claimant else ""
            click.echo(f"{r.dir} {local_name(r.pred)} {r.other}  [{r.modality}{said}]")
            if r.quote:
                click.echo(f'     "{str(r.quote)[:300]}"')
                click.echo(f"     rule {r.rule} · {r.doc}")
        for c in graph.query(PREFIXES + EXPLAIN_CLAIMS, initBindings={"e": node.x}):
            flag = " (unverified)" if c.verified is not None and not c.verified.toPython() else ""
            click.echo(f"figure: {c.claim}{flag}")
            click.echo(f'     "{str(c.quote)[:300]}"')
            click.echo(f"     rule {c.rule} · {c.doc}")


@main.command()
@click.argument("source")
def validate(source: str) -> None:
    """Validate SOURCE against the SHACL shapes in ontology/shapes.ttl."""
    from kg.validate import validate_graph

    conforms, report = validate_graph(source)
    click.echo(report)
    if not conforms:
        sys.exit(1)


@main.command()
@click.argument("source")
def stats(source: str) -> None:
    """Counts of what SOURCE holds: documents, entities by type, relations, claims."""
    from kg.cli_analysis import read_graph

    graph = read_graph(source)
    [(triples,)] = graph.query("SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }")
    q = (
        PREFIXES
        + """SELECT ?t (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?t . FILTER(STRSTARTS(STR(?t), STR(kgo:))) }
    GROUP BY ?t ORDER BY DESC(?n) ?t"""
    )
    click.echo(f"triples: {triples}")
    for row in graph.query(q):
        click.echo(f"{str(row.t).rsplit('#', 1)[-1]:28} {row.n}")
    q = (
        PREFIXES
        + """SELECT ?p (COUNT(*) AS ?n) WHERE { ?st a rdf:Statement ; rdf:predicate ?p }
    GROUP BY ?p ORDER BY DESC(?n) ?p"""
    )
    for row in graph.query(q):
        click.echo(f"statements {str(row.p).rsplit('#', 1)[-1]:17} {row.n}")


# Commands of other stages register themselves here when their module is present.
for _module in ("kg.cli_analysis", "kg.cli_store", "kg.cli_rules"):
    try:
        importlib.import_module(_module).register(main)
    except ModuleNotFoundError as _exc:
        if _exc.name != _module:
            raise
