"""Commands over a built graph: path, rank, communities, ego, timeline, export, viz.
A thin layer: the work is in kg.analysis and kg.viz."""

from __future__ import annotations

import csv
import functools
import importlib.util
import sys
from collections.abc import Callable
from concurrent.futures import BrokenExecutor
from types import ModuleType

import click

from kg.vocab import MODALITIES


def lazy(name: str) -> ModuleType:
    """`name` imported when first used (importlib's LazyLoader): every kg command registers
    these, and NetworkX alone took ~0.15 s of each `kg build` that never used it."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, name
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


an = lazy("kg.analysis")


def graph_filters(fn: Callable) -> Callable:
    """The projection options every command offers."""
    options = [
        click.option(
            "--type",
            "types",
            multiple=True,
            metavar="CLASS",
            help="Keep nodes of this class or its sub-classes (repeatable).",
        ),
        click.option("--from", "date_from", metavar="DATE", help="Events on or after DATE."),
        click.option("--to", "date_to", metavar="DATE", help="Events on or before DATE."),
        click.option(
            "--document",
            "documents",
            multiple=True,
            metavar="DOC",
            help="Only edges stated in this document (IRI, id or title; repeatable).",
        ),
        click.option(
            "--modality",
            "modalities",
            multiple=True,
            type=click.Choice(MODALITIES),
            help="Statement modalities to keep "
            "(default Asserted and Claimed; Alleged, Denied, Hypothetical are dropped).",
        ),
        click.option(
            "--min-support", type=click.IntRange(min=0), default=0, help="Drop edges stated by fewer than N documents."
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def make_filters(types=(), date_from=None, date_to=None, documents=(), modalities=(), min_support=0) -> an.Filters:
    return an.Filters(
        types=frozenset(types),
        date_from=date_from,
        date_to=date_to,
        documents=frozenset(documents),
        modalities=frozenset(modalities) if modalities else an.ASSERTED,
        min_support=min_support,
    )


def read_graph(source: str):
    """The GRAPH argument read (kg.analysis.load_graph), or one line saying why it cannot be."""
    try:
        return an.load_graph(source)
    except an.GraphError as exc:
        raise click.ClickException(str(exc)) from exc


def project(source: str, **filters) -> an.nx.MultiDiGraph:
    return an.entity_graph(read_graph(source), make_filters(**filters))


def resolve_or_fail(G, name: str) -> str:
    try:
        return an.resolve(G, name)
    except an.UnknownName as exc:
        raise click.ClickException(str(exc)) from exc


def with_filters(fn: Callable) -> Callable:
    """Collect the filter options into one `filters` dict argument."""
    names = ("types", "date_from", "date_to", "documents", "modalities", "min_support")

    @functools.wraps(fn)
    def wrapper(**kwargs):
        filters = {n: kwargs.pop(n) for n in names}
        return fn(filters=filters, **kwargs)

    return graph_filters(wrapper)


def echo_table(rows: list[dict], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) if rows else len(c) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    click.echo("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        click.echo("  ".join(str(r[c]).ljust(widths[c]) for c in columns).rstrip())


@click.command()
@click.argument("graph")
@click.argument("a")
@click.argument("b")
@click.option("--all", "every", is_flag=True, help="Every simple path up to --max-hops (default 4).")
@click.option("--max-hops", type=click.IntRange(min=1), default=None, help="Longest path to report.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="With --all, at most this many paths."
)
@with_filters
def path(graph: str, a: str, b: str, every: bool, max_hops: int | None, limit: int, filters: dict) -> None:
    """How A and B are connected: every hop with its relation and a supporting quote.
    A and B are names or aliases (case-insensitive); relations are followed both ways."""
    E = project(graph, **filters)
    u, v = resolve_or_fail(E, a), resolve_or_fail(E, b)
    found = an.paths(E, u, v, every=every, max_hops=max_hops, limit=limit)
    if not found:
        within = f" within {max_hops} hops" if max_hops else ""
        raise click.ClickException(f"no path from {E.nodes[u]['label']} to {E.nodes[v]['label']}{within}")
    for i, p in enumerate(found, 1):
        if len(found) > 1:
            click.echo(f"path {i} ({len(p) - 1} hops)")
        for hop in an.hops(E, p):
            s, t = E.nodes[hop.source]["label"], E.nodes[hop.target]["label"]
            arrow = f"--{hop.relation}-->" if hop.forward else f"<--{hop.relation}--"
            click.echo(f"{s} {arrow} {t}")
            source = f"\u201c{hop.quote}\u201d ({hop.document})" if hop.quote else hop.document
            click.echo(f"    {source}")


MEASURES = ("degree", "betweenness", "pagerank", "eigenvector")


@click.command()
@click.argument("graph")
@click.option("--top", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--by", type=click.Choice(MEASURES), default="pagerank", show_default=True)
@click.option("--actors", is_flag=True, help="Rank the actor graph instead of the entity graph.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table")
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Count betweenness in N processes, 0 for one per core this process may use; the same scores.",
)
@with_filters
def rank(graph: str, top: int, by: str, actors: bool, fmt: str, workers: int, filters: dict) -> None:
    """Degree, betweenness, PageRank and eigenvector centrality. --type picks which
    rows are shown; the scores are computed over the whole (filtered-by-date/modality) graph."""
    types = filters.pop("types")
    E = project(graph, **filters)
    G = an.actor_graph(E) if actors else E
    from kg.parallel import workers_for

    try:
        ranking = an.centrality(G, workers=workers_for(workers))
    except BrokenExecutor as exc:  # a worker killed (out of memory?) or crashed
        raise click.ClickException(f"a worker process died ({exc}); fewer --workers need less memory") from exc
    rows = an.rank_rows(G, ranking, types=types, top=top, by=by)
    if ranking.sampled_k:
        click.echo(
            f"note: {len(G)} nodes > {an.SAMPLE_ABOVE}: betweenness sampled from k={ranking.sampled_k} pivots (seed 0)",
            err=fmt == "csv",
        )
    columns = ["name", "type", "links", *MEASURES]
    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow([*columns, "iri"])
        for r in rows:
            w.writerow([r[c] for c in [*columns, "iri"]])
        return
    shown = [{**r, **{m: f"{r[m]:.4f}" for m in MEASURES}} for r in rows]
    echo_table(shown, columns)


@click.command()
@click.argument("graph")
@click.option("--actors", is_flag=True, help="Communities of the actor graph.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--min-size", type=click.IntRange(min=1), default=2, show_default=True)
@with_filters
def communities(graph: str, actors: bool, seed: int, min_size: int, filters: dict) -> None:
    """Louvain communities (fixed seed: the same graph gives the same groups)."""
    E = project(graph, **filters)
    G = an.actor_graph(E) if actors else E
    groups = [c for c in an.communities(G, seed=seed) if len(c) >= min_size]
    for i, group in enumerate(groups, 1):
        click.echo(f"community {i} ({len(group)}): " + "; ".join(G.nodes[n]["label"] for n in group))


@click.command()
@click.argument("graph")
@click.argument("name")
@click.option("--hops", type=click.IntRange(min=1), default=2, show_default=True)
@with_filters
def ego(graph: str, name: str, hops: int, filters: dict) -> None:
    """NAME's neighbourhood: every node within --hops, and the relations among them."""
    E = project(graph, **filters)
    center = resolve_or_fail(E, name)
    sub = an.ego(E, center, hops)
    dist = an.nx.single_source_shortest_path_length(an.undirected(sub), center)
    click.echo(
        f"{sub.number_of_nodes()} nodes, {sub.number_of_edges()} edges within {hops} hops of {E.nodes[center]['label']}"
    )
    for n in sorted(sub, key=lambda n: (dist[n], sub.nodes[n]["label"])):
        click.echo(f"  {dist[n]}  {sub.nodes[n]['label']} ({sub.nodes[n]['type']})")
    label = lambda n: sub.nodes[n]["label"]  # noqa: E731
    for u, v, d in sorted(sub.edges(data=True), key=lambda e: (label(e[0]), e[2]["relation"])):
        click.echo(f"  {sub.nodes[u]['label']} --{d['relation']}--> {sub.nodes[v]['label']}  [{d['support']} doc(s)]")


