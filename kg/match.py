"""Find names in text: dictionary aliases (Aho-Corasick), then people and organisations the
dictionaries do not know, found by name patterns. Also builds the masked sentence that
relation and event patterns run over.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

import ahocorasick

from kg.rules import CLOSE, OPEN, SEP, Entry
from kg.vocab import ancestors


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    entity: str  # entry id, or the slug of a minted entity
    type: str  # most specific class, or Demonym
    surface: str
    rule: str  # "dict:<id>" or the id of the name pattern that minted it
    capital_of: str | None = None

    @property
    def tags(self) -> str:
        extra = ["Capital"] if self.capital_of else []
        base = [self.type] if self.type == "Demonym" else sorted(ancestors(self.type))
        return ",".join([*base, *extra, "Entity"])


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80] or "x"


def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class Matcher:
    """Aho-Corasick over case-folded aliases, then per-alias case rules and word boundaries."""

    def __init__(self, entries: dict[str, Entry]):
        self.automaton = ahocorasick.Automaton()
        table: dict[str, list[tuple[str, str, str, str]]] = {}
        for entry in entries.values():
            for alias in {entry.name, *entry.aliases}:
                table.setdefault(alias.casefold(), []).append((alias, entry.id, entry.type, "case"))
            for alias in entry.nocase:
                table.setdefault(alias.casefold(), []).append((alias, entry.id, entry.type, "any"))
            for demonym in entry.demonyms:
                table.setdefault(demonym.casefold(), []).append((demonym, entry.id, "Demonym", "case"))
        for key, values in table.items():
            self.automaton.add_word(key, (len(key), values))
        self.entries = entries
        if table:
            self.automaton.make_automaton()
        self.empty = not table

    def scan(self, text: str, rule_prefix: str = "dict") -> list[Mention]:
        """Leftmost-longest, non-overlapping mentions in `text` (already normalised)."""
        if self.empty:
            return []
        folded = text.casefold() if len(text.casefold()) == len(text) else text.lower()
        found = []
        for last, (length, values) in self.automaton.iter(folded):
            start, end = last - length + 1, last + 1
            if start > 0 and is_word_char(text[start - 1]) or end < len(text) and is_word_char(text[end]):
                continue
            surface = text[start:end]
            for alias, eid, etype, case in values:
                if case == "any" or surface == alias or (len(alias) > 4 and surface == alias.upper()):
                    entry = self.entries.get(eid)
                    capital = entry.capital_of if entry else None
                    found.append(Mention(start, end, eid, etype, surface, f"{rule_prefix}:{eid}", capital))
                    break
        return select_longest(found)


def select_longest(mentions: list[Mention]) -> list[Mention]:
    """Keep the longest of overlapping mentions, earliest first.

    The kept spans never overlap, so sorted by start they are sorted by end too: a new span
    can only clash with the last kept span starting before its end (a bisect, not a scan).
    """
    chosen: list[Mention] = []
    starts: list[int] = []
    for m in sorted(mentions, key=lambda m: (-(m.end - m.start), m.start)):
        i = bisect_left(starts, m.end)
        if i and chosen[i - 1].end > m.start:
            continue
        starts.insert(i, m.start)
        chosen.insert(i, m)
    return chosen


@dataclass
class Masked:
    """A sentence with each mention replaced by OPEN index SEP tags CLOSE."""

    text: str
    mentions: list[Mention]
    offsets: list[int]  # original offset of each masked character

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) of masked text[start:end]."""
        first = self.offsets[start]
        last_char = end - 1
        if self.text[last_char] == CLOSE:
            index = int(self.text[self.text.rindex(OPEN, 0, last_char) + 1 : self.text.rindex(SEP, 0, last_char)])
            return first, self.mentions[index].end
        return first, self.offsets[last_char] + 1


def mask(sentence_text: str, sentence_start: int, mentions: list[Mention]) -> Masked:
    """`mentions` sorted and not overlapping (as select_longest gives them): the sentence's
    mentions are then one run found by bisection, not a scan of the whole document's."""
    parts: list[str] = []
    offsets: list[int] = []
    cursor = sentence_start
    end = sentence_start + len(sentence_text)
    inside = []
    i = bisect_left(mentions, sentence_start, key=lambda m: m.start)
    while i < len(mentions) and mentions[i].end <= end:
        inside.append(mentions[i])
        i += 1
    for index, m in enumerate(inside):
        plain = sentence_text[cursor - sentence_start : m.start - sentence_start]
        parts.append(plain)
        offsets.extend(range(cursor, m.start))
        token = f"{OPEN}{index}{SEP}{m.tags}{CLOSE}"
        parts.append(token)
        offsets.extend([m.start] * len(token))
        cursor = m.end
    parts.append(sentence_text[cursor - sentence_start :])
    offsets.extend(range(cursor, end))
    return Masked("".join(parts), inside, offsets)
