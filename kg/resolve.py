"""Across documents: one node per real entity, one event per real event, one claim per
side's figure. Merges are decided here and applied to the records; nothing is re-read.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import os
from array import array
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from kg.events import compatible, family
from kg.extract import matcher_for
from kg.match import slugify
from kg.model import EVENT_EVIDENCE, EVENT_SETS, NOTHING, Claim, DocResult, Entity, Event, Evidence, Fact
from kg.rules import RuleSet, load_rules
from kg.vocab import ancestors

if TYPE_CHECKING:
    from kg.reports import ReportTable

FUZZY_MIN = 92  # rapidfuzz ratio for a minted name to join a known one of the same type
SPELLING_MIN = 80  # the lowest ratio same_name accepts (same consonants)


@dataclass
class Corpus:
    """The merged result of a whole build."""

    documents: list = field(default_factory=list)  # a spilled build's: id, source and date (kg.parallel.held)
    entities: Mapping[str, Entity] = field(default_factory=dict)  # an add reads a store's lazily (kg.index)
    events: dict[str, Event] = field(default_factory=dict)
    facts: dict[tuple, list[Evidence]] = field(default_factory=dict)  # (s, p, o, modality, claimant, denier, literal)
    claims: dict[tuple, list[Evidence]] = field(default_factory=dict)
    unverified: set[tuple] = field(default_factory=set)
    resolved_claimants: set[tuple] = field(default_factory=set)
    fired: dict[str, int] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # a document's names (entities, event reports) -> resolved
    # a spilled build's events, their reports' ids, the spans they cite and their dates'
    # statements, kept on disk by document (kg.reports.ReportTable); `events` reads them
    # back and `ids` holds the entities' names alone
    resolution: ReportTable | None = None


class LocalIds:
    """A document's names resolved: its event reports' (`reports`, kg.reports.DocPart.ids)
    before every document's entity names (`names`), as one dict of both would give them."""

    __slots__ = ("names", "reports")

    def __init__(self, reports: dict[str, str], names: dict[str, str]):
        self.reports, self.names = reports, names

    def get(self, key: str, default: str | None = None) -> str | None:
        found = self.reports.get(key)
        return found if found is not None else self.names.get(key, default)


class UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class EntityFold:
    """Per-document entities folded into one Entity per id as results arrive, so a streamed
    build holds one object per actor, not one per actor per document. Whatever order results
    are added in, the outcome is the union in corpus order: label, type and entry from the
    first document, aliases and mentions summed, and the first three evidence spans (all the
    graph cites), in the order the entities were first seen."""

    EVIDENCE_KEPT = 3

    def __init__(self) -> None:
        self.first: dict[str, tuple] = {}
        self.merged: dict[str, Entity] = {}
        self.evidence: dict[str, list[tuple[tuple, Evidence]]] = {}

    def add(self, result: DocResult, order: tuple) -> None:
        for pos, e in enumerate(result.entities.values()):
            kept = [((order, i), ev) for i, ev in enumerate(e.evidence[: self.EVIDENCE_KEPT])]
            self._take(e, (order, pos), kept)

    def merge(self, other: EntityFold) -> None:
        """Fold in another fold (a worker's batch): the same as adding its results here."""
        for eid, entity in other.merged.items():
            self._take(entity, other.first[eid], other.evidence[eid])

    def _take(self, e: Entity, seen: tuple, evidence: list[tuple[tuple, Evidence]]) -> None:
        target = self.merged.get(e.id)
        if target is None:
            target = self.merged[e.id] = Entity(e.id, e.label, e.type, set(), e.entry)
            self.first[e.id], self.evidence[e.id] = seen, []
        elif seen < self.first[e.id]:
            self.first[e.id] = seen
            target.label, target.type, target.entry = e.label, e.type, e.entry
        target.aliases |= e.aliases
        target.mentions += e.mentions
        kept = self.evidence[e.id] + evidence
        self.evidence[e.id] = sorted(kept, key=lambda x: x[0])[: self.EVIDENCE_KEPT]

    def entities(self) -> dict[str, Entity]:
        out = {}
        for eid in sorted(self.merged, key=self.first.__getitem__):
            entity = self.merged[eid]
            entity.evidence = [ev for _, ev in self.evidence[eid]]
            out[eid] = entity
        return out


def merge_entities(
    results: list[DocResult], folded: dict[str, Entity] | None = None, rules: RuleSet | None = None
) -> tuple[dict[str, Entity], dict[str, str]]:
    """Union the per-document entities (or take them `folded` already); minted names close to
    a known name of the same type join it, unless the two name different entries of `rules`
    inside them ("Government of Paktia", "Government of Paktika")."""
    if folded is None:
        fold = EntityFold()
        for n, result in enumerate(results):
            fold.add(result, (n,))
        folded = fold.entities()
    names = NameMerge(cache(matcher_for(rules or load_rules()).embedded))
    names.decide_all((e.id, e.type, e.label, n if e.entry else None) for n, e in enumerate(folded.values()))
    mapping = {eid: t for eid, t in names.target.items() if t != eid}
    return joined(folded, mapping), mapping


def joined(folded: dict[str, Entity], mapping: dict[str, str]) -> dict[str, Entity]:
    """The entities that names join (`mapping`: name -> the one it joined), each with the
    aliases, mentions and evidence of the names that joined it, in id order."""
    merged = dict(folded)
    for eid in sorted(mapping):
        best, e = merged[mapping[eid]], merged.pop(eid)
        best.aliases |= e.aliases | {e.label}
        best.mentions += e.mentions
        best.evidence.extend(e.evidence)
    return merged


