"""The HTML page: offline, escaped, and drawn by a real browser (headless Chromium)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph

from kg import analysis as an
from kg.cli import main
from kg.viz import render, script_json
from tests.test_analysis import entity, statement

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>document.title='pwned'</script>"


@pytest.fixture
def hostile() -> Graph:
    """Five nodes, two of them named by an attacker."""
    g = Graph()
    a = entity(g, "a", "ArmedGroup", IMG, "\u2028alias & <b>")
    b = entity(g, "b", "Person", SCRIPT)
    c = entity(g, "c", "StateBody", "Government of Balochistan")
    d = entity(g, "d", "District", "Noshki")
    e = entity(g, "e", "Attack", "Noshki attack")
    statement(g, e, "perpetrator", a, quote=f"{IMG} attacked; {SCRIPT}")
    statement(g, e, "location", d)
    statement(g, b, "leads", c, quote="<script>alert(2)</script>")
    statement(g, e, "target", c)
    return g


def chromium(*args: str, tmp: Path) -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "install Debian chromium: apt-get install -y chromium"
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp / 'profile'}",
        "--virtual-time-budget=20000",
        *args,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=True)
    return done.stdout


def test_script_json_cannot_close_its_element():
    text = script_json({"x": SCRIPT + "\u2028\u2029&"})
    assert not re.search("[<>&\u2028\u2029]", text)
    assert json.loads(text) == {"x": SCRIPT + "\u2028\u2029&"}


def test_page_is_offline_and_escaped(hostile):
    page, sel = render(an.entity_graph(hostile), title=f"kg: {IMG}")
    remote = r"<(script|link|img|iframe)[^>]+(src|href)\s*=\s*[\"']?(https?:)?//"
    assert not re.search(remote, page, re.I)
    assert IMG not in page and SCRIPT not in page and "<script>alert(2)" not in page
    assert "kg: &lt;img src=x onerror=alert(1)&gt;" in page  # heading escaped
    assert page.count("</script>") == 3  # data, vis-network, page code
    assert sel.note == "All nodes are shown."


def test_a_page_that_fails_half_way_leaves_the_one_before(hostile, tmp_path, monkeypatch):
    """write_html goes through a temporary file: a page whose writing fails (here, text that
    cannot be encoded; a full disk alike) leaves the page already there as it was, and no
    stray file beside it."""
    from kg import viz

    E = an.entity_graph(hostile)
    page = tmp_path / "graph.html"
    viz.write_html(E, page, "first")
    before = page.read_bytes()
    made = viz.render

    def unwritable(*args, **kwargs):
        text, sel = made(*args, **kwargs)
        return text + "\ud800", sel  # a lone surrogate: no UTF-8 for it

    monkeypatch.setattr(viz, "render", unwritable)
    with pytest.raises(UnicodeEncodeError):
        viz.write_html(E, page, "second")
    assert page.read_bytes() == before and b"first" in before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.html"]


def test_browser_draws_every_node_and_runs_no_injected_script(hostile, tmp_path):
    html = tmp_path / "hostile.html"
    page, _ = render(an.entity_graph(hostile), title="hostile names")
    html.write_text(page, encoding="utf-8")
    dom = chromium("--dump-dom", html.as_uri(), tmp=tmp_path)
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-state="stabilised"' in body
    assert 'data-nodes-drawn="5"' in body
    assert "<title>hostile names</title>" in dom and "pwned" not in dom.split("</title>")[0]
    assert "<img" not in dom  # the name never became an element
    assert "&lt;img src=x onerror=alert(1)&gt; (ArmedGroup)</option>" in dom
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "viz-hostile.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,800", html.as_uri(), tmp=tmp_path)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_viz_keeps_top_nodes_and_says_so(seeds_ttl, tmp_path):
    out = tmp_path / "seeds.html"
    result = CliRunner().invoke(main, ["viz", str(seeds_ttl), "--out", str(out), "--max-nodes", "20"])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "Showing the 20 nodes of highest PageRank out of" in page
    data = json.loads(re.search(r'<script id="kg-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert len(data["nodes"]) == 20
    assert any(n["info"]["name"] == "Balochistan Liberation Army" for n in data["nodes"])
    assert {t["type"] for t in data["legend"]} >= {"ArmedGroup", "Province"}


def test_a_page_of_part_of_a_graph_is_the_same_bytes_in_every_process(seeds_ttl, tmp_path):
    """The top nodes' page and a neighbourhood's, made in processes whose strings hash
    differently (PYTHONHASHSEED): the same page, node order, edges and quotes alike."""
    for args in (["--max-nodes", "20"], ["--ego", "Balochistan Liberation Army", "--hops", "1"]):
        pages = []
        for seed in ("1", "2"):
            out = tmp_path / f"page-{seed}.html"
            cmd = [sys.executable, "-m", "kg", "viz", str(seeds_ttl), "--out", str(out), *args]
            subprocess.run(cmd, env={**os.environ, "PYTHONHASHSEED": seed}, check=True, capture_output=True)
            pages.append(out.read_bytes())
        assert pages[0] == pages[1], args


def test_cli_viz_ego(seeds_ttl, tmp_path):
    out = tmp_path / "ego.html"
    result = CliRunner().invoke(
        main, ["viz", str(seeds_ttl), "--out", str(out), "--ego", "Sarfaraz Bugti", "--hops", "1"]
    )
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "Within 1 hops of Sarfaraz Bugti." in page


def test_seeds_page_offline_in_chromium_every_entity_in_the_menu(seeds_ttl, tmp_path):
    """The seeds page, opened from disk: every node drawn and every entity in the select menu."""
    out = tmp_path / "seeds.html"
    result = CliRunner().invoke(main, ["viz", str(seeds_ttl), "--out", str(out), "--max-nodes", "1000"])
    assert result.exit_code == 0, result.output
    E = an.entity_graph(an.load_graph(seeds_ttl))
    dom = chromium("--dump-dom", out.as_uri(), tmp=tmp_path)
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert f'data-nodes-drawn="{E.number_of_nodes()}"' in body
    options = re.findall(r"<option[^>]*>([^<]*)</option>", dom)
    for name in ("Balochistan Liberation Army", "Sarfaraz Bugti", "Operation Herof 2.0", "Noshki", "Jaffar Express"):
        assert any(o.startswith(name + " (") for o in options), name
    assert len([o for o in options if o != "(choose)"]) == E.number_of_nodes()


def network(size: int) -> Graph:
    """`size` armed groups, each a member of the one before, and some accusing others: an RDF
    graph in the contract's shape, too big for the browser to lay out."""
    g = Graph()
    nodes = [entity(g, f"g{i}", "ArmedGroup", f"Group {i}") for i in range(size)]
    for i in range(1, size):
        statement(g, nodes[i], "memberOf", nodes[i - 1], quote=f"Group {i} is part of Group {i - 1}.")
    for i in range(0, size, 7):
        statement(g, nodes[i], "accuses", nodes[(i * 31) % size], quote=f"Group {i} accused them.")
    return g


