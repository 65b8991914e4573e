"""Shared fixtures: the seeds graph is built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.graph import load, write
from kg.ingest import Document, sha256_hex
from kg.pipeline import build

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seeds_build():
    return build([str(SEEDS)])


@pytest.fixture(scope="session")
def seeds_ttl(seeds_build, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("seeds") / "seeds.ttl"
    write(seeds_build.quads, path)
    return path


@pytest.fixture(scope="session")
def seeds_graph(seeds_ttl):
    return load(seeds_ttl)


def make_doc(text: str, date: str | None = "2026-02-01", name: str = "test.txt") -> Document:
    """An in-memory document, as ingest would make it from a file holding `text`."""
    digest = sha256_hex(text.encode("utf-8"))
    return Document(id=digest[:16], source=name, text=text, sha256=digest, title=name, date=date)