class NameMerge:
    """Which minted name joins which known name: each minted name, in id order, joins the
    closest spelling of its type among the entries and the minted names before it that stayed
    names of their own, the first of equals, if that one is the same name (same_name) and the
    two name no different entries inside them (names_apart).

    A name's choice depends only on the names within a spelling ratio of SPELLING_MIN of it
    that come before it (entries come before all). So names added later re-decide only the
    names near them, and near those whose choice changed, in id order (`put`, `settle`): a
    store add re-decides what its new names can change, not every name the store holds, and
    gets the merge a whole build would. Kept in the store's index between adds (`dumps`)."""

    FORMAT = 2  # of what dumps writes; a merge kept in another is decided again from the entities
    NEAR = SPELLING_MIN - 1  # a point's margin: a name further than this changes no choice
    AFRESH = 25  # put and settle fewer new names than 1/AFRESH of those kept: 40,000 kept names decide
    # afresh in 5.5-7 s, and each new name costs ~3.3 ms put and settled (made-up names, bench/synth.py)

    def __init__(self, inside: Callable) -> None:
        self.inside = inside
        self._clear()

    def _clear(self) -> None:
        self.pools: dict[str, NamePool] = {}  # type -> every name of the type, joined ones too
        self.where: dict[str, tuple[str, int]] = {}  # id -> its type and place in that pool
        self.entries: dict[str, object] = {}  # entries' ids -> their order (equals: the first)
        self.target: dict[str, str] = {}  # minted ids -> the one each joined, or itself

    def dumps(self) -> bytes:
        """The merge as the index keeps it: a small JSON head, then sections of bytes, each
        pool's (NamePool.dump) and the targets (no pickle: a store's files are read back, and
        must not be able to run code). Lists of names are joined by NUL, not written as JSON:
        a store add reads and writes the whole merge, and at 40,000 names that took 0.16-0.19 s
        as JSON, 0.10-0.15 s now (see docs/performance.md, "Kept between store adds")."""
        pools, sections = [], []
        for kind, pool in sorted(self.pools.items()):
            state, parts = pool.dump()
            pools.append([kind, state])
            sections += parts
        sections += [packed(list(self.target)), packed(list(self.target.values()))]
        head = {
            "format": self.FORMAT,
            "pools": pools,
            "entries": list(self.entries.items()),
            "sizes": [len(part) for part in sections],
        }
        text = json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode()
        return len(text).to_bytes(8, "little") + text + b"".join(sections)

    @classmethod
    def loads(cls, data: bytes, inside: Callable) -> NameMerge:
        """What dumps wrote; ValueError, KeyError or TypeError if it is not that."""
        size = int.from_bytes(data[:8], "little")
        head, body = json.loads(data[8 : 8 + size]), memoryview(data)[8 + size :]
        if not isinstance(head, dict) or head.get("format") != cls.FORMAT:
            raise ValueError("a name merge kept in another format")
        ends = list(itertools.accumulate(head["sizes"]))
        if len(ends) != NamePool.SECTIONS * len(head["pools"]) + 2 or ends[-1:] != [len(body)]:
            raise ValueError("a name merge's sections do not add up")
        sections = [body[start:end] for start, end in itertools.pairwise([0, *ends])]
        merge, width = cls(inside), NamePool.SECTIONS
        for n, (kind, state) in enumerate(head["pools"]):
            merge.pools[kind] = pool = NamePool.load(state, sections[n * width : (n + 1) * width])
            merge.where.update(pool.live(kind))
        merge.target = dict(zip(unpacked(sections[-2]), unpacked(sections[-1]), strict=True))
        merge.entries = {eid: tupled(order) for eid, order in head["entries"]}
        return merge

    def decide_all(self, names: Iterable[tuple[str, str, str, object]]) -> None:
        """Decide every name afresh: (id, type, label, order among entries or None if minted)."""
        minted = []
        for eid, kind, label, order in names:
            if order is None:
                minted.append((eid, kind, label))
            else:
                self._place(eid, kind, label, order)
        joined = []
        for eid, kind, label in sorted(minted):
            self.target[eid] = self._decide(eid, kind, label)
            if self.target[eid] == eid:
                self._place(eid, kind, label, None)  # after: the pool holds the names before the next
            else:  # one no later name can join: placed at the end, where the pool is searched less
                joined.append((eid, kind, label))
        for eid, kind, label in joined:
            self._place(eid, kind, label, None)

    def names(self) -> Iterator[tuple[str, str, str, object]]:
        for eid, (kind, i) in self.where.items():
            yield eid, kind, self.pools[kind].labels[i], self.entries.get(eid)

    def label(self, eid: str) -> tuple[str, str]:
        """The name's label and type."""
        kind, i = self.where[eid]
        return self.pools[kind].labels[i], kind

    def update(self, names: Iterable[tuple[str, str, str, object]]) -> set[str]:
        """Put each name (`put`) and settle what they change; returns the names whose target
        changed (an entry's target is itself). When the new names are many beside the names
        kept (a store's first batches), deciding all afresh is quicker, and the same."""
        names = list(names)
        new = sum(eid not in self.where for eid, *_ in names)
        if new * self.AFRESH <= len(self.where):
            todo: set[str] = set()
            placed: set[str] = set()
            entries = set(self.entries)
            for name in names:
                near = self.put(*name)
                todo |= near
                if name[0] in near:
                    placed.add(name[0])
            return self.settle(todo, placed) | (entries ^ set(self.entries))
        before = {eid: self.target.get(eid, eid) for eid in self.where}
        everything = {name[0]: name for name in self.names()} | {name[0]: name for name in names}
        self._clear()
        self.decide_all(everything.values())
        return {eid for eid in self.where if before.get(eid) != self.target.get(eid, eid)}

    def put(self, eid: str, kind: str, label: str, order: object = None) -> set[str]:
        """Add a name, or a known name's new label, type or order (None: minted). Returns the
        minted names whose choice it may change, for `settle`."""
        was = self.where.get(eid)
        if was and (was[0], self.pools[was[0]].labels[was[1]], self.entries.get(eid)) == (kind, label, order):
            return set()
        near = set()
        if was:
            pool = self.pools[was[0]]
            pool.gone.add(was[1])
            near |= self._near(eid, was[0], pool.labels[was[1]])
            self.entries.pop(eid, None)
        self._place(eid, kind, label, order)
        near |= self._near(eid, kind, label)
        if order is None:
            near.add(eid)
        else:
            self.target.pop(eid, None)
        return near

    def settle(self, todo: set[str], placed: Container[str] = frozenset()) -> set[str]:
        """Decide the names in `todo` again, in id order, and the names near any whose choice
        changed whether it stays in the pool. Returns the names whose choice changed. A choice
        depends only on names before it, so each name is decided once, after all of those.
        The names near one `placed` (put in this update, with the label it has now) are in
        `todo` already: those `put` found, and any put after it, which `put` adds itself. So
        they are not looked for again (a third of the searches when a batch of names is new)."""
        heap, changed = sorted(todo), set()
        queued = set(heap)
        while heap:
            eid = heapq.heappop(heap)
            kind, i = self.where[eid]
            before, now = self.target.get(eid), self._decide(eid, kind, self.pools[kind].labels[i])
            if before == now:
                continue
            self.target[eid] = now
            changed.add(eid)
            if (before == eid) != (now == eid) and eid not in placed:  # it joined the pool or left it
                for other in self._near(eid, kind, self.pools[kind].labels[i]) - queued:
                    queued.add(other)
                    heapq.heappush(heap, other)
        return changed

    def _place(self, eid: str, kind: str, label: str, order: object) -> None:
        self.where[eid] = (kind, self.pools.setdefault(kind, NamePool()).add(eid, label))
        if order is not None:
            self.entries[eid] = order

    def _near(self, eid: str, kind: str, label: str) -> set[str]:
        """The minted names whose choice `eid` named `label` can change: near its spelling,
        after it in id order (an entry comes before all)."""
        pool = self.pools[kind]
        entry = eid in self.entries
        return {
            other
            for _, i in pool.close_to(letters(label), self.NEAR)
            if (other := pool.ids[i]) not in self.entries and self.where[other] == (kind, i) and (entry or other > eid)
        }

    def _decide(self, eid: str, kind: str, label: str) -> str:
        """The name `eid` joins, or itself."""
        pool = self.pools.get(kind)
        if pool is None:
            return eid

        def before(i: int) -> bool:  # in the pool `eid` is compared with
            other = pool.ids[i]
            if i in pool.gone or self.where[other] != (kind, i) or other == eid:
                return False
            return other in self.entries or (other < eid and self.target.get(other) == other)

        floor = pool.closest_same_name(label, self.inside, before)
        if floor is None:  # no name of the pool is the same name: whichever is closest, none joins
            return eid
        # the closest spelling that names no other entry inside it; the one at the floor is
        # among them. A point below the floor: rapidfuzz drops a score equal to a cutoff like 92.307...
        close = [(score, i) for score, i in pool.close_to(letters(label), max(SPELLING_MIN, floor - 1)) if before(i)]
        close.sort(key=lambda c: (-c[0], *self._rank(pool.ids[c[1]])))
        best = next((i for _, i in close if not names_apart(self.inside, pool.labels[i], label)), None)
        if best is None or not same_name(pool.labels[best], label):
            return eid
        return pool.ids[best]

    def _rank(self, eid: str) -> tuple:
        """Equals are taken in this order: entries first, in their order, then minted by id."""
        return (0, self.entries[eid], "") if eid in self.entries else (1, 0, eid)


