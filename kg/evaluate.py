"""Measure a build against hand-written gold facts, and compare two builds.

Rule writers need numbers, not impressions: which facts a careful reader finds that the
rules miss, which extracted facts are wrong, and which rule produced each. Facts are read
from the graph through the contract's reification (rdf:Statement → prov:wasDerivedFrom →
kgo:Evidence with kgo:rule and kgo:quote), so any graph `kg.graph.load` reads can be scored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import SKOS

from kg.vocab import CONTRACT_RELATIONS, KGO, PREFIXES

# The relations the gold file covers (issue 9); other properties are not scored.
SCORED = tuple(r for r in CONTRACT_RELATIONS if r not in ("target", "respondsTo"))
SYMMETRIC = {"relativeOf"}
ASSERTED = (KGO.Asserted, KGO.Claimed)
FIGURE = "figure"
HANDLE_KEYS = ("name", "words", "type", "target", "location", "perpetrator", "date")

STATEMENTS = (
    PREFIXES
    + """
SELECT ?st ?s ?p ?o ?m ?rule ?quote ?src WHERE {
  ?st rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; prov:wasDerivedFrom ?ev .
  OPTIONAL { ?st kgo:modality ?m }
  ?ev kgo:rule ?rule ; kgo:quote ?quote .
  OPTIONAL { ?ev kgo:document/dcterms:source ?src }
}"""
)
CLAIMS = (
    PREFIXES
    + """
SELECT ?c ?event ?claimant ?outcome ?category ?count ?qualifier ?rule ?quote ?src WHERE {
  ?c a kgo:CasualtyClaim ; kgo:aboutEvent ?event ; kgo:outcome ?outcome ;
     kgo:victimCategory ?category ; kgo:count ?count ; prov:wasDerivedFrom ?ev .
  OPTIONAL { ?c kgo:claimant ?claimant }
  OPTIONAL { ?c kgo:qualifier ?qualifier }
  ?ev kgo:rule ?rule ; kgo:quote ?quote .
  OPTIONAL { ?ev kgo:document/dcterms:source ?src }
}"""
)


class GoldError(ValueError):
    """A gold file that cannot be read; the message names the document and the entry."""


def local(term: object) -> str:
    """The local name of a kgo: term ("leads" for kgo:leads)."""
    return str(term).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def doc_name(source: object) -> str:
    """Documents are named by file name: gold files outlive the folder they were built from."""
    return PurePosixPath(str(source or "")).name


# ---------------------------------------------------------------- facts as read from a graph
@dataclass(frozen=True)
class Fact:
    """One extracted statement or casualty claim, as found in one document."""

    doc: str
    prop: str  # local property name, or "figure" for a casualty claim
    subject: object
    object: object
    rules: frozenset[str]
    quotes: tuple[str, ...]
    figure: tuple = ()  # (claimant, outcome, category, count, qualifier) for claims


def read_facts(graph: Graph, asserted_only: bool = True) -> list[Fact]:
    """Every reified statement, one Fact per (document, s, p, o), with its rules and quotes."""
    groups: dict[tuple, tuple[set, list]] = {}
    for row in graph.query(STATEMENTS):
        if asserted_only and row.m is not None and row.m not in ASSERTED:
            continue
        if row.src is None:  # gazetteer hierarchy: no words to judge
            continue
        key = (doc_name(row.src), local(row.p), row.s, row.o)
        rules, quotes = groups.setdefault(key, (set(), []))
        rules.add(str(row.rule))
        if str(row.quote) not in quotes:
            quotes.append(str(row.quote))
    return [Fact(d, p, s, o, frozenset(r), tuple(q)) for (d, p, s, o), (r, q) in groups.items()]


def read_claims(graph: Graph) -> list[Fact]:
    """Every casualty claim, one Fact per (document, claim)."""
    groups: dict[tuple, tuple[set, list, tuple]] = {}
    for row in graph.query(CLAIMS):
        key = (doc_name(row.src), row.c, row.event)
        figure = (
            row.claimant,
            local(row.outcome),
            local(row.category),
            int(row["count"]),
            local(row.qualifier) if row.qualifier is not None else "Exactly",
        )
        rules, quotes, _ = groups.setdefault(key, (set(), [], figure))
        rules.add(str(row.rule))
        if str(row.quote) not in quotes:
            quotes.append(str(row.quote))
    return [Fact(d, FIGURE, e, c, frozenset(r), tuple(q), f) for (d, c, e), (r, q, f) in groups.items()]


class Names:
    """Name → nodes through rdfs:label and skos:altLabel, case-insensitive; and node → label."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.index: dict[str, set] = defaultdict(set)
        for prop in (RDFS.label, SKOS.altLabel):
            for node, name in graph.subject_objects(prop):
                self.index[str(name).casefold()].add(node)

    def nodes(self, name: str) -> set:
        return set(self.index.get(str(name).casefold(), ()))

    def label(self, node: object) -> str:
        if isinstance(node, Literal):
            return str(node)
        if node is None:
            return "unattributed"
        value = self.graph.value(node, RDFS.label)
        return str(value) if value is not None else local(node)


