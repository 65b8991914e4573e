"""Document + rules → entities, relation facts, events and claims, each with its evidence.

Stages inside one document: find names (dictionary, then name patterns), mask each
sentence, run relation patterns over the masked sentences, then hand over to the event
reader (kg.events).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from kg.ingest import Document
from kg.match import Masked, Matcher, Mention, mask_inside, mentions_by_sentence, select_longest, slugify
from kg.model import DocResult, Entity, Evidence, Fact
from kg.rules import Entry, LiteralFilter, Pattern, RuleSet, is_plain, load_rules, mention_indices, needed_literals
from kg.text import Sentence, normalise, split_sentences

HEDGE = re.compile(r"\b(?:could|may|might|would|possibly|reportedly|allegedly|likely to|plans? to)\b", re.I)
CAPITALISED_PAIR = re.compile(r"[A-Z][a-z.]+[ -][A-Z]")
TITLED = {"person.office-title", "person.honorific"}
NEGATION = re.compile(r"\b(?:not|never|no longer|denied|denies|deny|rejected|rejects)\b|n't\b", re.I)


@dataclass
class Context:
    """What one document's readers share: its text, sentences, names and the rules."""

    doc: Document
    text: str  # normalised, same length as doc.text
    sentences: list[Sentence]
    mentions: list[Mention]
    rules: RuleSet
    result: DocResult
    masks: dict[int, Masked] = field(default_factory=dict)
    focus: tuple[str | None] | None = None
    words: dict[int, tuple[int, int]] = field(default_factory=dict)
    name_masks: dict[int, Masked] = field(default_factory=dict)  # sentences masked by dictionary names
    prefilter: Prefilter = None  # type: ignore[assignment]  # set in __post_init__
    plain: bool = True  # no character that lower() and fold_case() treat differently

    def __post_init__(self) -> None:
        self.prefilter = prefilter_for(self.rules)
        self.plain = is_plain(self.text)

    grouped: tuple[list[Mention], list[list[Mention]]] | None = None  # (mentions, their run per sentence)

    def inside(self, index: int) -> list[Mention]:
        """The mentions inside sentence `index` (mentions_inside), found for all sentences at once."""
        if self.grouped is None or self.grouped[0] is not self.mentions:
            spans = [(s.start, s.end) for s in self.sentences]
            self.grouped = (self.mentions, mentions_by_sentence(self.mentions, spans))
        return self.grouped[1][index]

    def masked(self, index: int) -> Masked:
        if index not in self.masks:
            s = self.sentences[index]
            inside = self.inside(index)
            earlier = self.name_masks.get(index)
            # most sentences gain no minted name: the mask the name patterns ran over is this one
            if earlier is not None and earlier.mentions == inside:
                self.masks[index] = earlier
            else:
                self.masks[index] = mask_inside(s.text, s.start, inside)
        return self.masks[index]

    def literals(self, index: int) -> int:
        """The literal clauses the masked sentence `index` satisfies (see kg.rules.LiteralFilter)."""
        return self.masked_literals(self.masked(index))

    def masked_literals(self, masked: Masked) -> int:
        """The clauses a masked sentence satisfies; kept on it (a mask may serve twice)."""
        if masked.literals is None:
            masked.literals = self.text_literals(masked.text)
        return masked.literals

    def text_literals(self, text: str) -> int:
        flt = self.prefilter.filter
        return flt.satisfied_folded(text.lower()) if self.plain else flt.satisfied(text)

    def sentence_literals(self, index: int) -> tuple[int, int]:
        """The clauses sentence `index` as written satisfies: in its lower-case form (the
        `requires` words, as always looked for) and in fold_case form (the literals of regexes
        run over the sentence itself). One pass where the two forms are the same text."""
        if index not in self.words:
            masked = self.masked(index)
            if self.plain and not masked.mentions:  # nothing masked: the masked sentence's pass serves
                bits = self.masked_literals(masked)
                self.words[index] = (bits, bits)
                return self.words[index]
            text = self.sentences[index].text
            flt = self.prefilter.filter
            lowered = flt.satisfied_folded(text.lower())
            self.words[index] = (lowered, lowered if self.plain else flt.satisfied(text))
        return self.words[index]

    def raw_literals(self, index: int) -> int:
        """The literal clauses sentence `index` as written satisfies (fold_case form)."""
        return self.sentence_literals(index)[1]

    def candidates(self, patterns: list[Pattern], index: int, literals: int | None = None) -> list[Pattern]:
        """The patterns that can match sentence `index`, in rule order: their `requires` words
        occur in the sentence, and their needed literals in the masked sentence (or in the text
        whose clauses `literals` are, when given)."""
        if literals is None:
            literals = self.literals(index)
        return self.prefilter.select(patterns, literals, self.sentence_literals(index)[0])

    def evidence(self, sentence: Sentence, rule: str, resolved: bool = False) -> Evidence:
        return Evidence(
            self.doc.id, sentence.start, sentence.end, self.doc.text[sentence.start : sentence.end], rule, resolved
        )

    def fired(self, rule: str) -> None:
        self.result.fired[rule] = self.result.fired.get(rule, 0) + 1

    # ------------------------------------------------------------ entity helpers
    def focus_country(self) -> str | None:
        """The country the document is about: the only one named (twice or more), or named at least
        3 times and twice as often as any other. Counted once: mentions are fixed by then."""
        if self.focus is None:
            self.focus = (self.count_focus_country(),)
        return self.focus[0]

    def count_focus_country(self) -> str | None:
        counts = Counter(
            m.entity
            for m in self.mentions
            if m.type in ("Country", "Demonym")
            or (m.entity in self.rules.entries and self.rules.entries[m.entity].type == "Country")
        )
        ranked = counts.most_common(2)
        if not ranked or ranked[0][1] < (2 if len(ranked) == 1 else 3):
            return None
        if len(ranked) > 1 and ranked[0][1] < 2 * ranked[1][1]:
            return None
        return ranked[0][0]

    def institution(self, place: str, role: str) -> str:
        """The state body with `role` for a country or province, minted by name if no entry has it."""
        for entry in self.rules.entries.values():
            if entry.role == role and place in (entry.country, entry.province):
                self.ensure(entry.id)
                return entry.id
        place_entry = self.rules.entries.get(place)
        name = place_entry.name if place_entry else place
        label = f"Government of {name}" if role == "government" else f"Armed forces of {name}"
        eid = slugify(label)
        if eid not in self.result.entities:
            self.result.entities[eid] = Entity(eid, label, "StateBody")
        return eid

    def ensure(self, eid: str) -> None:
        if eid not in self.result.entities and eid in self.rules.entries:
            entry = self.rules.entries[eid]
            self.result.entities[eid] = Entity(eid, entry.name, entry.type, entry=f"{entry.file}#{entry.id}")


