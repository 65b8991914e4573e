"""Events in one document: triggers, attributes, dates, claims of responsibility and
casualty figures, with each event mention resolved to one event of the document.

Cross-document merging is kg.resolve's job; here "one event" means one per document.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

from kg.match import Mention
from kg.model import Claim, Event, Evidence, Fact
from kg.rules import CLOSE, OPEN, SEP, Pattern, fold_case, mention_indices
from kg.text import MONTHS, Sentence
from kg.vocab import ancestors

EVENT_BASE = 1000  # event slots are numbered from here in the masked sentence
FOCUS_WINDOW = 4  # sentences an event stays in focus for anaphora

_WEEKDAY = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_MONTH = "(?:" + "|".join(m.capitalize() for m in MONTHS) + ")"
DATE_PATTERNS = [
    ("day", re.compile(rf"\b(?P<month>{_MONTH}) (?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,? (?P<year>(?:19|20)\d\d))?\b")),
    (
        "day",
        re.compile(
            rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)? (?:of )?(?P<month>{_MONTH})(?:,? (?P<year>(?:19|20)\d\d))?\b"
        ),
    ),
    ("month", re.compile(rf"\b(?:in |since |during )?(?P<month>{_MONTH}),? (?P<year>(?:19|20)\d\d)\b")),
    ("year", re.compile(r"\b(?:in|during) (?P<year>(?:19|20)\d\d)\b(?! (?:and|to|-))")),
    ("weekday", re.compile(rf"\b(?:on|last|[Aa]n?) (?P<weekday>{_WEEKDAY})\b")),
    ("weekday", re.compile(rf"\b(?P<weekday>{_WEEKDAY})'s\b")),
]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def family(event_type: str) -> str:
    return "Attack" if "Attack" in ancestors(event_type) else event_type


@dataclass
class EventMention:
    """One trigger match in one sentence, with what the sentence says about it."""

    pattern: Pattern
    type: str
    start: int  # original offsets of the trigger span
    end: int
    masked_start: int
    masked_end: int
    names: list[str] = field(default_factory=list)
    description: str = ""
    targets: set[str] = field(default_factory=set)
    locations: set[str] = field(default_factory=set)
    perpetrators: set[str] = field(default_factory=set)
    participants: set[str] = field(default_factory=set)
    date: str | None = None
    responds: list[int] = field(default_factory=list)  # indices of other mentions in the sentence
    resolved_to: list[str] = field(default_factory=list)
    second: bool = False
    sources: dict[tuple[str, str], str] = field(default_factory=dict)  # (attribute, entity) -> rule id

    @property
    def has_attributes(self) -> bool:
        return bool(self.names or self.targets or self.locations or self.date or self.participants or self.description)


@dataclass
class DocEvents:
    """The events of one document and which of them is in focus."""

    events: list[Event] = field(default_factory=list)
    focus: dict[str, tuple[str, int]] = field(default_factory=dict)  # family -> (event id, sentence)
    last_any: tuple[str, int] | None = None
    groups_seen: list[tuple[int, str]] = field(default_factory=list)  # (offset, armed group id)

    def get(self, eid: str) -> Event:
        return next(e for e in self.events if e.id == eid)

    def set_focus(self, event: Event, index: int) -> None:
        self.focus[family(event.type)] = (event.id, index)
        self.last_any = (event.id, index)

    def in_focus(self, fam: str, index: int) -> Event | None:
        found = self.focus.get(fam)
        if found and index - found[1] <= FOCUS_WINDOW:
            return self.get(found[0])
        return None

    def recent(self, fam: str, count: int) -> list[Event]:
        """The `count` most recently focused events of a family, for 'both attacks'."""
        ordered = [e for e in reversed(self.order) if family(e.type) == fam]
        unique: list[Event] = []
        for e in ordered:
            if e not in unique:
                unique.append(e)
        return unique[:count]

    order: list[Event] = field(default_factory=list)


# ---------------------------------------------------------------- dates
def resolve_date(match: re.Match, precision: str, doc_date: str | None) -> str | None:
    """A date expression at the precision the text gives; a missing year comes from the
    document's date, and is not guessed without one."""
    year = match.groupdict().get("year")
    if precision == "year":
        return year
    if precision == "weekday":
        return last_weekday(match.group("weekday"), doc_date)
    month = MONTHS.index(match.group("month").lower()) + 1
    if not year:
        if not doc_date:
            return None
        doc_year, doc_month = int(doc_date[:4]), int(doc_date[5:7]) if len(doc_date) >= 7 else None
        year = str(doc_year - 1 if doc_month and month - doc_month > 6 else doc_year)
    if precision == "month":
        return f"{year}-{month:02d}"
    day = int(match.group("day"))
    return f"{year}-{month:02d}-{day:02d}" if 1 <= day <= 31 else None