def describe(fact: Fact, names: Names) -> str:
    """A fact in words, by labels: how the gold file and the reports spell it."""
    if fact.prop == FIGURE:
        claimant, outcome, category, count, qualifier = fact.figure
        return f"[{names.label(fact.subject)}] {names.label(claimant)}: {outcome} {category} {count} ({qualifier})"
    return f"{names.label(fact.subject)} {fact.prop} {names.label(fact.object)}"


# ---------------------------------------------------------------- the gold file
@dataclass
class GoldFact:
    doc: str
    prop: str
    subject: object  # names (list) or an event handle name "@x"
    object: object
    figure: dict = field(default_factory=dict)

    def text(self) -> str:
        if self.prop == FIGURE:
            f = self.figure
            return (
                f"{_names_text(f.get('claimant', '*'))}: "
                f"{f['outcome']} {f['category']} {f['count']}"
                f" ({f.get('qualifier', '*')})" + (f" of {f['event']}" if "event" in f else "")
            )
        return f"{_names_text(self.subject)} {self.prop} {_names_text(self.object)}"


def _names_text(value: object) -> str:
    return " | ".join(map(str, value)) if isinstance(value, list) else str(value)


@dataclass
class Gold:
    documents: dict[str, dict]  # file name -> {"events": {...}}
    facts: list[GoldFact]
    must_not: list