@click.command()
@click.argument("graph")
@click.option("--from", "date_from", metavar="DATE")
@click.option("--to", "date_to", metavar="DATE")
@click.option("--png", type=click.Path(dir_okay=False), help="Also draw the dated events to FILE.")
def timeline(graph: str, date_from: str | None, date_to: str | None, png: str | None) -> None:
    """Events in date order (undated last) with precision, perpetrators, places and every
    side's casualty figures, each kept apart."""
    rows = an.timeline(read_graph(graph), an.Filters(date_from=date_from, date_to=date_to))
    for r in rows:
        date = f"{r['date'] or 'undated':10} {r['precision'] or '-':5}"
        click.echo(f"{date}  {r['event']} [{r['type']}]")
        if r["perpetrators"]:
            click.echo("    by: " + "; ".join(r["perpetrators"]))
        if r["places"]:
            click.echo("    in: " + "; ".join(r["places"]))
        for figure in r["figures"]:
            click.echo("    figure: " + figure)
    if png:
        drawn = draw_timeline(rows, png)
        click.echo(f"{drawn} dated events drawn -> {png}", err=True)


def draw_timeline(rows: list[dict], path: str) -> int:
    """A dot per dated event on a time axis (Agg backend: no display needed)."""
    import datetime

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dated = [r for r in rows if r["date"]]
    fig, ax = plt.subplots(figsize=(10, 1 + 0.4 * max(len(dated), 1)))
    for i, r in enumerate(dated):
        day = datetime.date.fromisoformat(an._interval(r["date"])[0])
        ax.plot(day, i, "o", color="#d62828" if "Attack" in r["type"] or r["type"] == "Hijacking" else "#023e8a")
        ax.annotate(
            f"{r['event']} ({r['precision']})", (day, i), xytext=(6, -3), textcoords="offset points", fontsize=8
        )
    ax.set_yticks([])
    ax.set_title("Events by date (dot at the start of the stated precision)")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return len(dated)