def last_weekday(name: str, doc_date: str | None) -> str | None:
    """'on Friday' in an article of a known day: that Friday, on or before the article's day."""
    if not doc_date or len(doc_date) != 10:
        return None
    day = datetime.date.fromisoformat(doc_date)
    back = (day.weekday() - WEEKDAYS.index(name.lower())) % 7
    return (day - datetime.timedelta(days=back)).isoformat()


def find_dates(
    sentence: Sentence, text: str, doc_date: str | None, patterns: list[tuple[str, re.Pattern]] | None = None
) -> list[tuple[int, int, str]]:
    """Date expressions in the sentence, by DATE_PATTERNS in order (or those of them that
    can match, when the caller has filtered them)."""
    found: list[tuple[int, int, str]] = []
    body = text[sentence.start : sentence.end]
    for precision, regex in DATE_PATTERNS if patterns is None else patterns:
        for m in regex.finditer(body):
            start, end = sentence.start + m.start(), sentence.start + m.end()
            if any(s < end and start < e for s, e, _ in found):
                continue
            value = resolve_date(m, precision, doc_date)
            if value:
                found.append((start, end, value))
    return found


# ---------------------------------------------------------------- the reader
class EventReader:
    def __init__(self, ctx):
        self.ctx = ctx
        self.rules = ctx.rules.events
        self.state = DocEvents()
        self.counter = 0
        self.figures = figure_reader(self.rules["figures"])
        self.attribution_cache: dict[int, list[tuple[int, Pattern, re.Match]]] = {}
        self.unverified = re.compile(self.rules["unverified"]["pattern"], re.I)
        self.both_sides = re.compile(self.rules["unverified"]["whole_document"], re.I)

    # ------------------------------------------------------------ triggers
    def triggers(self, index: int) -> tuple[list[EventMention], str]:
        masked = self.ctx.masked(index)
        taken: list[tuple[int, int]] = []
        mentions: list[EventMention] = []
        for pattern in self.ctx.candidates(self.rules["triggers"], index):
            for m in pattern.regex.finditer(masked.text):
                span = "span" if "span" in m.groupdict() and m.group("span") else 0
                s, e = m.start(span), m.end(span)
                if any(s < te and ts < e for ts, te in taken):
                    continue
                taken.append((s, e))
                mentions.extend(self.make_mentions(pattern, masked, m, s, e))
        mentions.sort(key=lambda em: (em.masked_start, em.second))
        return mentions, self.event_masked(masked.text, mentions)

    def make_mentions(self, pattern: Pattern, masked, m: re.Match, s: int, e: int) -> list[EventMention]:
        start, end = masked.span(s, e)
        em = EventMention(pattern, pattern.get("type"), start, end, s, e)
        groups = m.groupdict()
        if groups.get("name"):
            em.names.append(groups["name"].strip())
        if groups.get("alias"):
            em.names.append(groups["alias"].strip())
        if groups.get("desc"):
            em.description = groups["desc"]
        for slot, attr in (
            ("target", em.targets),
            ("loc", em.locations),
            ("perp", em.perpetrators),
            ("participant", em.participants),
        ):
            if groups.get(slot):
                attr.update(masked.mentions[i].entity for i in mention_indices(groups[slot]))
        result = [em]
        second = pattern.get("second")
        if second and groups.get(second["description"]):
            other = EventMention(pattern, second["type"], start, end, s, e, second=True)
            other.description = groups[second["description"]]
            if groups.get(second.get("loc", "")):
                other.locations.update(masked.mentions[i].entity for i in mention_indices(groups[second["loc"]]))
            result.append(other)
        return result

    @staticmethod
    def event_masked(text: str, mentions: list[EventMention]) -> str:
        """Replace each trigger span by an event slot numbered from EVENT_BASE."""
        if not mentions:
            return text
        out, cursor = [], 0
        for i, em in enumerate(mentions):
            if em.second:
                continue
            out.append(text[cursor : em.masked_start])
            tags = ",".join(sorted(ancestors(em.type)))
            out.append(f"{OPEN}{EVENT_BASE + i}{SEP}{tags}{CLOSE}")
            cursor = em.masked_end
        out.append(text[cursor:])
        return "".join(out)

    # ------------------------------------------------------------ attributes
    def attributes(self, index: int, mentions: list[EventMention], emasked: str, literals: int | None = None) -> None:
        masked = self.ctx.masked(index)
        for pattern in self.ctx.candidates(self.rules["attributes"], index, literals):
            for m in pattern.regex.finditer(emasked):
                evs = [mentions[i - EVENT_BASE] for i in mention_indices(m.group("ev")) if i >= EVENT_BASE]
                values = [
                    i
                    for name, text in m.groupdict().items()
                    if text and name.startswith("value")
                    for i in mention_indices(text)
                ]
                attribute = pattern.get("attribute")
                for em in evs:
                    if attribute == "respondsTo":
                        em.responds.extend(i - EVENT_BASE for i in values if i >= EVENT_BASE)
                        if pattern.get("reverse"):
                            em.responds.append(-1)  # answers the event in focus
                        em.sources[("respondsTo", "")] = pattern.id
                        continue
                    entities = self.attribute_values(pattern, [masked.mentions[i] for i in values if i < EVENT_BASE])
                    target = {
                        "location": em.locations,
                        "perpetrator": em.perpetrators,
                        "target": em.targets,
                        "participant": em.participants,
                    }[attribute]
                    for entity in entities - target:
                        em.sources[(attribute, entity)] = pattern.id
                    target.update(entities)
                self.ctx.fired(pattern.id)

    def attribute_values(self, pattern: Pattern, found: list[Mention]) -> set[str]:
        """The entities an attribute names; `value_via` maps a country to one of its
        institutions ("Pakistani forces" -> its military), `role` with no slot names the
        institution of the country the article is about ("security forces")."""
        via = pattern.get("value_via")
        if via:
            return {self.ctx.institution(m.entity, via) for m in found if m.type in ("Country", "Demonym")}
        if pattern.get("role") and not found:
            country = self.ctx.focus_country()
            return {self.ctx.institution(country, pattern.get("role"))} if country else set()
        return {m.entity for m in found}

    def assign_dates(self, sentence: Sentence, mentions: list[EventMention], index: int | None = None) -> None:
        primaries = [em for em in mentions if not em.second]
        if not primaries:  # a date goes to the nearest event mention: with none, nothing to do
            return
        patterns = None
        if index is not None:
            literals = self.ctx.raw_literals(index)
            patterns = [(p, r) for p, r, need in self.ctx.prefilter.dates if literals & need == need]
        for start, end, value in find_dates(sentence, self.ctx.text, self.ctx.doc.date, patterns):
            if not primaries:
                return
            nearest = min(primaries, key=lambda em: min(abs(start - em.end), abs(em.start - end)))
            if nearest.date is None:
                nearest.date = value

    # ------------------------------------------------------------ resolution within the document
    def resolve(self, em: EventMention, index: int, evidence: Evidence) -> list[Event]:
        fam = family(em.type)
        candidates = [e for e in self.state.events if family(e.type) == fam]
        if em.pattern.get("refers"):
            return self.state.recent(fam, int(em.pattern.get("refers")))
        found = None
        if em.names:
            found = next((e for e in candidates if set(e.names) & set(em.names)), None)
            focus = self.state.in_focus(fam, index)
            if not found and focus and not focus.names and focus.date and compatible(focus.date, em.date):
                found = focus
        if not found and em.targets & {t for t in em.targets if self.is_facility(t)}:
            found = next((e for e in candidates if e.targets & em.targets and compatible(e.date, em.date)), None)
        if not found and em.date and len(em.date) == 10:
            found = next((e for e in candidates if e.date == em.date), None)
        if not found and not em.names and not em.date and not em.targets and not em.description:
            # "the attacks" presupposes an event the document already reported; an indefinite
            # mention ("similar attacks in the past") never joins one, except an operation
            # named again by its kind ("clearance operations continued")
            refers_back = em.pattern.get("definite") or (fam == "SecurityOperation" and not em.has_attributes)
            if refers_back:
                focus = self.state.in_focus(fam, index)
                earlier = self.state.recent(fam, 1)
                found = focus or (earlier[0] if earlier else None)
                if not found and em.pattern.get("definite"):
                    return []
        if found:
            self.merge_into(found, em, evidence)
            return [found]
        if em.pattern.get("definite") and not em.has_attributes:
            return []
        if em.pattern.get("require") == "date" and not em.date:
            return []
        if not em.has_attributes and not em.pattern.get("responds_to_focus") and not em.perpetrators:
            return []
        event = Event(f"{self.ctx.doc.id}-e{self.counter}", self.ctx.doc.id, em.type)
        self.counter += 1
        self.state.events.append(event)
        self.merge_into(event, em, evidence)
        return [event]

    def is_facility(self, eid: str) -> bool:
        entity = self.ctx.result.entities.get(eid)
        return bool(entity and entity.type == "Facility")

    def merge_into(self, event: Event, em: EventMention, evidence: Evidence) -> None:
        if (
            "Attack" in ancestors(em.type)
            and em.type != event.type
            and em.type in ancestors(event.type) | {"Hijacking"}
        ):
            event.type = em.type if em.type == "Hijacking" else event.type
        for name in em.names:
            if name not in event.names:
                event.names.append(name)
        if em.date and not event.date:
            event.date = em.date
            event.date_evidence = Evidence(
                evidence.doc, evidence.start, evidence.end, evidence.quote, "date.expression"
            )
        event.description = event.description or em.description
        for attribute, values, current in (
            ("target", em.targets, event.targets),
            ("location", em.locations, event.locations),
            ("perpetrator", em.perpetrators, event.perpetrators),
            ("participant", em.participants, event.participants),
        ):
            for value in sorted(values - current):
                rule = em.sources.get((attribute, value), em.pattern.id)
                ev = Evidence(evidence.doc, evidence.start, evidence.end, evidence.quote, rule)
                self.ctx.result.facts.append(Fact(event.id, attribute, value, ev))
                current.add(value)
        if evidence not in event.evidence:
            event.evidence.append(evidence)

    # ------------------------------------------------------------ claims and figures
    def claims_of_responsibility(
        self, index: int, mentions: list[EventMention], emasked: str, sentence: Sentence, literals: int | None = None
    ) -> None:
        masked = self.ctx.masked(index)
        for pattern in self.ctx.candidates(self.rules["claims"], index, literals):
            for m in pattern.regex.finditer(emasked):
                groups, resolved = [], False
                if m.groupdict().get("g"):
                    groups = [masked.mentions[i].entity for i in mention_indices(m.group("g")) if i < EVENT_BASE]
                elif m.groupdict().get("anaphor"):
                    previous = self.previous_group(sentence.start)
                    groups, resolved = ([previous] if previous else []), True
                events: list[Event] = []
                if m.groupdict().get("ev"):
                    for i in mention_indices(m.group("ev")):
                        if i >= EVENT_BASE:
                            events.extend(self.events_of(mentions[i - EVENT_BASE]))
                else:
                    events = [e for em in mentions for e in self.events_of(em)] or self.focus_events(index)
                modality = "Hypothetical" if re.search(r"\b(?:could|may|might|would)\b", m.group(0)) else "Claimed"
                evidence = self.ctx.evidence(sentence, pattern.id, resolved)
                for group in groups:
                    for event in dict.fromkeys(events):
                        self.ctx.result.facts.append(
                            Fact(group, "claimedResponsibilityFor", event.id, evidence, modality)
                        )
                        self.ctx.fired(pattern.id)

    def events_of(self, em: EventMention) -> list[Event]:
        return [self.state.get(eid) for eid in em.resolved_to]

    def focus_events(self, index: int) -> list[Event]:
        if self.state.last_any and index - self.state.last_any[1] <= FOCUS_WINDOW:
            return [self.state.get(self.state.last_any[0])]
        return []

    def previous_group(self, offset: int) -> str | None:
        before = [g for pos, g in self.state.groups_seen if pos < offset]
        return before[-1] if before else None

    def claimant_at(self, index: int, sentence: Sentence, position: int, event: Event) -> tuple[str | None, bool]:
        """Who gives the figure at `position`: the nearest attribution before it, else after it."""
        masked = self.ctx.masked(index)
        found: list[tuple[int, str | None, bool, str]] = []
        for start, pattern, m in self.attribution_matches(index):
            who, resolved = self.attribution(pattern, masked, m, event, sentence.start)
            if who:
                found.append((start, who, resolved, pattern.id))
        if not found:
            return None, False
        before = [f for f in found if f[0] <= position]
        chosen = max(before, key=lambda f: f[0]) if before else min(found, key=lambda f: f[0])
        self.ctx.fired(chosen[3])
        return chosen[1], chosen[2]

    def attribution_matches(self, index: int) -> list[tuple[int, Pattern, re.Match]]:
        """Attribution patterns matched once per sentence, however many figures it holds."""
        if index not in self.attribution_cache:
            masked = self.ctx.masked(index)
            self.attribution_cache[index] = [
                (masked.span(m.start(), m.end())[0], pattern, m)
                for pattern in self.ctx.candidates(self.rules["attributions"], index)
                for m in pattern.regex.finditer(masked.text)
            ]
        return self.attribution_cache[index]

    def attribution(self, pattern: Pattern, masked, m: re.Match, event: Event, offset: int):
        role = pattern.get("role")
        if not role:
            ids = mention_indices(m.group("who"))
            mention = masked.mentions[ids[0]]
            return (mention.capital_of or mention.entity), False
        if role == "perpetrator":
            return (sorted(event.perpetrators)[0] if event.perpetrators else None), True
        if role == "previous_group":
            return self.previous_group(offset), True
        if role == "government" and m.groupdict().get("country"):
            country = masked.mentions[mention_indices(m.group("country"))[0]].entity
            return self.ctx.institution(country, "government"), True
        country = self.ctx.focus_country()
        return (self.ctx.institution(country, role) if country else None), True

    def casualty_figures(self, index: int, sentence: Sentence, mentions: list[EventMention]) -> list[Claim]:
        claims: list[Claim] = []
        if not any(em.resolved_to and not em.second for em in mentions) and not self.focus_events(index):
            return claims  # no event a figure could belong to (event_for_figure would find none)
        need, words = self.ctx.prefilter.figures, self.ctx.prefilter.number_words
        literals = self.ctx.raw_literals(index)
        if literals & need != need:  # no victim noun: the figure regex cannot match
            return claims
        for figure in self.figures.read(self.ctx.text, sentence, literals & words == words):
            event = self.event_for_figure(figure.start, mentions, index)
            if not event:
                continue
            claimant, resolved = self.claimant_at(index, sentence, figure.start, event)
            evidence = self.ctx.evidence(sentence, f"figure.{figure.outcome}.{figure.category}", resolved)
            self.ctx.fired("figure")
            claims.append(
                Claim(
                    event.id,
                    figure.outcome,
                    figure.category,
                    figure.count,
                    figure.qualifier,
                    evidence,
                    claimant,
                    None,
                    resolved,
                )
            )
        return claims

    def event_for_figure(self, position: int, mentions: list[EventMention], index: int) -> Event | None:
        placed = [em for em in mentions if em.resolved_to and not em.second]
        if placed:
            nearest = min(placed, key=lambda em: min(abs(position - em.end), abs(em.start - position)))
            return self.state.get(nearest.resolved_to[0])
        focus = self.focus_events(index)
        return focus[0] if focus else None

    # ------------------------------------------------------------ the document
    def read(self) -> None:
        ctx = self.ctx
        claims: list[Claim] = []
        paragraph_claims: dict[int, list[int]] = {}
        whole_document = False
        for index, sentence in enumerate(ctx.sentences):
            masked = ctx.masked(index)
            if masked.mentions:
                self.state.groups_seen.extend((m.start, m.entity) for m in masked.mentions if m.type == "ArmedGroup")
            mentions, emasked = self.triggers(index)
            # the clauses the event-masked sentence satisfies: the masked sentence's when no trigger
            literals = ctx.text_literals(emasked) if mentions else ctx.literals(index)
            self.assign_dates(sentence, mentions, index)
            if mentions:
                self.attributes(index, mentions, emasked, literals)
            evidence_of = {}
            for em in mentions:
                evidence = ctx.evidence(sentence, em.pattern.id)
                evidence_of[id(em)] = evidence
                resolved = self.resolve(em, index, evidence)
                em.resolved_to = [e.id for e in resolved]
                for event in resolved:
                    self.state.order.append(event)
                    self.state.set_focus(event, index)
                    ctx.fired(em.pattern.id)
            self.link_responses(index, mentions, sentence)
            self.refocus_by_target(index, masked.mentions)
            self.claims_of_responsibility(index, mentions, emasked, sentence, literals)
            found = self.casualty_figures(index, sentence, mentions)
            if found:  # the claims of each paragraph, by index (only paragraphs with claims are looked up)
                paragraph_claims.setdefault(sentence.paragraph, []).extend(range(len(claims), len(claims) + len(found)))
                claims.extend(found)
            need = ctx.prefilter.unverified
            if ctx.raw_literals(index) & need == need and self.unverified.search(sentence.text):
                whole_document = whole_document or bool(self.both_sides.search(sentence.text))
                if found:  # "..., a figure that could not be verified": that sentence's figures only
                    self.mark_unverified(claims, list(range(len(claims) - len(found), len(claims))), None)
                else:
                    self.mark_unverified(claims, paragraph_claims.get(sentence.paragraph, []), sentence)
        if whole_document:
            self.mark_unverified(claims, list(range(len(claims))), None)
        ctx.result.events.extend(self.state.events)
        ctx.result.claims.extend(claims)

    def mark_unverified(self, claims: list[Claim], same_paragraph: list[int], sentence: Sentence | None) -> None:
        """A sentence saying the figures could not be verified marks the figures before it in
        its paragraph and just before it; one about either side's figures marks them all
        (sentence None)."""
        window = {i for i, c in enumerate(claims) if sentence and 0 <= sentence.start - c.evidence.end < 600}
        for i in set(same_paragraph) | window:
            c = claims[i]
            claims[i] = Claim(
                c.event, c.outcome, c.category, c.count, c.qualifier, c.evidence, c.claimant, False, c.claimant_resolved
            )

    def link_responses(self, index: int, mentions: list[EventMention], sentence: Sentence) -> None:
        for em in mentions:
            for event in self.events_of(em):
                targets: list[Event] = []
                for other in em.responds:
                    if other == -1:
                        prior = [e for e in reversed(self.state.order[:-1]) if e.id != event.id]
                        targets.extend(prior[:1])
                    elif 0 <= other < len(mentions):
                        targets.extend(self.events_of(mentions[other]))
                if em.pattern.get("responds_to_focus") and not targets:
                    focus = self.state.focus.get("Attack")
                    if focus and index - focus[1] <= FOCUS_WINDOW * 2:
                        targets.append(self.state.get(focus[0]))
                for target in targets:
                    if target.id != event.id and target.id not in event.responds_to:
                        event.responds_to.add(target.id)
                        rule = em.sources.get(("respondsTo", ""), em.pattern.id)
                        ev = self.ctx.evidence(sentence, rule, resolved=bool(em.pattern.get("responds_to_focus")))
                        self.ctx.result.facts.append(Fact(event.id, "respondsTo", target.id, ev))

    def refocus_by_target(self, index: int, entity_mentions: list[Mention]) -> None:
        """Naming the target of an earlier event brings that event back into focus."""
        named = {m.entity for m in entity_mentions}
        for event in self.state.events:
            if event.targets & named and self.is_facility(next(iter(event.targets & named))):
                self.state.set_focus(event, index)