def load_gold(path: str | Path) -> Gold:
    """Read and check a gold file; a mistake names the document and the entry."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    docs = data.get("documents")
    if not isinstance(docs, dict):
        raise GoldError(f"{path}: expected a top-level 'documents:' mapping of file name to facts")
    facts, must_not = [], list(data.get("must_not") or [])
    for name, spec in docs.items():
        spec = spec or {}
        events = spec.get("events") or {}
        for number, item in enumerate(spec.get("facts") or [], 1):
            if not (isinstance(item, list) and len(item) == 3):
                raise GoldError(f"{path}: {name} fact {number}: write [subject, property, object]")
            s, p, o = item
            if p not in SCORED:
                raise GoldError(f"{path}: {name} fact {number}: {p!r} is not scored; use one of {SCORED}")
            for end in (s, o):
                if isinstance(end, str) and end.startswith("@") and end[1:] not in events:
                    raise GoldError(f"{path}: {name} fact {number}: event handle {end} is not under events:")
            facts.append(GoldFact(name, p, s, str(o) if p == "date" else o))
        for number, fig in enumerate(spec.get("figures") or [], 1):
            missing = {"outcome", "category", "count"} - set(fig or {})
            if missing:
                raise GoldError(f"{path}: {name} figure {number}: needs {sorted(missing)}")
            facts.append(GoldFact(name, FIGURE, fig.get("event"), None, dict(fig)))
        must_not.extend(spec.get("must_not") or [])
    return Gold({n: (s or {}) for n, s in docs.items()}, facts, must_not)


# ---------------------------------------------------------------- matching gold to the graph
class Resolver:
    """Turns gold names and event handles into sets of graph nodes."""

    def __init__(self, graph: Graph, names: Names):
        self.graph, self.names = graph, names
        query = PREFIXES + "SELECT DISTINCT ?e WHERE { ?e a/rdfs:subClassOf* kgo:Event }"
        self.events = {row.e for row in graph.query(query)}

    def nodes(self, value: object, doc: str, gold: Gold) -> set:
        if isinstance(value, list):
            return set().union(*(self.nodes(v, doc, gold) for v in value))
        if isinstance(value, str) and value.startswith("@"):
            return self.handle(gold.documents[doc].get("events", {})[value[1:]])
        return self.names.nodes(str(value))

    def handle(self, spec: dict) -> set:
        """Events that satisfy every key of the handle (see HANDLE_KEYS)."""
        found = set()
        for event in self.events:
            if all(self.has(event, key, value) for key, value in spec.items()):
                found.add(event)
        return found

    def has(self, event: URIRef, key: str, value: object) -> bool:
        g = self.graph
        if key == "name":
            return event in self.names.nodes(str(value))
        if key == "words":  # every word in one of its names: "convoy" for "the convoy attack"
            labels = [str(n).casefold() for n in g.objects(event, RDFS.label)]
            labels += [str(n).casefold() for n in g.objects(event, SKOS.altLabel)]
            return any(all(w in n for w in str(value).casefold().split()) for n in labels)
        if key == "type":
            return (event, RDF.type, KGO[str(value)]) in g or any(
                (t, RDFS.subClassOf, KGO[str(value)]) in g for t in g.objects(event, RDF.type)
            )
        if key == "date":
            return any(str(d).startswith(str(value)) for d in g.objects(event, KGO.date))
        if key in ("target", "location", "perpetrator"):
            wanted = (
                self.names.nodes(str(value))
                if not isinstance(value, list)
                else set().union(*(self.names.nodes(str(v)) for v in value))
            )
            return bool(wanted & set(g.objects(event, KGO[key])))
        raise GoldError(f"unknown event handle key {key!r}: use one of {HANDLE_KEYS}")


def matches(gold: GoldFact, fact: Fact, resolver: Resolver, golds: Gold) -> bool:
    """Whether one extracted fact is the gold fact (same document, property and ends)."""
    if gold.doc != fact.doc or gold.prop != fact.prop:
        return False
    if gold.prop == FIGURE:
        return figure_matches(gold, fact, resolver, golds)
    subjects = resolver.nodes(gold.subject, gold.doc, golds)
    if gold.prop == "date":
        return fact.subject in subjects and str(fact.object) == gold.object
    objects = resolver.nodes(gold.object, gold.doc, golds)
    if fact.subject in subjects and fact.object in objects:
        return True
    return gold.prop in SYMMETRIC and fact.subject in objects and fact.object in subjects


def figure_matches(gold: GoldFact, fact: Fact, resolver: Resolver, golds: Gold) -> bool:
    claimant, outcome, category, count, qualifier = fact.figure
    f = gold.figure
    if (outcome, category, count) != (f["outcome"], f["category"], int(f["count"])):
        return False
    if "qualifier" in f and f["qualifier"] != qualifier:
        return False
    if "claimant" in f and claimant not in resolver.nodes(f["claimant"], gold.doc, golds):
        return False
    return "event" not in f or fact.subject in resolver.nodes(f["event"], gold.doc, golds)


# ---------------------------------------------------------------- scores
@dataclass
class Score:
    tp: int = 0  # extracted facts that are gold
    fp: int = 0  # extracted facts that are not
    found: int = 0  # gold facts found
    gold: int = 0  # gold facts

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Report:
    total: Score
    by_property: dict[str, Score]
    by_rule: dict[str, Score]
    misses: list[GoldFact]
    false: list[Fact]
    violations: list[str]  # must_not entries that the graph breaks, with the evidence
    names: Names


def in_scope(fact: Fact, graph: Graph, docs: Iterable[str]) -> bool:
    """Facts of the gold's documents and properties; place-in-place partOf is the gazetteer's."""
    if fact.doc not in docs or (fact.prop not in SCORED and fact.prop != FIGURE):
        return False
    return not (
        fact.prop == "partOf"
        and any(
            (t, RDFS.subClassOf, KGO.Location) in graph or t == KGO.Location
            for t in graph.objects(fact.subject, RDF.type)
        )
    )


def evaluate(graph: Graph, gold: Gold) -> Report:
    """Precision, recall and F1 overall, per property and per rule; every miss and false fact."""
    names = Names(graph)
    resolver = Resolver(graph, names)
    extracted = [f for f in read_facts(graph) + read_claims(graph) if in_scope(f, graph, gold.documents)]
    total, by_prop, by_rule = Score(), defaultdict(Score), defaultdict(Score)
    found_by: dict[int, set[str]] = {}
    false = []
    for fact in extracted:
        hits = [i for i, g in enumerate(gold.facts) if matches(g, fact, resolver, gold)]
        for i in hits:
            found_by.setdefault(i, set()).update(fact.rules)
        for score in (total, by_prop[fact.prop], *(by_rule[r] for r in fact.rules)):
            if hits:
                score.tp += 1
            else:
                score.fp += 1
        if not hits:
            false.append(fact)
    rule_props = defaultdict(set)
    for fact in extracted:
        for r in fact.rules:
            rule_props[r].add(fact.prop)
    for i, g in enumerate(gold.facts):
        total.gold += 1
        by_prop[g.prop].gold += 1
        for r, props in rule_props.items():
            if g.prop in props:  # a rule's recall: the share of its properties' gold it finds
                by_rule[r].gold += 1
                by_rule[r].found += r in found_by.get(i, set())
        if i in found_by:
            total.found += 1
            by_prop[g.prop].found += 1
    misses = [g for i, g in enumerate(gold.facts) if i not in found_by]
    violations = check_must_not(graph, names, gold)
    return Report(total, dict(by_prop), dict(by_rule), misses, false, violations, names)


def check_must_not(graph: Graph, names: Names, gold: Gold) -> list[str]:
    """Each must_not entry the graph breaks, said in words."""
    broken = []
    for item in gold.must_not:
        if isinstance(item, dict) and "same_node" in item:
            a, b = item["same_node"]
            for node in names.nodes(a) & names.nodes(b):
                broken.append(f"{a!r} and {b!r} are one node: {node}")
            continue
        s, p, o = item
        others = names.nodes(o["other_than"]) if isinstance(o, dict) else None
        wanted = None if isinstance(o, dict) else names.nodes(o)
        for subj in names.nodes(s):
            for obj in graph.objects(subj, KGO[p]):
                if (others is not None and obj not in others) or (wanted is not None and obj in wanted):
                    broken.append(f"asserted: {names.label(subj)} {p} {names.label(obj)}")
    return broken


def format_report(report: Report) -> str:
    """The report as text: totals, tables per property and per rule, misses and false facts."""
    lines = [
        f"overall  P {report.total.precision:.3f}  R {report.total.recall:.3f}"
        f"  F1 {report.total.f1:.3f}"
        f"  (extracted {report.total.tp + report.total.fp}, gold {report.total.gold})",
        "",
    ]
    lines += score_table("property", report.by_property)
    lines += [""] + score_table("rule", report.by_rule)
    lines += ["", f"missed ({len(report.misses)}):"]
    lines += [f"  {g.doc}: {g.text()}" for g in report.misses]
    lines += ["", f"false ({len(report.false)}):"]
    for fact in sorted(report.false, key=lambda f: (f.doc, f.prop)):
        lines.append(f"  {fact.doc}: {describe(fact, report.names)}  [{', '.join(sorted(fact.rules))}]")
        lines += [f'      "{q[:240]}"' for q in fact.quotes[:2]]
    lines += ["", f"must_not broken ({len(report.violations)}):"]
    lines += [f"  {v}" for v in report.violations]
    return "\n".join(lines) + "\n"


def score_table(title: str, scores: dict[str, Score]) -> list[str]:
    lines = [f"{title:40} {'tp':>4} {'fp':>4} {'found':>5} {'gold':>5} {'P':>6} {'R':>6} {'F1':>6}"]
    for key, s in sorted(scores.items()):
        lines.append(
            f"{key:40} {s.tp:4} {s.fp:4} {s.found:5} {s.gold:5} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f}"
        )
    return lines


# ---------------------------------------------------------------- comparing two builds
def fact_keys(graph: Graph) -> dict[tuple, Fact]:
    """Facts keyed by labels, not IRIs: event and claim IRIs carry hashes that change."""
    names = Names(graph)
    keyed: dict[tuple, Fact] = {}
    for fact in read_facts(graph, asserted_only=False) + read_claims(graph):
        key = (
            fact.doc,
            fact.prop,
            names.label(fact.subject),
            names.label(fact.object) if fact.prop != FIGURE else "",
            tuple(names.label(x) if i == 0 else x for i, x in enumerate(fact.figure)),
        )
        old = keyed.get(key)
        keyed[key] = (
            fact
            if old is None
            else Fact(
                fact.doc,
                fact.prop,
                fact.subject,
                fact.object,
                old.rules | fact.rules,
                tuple(dict.fromkeys(old.quotes + fact.quotes)),
                fact.figure,
            )
        )
    return keyed


@dataclass
class Diff:
    added: list[tuple[tuple, Fact]]
    removed: list[tuple[tuple, Fact]]


def diff(old: Graph, new: Graph) -> Diff:
    """Facts in NEW and not in OLD (added) and the reverse (removed)."""
    a, b = fact_keys(old), fact_keys(new)
    return Diff(
        sorted((k, b[k]) for k in b.keys() - a.keys()),
        sorted((k, a[k]) for k in a.keys() - b.keys()),
    )


def format_diff(result: Diff) -> str:
    """Added and removed facts, grouped by property and then by rule, each with its quote."""
    lines = []
    for title, items in (("added", result.added), ("removed", result.removed)):
        lines.append(f"{title}: {len(items)}")
        by_prop: dict[str, list] = defaultdict(list)
        for key, fact in items:
            by_prop[fact.prop].append((key, fact))
        for prop in sorted(by_prop):
            lines.append(f"  {prop} ({len(by_prop[prop])})")
            by_rule: dict[str, list] = defaultdict(list)
            for key, fact in by_prop[prop]:
                by_rule[", ".join(sorted(fact.rules))].append((key, fact))
            for rule in sorted(by_rule):
                lines.append(f"    rule {rule}")
                for key, fact in by_rule[rule]:
                    lines.append(f"      {key[0]}: {key_text(key)}")
                    lines += [f'          "{q[:240]}"' for q in fact.quotes[:1]]
    return "\n".join(lines) + "\n"


def key_text(key: tuple) -> str:
    _, prop, subject, obj, figure = key
    if prop == FIGURE:
        claimant, outcome, category, count, qualifier = figure
        return f"[{subject}] {claimant}: {outcome} {category} {count} ({qualifier})"
    return f"{subject} {prop} {obj}"


# ---------------------------------------------------------------- how the rules fare on a corpus
# Domain and range of the contract relations (CONTRACT.md), for rules whose facts break them.
CONTRACT_RANGES = {
    "leads": ({"Person"}, {"Organization", "Country"}),
    "memberOf": ({"Person"}, {"Organization"}),
    "founded": ({"Person"}, {"Organization"}),
    "relativeOf": ({"Person"}, {"Person"}),
    "operatesIn": ({"Organization"}, {"Location"}),
    "claimedResponsibilityFor": ({"Organization"}, {"Event"}),
    "perpetrator": ({"Event"}, {"Actor"}),
    "location": ({"Event"}, {"Location"}),
    "accuses": ({"Actor"}, {"Actor"}),
    "target": ({"Event"}, {"Actor", "Facility", "Location"}),
    "respondsTo": ({"Event"}, {"Event"}),
}


def rule_ids(rules) -> dict[str, str]:
    """Every rule id of a RuleSet, with the section it comes from."""
    ids = {p.id: "relations" for p in rules.relations}
    for section in ("person_patterns", "org_patterns"):
        ids.update({p.id: f"names.{section}" for p in rules.names.get(section, [])})
    for section in ("triggers", "attributes", "claims", "attributions"):
        ids.update({p.id: f"events.{section}" for p in rules.events.get(section, [])})
    return ids


def type_of(corpus, node: str) -> str | None:
    if node in corpus.entities:
        return corpus.entities[node].type
    if node in corpus.events:
        return corpus.events[node].type
    return None


def contract_violations(corpus) -> dict[str, list[str]]:
    """Rule id → facts it gave whose subject or object has the wrong class for the property."""
    from kg.vocab import ancestors

    bad: dict[str, list[str]] = defaultdict(list)
    for (s, p, o, *_rest, literal), evidence in corpus.facts.items():
        if p not in CONTRACT_RANGES or literal:
            continue
        domain, range_ = CONTRACT_RANGES[p]
        if p == "partOf":
            continue
        for node, allowed in ((s, domain), (o, range_)):
            cls = type_of(corpus, node)
            if cls is not None and not (ancestors(cls) | {cls}) & allowed:
                for ev in evidence:
                    bad[ev.rule].append(f"{s} {p} {o}: {node} is a {cls}, {p} wants {' or '.join(sorted(allowed))}")
    return dict(bad)


def run_rule_examples(rules) -> list[str]:
    """Failures of the `tests:` (must fire) and `not:` (must not fire) sentences of each rule."""
    import hashlib

    from kg.extract import extract
    from kg.ingest import Document

    patterns = list(rules.relations)
    for section in ("triggers", "attributes", "claims", "attributions"):
        patterns += list(rules.events.get(section, []))
    failures = []
    for pattern in patterns:
        for expected, key in ((True, "tests"), (False, "not")):
            for sentence in pattern.get(key) or []:
                sha = hashlib.sha256(sentence.encode("utf-8")).hexdigest()
                doc = Document(id=sha[:16], source="<test>", text=sentence, sha256=sha)
                fired = extract(doc, rules).fired.get(pattern.id, 0) > 0
                if fired != expected:
                    verb = "did not fire on" if expected else "fired on its `not:` example"
                    failures.append(f"{pattern.id} {verb}: {sentence!r}")
    return failures


@dataclass
class RuleReport:
    ids: dict[str, str]
    fired: dict[str, int]
    facts: dict[str, int]  # rule → facts it is evidence for
    violations: dict[str, list[str]]
    example_failures: list[str]


def rule_report(rules, corpus=None) -> RuleReport:
    """How often each rule fired on the corpus, which never fired, which broke the contract."""
    fired, facts, violations = {}, defaultdict(int), {}
    if corpus is not None:
        fired = dict(corpus.fired)
        for evidence in list(corpus.facts.values()) + list(corpus.claims.values()):
            for ev in evidence:
                facts[ev.rule] += 1
        violations = contract_violations(corpus)
    return RuleReport(rule_ids(rules), fired, dict(facts), violations, run_rule_examples(rules))


def format_rule_report(report: RuleReport, with_corpus: bool) -> str:
    lines = []
    if with_corpus:
        lines.append(f"{'rule':44} {'section':26} {'fired':>5} {'facts':>5}")
        for rid, section in sorted(report.ids.items(), key=lambda kv: (kv[1], kv[0])):
            lines.append(f"{rid:44} {section:26} {report.fired.get(rid, 0):5} {report.facts.get(rid, 0):5}")
        never = [rid for rid in report.ids if not report.fired.get(rid) and not report.facts.get(rid)]
        lines += ["", f"never fired ({len(never)}): {', '.join(sorted(never))}"]
        unknown = sorted(set(report.facts) - set(report.ids))
        if unknown:
            lines.append(f"evidence from rules not in the rule files: {', '.join(unknown)}")
        lines += [
            "",
            f"facts that break the contract ({sum(map(len, report.violations.values()))}):",
        ]
        for rid in sorted(report.violations):
            lines += [f"  {rid}: {v}" for v in report.violations[rid]]
    else:
        lines.append(f"{len(report.ids)} rules (give --corpus to count how often each fires)")
    lines += ["", f"example sentences failing ({len(report.example_failures)}):"]
    lines += [f"  {f}" for f in report.example_failures]
    return "\n".join(lines) + "\n"