class NamePool:
    """The names of one type, indexed by the two things same_name needs one of (the same
    consonants, or the same initials) and by their letters and bigrams (close_to).

    A minted name joins the closest spelling in the pool if that one is the same name. So a
    name that no name of the pool is the same name as joins none, whichever is closest: most
    names are settled that way from the few that share their skeleton or initials. For the
    rest, the closest spelling is at least as close as the closest same name, and only those
    are looked for among the whole pool. Comparing every minted name with the whole pool made
    merging quadratic: 16,000 people took 9 s, and a year of news mints tens of thousands."""

    FEW = 500  # candidates left by the bigrams that close_to compares without counting letters
    ALPHABET = "abcdefghijklmnopqrstuvwxyz"  # the letters counted per name; others count as shared

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.labels: list[str] = []
        self.spelled: list[str] = []  # letters() of each name, for rapidfuzz
        self.gone: set[int] = set()  # places of names since relabelled (NameMerge.put)
        self.by_skeleton: dict[str, list[int]] = {}
        self.by_initials: dict[tuple[str, ...], tuple[list[str], list[int]]] = {}  # spelled names, their places
        self.bigrams: dict[str, array] = {}  # bigram_keys -> the places of the names that have it
        self.lengths = array("i")  # len() of each spelled name
        self.letters = bytearray()  # each name's count of each letter of ALPHABET, 255 at most
        self._columns = None  # the letters by letter (numpy, 26 rows), for close_to: see _letter_columns
        self._in_columns = 0  # how many names _columns holds

    def add(self, eid: str, label: str) -> int:
        place, spelled = len(self.ids), letters(label)
        for key in bigram_keys(spelled):
            self.bigrams.setdefault(key, array("i")).append(place)
        self.lengths.append(len(spelled))
        counts = list(map(spelled.count, self.ALPHABET))
        self.letters.extend(counts if max(counts) < 256 else [min(n, 255) for n in counts])
        self.by_skeleton.setdefault(skeleton(label), []).append(place)
        block = self.by_initials.setdefault(initials(label), ([], []))
        block[0].append(spelled)
        block[1].append(place)
        self.spelled.append(spelled)
        self.ids.append(eid)
        self.labels.append(label)
        return place

    SECTIONS = 7  # of bytes, after NameMerge.dumps's head: see dump

    def dump(self) -> tuple[dict, list[bytes]]:
        """What NameMerge.dumps keeps of the pool: a little JSON (the places gone, the initials'
        and bigrams' keys, and how many places each has), and SECTIONS of bytes: the ids,
        labels, spellings and skeletons (packed), the places of each initials' block and of each
        bigram (int32), the letter counts. Each skeleton's places are not kept: 40,000 small
        lists take 0.1 s to read back, and the skeleton of each place is one packed list."""
        skeletons = [""] * len(self.ids)
        for key, places in self.by_skeleton.items():
            for place in places:
                skeletons[place] = key
        blocks = [(key, places) for key, (_, places) in self.by_initials.items()]
        state = {
            "gone": sorted(self.gone),
            "initials": [[list(key), len(places)] for key, places in blocks],
            "keys": list(self.bigrams),
            "counts": [len(a) for a in self.bigrams.values()],
        }
        sections = [packed(self.ids), packed(self.labels), packed(self.spelled), packed(skeletons)]
        sections.append(array("i", itertools.chain.from_iterable(places for _, places in blocks)).tobytes())
        sections.append(b"".join(a.tobytes() for a in self.bigrams.values()))
        return state, [*sections, bytes(self.letters)]

    @classmethod
    def load(cls, state: dict, sections: list[memoryview]) -> NamePool:
        pool = cls()
        ids, labels, spelled, skeletons, initials_at, bigrams_at, letter_counts = sections
        pool.ids, pool.labels, pool.spelled = unpacked(ids), unpacked(labels), unpacked(spelled)
        skeleton_of = unpacked(skeletons)
        if not len(pool.ids) == len(pool.labels) == len(pool.spelled) == len(skeleton_of):
            raise ValueError("a name pool's lists differ in length")
        pool.gone = set(state["gone"])
        for place, key in enumerate(skeleton_of):
            pool.by_skeleton.setdefault(key, []).append(place)
        places = array("i")
        places.frombytes(initials_at)
        every, at = places.tolist(), 0
        for key, count in state["initials"]:
            block = every[at : at + count]
            pool.by_initials[tuple(key)] = ([pool.spelled[i] for i in block], block)
            at += count
        at_initials, at = at, 0
        for key, count in zip(state["keys"], state["counts"], strict=True):
            pool.bigrams[key] = array("i")
            pool.bigrams[key].frombytes(bigrams_at[at : at + 4 * count])
            at += 4 * count
        pool.letters = bytearray(letter_counts)
        if (len(every), at, len(pool.letters)) != (at_initials, len(bigrams_at), len(cls.ALPHABET) * len(pool.ids)):
            raise ValueError("a name pool's places or letters do not add up")
        pool.lengths = array("i", map(len, pool.spelled))
        return pool

    def live(self, kind: str) -> dict[str, tuple[str, int]]:
        """Each id's place in the pool (`kind`), less the places gone: a name relabelled has its
        new place after its old one, and one whose type changed is live in the other pool."""
        places = dict(zip(self.ids, zip(itertools.repeat(kind), range(len(self.ids))), strict=True))
        for i in self.gone:
            if places.get(self.ids[i]) == (kind, i):
                del places[self.ids[i]]
        return places

    def closest_same_name(self, label: str, inside: Callable, among: Callable[[int], bool]) -> float | None:
        """The spelling ratio of the closest name here (`among` those) that is the same name as
        `label` (same_name) and names no other entry inside it (names_apart), None if there is
        none. same_name needs the same skeleton, or the same initials and a ratio of FUZZY_MIN."""
        spelled = letters(label)
        found = set(self.by_skeleton.get(skeleton(label), ()))
        spellings, places = self.by_initials.get(initials(label), ([], []))
        cutoff = FUZZY_MIN - 1  # a point's margin for extract's cutoff (see NameMerge._decide); same_name decides
        found.update(
            places[j]
            for _, _, j in process.extract(spelled, spellings, scorer=fuzz.ratio, limit=None, score_cutoff=cutoff)
        )
        same = [
            i
            for i in found
            if among(i) and same_name(self.labels[i], label) and not names_apart(inside, self.labels[i], label)
        ]
        return max((fuzz.ratio(spelled, self.spelled[i]) for i in same), default=None)

    def close_to(self, spelled: str, cutoff: float) -> list[tuple[float, int]]:
        """The ratio and place of each name whose spelling has a ratio of `cutoff` or more to
        `spelled`, in rapidfuzz's order (the closest first, the first of equals first).

        Only names with enough bigrams and letters in common are compared. d insertions and
        deletions leave two spellings at least max(lengths) - 1 - 2d bigrams in common (the
        q-gram lemma, repeats counted), with d = (1 - c/100) (len a + len b): that bound prunes
        at high cutoffs. The ratio is 200 LCS / (len a + len b), and the letters two spellings
        share (repeats counted) are at least their longest common subsequence: that bound
        prunes at low cutoffs (at 79, the bigrams leave 17,000 names of 40,000 made-up ones,
        the letters ~500). Both are counted for the whole pool at once in numpy (counting only
        the names that share a bigram was slower)."""
        import numpy as np  # here, not at the top: 0.15 s that kg query and kg serve need not pay

        if not self.ids:
            return []
        lengths = np.array(self.lengths, dtype=np.int32)
        both = len(spelled) + lengths
        if float(cutoff).is_integer():  # in integers: the same floor, 2-3x quicker over 40,000 names
            indels = (101 - int(cutoff)) * both // 100  # a point's margin: never too few
        else:
            indels = np.floor((101 - cutoff) * both / 100)
        enough = self._shared(bigram_keys(spelled)) >= np.maximum(len(spelled), lengths) - 1 - 2 * indels
        if np.count_nonzero(enough) > self.FEW:  # counting letters costs as much as comparing a few hundred
            enough &= self._letters_shared(spelled) * 200 >= (cutoff - 1) * both
        candidates = np.flatnonzero(enough).tolist()
        choices = [self.spelled[i] for i in candidates]
        close = process.extract(spelled, choices, scorer=fuzz.ratio, limit=None, score_cutoff=cutoff)
        return [(score, candidates[j]) for _, score, j in close]

    def _shared(self, keys: list[str]):
        """For each name, how many of `keys` it has."""
        import numpy as np

        found = [np.frombuffer(self.bigrams[k], dtype=np.intc) for k in keys if k in self.bigrams]
        if not found:  # the arrays are read in place, and let go before any can grow again
            return np.zeros(len(self.ids), dtype=np.intp)
        return np.bincount(np.concatenate(found), minlength=len(self.ids))

    def _letters_shared(self, spelled: str):
        """For each name, at least how many letters it shares with `spelled`, repeats counted:
        exactly for the letters of ALPHABET, and every other letter of `spelled` as shared. A
        count kept at 255 is exact against a spelling with fewer (and a longer one is all shared)."""
        import numpy as np

        wanted = [(column, n) for column, n in enumerate(map(spelled.count, self.ALPHABET)) if 0 < n < 256]
        if not wanted:
            return np.full(len(self.ids), len(spelled), dtype=np.intp)
        table = self._letter_columns()
        uncounted = len(spelled) - sum(n for _, n in wanted)  # the letters not counted, as shared
        shared = np.full(len(self.ids), uncounted, dtype=np.int32)
        for column, n in wanted:
            shared += np.minimum(table[column], n)
        return shared

    def _letter_columns(self):
        """The letter counts as 26 rows of one byte a name: a letter's counts for the whole pool
        are then contiguous, and counting a spelling's letters takes half the time it took to
        pick its columns out of the names' rows. Kept between searches and filled in with the
        names added since (a store add searches after each name it puts)."""
        import numpy as np

        n, width = len(self.ids), len(self.ALPHABET)
        if self._columns is None or self._columns.shape[1] < n:
            grown = np.empty((width, max(n, 2 * self._in_columns, 64)), dtype=np.uint8)
            if self._columns is not None:
                grown[:, : self._in_columns] = self._columns[:, : self._in_columns]
            self._columns = grown
        if self._in_columns < n:  # a copy: the bytearray is let go of before it can grow again
            rows = np.frombuffer(self.letters, dtype=np.uint8, offset=self._in_columns * width)
            self._columns[:, self._in_columns : n] = rows.reshape(-1, width).T
            del rows
            self._in_columns = n
        return self._columns[:, :n]


