"""An entity graph as one self-contained HTML page (vis-network inlined, nothing fetched
from the network), safe with untrusted document text.

Why not pyvis's own template: it loads vis-network and Bootstrap from CDNs and puts node
titles into the page as HTML. Here node data travel as JSON inside a
`<script type="application/json">` block with `<`, `>`, `&`, U+2028 and U+2029 escaped,
and the page builds tooltips, the node menu and the legend with `textContent`, so a name
like `</script><script>...` stays text.
"""

from __future__ import annotations

import html
import json
import math
import random
import re
import statistics
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import networkx as nx

from kg.analysis import _igraph, best_supported, induced, pagerank, touching
from kg.gcpolicy import fewer_collections

TEMPLATES = Path(__file__).resolve().parent / "templates"
VIS_JS = TEMPLATES / "vis-network-9.1.2.min.js"
PAGE = TEMPLATES / "graph.html"
MAX_EVIDENCE = 4
# Up to this many nodes the browser lays the page out (vis-network's physics, 400 iterations:
# well under a second); above it kg does, because at 5,000 nodes those iterations took ~22 s.
BROWSER_LAYOUT_MAX = 300
EDGE_PX = 100  # the median edge length of a layout made here, in vis-network's units
GRID_ABOVE = 200  # parts bigger than this use FR's grid variant (exact FR at 1,000 nodes: 0.9 s; grid: 0.07 s)
FR_ITERATIONS = 300  # igraph's default 500 looked no different on the 10 MB corpus's page, and costs 0.15 s at 5,000