# ---------------------------------------------------------------- names
def minted_names(ctx: Context, dict_mentions: list[Mention]) -> dict[str, tuple[str, str, str, set[str], Evidence]]:
    """People and organisations found by name patterns: name → (id, type, rule, aliases, evidence)."""
    names = ctx.rules.names
    stop = set(names.get("not_name_words", []))
    not_first = set(names.get("not_first_name_words", []))
    strip = re.compile(r"^(?:" + names["macros"]["HONORIFIC"] + "|" + names["macros"]["OFFICE"] + r")\s+")
    found: dict[str, tuple[str, str, str, set[str], Evidence]] = {}
    groups = mentions_by_sentence(dict_mentions, [(s.start, s.end) for s in ctx.sentences])
    for index, sentence in enumerate(ctx.sentences):
        masked = mask_inside(sentence.text, sentence.start, groups[index])
        ctx.name_masks[index] = masked
        if not CAPITALISED_PAIR.search(masked.text):  # every name pattern needs two capitalised words
            continue
        literals = ctx.masked_literals(masked)
        for kind, patterns in (("Person", names["person_patterns"]), (None, names["org_patterns"])):
            for pattern in ctx.prefilter.select(patterns, literals, 0):
                for match in pattern.regex.finditer(masked.text):
                    raw = match.group("name")
                    aliases = {raw}
                    titled = bool(kind and strip.match(raw)) or pattern.id in TITLED
                    while kind and strip.match(raw):
                        raw = strip.sub("", raw, count=1)
                    tokens = raw.split()
                    # one word is a name only as a titled compound ("Maulana Fazl-ur-Rehman")
                    single_ok = titled and len(tokens) == 1 and "-" in tokens[0]
                    if (
                        (len(tokens) < 2 and not single_ok)
                        or tokens[0] in not_first
                        or any(t in stop for t in (tokens if kind else tokens[:1]))
                    ):
                        continue
                    if kind and any(t in stop for t in tokens):
                        continue
                    if "alias" in match.groupdict() and match.group("alias"):
                        aliases.add(match.group("alias"))
                    etype = kind or pattern.get("type")
                    if raw not in found:
                        found[raw] = (slugify(raw), etype, pattern.id, aliases, ctx.evidence(sentence, pattern.id))
                        ctx.fired(pattern.id)
                    else:
                        found[raw][3].update(aliases)
        del index
    return found