@click.command(name="export")
@click.argument("graph")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="file.graphml or file.gexf (GEXF is dynamic: events start at their date).",
)
@with_filters
def export_cmd(graph: str, out: str, filters: dict) -> None:
    """Write the entity graph for Gephi, Cytoscape or yEd."""
    E = project(graph, **filters)
    try:
        an.export(E, out)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{E.number_of_nodes()} nodes, {E.number_of_edges()} edges -> {out}", err=True)


@click.command()
@click.argument("graph")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The HTML page.")
@click.option("--ego", "ego_name", metavar="NAME", help="Only NAME's neighbourhood.")
@click.option("--hops", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--max-nodes",
    type=click.IntRange(min=1),
    default=250,
    show_default=True,
    help="Keep the nodes of highest PageRank; the page says what was left out.",
)
@with_filters
def viz(graph: str, out: str, ego_name: str | None, hops: int, max_nodes: int, filters: dict) -> None:
    """A self-contained interactive HTML page (works offline; loads nothing)."""
    from pathlib import Path

    from kg.viz import write_html

    E = project(graph, **filters)
    note = ""
    if ego_name:
        center = resolve_or_fail(E, ego_name)
        E = an.ego(E, center, hops)
        note = f"Within {hops} hops of {E.nodes[center]['label']}."
    sel = write_html(E, out, title=f"kg: {Path(graph).name}", max_nodes=max_nodes, note=note)
    click.echo(
        f"{min(max_nodes, sel.total_nodes)} of {sel.total_nodes} nodes, "
        f"{sel.graph.number_of_edges()} of {sel.total_edges} edges -> {out}",
        err=True,
    )


def register(group: click.Group) -> None:
    """Add the analysis commands to the main `kg` group."""
    for command in (path, rank, communities, ego, timeline, export_cmd, viz):
        group.add_command(command)
