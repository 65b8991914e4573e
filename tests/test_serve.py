"""`kg serve` over the seeds store, asked with SPARQLWrapper on loopback: every result format,
updates and SERVICE refused, a runaway query cut off while other clients are answered; and
`kg push` into a writable oxigraph, then saved questions answered from it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner
from SPARQLWrapper import CSV, JSON, TSV, XML, SPARQLWrapper

from kg.cli import main
from kg.store import GRACE_S, add_documents, free_port, push, start_oxigraph, uses_service
from tests.conftest import SEEDS

TIMEOUT_S = 2
COUNT_DOCS = "SELECT (COUNT(?d) AS ?n) WHERE { ?d a <https://w3id.org/kgae/ontology#Document> }"
LEADS = (
    "PREFIX kgo: <https://w3id.org/kgae/ontology#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    'SELECT ?who WHERE { ?p kgo:leads ?o ; rdfs:label ?who . ?o rdfs:label "Government of Balochistan" }'
)
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def seeds_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store") / "seeds"
    add_documents(root, [str(SEEDS)])
    return root


def stop(proc: subprocess.Popen) -> None:
    """Terminate a server process, killing it if it does not exit within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("how", ["terminate", "kill"])
def test_no_orphan_oxigraph(seeds_store, how):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", str(seeds_store), "--port", str(port)], stderr=subprocess.PIPE
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/", proc)
        [child] = children(proc.pid)
        assert alive(child)
    finally:
        getattr(proc, how)()
        proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)


def test_serve_follows_the_store_to_each_new_generation(tmp_path):
    """A load switches in a new generation; the running server answers from it within a few
    seconds, and the oxigraph on the old one stops once its longest query could be over."""
    root, port = tmp_path / "store", free_port()
    add_documents(root, [str(sorted(SEEDS.glob("*.txt"))[0])])
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", str(root), "--port", str(port), "--timeout", "1"], stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}/query"

    def documents() -> int:
        return int(ask(url, COUNT_DOCS, JSON)["results"]["bindings"][0]["n"]["value"])

    def until(check, seconds: float = 30) -> bool:
        deadline = time.monotonic() + seconds
        while not check() and time.monotonic() < deadline:
            time.sleep(0.2)
        return check()

    try:
        wait_for(f"http://127.0.0.1:{port}/", proc)
        [old] = children(proc.pid)
        assert documents() == 1
        add_documents(root, [str(SEEDS)])
        assert until(lambda: documents() == 5)
        assert until(lambda: not alive(old))  # after 1 s + GRACE_S
        assert until(lambda: len(children(proc.pid)) == 1)  # and reaped: a zombie is listed until then
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def endpoint(seeds_store):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", str(seeds_store), "--port", str(port), "--timeout", str(TIMEOUT_S)],
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/", proc)
        yield f"http://127.0.0.1:{port}/query"
    finally:
        stop(proc)


def ask(url: str, query: str, fmt: str, timeout: int = 20):
    client = SPARQLWrapper(url)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    client.setTimeout(timeout)
    return client.queryAndConvert()


def test_select_json(endpoint):
    data = ask(endpoint, LEADS, JSON)
    assert [b["who"]["value"] for b in data["results"]["bindings"]] == ["Sarfaraz Bugti"]
    assert ask(endpoint, COUNT_DOCS, JSON)["results"]["bindings"][0]["n"]["value"] == "5"


def test_select_xml(endpoint):
    doc = ask(endpoint, LEADS, XML)
    assert [n.firstChild.data for n in doc.getElementsByTagName("literal")] == ["Sarfaraz Bugti"]


def test_select_csv_and_tsv(endpoint):
    assert ask(endpoint, LEADS, CSV).decode().splitlines() == ["who", "Sarfaraz Bugti"]
    assert ask(endpoint, LEADS, TSV).decode().splitlines() == ["?who", '"Sarfaraz Bugti"']