def packed(strings: list[str]) -> bytes:
    """Strings joined by NUL, marked by a NUL first: read back ~5x quicker than JSON. JSON when
    one of them holds a NUL itself (a label is text from a document)."""
    text = "\0".join(strings)
    if strings and text.count("\0") == len(strings) - 1:
        return b"\0" + text.encode()
    return json.dumps(strings, ensure_ascii=False).encode()


def unpacked(data: bytes | memoryview) -> list[str]:
    """What packed wrote."""
    data = bytes(data)
    if data[:1] == b"\0":
        return data[1:].decode().split("\0")
    strings = json.loads(data)
    if not isinstance(strings, list) or not all(isinstance(s, str) for s in strings):
        raise ValueError("not a list of strings")
    return strings


def tupled(value: object) -> object:
    """JSON's lists back as the tuples they were (orders compare, and are compared with new ones)."""
    return tuple(map(tupled, value)) if isinstance(value, list) else value


def bigram_keys(spelled: str) -> list[str]:
    """Each pair of letters in a spelling, numbered by its repeats ('ab0', then 'ab1' for a
    second 'ab'): the keys two spellings share count the bigrams they share, repeats included."""
    seen: dict[str, int] = {}
    keys = []
    for i in range(len(spelled) - 1):
        pair = spelled[i : i + 2]
        seen[pair] = seen.get(pair, -1) + 1
        keys.append(f"{pair}{seen[pair]}")
    return keys