# Colour by type; shape by kind (actor, place, event, facility).
COLOURS = {
    "Person": "#f4a261",
    "ArmedGroup": "#d62828",
    "PoliticalParty": "#8338ec",
    "StateBody": "#1d3557",
    "CivilSocietyGroup": "#2a9d8f",
    "MediaOrganization": "#6c757d",
    "InternationalOrganization": "#3a86ff",
    "Organization": "#adb5bd",
    "Country": "#588157",
    "Province": "#a3b18a",
    "District": "#b5c99a",
    "City": "#cfe1b9",
    "Region": "#dde5b6",
    "Facility": "#ffb703",
    "Attack": "#9d0208",
    "Hijacking": "#6a040f",
    "SecurityOperation": "#023e8a",
    "Meeting": "#48cae4",
    "Protest": "#ff006e",
    "Event": "#e5989b",
    "Crackdown": "#7209b7",
}
SHAPES = {"Actor": "dot", "Location": "triangle", "Event": "diamond", "Facility": "square"}
ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(data: object) -> str:
    """JSON that cannot end the <script> element holding it nor break a JS string."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: ESCAPES[m.group(0)], text)


@dataclass
class Selection:
    graph: nx.MultiDiGraph
    total_nodes: int
    total_edges: int
    note: str


def select(E: nx.MultiDiGraph, max_nodes: int, scores: dict[str, float]) -> Selection:
    """At most `max_nodes` nodes, the highest-scoring kept; the note says what was left out."""
    n, m = E.number_of_nodes(), E.number_of_edges()
    if n <= max_nodes:
        return Selection(E, n, m, "All nodes are shown.")
    keep = sorted(E, key=lambda v: (-scores.get(v, 0.0), E.nodes[v]["label"]))[:max_nodes]
    sub = induced(E, keep)
    note = (
        f"Showing the {max_nodes} nodes of highest PageRank out of {n}; "
        f"{n - max_nodes} nodes and {m - sub.number_of_edges()} edges were left out "
        "(use --ego NAME or --type to see others)."
    )
    return Selection(sub, n, m, note)


def _evidence(items) -> list[dict]:
    return [
        {"relation": rel, "quote": ev["quote"], "document": ev["document"], "date": ev.get("date", "")}
        for rel, ev in items
    ]


def node_entry(E: nx.MultiDiGraph, n: str, index: int, score: float) -> dict:
    d = E.nodes[n]
    lines = [f"Type: {d['type']}"]
    if d.get("aliases"):
        lines.append("Also: " + ", ".join(d["aliases"][:8]))
    if d.get("date"):
        lines.append(f"Date: {d['date']}")
    edges = touching(E, n)
    lines.append(f"Connections: {len(edges)}; PageRank {score:.3f}")  # len(edges): E.degree(n)
    evidence = list(islice(best_supported(edges), MAX_EVIDENCE))  # the rest only counted
    total = sum(len(d["evidence"]) for d in edges)
    more = f"and {total - MAX_EVIDENCE} more quotes" if total > MAX_EVIDENCE else ""
    return {
        "id": index,
        "vis": {
            "label": d["label"],
            "group": d["type"],
            "shape": SHAPES.get(d["kind"], "dot"),
            "color": COLOURS.get(d["type"], "#999999"),
            "value": score,
        },
        "info": {
            "name": d["label"],
            "type": d["type"],
            "lines": lines,
            "evidence": _evidence(evidence),
            "more": more,
        },
    }


def edge_entry(E: nx.MultiDiGraph, u: str, v: str, d: dict, ids: dict[str, int]) -> dict:
    relation = d["relation"]
    lines = [
        f"{E.nodes[u]['label']} \u2192 {relation} \u2192 {E.nodes[v]['label']}",
        "Modality: " + ", ".join(d["modality"]),
        f"Documents: {d['support']}",
    ]
    evidence = [(None, ev) for ev in d["evidence"]]
    asserted = set(d["modality"]) <= {"Asserted", "Claimed"}
    return {
        "vis": {
            "from": ids[u],
            "to": ids[v],
            "label": relation,
            "dashes": not asserted,
            "width": 1 + min(d["support"], 5),
        },
        "info": {
            "name": relation,
            "type": "relation",
            "lines": lines,
            "evidence": _evidence(evidence[:MAX_EVIDENCE]),
            "more": f"and {len(evidence) - MAX_EVIDENCE} more quotes" if len(evidence) > MAX_EVIDENCE else "",
        },
    }


def layout(E: nx.MultiDiGraph, order: list[str], seed: int = 0) -> list[tuple[float, float]] | None:
    """Positions for a page too big for the browser's physics (BROWSER_LAYOUT_MAX), in
    `order`: each connected part laid out by igraph's Fruchterman-Reingold (the grid variant
    above GRID_ABOVE nodes: 5,000 in ~0.25 s), its random numbers seeded here so the same graph
    gives the same page, then the parts packed in rows, largest first (`pack`); laid out
    whole, the isolated nodes were left scattered over the page around a tiny main part.
    None for small pages, or without igraph (the browser then lays it out, slowly)."""
    ig = _igraph()
    if len(order) <= BROWSER_LAYOUT_MAX or ig is None:
        return None
    ids = {n: i for i, n in enumerate(order)}
    pairs = sorted({(ids[u], ids[v]) for u, v in E.edges() if u != v})
    g = ig.Graph(n=len(order), edges=pairs)
    parts = sorted(g.connected_components(), key=lambda members: (-len(members), members[0]))
    ig.set_random_number_generator(random.Random(seed))
    try:
        shapes = [fruchterman_reingold(g.induced_subgraph(members)) for members in parts]
    finally:
        ig.set_random_number_generator(random)  # igraph's default
    at = {node: xy for part, shape in zip(parts, shapes, strict=True) for node, xy in zip(part, shape, strict=True)}
    lengths = [math.dist(at[u], at[v]) for u, v in pairs]
    scale = EDGE_PX / (statistics.median(lengths) or 1.0) if lengths else EDGE_PX
    placed = pack([[(x * scale, y * scale) for x, y in shape] for shape in shapes])
    coords: list[tuple[float, float]] = [(0.0, 0.0)] * len(order)
    for members, shape in zip(parts, placed, strict=True):
        for node, (x, y) in zip(members, shape, strict=True):
            coords[node] = (round(x, 1), round(y, 1))
    return coords


def fruchterman_reingold(part) -> list[tuple[float, float]]:
    """One connected part's positions (igraph's Fruchterman-Reingold, the grid variant when big)."""
    return part.layout_fruchterman_reingold(niter=FR_ITERATIONS, grid=part.vcount() > GRID_ABOVE).coords


def pack(shapes: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
    """The shapes (laid-out parts, largest first) moved into rows left to right, EDGE_PX
    apart, the rows about as wide as the whole is tall."""
    boxes = []
    for shape in shapes:
        xs, ys = [x for x, _ in shape], [y for _, y in shape]
        boxes.append((min(xs), min(ys), max(xs) - min(xs) + EDGE_PX, max(ys) - min(ys) + EDGE_PX))
    width = max(max(b[2] for b in boxes), math.sqrt(sum(b[2] * b[3] for b in boxes)))
    placed, x, y, row = [], 0.0, 0.0, 0.0
    for shape, (left, top, w, h) in zip(shapes, boxes, strict=True):
        if x and x + w > width:
            x, y, row = 0.0, y + row, 0.0
        placed.append([(px - left + x, py - top + y) for px, py in shape])
        x, row = x + w, max(row, h)
    return placed


def page_data(E: nx.MultiDiGraph, scores: dict[str, float]) -> dict:
    """Nodes, edges and legend as plain data for the page (built directly: no per-node
    add_node calls); a big page's nodes come with their positions (`layout`)."""
    order = sorted(E, key=lambda n: E.nodes[n]["label"])
    ids = {n: i for i, n in enumerate(order)}
    nodes = [node_entry(E, n, ids[n], scores.get(n, 0.0)) for n in order]
    positions = layout(E, order)
    for node, (x, y) in zip(nodes, positions or [], strict=False):
        node["vis"].update(x=x, y=y)
    edges = [edge_entry(E, u, v, d, ids) for u, v, d in E.edges(data=True)]
    counts: dict[str, int] = {}
    for n in order:
        counts[E.nodes[n]["type"]] = counts.get(E.nodes[n]["type"], 0) + 1
    legend = [
        {
            "type": t,
            "color": COLOURS.get(t, "#999999"),
            "shape": SHAPES.get(next(E.nodes[n]["kind"] for n in order if E.nodes[n]["type"] == t), "dot"),
            "count": c,
        }
        for t, c in sorted(counts.items())
    ]
    return {"nodes": nodes, "edges": edges, "legend": legend, "positioned": positions is not None}


