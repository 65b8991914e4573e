"""The contract's namespaces and terms, so that a mistyped term fails at import, not in a query."""

from functools import cache
from pathlib import Path

from rdflib import Namespace
from rdflib.namespace import DefinedNamespace
from rdflib.term import URIRef

KGR = Namespace("https://w3id.org/kgae/id/")
ONTOLOGY_DIR = Path(__file__).resolve().parent.parent / "ontology"


class KGO(DefinedNamespace):
    """Terms of ontology/kgo.ttl; tests check the two agree."""

    _NS = Namespace("https://w3id.org/kgae/ontology#")
    _fail = True

    Actor: URIRef
    Person: URIRef
    Organization: URIRef
    ArmedGroup: URIRef
    PoliticalParty: URIRef
    StateBody: URIRef
    CivilSocietyGroup: URIRef
    MediaOrganization: URIRef
    InternationalOrganization: URIRef
    Location: URIRef
    Country: URIRef
    Province: URIRef
    District: URIRef
    City: URIRef
    Region: URIRef
    Facility: URIRef
    Event: URIRef
    Attack: URIRef
    Hijacking: URIRef
    SecurityOperation: URIRef
    Meeting: URIRef
    Protest: URIRef
    Crackdown: URIRef
    CasualtyClaim: URIRef
    Evidence: URIRef
    Document: URIRef
    Modality: URIRef
    Outcome: URIRef
    VictimCategory: URIRef
    Qualifier: URIRef
    Asserted: URIRef
    Claimed: URIRef
    Alleged: URIRef
    Denied: URIRef
    Hypothetical: URIRef
    Killed: URIRef
    Injured: URIRef
    TakenHostage: URIRef
    Rescued: URIRef
    Captured: URIRef
    Civilians: URIRef
    SecurityPersonnel: URIRef
    Militants: URIRef
    Hostages: URIRef
    People: URIRef
    Exactly: URIRef
    AtLeast: URIRef
    MoreThan: URIRef
    Approximately: URIRef
    UpTo: URIRef
    leads: URIRef
    memberOf: URIRef
    founded: URIRef
    relativeOf: URIRef
    partOf: URIRef
    operatesIn: URIRef
    claimedResponsibilityFor: URIRef
    perpetrator: URIRef
    target: URIRef
    location: URIRef
    date: URIRef
    respondsTo: URIRef
    accuses: URIRef
    participant: URIRef
    sponsors: URIRef
    harbors: URIRef
    aboutEvent: URIRef
    claimant: URIRef
    deniedBy: URIRef
    outcome: URIRef
    victimCategory: URIRef
    count: URIRef
    qualifier: URIRef
    verified: URIRef
    document: URIRef
    start: URIRef
    end: URIRef
    quote: URIRef
    rule: URIRef
    resolved: URIRef
    modality: URIRef
    observedOn: URIRef
    sha256: URIRef
    entry: URIRef
    latitude: URIRef
    longitude: URIRef
    mentionCount: URIRef


# The class tree of the contract, most specific first when walking up.
PARENT_CLASS: dict[str, tuple[str, ...]] = {
    "Person": ("Actor",),
    "Organization": ("Actor",),
    "ArmedGroup": ("Organization",),
    "PoliticalParty": ("Organization",),
    "StateBody": ("Organization",),
    "CivilSocietyGroup": ("Organization",),
    "MediaOrganization": ("Organization",),
    "InternationalOrganization": ("Organization",),
    "Country": ("Location", "Actor"),
    "Province": ("Location",),
    "District": ("Location",),
    "City": ("Location",),
    "Region": ("Location",),
    "Hijacking": ("Attack",),
    "Attack": ("Event",),
    "SecurityOperation": ("Event",),
    "Meeting": ("Event",),
    "Protest": ("Event",),
    "Crackdown": ("Event",),
}

ENTITY_CLASSES = [
    "Person",
    "Organization",
    "ArmedGroup",
    "PoliticalParty",
    "StateBody",
    "CivilSocietyGroup",
    "MediaOrganization",
    "InternationalOrganization",
    "Country",
    "Province",
    "District",
    "City",
    "Region",
    "Facility",
]
EVENT_CLASSES = ["Event", "Attack", "Hijacking", "SecurityOperation", "Meeting", "Protest", "Crackdown"]


@cache
def ancestors(cls: str) -> frozenset[str]:
    """The class and every class above it (cached: called for every mention and event)."""
    found = {cls}
    for parent in PARENT_CLASS.get(cls, ()):
        found |= ancestors(parent)
    return frozenset(found)


def descendants(cls: str) -> set[str]:
    """The class and every class below it (for typed pattern slots)."""
    return {c for c in [*ENTITY_CLASSES, *EVENT_CLASSES, "Actor", "Location"] if cls in ancestors(c)}


# The contract's relations: between entities and events, then the one to a literal (date).
ENTITY_RELATIONS = (
    "leads",
    "memberOf",
    "founded",
    "relativeOf",
    "partOf",
    "operatesIn",
    "claimedResponsibilityFor",
    "perpetrator",
    "target",
    "location",
    "respondsTo",
    "accuses",
)
CONTRACT_RELATIONS = (*ENTITY_RELATIONS, "date")
# How a statement is put (kgo:modality), as the contract names them.
MODALITIES = ("Asserted", "Claimed", "Alleged", "Denied", "Hypothetical")

# The contract's prefixes, declared before every query kg runs or saves for an analyst.
PREFIXES = """PREFIX kgo: <https://w3id.org/kgae/ontology#>
PREFIX kgr: <https://w3id.org/kgae/id/>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""