def test_a_big_page_comes_laid_out_and_the_browser_draws_it(tmp_path):
    """Above BROWSER_LAYOUT_MAX nodes kg lays the page out (the browser's physics took ~22 s at
    5,000 nodes): every node has a position, the same graph gives the same page, and headless
    Chromium draws every node with its physics off."""
    from kg.viz import BROWSER_LAYOUT_MAX

    E = an.entity_graph(network(BROWSER_LAYOUT_MAX + 100))
    page, sel = render(E, title="big", max_nodes=E.number_of_nodes())
    data = json.loads(re.search(r'<script id="kg-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert data["positioned"] is True
    xs = {(n["vis"]["x"], n["vis"]["y"]) for n in data["nodes"]}
    assert len(xs) == E.number_of_nodes()  # every node placed, no two on one spot
    assert render(E, title="big", max_nodes=E.number_of_nodes())[0] == page
    html = tmp_path / "big.html"
    html.write_text(page, encoding="utf-8")
    dom = chromium("--dump-dom", html.as_uri(), tmp=tmp_path)
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert f'data-nodes-drawn="{E.number_of_nodes()}"' in body and 'data-state="stabilised"' in body
    assert int(re.search(r'data-drawn-ms="(\d+)"', body).group(1)) > 0  # when it was drawn, by its own clock


def test_a_small_page_is_laid_out_by_the_browser(hostile):
    page, _ = render(an.entity_graph(hostile), title="small")
    data = json.loads(re.search(r'<script id="kg-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert data["positioned"] is False and not any("x" in n["vis"] for n in data["nodes"])


def test_a_nodes_tooltip_has_its_best_supported_quotes_and_counts_the_rest(seeds_graph):
    """Each node's tooltip: its connections (its degree), the quotes of its best-supported
    edges first (four at most), and how many more there are."""
    E = an.entity_graph(seeds_graph)
    page, _ = render(E, title="seeds", max_nodes=len(E))
    data = json.loads(re.search(r'<script id="kg-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    by_name = {n["info"]["name"]: n["info"] for n in data["nodes"]}
    busy = 0
    for node, d in E.nodes(data=True):
        info = by_name[d["label"]]
        edges = sorted(
            [d for *_, d in E.out_edges(node, data=True)] + [d for *_, d in E.in_edges(node, data=True)],
            key=lambda d: -d["support"],
        )
        quotes = [(e["relation"], ev["quote"]) for e in edges for ev in e["evidence"]]
        assert f"Connections: {E.degree(node)};" in " ".join(info["lines"])
        assert [(q["relation"], q["quote"]) for q in info["evidence"]] == quotes[:4]
        assert info["more"] == (f"and {len(quotes) - 4} more quotes" if len(quotes) > 4 else "")
        busy += len(quotes) > 4
    assert busy >= 5  # the seeds have nodes with more quotes than a tooltip shows


def test_page_sizes_are_the_pagerank_the_ranking_gives(seeds_ttl):
    E = an.entity_graph(an.load_graph(seeds_ttl))
    ranking = an.centrality(E)
    assert an.pagerank(E) == {n: s["pagerank"] for n, s in ranking.scores.items()}


def test_a_big_page_keeps_isolated_nodes_out_of_the_connected_part():
    """Laid out whole, nodes with no relation stayed scattered over the page around a small
    connected part; each part is laid out alone and the parts are packed, so the connected
    part has the middle of the page to itself."""
    from kg.viz import BROWSER_LAYOUT_MAX

    g = network(BROWSER_LAYOUT_MAX)
    lonely = [str(entity(g, f"lone{i}", "Person", f"Person {i}")) for i in range(80)]
    E = an.entity_graph(g)
    page, _ = render(E, title="parts", max_nodes=E.number_of_nodes())
    data = json.loads(re.search(r'<script id="kg-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    at = {n["info"]["name"]: (n["vis"]["x"], n["vis"]["y"]) for n in data["nodes"]}
    chain = [xy for name, xy in at.items() if name.startswith("Group ")]
    left, right = min(x for x, _ in chain), max(x for x, _ in chain)
    top, bottom = min(y for _, y in chain), max(y for _, y in chain)
    alone = [at[f"Person {i}"] for i in range(len(lonely))]
    assert not any(left <= x <= right and top <= y <= bottom for x, y in alone)
