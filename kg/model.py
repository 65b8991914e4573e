"""Plain records passed between the pipeline stages: what was found, and where it was said."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import attrgetter

EVENT_EVIDENCE = 5  # evidence spans an event's node cites (the store's index reads no more: kg.index)
EVENT_SETS = ("targets", "locations", "perpetrators", "participants", "responds_to")
NOTHING: frozenset[str] = frozenset()  # the empty set events share where they have none (never added to)


def pickled_by_fields(cls: type) -> type:
    """Pickle a frozen slotted dataclass as its constructor and its fields' values.

    Workers send their records back pickled (kg.parallel). The state functions dataclasses
    give a frozen slotted class call `fields()` for every object pickled and read back: a
    third of the pickling's time, half of it in the parent on a core the workers need (the
    10 MB corpus's records: dumped in 0.20 s and read in 0.18 s that way, 0.11 and 0.12 s so)."""
    values = attrgetter(*(f.name for f in fields(cls)))
    cls.__reduce__ = lambda self: (cls, values(self))  # type: ignore[method-assign]
    return cls


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Evidence:
    """One span of one document that supports a statement, and the rule that read it."""

    doc: str
    start: int
    end: int
    quote: str
    rule: str
    resolved: bool = False


@dataclass(slots=True)
class Entity:
    """An actor, place or facility; `id` is the IRI slug."""

    id: str
    label: str
    type: str
    aliases: set[str] = field(default_factory=set)
    entry: str | None = None  # the dictionary file and entry it comes from, if any
    evidence: list[Evidence] = field(default_factory=list)  # where a minted name was found
    mentions: int = 0


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Fact:
    """subject predicate object, with how it is put and where it is said."""

    subject: str
    predicate: str
    object: str
    evidence: Evidence
    modality: str = "Asserted"
    claimant: str | None = None
    denied_by: str | None = None
    literal: bool = False  # object is a literal (dates), not an entity or event id


@dataclass(eq=False, slots=True)
class Event:
    """An event as one document reports it; resolution merges them across documents."""

    id: str  # document-local until resolved
    doc: str
    type: str
    names: list[str] = field(default_factory=list)
    date: str | None = None
    date_evidence: Evidence | None = None
    description: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    targets: set[str] = field(default_factory=set)
    locations: set[str] = field(default_factory=set)
    perpetrators: set[str] = field(default_factory=set)
    participants: set[str] = field(default_factory=set)
    responds_to: set[str] = field(default_factory=set)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Claim:
    """One side's figure for one outcome of one event."""

    event: str
    outcome: str
    category: str
    count: int
    qualifier: str
    evidence: Evidence
    claimant: str | None = None
    verified: bool | None = None
    claimant_resolved: bool = False


@dataclass(slots=True)
class DocResult:
    """Everything extracted from one document."""

    doc: object
    entities: dict[str, Entity] = field(default_factory=dict)
    facts: list[Fact] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    fired: dict[str, int] = field(default_factory=dict)
    packed: bytes | None = None  # facts and claims packed by a worker for a build's spill (kg.spill)
    packed_reports: bytes | None = None  # and its event reports (kg.reports.report_row)
    indexed: bytes | None = None  # its records as a store's index keeps them, made by a worker (kg.index.index_record)