def names_apart(inside, a: str, b: str) -> bool:
    """Both names embed entries (`inside`: Matcher.embedded), and not the same ones."""
    ia, ib = inside(a), inside(b)
    return bool(ia and ib and ia != ib)


def letters(name: str) -> str:
    """The name's letters, lower-cased: what spellings are compared on."""
    return "".join(filter(str.isalpha, name.lower()))


VOWELS = str.maketrans("", "", "aeiouy")


def skeleton(name: str) -> str:
    """Consonants only: transliterations differ in vowels (Rehman/Rahman, Baloch/Baluch)."""
    text = letters(name)
    return text[:1] + text[1:].translate(VOWELS)


def same_name(a: str, b: str) -> bool:
    """Conservative: near-identical spelling word for word, or the same consonants with a
    close spelling (Fazl-ur-Rehman / Fazlur Rahman). 'Balochistan National Party' is never
    'National Party', nor 'Imtiaz Baloch' 'Ishaq Baloch'."""
    ratio = fuzz.ratio(letters(a), letters(b))
    if same_initials(a, b) and ratio >= FUZZY_MIN:
        return True
    return skeleton(a) == skeleton(b) and ratio >= SPELLING_MIN


def same_initials(a: str, b: str) -> bool:
    return initials(a) == initials(b)


