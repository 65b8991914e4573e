"""`kg serve` under load and against outbound requests: 50 concurrent clients run the saved
questions for a bounded time on loopback with no errors; results over the size bound are
refused; FROM <url> and SERVICE make no outbound connection."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

import pytest

from kg.store import add_documents, free_port, render_saved, saved_queries
from tests.conftest import SEEDS
from tests.test_serve import stop, wait_for

CLIENTS = 50
SECONDS = float(os.environ.get("KG_LOAD_SECONDS", "30"))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("load") / "seeds"
    add_documents(root, [str(SEEDS)])
    return root


def start(store, *extra: str):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", str(store), "--port", str(port), *extra], stderr=subprocess.PIPE
    )
    wait_for(f"http://127.0.0.1:{port}/", proc)
    return proc, f"http://127.0.0.1:{port}/query"


def post(url: str, query: str, timeout: float = 30) -> tuple[int, bytes]:
    data = urllib.parse.urlencode({"query": query}).encode()
    request = urllib.request.Request(url, data=data, headers={"Accept": "application/sparql-results+json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_fifty_clients_run_the_saved_questions_without_errors(store):
    queries = [render_saved(name, {}) for name in sorted(saved_queries())]
    proc, url = start(store, "--timeout", "20")
    done, errors, lock = [0], [], threading.Lock()
    deadline = time.monotonic() + SECONDS

    def client(offset: int) -> None:
        i = offset
        while time.monotonic() < deadline:  # bounded in time; each request bounded by its timeout
            try:
                status, _ = post(url, queries[i % len(queries)])
            except OSError as exc:
                status = repr(exc)
            with lock:
                done[0] += 1
                if status != 200:
                    errors.append(status)
            i += 1

    try:
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=SECONDS + 60)
    finally:
        stop(proc)
    print(
        f"{done[0]} requests from {CLIENTS} clients in {SECONDS:g} s, {len(errors)} errors: {Counter(map(str, errors))}"
    )
    assert done[0] >= CLIENTS and errors == []


def test_results_over_the_bound_are_refused(store):
    proc, url = start(store, "--max-result-mb", "0.01")
    try:
        status, body = post(url, "SELECT * WHERE { ?s ?p ?o }")
        assert status == 507 and b"LIMIT" in body
        status, _ = post(url, "SELECT * WHERE { ?s ?p ?o } LIMIT 5")
        assert status == 200
    finally:
        stop(proc)


def test_no_outbound_request_from_a_query(store):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    target = f"http://127.0.0.1:{listener.getsockname()[1]}/data.ttl"
    proc, url = start(store)
    try:
        for query in (
            f"SELECT * FROM <{target}> WHERE {{ ?s ?p ?o }} LIMIT 1",
            f"SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
            f"SELECT * WHERE {{ SERVICE SILENT <{target}> {{ ?s ?p ?o }} }}",
        ):
            post(url, query)
            with pytest.raises(TimeoutError):  # nobody ever connected to the listener
                listener.accept()
    finally:
        stop(proc)
        listener.close()
