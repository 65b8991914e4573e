"""Synthetic corpus for benchmarks: the seeds' sentences re-combined, with the dictionary
names in them swapped for other names of the same type from kg/rules/actors.yaml and
places.yaml.

Why: the seeds are 44 KB; throughput has to be measured on megabytes of text that look
like the real thing to the rules (same sentence shapes, same density of names), so each
generated sentence is a real seed sentence with its names re-drawn. Deterministic for a
given seed.

    .venv/bin/python bench/gen.py OUT_DIR --mb 10 [--doc-kb 8] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import date, timedelta
from pathlib import Path

from kg.extract import matcher_for
from kg.ingest import read_corpus
from kg.rules import load_rules
from kg.text import normalise, split_sentences

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def templates() -> tuple[list[list[str | tuple[str]]], dict[str, list[str]]]:
    """Seed sentences cut into text pieces and typed name slots; names available per type."""
    rules = load_rules()
    matcher = matcher_for(rules)
    names: dict[str, list[str]] = {}
    for entry in rules.entries.values():
        names.setdefault(entry.type, []).extend([entry.name, *entry.aliases])
    documents, _ = read_corpus([SEEDS])
    result = []
    for doc in documents:
        text = normalise(doc.text)
        for sentence in split_sentences(text):
            pieces: list[str | tuple[str]] = []
            cursor = sentence.start
            for m in matcher.scan(sentence.text):
                if m.type == "Demonym" or m.type not in names:
                    continue
                pieces.append(text[cursor : sentence.start + m.start])
                pieces.append((m.type,))
                cursor = sentence.start + m.end
            pieces.append(text[cursor : sentence.end])
            result.append(pieces)
    return result, names


def sentence(rng: random.Random, pieces: list[str | tuple[str]], names: dict[str, list[str]]) -> str:
    return "".join(p if isinstance(p, str) else rng.choice(names[p[0]]) for p in pieces)


def document(rng: random.Random, sents: list, names: dict[str, list[str]], size: int, number: int) -> str:
    """A title line, then paragraphs of 3-6 sentences until `size` characters."""
    lines = [f"Report {number}: {sentence(rng, rng.choice(sents), names)[:80]}", ""]
    length = 0
    while length < size:
        para = " ".join(sentence(rng, rng.choice(sents), names) for _ in range(rng.randint(3, 6)))
        lines.append(para)
        length += len(para) + 1
    return "\n".join(lines) + "\n"


PER_DAY = 30  # documents a day: a region's daily coverage, so 100 MB spans about a year


def generate(
    out: Path, megabytes: float, doc_kb: float = 8, seed: int = 7, first_day: date = date(2025, 1, 1)
) -> list[Path]:
    """Write documents of about `doc_kb` KB into `out` until `megabytes` MB; returns their paths.
    Each gets a publication date in metadata.json, PER_DAY documents a day from `first_day`,
    as an archive of dated news would have."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    sents, names = templates()
    total, paths, number, metadata = 0, [], 0, {}
    while total < megabytes * 1_000_000:
        text = document(rng, sents, names, int(doc_kb * 1000), number)
        path = out / f"doc{number:06d}.txt"
        path.write_text(text, encoding="utf-8")
        metadata[path.name] = {"published": (first_day + timedelta(days=number // PER_DAY)).isoformat()}
        total += len(text.encode("utf-8"))
        paths.append(path)
        number += 1
    (out / "metadata.json").write_text(json.dumps(metadata, indent=1), encoding="utf-8")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--mb", type=float, default=1.0)
    parser.add_argument("--doc-kb", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    paths = generate(args.out, args.mb, args.doc_kb, args.seed)
    print(f"{len(paths)} documents -> {args.out}")


if __name__ == "__main__":
    main()