def compatible(a: str | None, b: str | None) -> bool:
    """Two dates can be the same event's: unknown, or equal at the coarser precision."""
    if not a or not b:
        return True
    n = min(len(a), len(b))
    return a[:n] == b[:n]


# ---------------------------------------------------------------- casualty figures
@dataclass
class Figure:
    start: int
    count: int
    qualifier: str
    category: str
    outcome: str


_figure_readers: dict[int, tuple[dict, FigureReader]] = {}


def figure_reader(spec: dict) -> FigureReader:
    """One reader per rule set: building one compiles ~100 patterns, which cost as much as reading
    a whole document. Keyed by the spec's identity (held, so the id cannot be reused)."""
    key = id(spec)
    if key not in _figure_readers or _figure_readers[key][0] is not spec:
        _figure_readers[key] = (spec, FigureReader(spec))
    return _figure_readers[key][1]


class FigureReader:
    """Numbers with a victim noun, and the outcome words before or after them.

    A cue before a figure ("the deaths of") carries forward over a list of figures, a cue
    after ("were killed") carries back over it: "at least 30 civilians and 18 soldiers were
    killed" gives two figures, both killed."""

    def __init__(self, spec: dict):
        words = spec["number_words"]
        self.words = {k.lower(): int(v) for k, v in words.items()}
        number = r"\d{1,3}(?:,\d{3})+|\d+|" + "|".join(sorted(map(re.escape, self.words), key=len, reverse=True))
        quals = {q: k for k, vs in spec["qualifiers"].items() for q in vs}
        self.quals = quals
        qual = "|".join(sorted(map(re.escape, quals), key=len, reverse=True))
        cats = {c.lower(): k for k, vs in spec["categories"].items() for c in vs}
        self.cats = cats
        cat = "|".join(sorted(map(re.escape, cats), key=len, reverse=True))
        self.figure = re.compile(
            rf"(?<![\w.$])(?:(?P<qual>{qual}) )?(?P<num>{number})\+?(?P<alt> \([^)]{{0,60}}\))? "
            rf"(?P<adj>(?:[\w'-]+ ){{0,2}}?)(?P<cat>{cat})\b(?P<alt2> \([^)]{{0,60}}\))?",
            re.I,
        )
        # is there a number at all? a digit anywhere (fast), else a number word
        self.has_digit = re.compile(r"\d")
        self.has_word = re.compile(r"\b(?:" + "|".join(map(re.escape, self.words)) + r")\b", re.I)
        self.alt_number = re.compile(rf"(?:(?P<qual>{qual}) )?(?P<num>\d+)\+?", re.I)
        self.before = self._cues(spec["outcomes_before"], after=False)
        self.after = self._cues(spec["outcomes_after"], after=True)

    @staticmethod
    def _cues(table: dict, after: bool) -> list[tuple[re.Pattern, str, str]]:
        """(regex, outcome, literal): the literal, when the cue is ASCII, is in the fold_case
        form of any window the regex matches, so a window without it is skipped."""
        cues = [(c, k) for k, vs in table.items() for c in vs]
        cues.sort(key=lambda x: -len(x[0]))
        return [(re.compile(rf"\b{re.escape(c)}\b", re.I), k, c.lower() if c.isascii() else "") for c, k in cues]

    def number(self, text: str) -> int | None:
        text = text.lower().replace(",", "")
        return int(text) if text.isdigit() else self.words.get(text)

    def read(self, text: str, sentence: Sentence, words_possible: bool = True) -> list[Figure]:
        """`words_possible` False: the caller knows no number word is in the sentence."""
        body = text[sentence.start : sentence.end]
        # most sentences hold no figure at all
        if not self.has_digit.search(body) and not (words_possible and self.has_word.search(body)):
            return []
        spans = []
        for m in self.figure.finditer(body):
            count = self.number(m.group("num"))
            if count is None or self.is_date_part(body, m):
                continue
            qualifier = self.quals.get(fold_case(m.group("qual") or ""), "Exactly")
            category = self.cats[fold_case(m.group("cat"))]
            spans.append((m.start(), m.end(), count, qualifier, category, m))
        figures = []
        for i, (start, _end, count, qualifier, category, m) in enumerate(spans):
            if category == "People" and fold_case(m.group("cat")) == "others" and i > 0:
                category = spans[i - 1][4]
            outcome = self.outcome(body, spans, i)
            if not outcome:
                continue
            figures.append(Figure(sentence.start + start, count, qualifier, category, outcome))
            for alt in (m.group("alt"), m.group("alt2")):
                for a in self.alt_number.finditer(alt or ""):
                    q = self.quals.get((a.group("qual") or "").lower(), "Exactly")
                    figures.append(Figure(sentence.start + start, int(a.group("num")), q, category, outcome))
        return figures

    @staticmethod
    def is_date_part(body: str, m: re.Match) -> bool:
        """'on 2 March 2026 left several officers dead': neither 2 nor 2026 counts people."""
        number = m.group("num")
        before = body[: m.start("num")].rstrip().split(" ")[-1].lower()
        after = body[m.end("num") :].lstrip().split(" ")[0].lower().strip(",")
        if before in MONTHS or after in MONTHS:
            return True
        return len(number) == 4 and number[:2] in ("19", "20") and bool(m.group("adj").strip())

    def outcome(self, body: str, spans: list, i: int) -> str | None:
        """The cue right before the figure (over a list of figures), else the cue right after."""
        start = spans[i][0]
        j = i
        while True:
            left_edge = spans[j - 1][1] if j > 0 else 0
            window = body[left_edge : spans[j][0]]
            cue = self.last_cue(window)
            if cue:
                return cue
            if j > 0 and is_connective(window):
                j -= 1
                continue
            break
        j = i
        while True:
            right_edge = spans[j + 1][0] if j + 1 < len(spans) else len(body)
            window = body[spans[j][1] : right_edge]
            cue = self.first_cue(window)
            if cue:
                return cue
            if j + 1 < len(spans) and is_connective(window):
                j += 1
                continue
            break
        del start
        return None

    def last_cue(self, window: str) -> str | None:
        """A before-cue at the very end of the window (only articles and qualifiers after it)."""
        best = None
        folded = fold_case(window)
        for regex, kind, literal in self.before:
            if literal not in folded:
                continue
            for m in regex.finditer(window):
                rest = window[m.end() :]
                if AFTER_BEFORE_CUE.fullmatch(rest) and (not best or m.end() > best[0]):
                    best = (m.end(), kind)
        return best[1] if best else None

    def first_cue(self, window: str) -> str | None:
        best = None
        folded = fold_case(window)
        for regex, kind, literal in self.after:
            if literal not in folded:
                continue
            m = regex.search(window)
            between = window[: m.start()] if m else ""
            if m and AUXILIARIES.fullmatch(between) and (not best or m.start() < best[0]):
                best = (m.start(), kind)
        return best[1] if best else None


AUXILIARIES = re.compile(
    r"[\s,]*(?:(?:on board|aboard|inside|in (?:the|that) (?:attack|blast|explosion|incident|ambush|assault))\s*,?\s*)?"
    r"(?:have |had |has |were |was |been |are |reportedly |all |also )*"
)


AFTER_BEFORE_CUE = re.compile(r"\s*(?:to have |to |have |the |all |an? )?\s*")
CONNECTIVE = re.compile(r"[\s,;]*(?:\([^)]*\))?[\s,;]*(?:and|or|including|as well as|plus|with)?[\s,;]*")


def is_connective(window: str) -> bool:
    return bool(CONNECTIVE.fullmatch(window))


def read_events(ctx) -> None:
    EventReader(ctx).read()