def initials(name: str) -> tuple[str, ...]:
    """The first letter of each word: 'Fazlur Rahman' ('f', 'r')."""
    return tuple(word[0].lower() for word in name.split())


def cluster_events(events: list[Event], entity_type, settled: Iterable[list[str]] = ()) -> dict[str, str]:
    """Local event id → cluster representative. Conservative: same family and a shared name,
    a shared facility target, or the same day with a shared perpetrator or place. Only events
    that share one of those keys are compared (blocking), and within a key's block only one
    report per date and names, so the cost follows the number of distinct reports of an
    event, not the square of its reports (a name thousands of articles give is one block).

    A store's update (kg.index) passes `settled`, groups of ids already known to be one event
    (its clusters of unchanged reports); comparing two of their reports again gives what it
    gave before, so they are compared only as the blocks bring them. A spilled build clusters
    the same way from blocks read off disk (kg.reports)."""
    uf = UnionFind()
    for e in events:
        uf.find(e.id)
    for group in settled:
        for other in group[1:]:
            uf.union(group[0], other)
    blocks: dict[tuple, list[Event]] = {}
    for e in events:
        for key in event_keys(e, entity_type):
            blocks.setdefault(key, []).append(e)
    for members in blocks.values():
        join_block(uf, members, entity_type)
    join_operations(uf, [e for e in events if e.type == "SecurityOperation" and not e.names])
    return {e.id: uf.find(e.id) for e in events}


def alike(e: Event) -> tuple:
    """Within a block, whether two reports are one event depends on this of each (same_event)."""
    return tuple(sorted(n.lower() for n in e.names)), e.date


def join_block(uf, members: list[Event], entity_type) -> None:
    """Union the reports of one key's block (in corpus order) that are one event. `uf`: a
    UnionFind over their ids, or any with its find and union."""
    for a, b in block_pairs(members, alike):
        if uf.find(a.id) != uf.find(b.id) and same_event(a, b, entity_type):
            uf.union(a.id, b.id)


def join_operations(uf, operations: list[Event]) -> None:
    """Operations answering the same event, on compatible dates, are one operation; until
    none joins, since two joined may be what other operations answered (one pass depended on
    order). `operations`: unnamed security operations, whose responds_to are ids in `uf`."""
    answered = lambda e: {("answers", uf.find(x)) for x in e.responds_to}  # noqa: E731
    joined = True
    while joined:
        joined = False
        for a, b in candidate_pairs(operations, answered, lambda e: e.date):
            if uf.find(a.id) != uf.find(b.id) and compatible(a.date, b.date):
                uf.union(a.id, b.id)
                joined = True


def event_keys(e: Event, entity_type) -> set[tuple]:
    fam = family(e.type)
    keys = {(fam, "name", n.lower()) for n in e.names}
    keys |= {(fam, "target", t) for t in e.targets if entity_type(t) == "Facility"}
    if e.date and len(e.date) == 10:  # same_event wants the day and a shared perpetrator or place
        keys |= {(fam, "day-by", e.date, p) for p in e.perpetrators}
        keys |= {(fam, "day-in", e.date, p) for p in e.locations}
    return keys


def candidate_pairs(events: list[Event], keys, alike) -> Iterator[tuple[Event, Event]]:
    """The pairs to compare so that the clusters come out as if every two events from
    different documents sharing a key were compared, when whether such a pair is one event
    depends on `alike(e)` of each alone (tested for same_event and compatible): each key's
    block's pairs (block_pairs). Generated: a big block costs no memory per pair."""
    blocks: dict[tuple, list[Event]] = {}
    for e in events:
        for key in keys(e):
            blocks.setdefault(key, []).append(e)
    for members in blocks.values():
        yield from block_pairs(members, alike)


def block_pairs(members: list[Event], alike) -> Iterator[tuple[Event, Event]]:
    """One block's pairs. Events alike are one event whenever they come from two documents
    or more: each is paired with one of them from another document. Across the groups of
    alike events, one pair per two groups decides them all; a group from one document has
    each of its events paired (they are not one with each other)."""
    groups: dict[object, list[Event]] = {}
    for e in members:
        groups.setdefault(alike(e), []).append(e)
    parts = list(groups.values())
    for group in parts:
        first, other = group[0], next((e for e in group if e.doc != group[0].doc), None)
        for e in group[1:]:
            partner = first if e.doc != first.doc else other
            if partner is not None:
                yield e, partner
    for i, one in enumerate(parts):
        for two in parts[i + 1 :]:
            yield from _across(one, two)


def _across(one: list[Event], two: list[Event]) -> Iterator[tuple[Event, Event]]:
    """Pairs that join two groups of alike events as all their pairs from different documents
    would: one pair, and each event of a group from a single document."""
    for a in one:
        b = next((e for e in two if e.doc != a.doc), None)
        if b is not None:
            break
    else:
        return  # both from the same one document
    yield a, b
    if all(e.doc == one[0].doc for e in one):
        yield from ((e, b) for e in one if e is not a)
    if all(e.doc == two[0].doc for e in two):
        yield from ((a, e) for e in two if e is not b)


def same_event(a: Event, b: Event, entity_type) -> bool:
    """Conservative. For reports sharing a key (event_keys) other than a name, the outcome
    depends on the second's names and date alone: a store's update reads one report per
    event, date and names among those sharing such a key (kg.index; tested)."""
    if a.names and b.names:
        return bool(set(n.lower() for n in a.names) & set(n.lower() for n in b.names))
    if not compatible(a.date, b.date):
        return False
    facilities = {t for t in a.targets & b.targets if entity_type(t) == "Facility"}
    if facilities:
        return True
    if a.date and b.date and len(a.date) == 10 and a.date == b.date:
        return bool(a.perpetrators & b.perpetrators or a.locations & b.locations)
    return False


