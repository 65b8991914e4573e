"""Find names in text: dictionary aliases (Aho-Corasick), then people and organisations the
dictionaries do not know, found by name patterns. Also builds the masked sentence that
relation and event patterns run over.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cache

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
        return mention_tags(self.type, bool(self.capital_of))


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80] or "x"


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
        self.capitals = {eid: entry.capital_of for eid, entry in entries.items() if entry.capital_of is not None}
        if table:
            self.automaton.make_automaton()
        self.empty = not table

    def scan(self, text: str, rule_prefix: str = "dict") -> list[Mention]:
        """Leftmost-longest, non-overlapping mentions in `text` (already normalised)."""
        capitals = self.capitals
        return [
            Mention(start, end, eid, etype, surface, f"{rule_prefix}:{eid}", capitals.get(eid))
            for start, end, eid, etype, surface in longest(self.hits(text))
        ]

    def embedded(self, name: str) -> frozenset[str]:
        """The entries named inside `name` ("Paktia" in "Government of Paktia"), not counting
        one that names the whole of it: two names embedding different entries are different
        actors however close their spelling."""
        whole = len(name)
        return frozenset(hit[2] for hit in longest([h for h in self.hits(name) if (h[0], h[1]) != (0, whole)]))

    def hits(self, text: str) -> list[tuple[int, int, str, str, str]]:
        """Every alias in `text` at word boundaries with its case rule met, overlaps and all:
        (start, end, entry id, type, surface)."""
        if self.empty:
            return []
        folded = text.casefold()
        if len(folded) != len(text):
            folded = text.lower()
        found = []
        size = len(text)
        for last, (length, values) in self.automaton.iter(folded):
            start, end = last - length + 1, last + 1
            # inside a word on either side (a letter, digit or _; inlined: this loop sees every hit)
            if start > 0:
                ch = text[start - 1]
                if ch.isalnum() or ch == "_":
                    continue
            if end < size:
                ch = text[end]
                if ch.isalnum() or ch == "_":
                    continue
            surface = text[start:end]
            for alias, eid, etype, case in values:
                if case == "any" or surface == alias or (len(alias) > 4 and surface == alias.upper()):
                    found.append((start, end, eid, etype, surface))
                    break
        return found


def longest(found: list[tuple[int, int, str, str, str]]) -> list[tuple[int, int, str, str, str]]:
    """select_longest over hit tuples: only the kept become Mentions."""
    chosen: list[tuple[int, int, str, str, str]] = []
    starts: list[int] = []
    for m in sorted(found, key=lambda m: (m[0] - m[1], m[0])):
        i = bisect_left(starts, m[1])
        if i and chosen[i - 1][1] > m[0]:
            continue
        starts.insert(i, m[0])
        chosen.insert(i, m)
    return chosen


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
    """A sentence with each mention replaced by OPEN index SEP tags CLOSE.

    Where each masked character comes from is worked out from the mentions when first asked
    (most masks are never asked): a token's characters map to its mention's start, a plain
    character to its place in the sentence, shifted by the tokens before it."""

    text: str
    mentions: list[Mention]
    start: int  # original offset of the sentence
    literals: int | None = field(default=None, compare=False)  # pre-filter clauses it satisfies, once asked
    _tokens: tuple[list[int], list[int]] | None = field(default=None, repr=False, compare=False)

    def tokens(self) -> tuple[list[int], list[int]]:
        """Masked start and end of each mention's token."""
        if self._tokens is None:
            starts: list[int] = []
            ends: list[int] = []
            shift = 0  # masked minus original offset, after the tokens so far
            for index, m in enumerate(self.mentions):
                begin = m.start - self.start + shift
                size = len(f"{OPEN}{index}{SEP}{mention_tags(m.type, bool(m.capital_of))}{CLOSE}")
                starts.append(begin)
                ends.append(begin + size)
                shift += size - (m.end - m.start)
            self._tokens = (starts, ends)
        return self._tokens

    def origin(self, pos: int) -> int:
        """Original offset of masked character `pos` (negative counts from the end)."""
        if pos < 0:
            pos += len(self.text)
        starts, ends = self.tokens()
        k = bisect_right(starts, pos) - 1
        if k < 0:
            return self.start + pos
        if pos < ends[k]:  # in the token
            return self.mentions[k].start
        return self.mentions[k].end + pos - ends[k]

    @property
    def offsets(self) -> list[int]:
        """Original offset of each masked character."""
        return [self.origin(i) for i in range(len(self.text))]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) of masked text[start:end]."""
        first = self.origin(start)
        last_char = end - 1
        if self.text[last_char] == CLOSE:
            index = int(self.text[self.text.rindex(OPEN, 0, last_char) + 1 : self.text.rindex(SEP, 0, last_char)])
            return first, self.mentions[index].end
        return first, self.origin(last_char) + 1


@cache
def mention_tags(etype: str, capital: bool) -> str:
    """The tags a mention of class `etype` carries in a masked sentence (Mention.tags)."""
    extra = ["Capital"] if capital else []
    base = [etype] if etype == "Demonym" else sorted(ancestors(etype))
    return ",".join([*base, *extra, "Entity"])


def mask(sentence_text: str, sentence_start: int, mentions: list[Mention]) -> Masked:
    """`mentions` sorted and not overlapping (as select_longest gives them): the sentence's
    mentions are then one run found by bisection, not a scan of the whole document's."""
    return mask_inside(sentence_text, sentence_start, mentions_inside(mentions, sentence_start, len(sentence_text)))


def mentions_inside(mentions: list[Mention], sentence_start: int, length: int) -> list[Mention]:
    """The run of (sorted, non-overlapping) `mentions` inside the sentence, by bisection."""
    end = sentence_start + length
    first = i = bisect_left(mentions, sentence_start, key=lambda m: m.start)
    while i < len(mentions) and mentions[i].end <= end:
        i += 1
    return mentions[first:i]


def mentions_by_sentence(mentions: list[Mention], spans: list[tuple[int, int]]) -> list[list[Mention]]:
    """mentions_inside for every sentence at once (`spans` sorted and apart): one walk down
    both lists instead of a bisection per sentence."""
    groups: list[list[Mention]] = []
    j, n = 0, len(mentions)
    for start, end in spans:
        while j < n and mentions[j].start < start:
            j += 1
        first = j
        while j < n and mentions[j].end <= end:
            j += 1
        groups.append(mentions[first:j])
    return groups


def mask_inside(sentence_text: str, sentence_start: int, inside: list[Mention]) -> Masked:
    """The masked sentence for its mentions `inside` (as mentions_inside gives them)."""
    if not inside:
        return Masked(sentence_text, inside, sentence_start)
    parts: list[str] = []
    cursor = 0
    for index, m in enumerate(inside):
        parts.append(sentence_text[cursor : m.start - sentence_start])
        parts.append(f"{OPEN}{index}{SEP}{mention_tags(m.type, bool(m.capital_of))}{CLOSE}")
        cursor = m.end - sentence_start
    parts.append(sentence_text[cursor:])
    return Masked("".join(parts), inside, sentence_start)
