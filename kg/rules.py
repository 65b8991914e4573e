"""Load and validate the rule files: dictionaries, name patterns, relation and event patterns.

Rules are data (YAML under kg/rules/); this module turns them into plain objects and
refuses a bad file with a message that names the file, the rule and the fix.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import ahocorasick
import yaml

try:  # the regex parser the re module uses; private, so a filter that needs it degrades to none
    import re._constants as _c
    import re._parser as _parser
except ImportError:  # pragma: no cover
    _c = _parser = None

from kg.vocab import CONTRACT_RELATIONS, ENTITY_CLASSES, EVENT_CLASSES, descendants

# libyaml's safe loader when present: the dictionaries load ~10x faster than in pure Python
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
RULES_DIR = Path(__file__).resolve().parent / "rules"


class RuleError(ValueError):
    """A rule file that cannot be used; the message says where and how to fix it."""


@dataclass(frozen=True)
class Entry:
    """One dictionary or gazetteer entry."""

    id: str
    name: str
    type: str
    aliases: tuple[str, ...] = ()
    nocase: tuple[str, ...] = ()
    parent: str | None = None
    lat: float | None = None
    lon: float | None = None
    demonyms: tuple[str, ...] = ()
    capital_of: str | None = None
    country: str | None = None
    province: str | None = None
    role: str | None = None
    source: str = ""
    file: str = ""


@dataclass(frozen=True)
class Pattern:
    """A regular expression over a masked sentence, with typed entity slots."""

    id: str
    regex: re.Pattern
    spec: dict = field(hash=False, compare=False)
    requires: tuple[str, ...] = ()  # lower-case words one of which must be in the sentence
    # derived from the regex (needed_literals): for each clause one of its strings is in every
    # text the regex matches, folded by fold_case; a pre-filter that cannot drop a match
    needs: tuple[frozenset[str], ...] = ()

    def get(self, key: str, default=None):
        return self.spec.get(key, default)


@dataclass
class RuleSet:
    entries: dict[str, Entry]
    names: dict
    relations: list[Pattern]
    events: dict
    files: list[str]
    prints: dict[str, str] = field(default_factory=dict)  # file name -> sha256 of the bytes loaded


# ---------------------------------------------------------------- slots and macros
# A mention in a masked sentence is written OPEN index SEP types CLOSE.
OPEN, SEP, CLOSE = "\ue000", "\ue001", "\ue002"
_SLOT = re.compile(r"\{(?P<types>[A-Za-z|@]+)(?P<plus>\+)?(?::(?P<name>[a-z_][a-z0-9_]*))?\}")
_GAP = re.compile(r"\{gap(?::(\d+))?\}")
EXTRA_TAGS = {"Demonym", "Capital", "Any", "Entity"}


def slot_regex(types: str, name: str | None, plus: bool) -> str:
    """`{Organization:obj}` → a regex matching one masked mention of that class or below."""
    wanted: set[str] = set()
    for t in types.split("|"):
        if t in EXTRA_TAGS:
            wanted.add(t)
        elif t in ENTITY_CLASSES or t in ("Actor", "Location") or t in EVENT_CLASSES:
            wanted |= descendants(t) | {t}
        else:
            raise RuleError(f"unknown slot type {t!r}: use a contract class or one of {sorted(EXTRA_TAGS)}")
    tag = "|".join(sorted(wanted)) if "Any" not in wanted else r"[A-Za-z]+"
    one = rf"{OPEN}\d+{SEP}[A-Za-z,]*\b(?:{tag})\b[A-Za-z,]*{CLOSE}"
    if plus:
        sep = r"(?:\s*,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+|\s*&\s*)(?:the\s+)?"
        body = rf"{one}(?:{sep}{one}(?!'s))*"
    else:
        body = one
    return f"(?P<{name}>{body})" if name else f"(?:{body})"


def compile_pattern(text: str, macros: dict[str, str]) -> re.Pattern:
    """Expand {Type:name} slots, {gap:N} and {MACRO} words, then compile."""

    def expand_macro(match: re.Match) -> str:
        return macros[match.group(1)]

    for _ in range(3):
        text = re.sub(r"\{([A-Z][A-Z_]+)\}", expand_macro, text)
    text = _GAP.sub(lambda m: rf"[^{OPEN}.;!?]{{0,{m.group(1) or 60}}}?", text)
    text = _SLOT.sub(lambda m: slot_regex(m["types"], m["name"], bool(m["plus"])), text)
    return re.compile(text)


# ---------------------------------------------------------------- literals a regex needs
# Characters that re.IGNORECASE matches to an ASCII letter although they are not ASCII
# (checked over every code point by the tests); fold_case maps them to that letter.
CASE_SPECIALS = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
_SPECIAL = re.compile("[" + "".join(CASE_SPECIALS) + "]")
_SPECIAL_TABLE = str.maketrans(CASE_SPECIALS)
MIN_LITERAL = 2  # a clause with a shorter string filters nothing
MAX_CLAUSES = 4  # the most selective clauses of a regex are kept; more cost more than they save
MAX_ALTERNATIVES = 64  # a literal run with more spellings than this ([Tt]he[Ss]...) is cut


def fold_case(text: str) -> str:
    """The text the literals of `needed_literals` are looked for in: lower case, with the few
    non-ASCII letters that ignore-case matching equates with an ASCII letter made that letter.
    Every character a literal can match maps to exactly one character, so a regex match of a
    literal is a substring of the folded text."""
    if not text.isascii() and _SPECIAL.search(text):
        text = text.translate(_SPECIAL_TABLE)
    return text.lower()


def is_plain(text: str) -> bool:
    """True when lower() folds `text` as fold_case does (no special letter in it), so lower()
    of it and of any text made of its pieces and ASCII can stand for fold_case."""
    return text.isascii() or not _SPECIAL.search(text)


def _fold_char(code: int) -> str | None:
    """A literal character as the folded text has it, or None where folding cannot be trusted."""
    ch = chr(code)
    if ch.isascii():
        return ch.lower()
    return ch if ch in (OPEN, SEP, CLOSE) else None


def _chars(op, av) -> set[str] | None:
    """The characters one regex item matches, if it is a literal or a small class of literals."""
    if op is _c.LITERAL:
        ch = _fold_char(av)
        return {ch} if ch else None
    if op is _c.IN and len(av) <= 8 and all(o is _c.LITERAL for o, _ in av):
        chars = {_fold_char(v) for _, v in av}
        return None if None in chars else chars
    return None


def _best(clauses: list[frozenset[str]]) -> frozenset[str] | None:
    """The most selective clause: longest shortest string, then fewest strings."""
    return max(clauses, key=lambda c: (min(map(len, c)), -len(c)), default=None)


def _sequence(items) -> list[frozenset[str]]:
    clauses: list[frozenset[str]] = []
    run = {""}

    def flush() -> None:
        if run != {""}:
            clauses.append(frozenset(run))

    for op, av in items:
        chars = _chars(op, av)
        if chars is not None:
            grown = {r + c for r in run for c in chars}
            if len(grown) > MAX_ALTERNATIVES:
                flush()
                grown = set(chars)
            run = grown
            continue
        flush()
        run = {""}
        clauses.extend(_item(op, av))
    flush()
    return clauses


def _item(op, av) -> list[frozenset[str]]:
    """Clauses every match of one non-literal regex item satisfies ([] when nothing is known)."""
    if op is _c.SUBPATTERN:
        return _sequence(av[-1])
    if op is _c.ATOMIC_GROUP:
        return _sequence(av)
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
        return _sequence(av[2]) if av[0] >= 1 else []
    if op is _c.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            best = _best([c for c in _sequence(branch) if min(map(len, c)) >= MIN_LITERAL])
            if best is None:
                return []
            union |= best
        return [frozenset(union)]
    return []  # anchors, lookarounds, classes, back-references: no literal is certain


def needed_literals(regex: re.Pattern) -> tuple[frozenset[str], ...]:
    """Clauses of literal strings every match of `regex` contains: for each clause, one of its
    strings occurs in fold_case(text) wherever the regex matches text. Read off the parsed
    regex: runs of literal characters in a sequence, the union of the branches of an
    alternation, the body of a repeat that must occur once. Empty when nothing is certain
    (or the parser is not available)."""
    if _parser is None:
        return ()
    try:
        parsed = _parser.parse(regex.pattern, regex.flags)
    except Exception:  # noqa: BLE001 - a parser we cannot read is a filter we do not use
        return ()
    clauses = {c for c in _sequence(parsed) if min(map(len, c)) >= MIN_LITERAL}
    ranked = sorted(clauses, key=lambda c: (-min(map(len, c)), len(c), sorted(c)))[:MAX_CLAUSES]
    longer = [c for c in ranked if min(map(len, c)) > MIN_LITERAL]
    return tuple(longer or ranked[:1])  # a two-letter clause only where there is nothing better


class LiteralFilter:
    """Which of a set of regexes can match a text, from one Aho-Corasick pass over it.

    Every clause of every registered regex's needed_literals gets a bit; `satisfied(text)`
    is the bits of the clauses one of whose strings occurs in fold_case(text), and a regex
    with need mask `m` can match the text only if `satisfied & m == m`. Lists of `words`
    (the rules' `requires`) get bits of their own, so the same pass finds them too; their
    bits are kept apart from the needed literals' (`needs_bits`), even for equal lists."""

    def __init__(self, needs: Iterable[tuple[frozenset[str], ...]], words: Iterable[frozenset[str]] = ()):
        self.bits: dict[tuple[str, frozenset[str]], int] = {}
        for clauses in needs:
            for clause in clauses:
                self.bits.setdefault(("needs", clause), 1 << len(self.bits))
        self.needs_bits = (1 << len(self.bits)) - 1
        for clause in words:
            self.bits.setdefault(("words", clause), 1 << len(self.bits))
        by_literal: dict[str, int] = {}
        for (_, clause), bit in self.bits.items():
            for literal in clause:
                by_literal[literal] = by_literal.get(literal, 0) | bit
        self.automaton = ahocorasick.Automaton()
        for literal, bits in by_literal.items():
            self.automaton.add_word(literal, bits)
        self.empty = not by_literal
        if not self.empty:
            self.automaton.make_automaton()

    def mask(self, needs: tuple[frozenset[str], ...]) -> int:
        """The bits a text must have for a regex with these needs (clauses not registered: none)."""
        return sum(self.bits[("needs", c)] for c in set(needs) if ("needs", c) in self.bits)

    def words_mask(self, words: frozenset[str]) -> int:
        """The bit of a registered list of words (0, no test, for one not registered)."""
        return self.bits.get(("words", words), 0)

    def satisfied(self, text: str) -> int:
        return self.satisfied_folded(fold_case(text))

    def satisfied_folded(self, folded: str) -> int:
        """`satisfied` for a text already folded (by fold_case, or by lower() where is_plain)."""
        if self.empty:
            return 0
        bits = 0
        for _, value in self.automaton.iter(folded):
            bits |= value
        return bits


def mention_indices(group_text: str) -> list[int]:
    """The mention indices inside a matched slot (several for a list slot)."""
    return [int(i) for i in re.findall(rf"{OPEN}(\d+){SEP}", group_text)]


# ---------------------------------------------------------------- loading
def _load_yaml(path: Path) -> object:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError(f"{path}: cannot be read as YAML: {exc}") from exc


def _as_tuple(value, where: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RuleError(f"{where}: '{key}' must be a list of strings")
    return tuple(str(v) for v in value)


def load_entries(path: Path) -> list[Entry]:
    data = _load_yaml(path)
    items = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise RuleError(f"{path}: expected a top-level 'entries:' list")
    entries = []
    for number, item in enumerate(items, 1):
        where = f"{path.name} entry {number} ({item.get('id') if isinstance(item, dict) else '?'})"
        if not isinstance(item, dict) or not item.get("id") or not item.get("name") or not item.get("type"):
            raise RuleError(f"{where}: every entry needs id, name and type")
        if item["type"] not in ENTITY_CLASSES:
            raise RuleError(f"{where}: type {item['type']!r} is not a contract class; use one of {ENTITY_CLASSES}")
        aliases, nocase = [], []
        for alias in item.get("aliases") or []:
            if isinstance(alias, dict):
                (nocase if alias.get("case") == "any" else aliases).append(str(alias["name"]))
            else:
                aliases.append(str(alias))
        entries.append(
            Entry(
                id=str(item["id"]),
                name=str(item["name"]),
                type=item["type"],
                aliases=tuple(aliases),
                nocase=tuple(nocase),
                parent=item.get("parent"),
                lat=item.get("lat"),
                lon=item.get("lon"),
                demonyms=_as_tuple(item.get("demonyms"), where, "demonyms"),
                capital_of=item.get("capital_of"),
                country=item.get("country"),
                province=item.get("province"),
                role=item.get("role"),
                source=str(item.get("source", "")),
                file=path.name,
            )
        )
    return entries


def validate_entries(entries: list[Entry]) -> dict[str, Entry]:
    """Unique ids, existing parents, and no name shared by two entries (the fix is named)."""
    by_id: dict[str, Entry] = {}
    for entry in entries:
        if entry.id in by_id:
            raise RuleError(f"{entry.file}: id {entry.id!r} is used twice; give one entry another id")
        by_id[entry.id] = entry
    owner: dict[str, str] = {}
    for entry in entries:
        for ref in (entry.parent, entry.capital_of, entry.country, entry.province):
            if ref and ref not in by_id:
                raise RuleError(f"{entry.file}: {entry.id} refers to {ref!r}, which no entry defines")
        for name in {entry.name, *entry.aliases, *entry.nocase}:
            key = name.casefold()
            if key in owner and owner[key] != entry.id:
                raise RuleError(
                    f"{entry.file}: alias {name!r} of {entry.id} clashes with {owner[key]}; "
                    "remove it from one of them or make it more specific"
                )
            owner[key] = entry.id
    return by_id


def load_patterns(path: Path, section: str, macros: dict[str, str]) -> list[Pattern]:
    data = _load_yaml(path)
    items = data.get(section) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise RuleError(f"{path}: expected a top-level '{section}:' list")
    patterns, seen = [], set()
    for number, item in enumerate(items, 1):
        rid = item.get("id") if isinstance(item, dict) else None
        if not rid or not isinstance(item.get("pattern"), str):
            raise RuleError(f"{path.name} {section} item {number}: needs an id and a pattern string")
        if rid in seen:
            raise RuleError(f"{path.name}: rule id {rid!r} is used twice; rule ids must be unique")
        seen.add(rid)
        try:
            regex = compile_pattern(item["pattern"], macros)
        except (re.error, KeyError) as exc:
            raise RuleError(f"{path.name} rule {rid}: pattern does not compile: {exc}") from exc
        requires = tuple(w.lower() for w in item.get("requires", []))
        patterns.append(Pattern(rid, regex, item, requires, needed_literals(regex)))
    return patterns


def macros_of(data: dict, path: Path) -> dict[str, str]:
    macros = data.get("macros", {}) if isinstance(data, dict) else {}
    if not isinstance(macros, dict):
        raise RuleError(f"{path}: 'macros' must map NAME to a regex")
    return {str(k): str(v) for k, v in macros.items()}


# ---------------------------------------------------------------- cross-file checks
# Keys a rule may have, per section; a key not listed is almost always a typo ("relaton:").
COMMON_KEYS = {"id", "pattern", "note", "tests", "not", "requires"}
SECTION_KEYS = {
    "person_patterns": set(),
    "org_patterns": {"type"},
    "relations": {
        "relation",
        "object_via",
        "object_default",
        "subject_default",
        "resolved",
        "modality",
        "modality_check",
        "allegation",
    },
    "triggers": {"type", "definite", "refers", "responds_to_focus", "second", "require"},
    "attributes": {"attribute", "reverse", "value_via", "role"},
    "claims": set(),
    "attributions": {"role"},
}


def check_rule_keys(patterns: list[Pattern], file: str, section: str) -> None:
    """Refuse unknown keys: a misspelt key would otherwise be ignored without a word."""
    allowed = COMMON_KEYS | SECTION_KEYS.get(section, set())
    for pattern in patterns:
        for key in set(pattern.spec) - allowed:
            near = [k for k in sorted(allowed) if k[:3] == str(key)[:3]]
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise RuleError(
                f"{file} rule {pattern.id}: unknown key {key!r}; {hint}a {section} rule may have {sorted(allowed)}"
            )


def check_relations(patterns: list[Pattern], file: str) -> None:
    """Every relation rule states a contract property: its facts must land in the contract."""
    for pattern in patterns:
        relation = pattern.get("relation")
        if relation is None and not pattern.get("allegation"):
            raise RuleError(f"{file} rule {pattern.id}: no 'relation:'; add one of {sorted(CONTRACT_RELATIONS)}")
        if relation is not None and relation not in CONTRACT_RELATIONS:
            raise RuleError(
                f"{file} rule {pattern.id}: relation {relation!r} is not a contract "
                f"property; use one of {sorted(CONTRACT_RELATIONS)}"
            )


def check_unique_ids(sections: list[tuple[str, list[Pattern]]]) -> None:
    """Rule ids are unique across all files: evidence names its rule by id alone."""
    seen: dict[str, str] = {}
    for where, patterns in sections:
        for pattern in patterns:
            if pattern.id in seen:
                raise RuleError(
                    f"{where}: rule id {pattern.id!r} is also used in "
                    f"{seen[pattern.id]}; rename one of them "
                    "(ids must be unique across all rule files)"
                )
            seen[pattern.id] = where


def fingerprint(rules: RuleSet) -> dict[str, str]:
    """The sha256 of each rule file as loaded, by file name, and kg's version: what a store's
    records were extracted with. Records extracted with other rules would not give the graph
    a fresh build gives, so a store made with them extracts its documents again (kg.store)."""
    from kg import __version__

    return {"kg": __version__, **rules.prints}


def check_rule_sections(names: dict, relations: list[Pattern], events: dict) -> None:
    """The checks that need every rule file at once, or know the contract."""
    sections = [(f"names.yaml {s}", s, names[s]) for s in ("person_patterns", "org_patterns")]
    sections.append(("relations.yaml relations", "relations", relations))
    event_sections = ("triggers", "attributes", "claims", "attributions")
    sections += [(f"events.yaml {s}", s, events[s]) for s in event_sections]
    for where, section, patterns in sections:
        check_rule_keys(patterns, where.split()[0], section)
    check_relations(relations, "relations.yaml")
    check_unique_ids([(where, patterns) for where, _, patterns in sections])


@cache
def load_rules(rules_dir: Path = RULES_DIR) -> RuleSet:
    """Every rule file, validated. Cached: rules are loaded once per process."""
    files = [rules_dir / n for n in ("places.yaml", "actors.yaml", "names.yaml", "relations.yaml", "events.yaml")]
    prints = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}  # before parsing
    entries = []
    for name in ("places.yaml", "actors.yaml"):
        entries.extend(load_entries(rules_dir / name))
    by_id = validate_entries(entries)
    names_path = rules_dir / "names.yaml"
    names = _load_yaml(names_path)
    macros = macros_of(names, names_path)
    names["person_patterns"] = load_patterns(names_path, "person_patterns", macros)
    names["org_patterns"] = load_patterns(names_path, "org_patterns", macros)
    rel_path = rules_dir / "relations.yaml"
    rel_data = _load_yaml(rel_path)
    relations = load_patterns(rel_path, "relations", {**macros, **macros_of(rel_data, rel_path)})
    ev_path = rules_dir / "events.yaml"
    ev_data = _load_yaml(ev_path)
    ev_macros = {**macros, **macros_of(ev_data, ev_path)}
    events = dict(ev_data)
    for section in ("triggers", "attributes", "claims", "attributions"):
        events[section] = load_patterns(ev_path, section, ev_macros)
    check_rule_sections(names, relations, events)
    return RuleSet(by_id, names, relations, events, [str(f) for f in files], prints)