class EventTraits:
    """What an event's label and merged fields are made of, gathered a report at a time in
    corpus order, so that an event thousands of articles report is merged without holding
    their reports (a spilled build reads them off disk one by one, kg.reports). Each value is
    the first report's to give it, or to give it most precisely."""

    def __init__(self) -> None:
        self.name: str | None = None  # the first name given
        self.aliases: dict[str, None] = {}  # each name given after the first (it again too), in order
        self.type = ""
        self.depth = -1  # how specific the type is (kg.vocab.ancestors)
        self.date: str | None = None
        self.date_evidence: Evidence | None = None
        self.description = ""
        self.targets: set[str] = set()
        self.places: set[str] = set()
        self.perpetrators: set[str] = set()
        self.participants: set[str] = set()

    def add(self, e: Event) -> None:
        for n in e.names:
            if self.name is None:
                self.name = n
            else:
                self.aliases[n] = None
        depth = len(ancestors(e.type))
        if depth > self.depth:
            self.type, self.depth = e.type, depth
        if e.date and (not self.date or len(e.date) > len(self.date)):
            self.date, self.date_evidence = e.date, e.date_evidence
        self.description = self.description or e.description
        self.targets.update(e.targets)
        self.places.update(e.locations)
        self.perpetrators.update(e.perpetrators)
        self.participants.update(e.participants)

    def label(self, labels: Mapping[str, str], people: Container[str] = frozenset()) -> tuple[str, list[str]]:
        """A name if the text gives one, else what, on whom or where, and when. A meeting is
        named after the body that met, not the person who chaired it."""
        if self.name is not None:
            return self.name, list(self.aliases)
        best_type, desc = self.type, self.description
        targets = sorted({labels.get(t, t) for t in self.targets})
        places = sorted({labels.get(p, p) for p in self.places})
        noun = {"SecurityOperation": "Security operation"}.get(best_type, best_type)
        if targets:
            text = f"{noun} on {', '.join(targets[:2])}" if best_type != "Meeting" else f"Meeting of {targets[0]}"
        elif desc:
            text = f"{noun} on {desc}" + (f" in {places[0]}" if places else "")
        elif self.perpetrators and best_type == "Protest":
            text = "Protest by " + ", ".join(sorted({labels.get(p, p) for p in self.perpetrators}))
        elif best_type == "Meeting" and self.participants:
            bodies = sorted(self.participants, key=lambda p: (p in people, p))
            text = "Meeting of " + labels.get(bodies[0], bodies[0])
        elif places:
            text = f"{noun} in {', '.join(places[:3])}"
        else:
            text = noun
        return (f"{text} ({self.date})" if self.date else text), []


def event_label(
    members: Iterable[Event], labels: Mapping[str, str], people: Container[str] = frozenset()
) -> tuple[str, list[str]]:
    """An event's label and aliases from its reports (EventTraits.label)."""
    traits = EventTraits()
    for e in members:
        traits.add(e)
    return traits.label(labels, people)


def resolve(
    results: list[DocResult],
    entities: dict[str, Entity] | None = None,
    rules: RuleSet | None = None,
    reports: Iterable[list[tuple]] | None = None,
    scratch: str | os.PathLike | None = None,
) -> Corpus:
    """One corpus from the documents' results, in their order. `entities`: the results'
    entities already folded (EntityFold), when the results were streamed without them;
    `rules`: the rules they were extracted with (the installed ones by default); `reports`:
    each result's event reports as rows (kg.reports.report_row), when a spilled build keeps
    them on disk rather than on the results: they are clustered from disk (kg.reports), in a
    database in the folder `scratch` (SQLite's temporary folder without one)."""
    corpus = Corpus(documents=[r.doc for r in results])
    corpus.entities, entity_map = merge_entities(results, entities, rules)
    for r in results:
        for rule, n in r.fired.items():
            corpus.fired[rule] = corpus.fired.get(rule, 0) + n
    types = {eid: e.type for eid, e in corpus.entities.items()}
    labels = {eid: e.label for eid, e in corpus.entities.items()}
    people = frozenset(eid for eid, e in corpus.entities.items() if e.type == "Person")
    published = {r.doc.id: r.doc.date for r in results}

    def merge(group: list[Event]) -> Event:
        return merged_event(group, labels, people, published)

    if reports is not None:
        from kg.reports import ReportTable  # (it builds on this module's clustering)

        table = ReportTable(scratch)
        with table.failing():
            for rows in reports:
                table.add(rows, entity_map, types.get)
            table.keep_events(table.cluster(types.get), merge)
            table.rename(name_responses(table.stored_events(), answers_of(table.answering(), table.event_of)))
        # (a spilled build's results hold no statements or claims: they wait in its spill)
        corpus.events, corpus.resolution, corpus.ids = table.stored_events(), table, entity_map  # type: ignore[assignment]
        return corpus
    local_events = [remap_event(e, entity_map) for r in results for e in r.events]
    event_ids: dict[str, str] = {}
    for group in grouped(local_events, cluster_events(local_events, types.get)):
        merged = merge(group)
        event_ids.update((e.id, merged.id) for e in group)
        corpus.events[merged.id] = merged
    answers = answers_of(local_events, event_ids.__getitem__)
    for name, resolved in entity_map.items():  # into event_ids, not a merged copy of both (44k reports at 100 MB)
        event_ids.setdefault(name, resolved)
    ids = corpus.ids = event_ids
    for r in results:
        for f in r.facts:
            key = fact_key(f, ids)
            if key is None:
                continue
            corpus.facts.setdefault(key, [])
            if f.evidence not in corpus.facts[key]:
                corpus.facts[key].append(f.evidence)
        for c in r.claims:
            add_claim(corpus, c, ids)
    name_responses(corpus.events, answers)
    for e in corpus.events.values():
        if e.date:
            corpus.facts.setdefault(date_key(e), []).append(e.date_evidence)
    return corpus