def find_mentions(ctx: Context, matcher: Matcher) -> list[Mention]:
    """Dictionary names, then minted names and their unambiguous surnames, then 'Name (ACR)' merged."""
    dict_mentions = matcher.scan(ctx.text)
    minted = minted_names(ctx, dict_mentions)
    common = set(ctx.rules.names.get("common_surnames", []))
    local: dict[str, Entry] = {}
    surnames = Counter(name.split()[-1] for name, v in minted.items() if v[1] == "Person")
    for name, (eid, etype, rule, aliases, evidence) in minted.items():
        extra = [a for a in aliases if a != name]
        last = name.split()[-1]
        if (
            etype == "Person"
            and surnames[last] == 1
            and last not in common
            and last.casefold() not in matcher_names(matcher)
        ):
            extra.append(last)
        local[eid] = Entry(eid, name, etype, tuple(extra), source=rule)
        entity = ctx.result.entities.setdefault(eid, Entity(eid, name, etype))
        entity.evidence.append(evidence)
        entity.aliases.update(a for a in aliases if a != name)
    local_matcher = Matcher(local) if local else None
    found = dict_mentions + (local_matcher.scan(ctx.text, "name") if local_matcher else [])
    mentions = select_longest(found)
    return merge_parentheticals(ctx.text, mentions)


_names_cache: dict[int, set[str]] = {}


def matcher_names(matcher: Matcher) -> set[str]:
    key = id(matcher)
    if key not in _names_cache:
        _names_cache[key] = {k for k in matcher.automaton} if not matcher.empty else set()
    return _names_cache[key]


def merge_parentheticals(text: str, mentions: list[Mention]) -> list[Mention]:
    """'Tehreek-e-Taliban Pakistan (TTP)' is one mention of one entity."""
    merged: list[Mention] = []
    for m in mentions:
        if merged:
            prev = merged[-1]
            between = text[prev.end : m.start]
            if prev.entity == m.entity and between.strip() == "(" and text[m.end : m.end + 1] == ")":
                merged[-1] = Mention(
                    prev.start, m.end + 1, prev.entity, prev.type, prev.surface, prev.rule, prev.capital_of
                )
                continue
        merged.append(m)
    return merged


# ---------------------------------------------------------------- relations
def modality_of(masked_text: str, start: int, end: int) -> str:
    """Negation or hedging just before the match or near its end (where the predicate is)."""
    window = masked_text[max(0, start - 40) : start] + " " + masked_text[max(start, end - 80) : end]
    if NEGATION.search(window):
        return "Denied"
    if HEDGE.search(window):
        return "Hypothetical"
    return "Asserted"


def slot_mentions(masked: Masked, match: re.Match, slot: str) -> list[Mention]:
    """Mentions in slot `slot` and its numbered twins (obj, obj2, ...)."""
    found = []
    for name, text in match.groupdict().items():
        if text and (name == slot or (name[:-1] == slot and name[-1].isdigit())):
            found.extend(masked.mentions[i] for i in mention_indices(text))
    return found