def render(E: nx.MultiDiGraph, title: str, max_nodes: int = 250, note: str = "") -> tuple[str, Selection]:
    """The whole page as a string, and what was selected for it."""
    scores = {n: float(s) for n, s in pagerank(E).items()}
    sel = select(E, max_nodes, scores)
    data = page_data(sel.graph, scores)
    summary = (
        f"{sel.graph.number_of_nodes()} nodes and {sel.graph.number_of_edges()} edges "
        f"shown (graph: {sel.total_nodes} nodes, {sel.total_edges} edges). "
        "Size: PageRank; dashed edges: not asserted."
    )
    js = VIS_JS.read_text(encoding="utf-8")
    if re.search(r"</script|<!--", js, re.IGNORECASE):
        raise ValueError(f"{VIS_JS} cannot be inlined in a <script> element")
    values = {
        "TITLE": html.escape(title),
        "SUMMARY": html.escape(summary),
        "NOTE": html.escape(" ".join(x for x in (note, sel.note) if x)),
        "DATA": script_json(data),
        "VIS_JS": js,
    }
    # One pass, so text put in by one placeholder is never scanned for another.
    page = re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: values[m.group(1)], PAGE.read_text(encoding="utf-8"))
    return page, sel


def write_html(E: nx.MultiDiGraph, path: str | Path, title: str, max_nodes: int = 250, note: str = "") -> Selection:
    """Write the page (through a temporary file: a page that fails half way leaves the one
    before); returns what was selected so the caller can report it. Made with fewer cyclic
    collections (kg.gcpolicy.fewer_collections): the page's many small dicts cost a 5,000-node
    page 0.15-0.3 s of rescanning."""
    from kg.graph import atomic_output

    with fewer_collections():
        page, sel = render(E, title, max_nodes, note)
    with atomic_output(Path(path)) as fh:
        fh.write(page.encode("utf-8"))
    return sel