def grouped(events: list[Event], clusters: dict[str, str]) -> Iterator[list[Event]]:
    """The reports of each cluster, in their order, the clusters in the order of their first."""
    members: dict[str, list[Event]] = {}
    for e in events:
        members.setdefault(clusters[e.id], []).append(e)
    return iter(members.values())


def merged_event(
    group: Iterable[Event], labels: Mapping[str, str], people: Container[str], published: dict[str, str | None]
) -> Event:
    """One event from the reports of it (in corpus order), read once. Its id comes from one
    report, the earliest (by its document's date, then id; `published`: document id -> date):
    its label as that report alone gives it, and its id. An article that joins the event
    later, or makes its label more precise, does not rename it, so saved queries, notebooks
    and a store's other documents keep pointing at it; an archive loaded in date order never
    renames one."""
    traits = EventTraits()
    root: Event | None = None
    root_key: tuple = ()
    evidence: list[Evidence] = []
    for e in group:
        traits.add(e)
        key = earliest(published.get(e.doc), e.id)
        if root is None or key < root_key:
            root, root_key = e, key
        if len(evidence) < EVENT_EVIDENCE:
            evidence.extend(e.evidence[: EVENT_EVIDENCE - len(evidence)])
    if root is None:
        raise ValueError("an event is merged from one report or more")
    label, aliases = traits.label(labels, people)
    gid = f"event-{slugify(event_label([root], labels, people)[0])[:60]}-{event_id(root.id)}"
    # a merged event cites its first EVENT_EVIDENCE spans and names no actors of its own
    # (statements do): one shared empty set for each, not five new ones per event
    merged = Event(gid, "", traits.type, [label, *aliases], **dict.fromkeys(EVENT_SETS, NOTHING))
    merged.evidence = evidence
    merged.date, merged.date_evidence, merged.description = traits.date, traits.date_evidence, traits.description
    return merged


def earliest(date: str | None, report: str) -> tuple:
    """Reports by their document's date (undated ones last), then by id."""
    return (date is None, date or "", report)


def event_id(root: str) -> str:
    return hashlib.sha256(root.encode()).hexdigest()[:8]


def date_key(e: Event) -> tuple:
    return date_statement(e.id, e.date)


def date_statement(event: str, date: str | None) -> tuple:
    """The statement of an event's date (a Corpus.facts key)."""
    return (event, "date", date, "Asserted", None, None, True)


def fact_key(f: Fact, ids: dict[str, str]) -> tuple | None:
    """A statement's identity once entities and events are resolved; None for one that comes
    out reflexive (two names of one actor)."""
    key = (
        ids.get(f.subject, f.subject),
        f.predicate,
        ids.get(f.object, f.object),
        f.modality,
        ids.get(f.claimant, f.claimant),
        ids.get(f.denied_by, f.denied_by),
        f.literal,
    )
    return None if key[0] == key[2] else key


RESPONSE_LABELS = ("Security operation", "Attack")


def name_responses(events: Mapping[str, Event], answers: dict[str, set[str]]) -> list[Event]:
    """'Security operation' alone says little: name it after the event it answered, when it
    answered one (after two, either name would mislead). `answers`: event -> the events its
    reports answer. Names are taken before any renaming, so the order does not matter.
    Only the events `answers` names are read (a spilled build's are on disk); the renamed
    ones are returned."""
    named = {*answers, *(gid for answered in answers.values() for gid in answered)}
    base = {gid: events[gid].names[0] for gid in named if gid in events}  # names, not the events
    renamed = []
    for gid, answered in answers.items():
        answered = answered - {gid}
        if base.get(gid) in RESPONSE_LABELS and len(answered) == 1 and (only := next(iter(answered))) in base:
            event = events[gid]  # (held: the same event; on disk: read again, only if renamed)
            event.names[0] = f"{base[gid]} after {base[only]}"
            renamed.append(event)
    return renamed


def answers_of(reports: Iterable[Event], event_of: Callable[[str], str]) -> dict[str, set[str]]:
    """Resolved event -> the resolved events its reports answer (answers are within a
    document); `event_of`: a report's id -> its event's."""
    found: dict[str, set[str]] = {}
    for e in reports:
        if e.responds_to:
            found.setdefault(event_of(e.id), set()).update(event_of(x) for x in e.responds_to)
    return found


def add_claim(corpus: Corpus, c: Claim, ids: dict[str, str]) -> None:
    key = (ids.get(c.event, c.event), ids.get(c.claimant, c.claimant), c.outcome, c.category, c.count, c.qualifier)
    corpus.claims.setdefault(key, [])
    if c.evidence not in corpus.claims[key]:
        corpus.claims[key].append(c.evidence)
    if c.verified is False:
        corpus.unverified.add(key)
    if c.claimant_resolved:
        corpus.resolved_claimants.add(key)


def remap_event(e: Event, entity_map: dict[str, str]) -> Event:
    """Names resolved in a report's attributes; one that names none of the merged entities
    stays the set it is."""
    for attr in ("targets", "locations", "perpetrators", "participants"):
        names = getattr(e, attr)
        if any(x in entity_map for x in names):
            setattr(e, attr, {entity_map.get(x, x) for x in names})
    return e