def post(url: str, field: str, text: str) -> tuple[int, str]:
    from urllib.parse import urlencode

    req = urllib.request.Request(url, data=urlencode({field: text}).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_update_refused(endpoint):
    status, _ = post(endpoint.replace("/query", "/update"), "update", "INSERT DATA { <urn:a> <urn:b> <urn:c> }")
    assert status in (403, 405)
    assert ask(endpoint, "ASK { <urn:a> <urn:b> <urn:c> }", JSON)["boolean"] is False


def test_service_refused(endpoint):
    status, body = post(endpoint, "query", f"SELECT * WHERE {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }} LIMIT 1")
    assert status == 403 and "SERVICE" in body
    status, _ = post(endpoint, "query", 'SELECT * WHERE { BIND("SERVICE" AS ?x) } # SERVICE in a comment')
    assert status == 200


@pytest.mark.parametrize(
    "query",
    [
        "select * { service <http://x/> {} }",
        "SELECT * { \\u0053ERVICE <http://x/> {} }",
        "SELECT * {SERVICE SILENT <http://x/>{}}",
        "SELECT * { SERVICE ?u {} }",
    ],
)
def test_service_detected(query):
    assert uses_service(query)


@pytest.mark.parametrize(
    "query",
    [
        'SELECT * { ?s <http://x/SERVICE> "SERVICE" }',
        "SELECT ?service { ?service ?p ?o }",
        "PREFIX service: <http://x/> SELECT * { ?s service:p ?o }",
    ],
)
def test_service_not_imagined(query):
    assert not uses_service(query)


def test_runaway_query_cut_off_while_others_answered(endpoint):
    outcome: dict[str, object] = {}

    def runaway() -> None:
        start = time.monotonic()
        outcome["answer"] = post(endpoint, "query", RUNAWAY)
        outcome["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=runaway, daemon=True)
    thread.start()
    time.sleep(0.5)
    start = time.monotonic()
    data = ask(endpoint, LEADS, JSON)
    assert data["results"]["bindings"][0]["who"]["value"] == "Sarfaraz Bugti"
    assert time.monotonic() - start < 1.5 and thread.is_alive()
    thread.join(timeout=30)
    assert not thread.is_alive()
    status, body = outcome["answer"]
    assert status == 504 and "cancelled" in body  # by oxigraph, or by the proxy after the grace
    assert outcome["seconds"] < TIMEOUT_S + GRACE_S + 2


def test_query_page(endpoint):
    with urllib.request.urlopen(endpoint.replace("/query", "/"), timeout=10) as resp:
        assert "text/html" in resp.headers["Content-Type"]


@pytest.fixture
def writable(tmp_path):
    port = free_port()
    proc = start_oxigraph(tmp_path / "remote", port, timeout=30, read_only=False)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def test_push_then_saved_questions_remote(seeds_store, writable):
    runner = CliRunner()
    result = runner.invoke(main, ["push", str(seeds_store), "--endpoint", f"{writable}/store", "--graph-per-document"])
    assert result.exit_code == 0, result.output
    assert result.output.count("HTTP 204") + result.output.count("HTTP 201") == 6  # five documents and the facts
    out = runner.invoke(main, ["query", f"{writable}/query", "--saved", "party-leadership", "--format", "csv"])
    assert "Balochistan National Party,leads,Akhtar Mengal" in out.output
    again = runner.invoke(main, ["push", str(seeds_store), "--endpoint", f"{writable}/store", "--graph-per-document"])
    assert again.exit_code == 0  # PUT replaces: pushing twice leaves the same data
    n = ask(f"{writable}/query", "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", JSON)
    assert n["results"]["bindings"][0]["n"]["value"] == "3027"
    out = runner.invoke(main, ["query", f"{writable}/query", "--saved", "allegations-and-denials", "--format", "json"])
    assert '"claimant": "Sarfaraz Bugti"' in out.output


def test_push_shards_graph_by_graph(tmp_path, writable):
    runner = CliRunner()
    built = runner.invoke(main, ["build", str(SEEDS), "--shards", str(tmp_path / "sh"), "--shard-docs", "2"])
    assert built.exit_code == 0, built.output
    result = runner.invoke(
        main, ["push", str(tmp_path / "sh"), "--endpoint", f"{writable}/store", "--graph-per-document"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("HTTP 204") + result.output.count("HTTP 201") == 6  # five documents and the facts
    n = ask(f"{writable}/query", "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", JSON)
    assert n["results"]["bindings"][0]["n"]["value"] == "3027"
    out = runner.invoke(main, ["query", f"{writable}/query", "--saved", "party-leadership", "--format", "csv"])
    assert "Balochistan National Party,leads,Akhtar Mengal" in out.output


def test_push_retries_then_reports(seeds_store):
    port = free_port()  # nothing listens there
    waits: list[float] = []
    [result] = push(seeds_store, f"http://127.0.0.1:{port}/store", retries=2, timeout=2, sleep=waits.append)
    assert result.status is None and result.attempts == 3 and waits == [0.5, 1.0]
    assert result.error


def test_the_proxy_sends_at_most_its_limit_of_queries_in_a_window():
    """oxigraph keeps a thread for --timeout-s after each query: past the kernel's limit on
    memory maps it exits (kg.store.QueryPace). The next query over the limit waits for the
    window of the oldest to pass; those under it do not wait."""
    from kg.store import QueryPace

    pace, starts = QueryPace(window=0.5, limit=3), []
    for _ in range(4):
        pace.wait()
        starts.append(time.monotonic())
    assert starts[2] - starts[0] < 0.25 and starts[3] - starts[0] >= 0.45