def as_actor(ctx: Context, mention: Mention) -> str:
    """A capital city in an actor slot stands for its country; a demonym for its country."""
    if mention.capital_of:
        ctx.ensure(mention.capital_of)
        return mention.capital_of
    return mention.entity


def previous_org(ctx: Context, index: int) -> str | None:
    """The one organisation named in the previous sentence, for 'Its presence ...'."""
    if index == 0:
        return None
    orgs = {m.entity for m in ctx.masked(index - 1).mentions if "Organization" in m.tags.split(",")}
    return orgs.pop() if len(orgs) == 1 else None


def apply_relation(ctx: Context, pattern: Pattern, index: int, masked: Masked, match: re.Match) -> None:
    sentence = ctx.sentences[index]
    resolved = bool(pattern.get("resolved"))
    subjects = [as_actor(ctx, m) for m in slot_mentions(masked, match, "subj")]
    if not subjects and pattern.get("subject_default") == "previous_org":
        subject = previous_org(ctx, index)
        subjects = [subject] if subject else []
    objects = [as_actor(ctx, m) for m in slot_mentions(masked, match, "obj")]
    if pattern.get("object_via") == "government":
        objects = [ctx.institution(o, "government") for o in objects]
        resolved = True
    if not objects and pattern.get("object_default") == "focus_government":
        country = ctx.focus_country()
        objects = [ctx.institution(country, "government")] if country else []
    if not subjects or not objects:
        return
    modality = pattern.get("modality", "Asserted")
    if pattern.get("modality_check", True):
        found = modality_of(masked.text, match.start(), match.end())
        modality = found if found != "Asserted" else modality
    evidence = ctx.evidence(sentence, pattern.id, resolved)
    for subject in subjects:
        for obj in objects:
            if subject != obj:
                ctx.result.facts.append(Fact(subject, pattern.get("relation"), obj, evidence, modality))
                ctx.fired(pattern.id)
    allegation = pattern.get("allegation")
    if allegation:
        add_allegation(ctx, allegation, masked, match, subjects, evidence)


def add_allegation(
    ctx: Context, spec: dict, masked: Masked, match: re.Match, claimants: list[str], evidence: Evidence
) -> None:
    """An allegation is reported, never asserted: an rdf:Statement with its claimant and denier."""
    about = [as_actor(ctx, m) for m in slot_mentions(masked, match, spec["object"])]
    alleged = [as_actor(ctx, m) for m in slot_mentions(masked, match, spec["subject"])]
    deniers = [as_actor(ctx, m) for m in slot_mentions(masked, match, spec.get("denied_by", ""))]
    for subject in alleged:
        for obj in about:
            for claimant in claimants:
                ctx.result.facts.append(
                    Fact(
                        subject, spec["predicate"], obj, evidence, "Alleged", claimant, deniers[0] if deniers else None
                    )
                )


def read_relations(ctx: Context) -> None:
    for index, _sentence in enumerate(ctx.sentences):
        masked = None
        for pattern in ctx.candidates(ctx.rules.relations, index):
            masked = masked or ctx.masked(index)
            for match in pattern.regex.finditer(masked.text):
                apply_relation(ctx, pattern, index, masked, match)


