"""A time-bounded fuzzer for the document reader and the rule engine.

Mutates the seed articles (byte flips, truncation, splices of hostile tokens, BOMs, NULs,
random bytes) and feeds them to `kg.ingest.read_file` under every suffix it reads, then
extracts from each Document; anything but a Document or an IngestError, an exception, or a
quote that is not its slice is a finding. Reproducible: each run prints its seed.

    .venv/bin/python -m tests.fuzz_ingest [SECONDS] [SEED]     # on demand, e.g. 600
    KG_FUZZ_SECONDS=600 .venv/bin/pytest tests/test_robustness.py -k fuzz

The test suite runs it for KG_FUZZ_SECONDS (default 3).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

from kg.extract import extract
from kg.ingest import Document, IngestError, read_file
from kg.rules import load_rules

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SUFFIXES = [".txt", ".md", ".html", ".jsonl"]
TOKENS = [
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xfe\xff",
    b"\r\n",
    b"\r",
    b"\xe2\x80\xae",
    b"\xe2\x80\x8d",
    b"\xed\xa0\x80",
    b"\\ud800",
    b'"',
    b"\\",
    b"<script>",
    b"</p><div>",
    b"<!--",
    b'{"text": "',
    b'"}\n',
    b"Chief Minister ",
    b" said ",
    b" killed 40 soldiers",
    b"BLA",
    b". ",
    b"\n\n",
    b"\xc3",
    b"%PDF",
]


def budget() -> float:
    return float(os.environ.get("KG_FUZZ_SECONDS", "3"))


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One to eight random edits of `data`."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(5)
        at = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(at, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            buf[at:at] = rng.choice(TOKENS)
        elif op == 2:
            del buf[at : at + rng.randint(1, 200)]
        elif op == 3:
            buf[at:at] = rng.randbytes(rng.randint(1, 64))
        else:
            buf = buf[: rng.randint(0, len(buf))]
    return bytes(buf)


def check(path: Path, rules) -> int:
    """Read and extract one file; raise AssertionError on any contract break. Returns docs read."""
    read = 0
    for item in read_file(path, {}):
        assert isinstance(item, (Document, IngestError)), type(item)
        if isinstance(item, Document):
            read += 1
            result = extract(item, rules)
            for fact in result.facts:
                ev = fact.evidence
                assert item.text[ev.start : ev.end] == ev.quote, (ev.start, ev.end)
    return read


def run(seconds: float, seed: int | None = None) -> tuple[int, int]:
    """Fuzz for `seconds`; returns (files tried, documents read). Raises on the first finding,
    with the seed and the input saved beside it for replay."""
    seed = random.randrange(2**32) if seed is None else seed
    rng = random.Random(seed)
    rules = load_rules()
    corpus = [p.read_bytes()[:4000] for p in sorted(SEEDS.glob("*.txt"))]
    tries = docs = 0
    deadline = time.monotonic() + seconds
    with tempfile.TemporaryDirectory() as tmp:
        while time.monotonic() < deadline:
            suffix = rng.choice(SUFFIXES)
            data = rng.randbytes(rng.randint(0, 300)) if rng.random() < 0.1 else mutate(rng, rng.choice(corpus))
            if suffix == ".jsonl" and rng.random() < 0.5:
                data = b'{"text": "' + data.replace(b'"', b"'").replace(b"\n", b" ") + b'"}\n'
            path = Path(tmp) / f"case{suffix}"
            path.write_bytes(data)
            try:
                docs += check(path, rules)
            except Exception as exc:
                keep = Path(tempfile.gettempdir()) / f"kg-fuzz-{seed}-{tries}{suffix}"
                keep.write_bytes(data)
                raise AssertionError(f"seed {seed}, case {tries}: {exc!r}; input saved to {keep}") from exc
            tries += 1
    return tries, docs


if __name__ == "__main__":
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else budget()
    tried, read = run(secs, int(sys.argv[2]) if len(sys.argv) > 2 else None)
    print(f"{tried} inputs, {read} documents read, no findings in {secs:.0f} s")
