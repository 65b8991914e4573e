"""Commands for the persistent store: serve it read-only, push it to a cluster store, list the
saved questions, inspect or shrink a store. `kg build --store` and `kg query` live in kg.cli."""

from __future__ import annotations

import sys

import click


@click.command("serve")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; anything but loopback exposes the store to the network.",
)
@click.option("--port", default=7878, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds a query may run before oxigraph cancels it.",
)
@click.option(
    "--max-result-mb",
    default=64.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Larger results are refused (507) rather than buffered.",
)
def serve_command(directory: str, host: str, port: int, timeout: float, max_result_mb: float) -> None:
    """Serve the store DIRECTORY read-only over SPARQL 1.1 (oxigraph), with its query page.

    Results come as JSON, XML, CSV or TSV by the Accept header; updates are refused; SERVICE
    (fetching other endpoints) is refused by a thin proxy in front of oxigraph."""
    from kg.store import StoreError, serve

    def ready(url: str) -> None:
        click.echo(f"serving {directory} read-only at {url} (SPARQL at {url}query, timeout {timeout:g} s)", err=True)

    try:
        serve(directory, host, port, timeout, ready=ready, max_result_mb=max_result_mb)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        pass


@click.command("push")
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "--endpoint",
    required=True,
    metavar="URL",
    help="A SPARQL 1.1 Graph Store Protocol endpoint, e.g. http://host:3030/ds/data.",
)
@click.option(
    "--graph-per-document", is_flag=True, help="PUT every named graph (one per document, and the facts) on its own."
)
@click.option("--retries", default=3, show_default=True, type=click.IntRange(0, 10))
@click.option("--timeout", default=60.0, show_default=True, type=click.FloatRange(min=1))
def push_command(source: str, endpoint: str, graph_per_document: bool, retries: int, timeout: float) -> None:
    """Send SOURCE (a store directory or a graph file) to ENDPOINT with HTTP PUT of N-Triples."""
    from kg.store import StoreError, push

    try:
        results = push(source, endpoint, graph_per_document, retries, timeout)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    failed = 0
    for r in results:
        state = f"HTTP {r.status}" if r.status else "no answer"
        ok = r.status is not None and 200 <= r.status < 300
        failed += not ok
        tail = "" if ok else f"  FAILED: {r.error}"
        click.echo(f"{r.graph}  {r.triples} triples  {state}  {r.attempts} attempt(s)  {r.seconds:.2f}s{tail}")
    click.echo(f"{len(results) - failed} of {len(results)} graphs sent to {endpoint}", err=True)
    if failed:
        sys.exit(1)


@click.command("queries")
@click.option("--full", is_flag=True, help="Print each question's SPARQL too.")
def queries_command(full: bool) -> None:
    """List the saved questions (queries/*.rq) with their parameters and an example."""
    from kg.store import saved_queries

    for q in saved_queries().values():
        click.echo(f"{q.name}: {q.question}")
        for key, desc in q.parameters.items():
            click.echo(f"    --param {key}=...  {desc}")
        if q.example:
            click.echo(f"    e.g. {q.example}")
        if full:
            click.echo(q.text)


@click.group("store")
def store_group() -> None:
    """Inspect, bulk-load or shrink a store made with `kg build PATH... --store DIR`."""


@store_group.command("info")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def store_info_command(directory: str) -> None:
    """Generation, graphs and their sizes, documents and their sources."""
    from kg.store import StoreError, store_info

    try:
        info = store_info(directory)
    except (StoreError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"generation {info['generation']}, {info['quads']} quads")
    if info["rules_changed"]:
        changed = ", ".join(info["rules_changed"])
        click.echo(f"rules changed since its documents were extracted: {changed}; the next add extracts them all again")
    for name, n in sorted(info["graphs"].items()):
        click.echo(f"  {n:7d}  {name}")
    for source, doc in sorted(info["documents"].items()):
        click.echo(f"  doc-{doc['id']}  {source}  {doc['title'][:60]}")


@store_group.command("load")
@click.argument("directory", type=click.Path(file_okay=False))
@click.argument("shards", type=click.Path(exists=True, file_okay=False))
def store_load_command(directory: str, shards: str) -> None:
    """Bulk-load SHARDS (written by `kg build --shards`) into a new generation of the store DIRECTORY."""
    from kg.shards import ShardError
    from kg.store import StoreError, load_shards

    try:
        report = load_shards(directory, shards)
    except (StoreError, ShardError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{report.generation}: bulk-loaded {shards}; {report.seconds['bulk load']:.2f}s", err=True)


@store_group.command("remove")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("documents", nargs=-1, required=True)
def store_remove_command(directory: str, documents: tuple[str, ...]) -> None:
    """Remove DOCUMENTS (source paths or document ids) and rebuild the facts from the rest."""
    from kg.store import StoreError, remove_documents

    try:
        result = remove_documents(directory, documents)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(str(result.report), err=True)


def register(group: click.Group) -> None:
    for command in (serve_command, push_command, queries_command, store_group):
        group.add_command(command)