# ---------------------------------------------------------------- pre-filters
class Prefilter:
    """Which patterns can match a sentence, found without running them.

    Two tests, both cheap: the rules' hand-written `requires` words (one of them in the
    lower-cased sentence) and the literals each regex needs, read off the regex itself
    (kg.rules.needed_literals; in the masked sentence it runs over). Both are clauses of one
    LiteralFilter, so one Aho-Corasick pass per text finds them. A pattern that fails either
    cannot match, so skipping it changes nothing. The event reader's fixed regexes (dates,
    casualty figures, unverified figures) are registered too."""

    MEMO_LIMIT = 100_000

    def __init__(self, rules: RuleSet):
        from kg.events import DATE_PATTERNS, figure_reader

        self.rules = rules
        groups = [rules.names["person_patterns"], rules.names["org_patterns"], rules.relations]
        groups += [rules.events[s] for s in ("triggers", "attributes", "claims", "attributions")]
        self.groups = groups
        figures = figure_reader(rules.events["figures"])
        self.unverified_regex = re.compile(rules.events["unverified"]["pattern"], re.I)
        fixed = [regex for _, regex in DATE_PATTERNS] + [figures.figure, figures.has_word, self.unverified_regex]
        words = [frozenset(p.requires) for g in groups[2:] for p in g if p.requires]
        self.filter = LiteralFilter([p.needs for g in groups for p in g] + [needed_literals(r) for r in fixed], words)
        self.tables = {id(g): [(p, self.filter.mask(p.needs), self.words_need(p, g)) for p in g] for g in groups}
        # the bits any pattern of a list looks at: the memo is keyed by those alone
        self.relevant = {
            key: (sum_bits(need for _, need, _ in table), sum_bits(req for _, _, req in table))
            for key, table in self.tables.items()
        }
        self.dates = [(precision, regex, self.need(regex)) for precision, regex in DATE_PATTERNS]
        self.figures = self.need(figures.figure)
        self.number_words = self.need(figures.has_word)
        self.unverified = self.need(self.unverified_regex)
        self.memo: dict[tuple[int, int, int], list[Pattern]] = {}

    def need(self, regex: re.Pattern) -> int:
        return self.filter.mask(needed_literals(regex))

    def words_need(self, pattern: Pattern, group: list[Pattern]) -> int:
        """The clause of a pattern's `requires` words; name patterns run whatever words the
        sentence has (they never had `requires`)."""
        if not pattern.requires or any(group is g for g in self.groups[:2]):
            return 0
        return self.filter.words_mask(frozenset(pattern.requires))

    def select(self, patterns: list[Pattern], literals: int, words: int) -> list[Pattern]:
        """`patterns` (one of the rule lists) that can match: their needed literals among the
        clauses `literals` of the text they run over, their `requires` among `words`, the
        clauses of the lower-cased sentence."""
        relevant = self.relevant.get(id(patterns))
        if relevant is None:  # not a list of this rule set: run them all
            return list(patterns)
        literals &= relevant[0]
        words &= relevant[1]
        key = (id(patterns), literals, words)
        found = self.memo.get(key)
        if found is None:
            table = self.tables[id(patterns)]
            found = [p for p, need, req in table if literals & need == need and words & req == req]
            if len(self.memo) >= self.MEMO_LIMIT:
                self.memo.clear()
            self.memo[key] = found
        return found


def sum_bits(masks) -> int:
    """The union of bit masks."""
    bits = 0
    for mask in masks:
        bits |= mask
    return bits


_prefilters: dict[int, Prefilter] = {}


def prefilter_for(rules: RuleSet) -> Prefilter:
    key = id(rules)
    if key not in _prefilters or _prefilters[key].rules is not rules:
        _prefilters[key] = Prefilter(rules)
    return _prefilters[key]


# ---------------------------------------------------------------- the document
_matchers: dict[int, Matcher] = {}


def matcher_for(rules: RuleSet) -> Matcher:
    key = id(rules)
    if key not in _matchers:
        _matchers[key] = Matcher(rules.entries)
    return _matchers[key]


def extract(doc: Document, rules: RuleSet | None = None) -> DocResult:
    """Everything one document says, as records with evidence."""
    from kg import events

    rules = rules or load_rules()
    text = normalise(doc.text)
    ctx = Context(doc, text, split_sentences(text), [], rules, DocResult(doc))
    ctx.mentions = find_mentions(ctx, matcher_for(rules))
    entities = ctx.result.entities
    for m in ctx.mentions:
        if m.entity not in entities:  # ctx.ensure, called only where it may add one
            ctx.ensure(m.entity)
        if m.type == "Demonym":
            continue
        entity = entities.get(m.entity)
        if entity:
            entity.mentions += 1
            if m.surface != entity.label:
                entity.aliases.add(doc.text[m.start : m.end])
    read_relations(ctx)
    events.read_events(ctx)
    return ctx.result
