"""Relation rules on seed sentences, on sentences of our own in the shapes real reporting
uses, and on look-alikes that must not give the relation."""

import pytest

from kg.text import normalise
from tests.helpers import facts, run

POSITIVE = [
    # leads
    (
        "Other political leaders, including JUI-F chief Maulana Fazlur Rahman and provincial assembly members, echoed it.",
        ("Fazlur Rahman", "leads", "Jamiat Ulema-e-Islam (F)"),
    ),
    (
        '"The security situation is out of control," declared Akhtar Mengal, president of the Balochistan National Party, on X.',
        ("Akhtar Mengal", "leads", "Balochistan National Party"),
    ),
    (
        "Bilawal Bhutto Zardari, chairman of the Pakistan Peoples Party, demanded an inquiry.",
        ("Bilawal Bhutto Zardari", "leads", "Pakistan Peoples Party"),
    ),
    (
        "Sarfaraz Bugti, the chief minister of Balochistan, ruled out talks with the BLA.",
        ("Sarfaraz Bugti", "leads", "Government of Balochistan"),
    ),
    (
        "Khyber Pakhtunkhwa Chief Minister Ali Amin Gandapur asked for more police.",
        ("Ali Amin Gandapur", "leads", "Government of Khyber Pakhtunkhwa"),
    ),
    # memberOf
    (
        "The statement of opposition leader Gohar Ayub Khan of the PTI was clear.",
        ("Gohar Ayub Khan", "memberOf", "Pakistan Tehreek-e-Insaf"),
    ),
    (
        "Ishaq Baloch, a leader of the National Party, told the radio that dialogue is the only way.",
        ("Ishaq Baloch", "memberOf", "National Party"),
    ),
    (
        "BLA spokesman Jeeyand Baloch said the fighters had withdrawn from Kech.",
        ("Jeeyand Baloch", "memberOf", "Balochistan Liberation Army"),
    ),
    (
        "Abubakar Siddique, a journalist for RFE/RL's Radio Azadi, covers Afghanistan.",
        ("Abubakar Siddique", "memberOf", "Radio Free Europe/Radio Liberty"),
    ),
    # founded
    (
        "The PTI stayed away, citing restrictions on consulting its jailed founder, Imran Khan.",
        ("Imran Khan", "founded", "Pakistan Tehreek-e-Insaf"),
    ),
    ("PTI founder Imran Khan has been in jail since 2023.", ("Imran Khan", "founded", "Pakistan Tehreek-e-Insaf")),
    # relativeOf
    (
        "Gohar Ayub Khan of the PTI, who is also the grandson of Pakistan's first military dictator, General Ayub Khan, spoke.",
        ("Gohar Ayub Khan", "relativeOf", "Ayub Khan"),
    ),
    (
        "Chairman Bilawal Bhutto Zardari, the son of President Asif Ali Zardari, addressed the rally.",
        ("Bilawal Bhutto Zardari", "relativeOf", "Asif Ali Zardari"),
    ),
    # partOf
    (
        "The attack was carried out by elite units of the BLA, including the Majeed Brigade, Fateh Squad, and Stos Brigades.",
        ("Majeed Brigade", "partOf", "Balochistan Liberation Army"),
    ),
    (
        "As the South Asian branch of ISIS, ISKP has conducted numerous bombings.",
        ("Islamic State Khorasan Province", "partOf", "Islamic State"),
    ),
    (
        "The Majeed Brigade, the suicide unit of the BLA, claimed the bombing in Quetta.",
        ("Majeed Brigade", "partOf", "Balochistan Liberation Army"),
    ),
    # operatesIn
    (
        "Tehreek-e-Taliban Pakistan (TTP) has escalated its attacks in KP, particularly in the southern districts of Bannu, Lakki Marwat, Tank, and Dera Ismail Khan.",
        ("Tehreek-e-Taliban Pakistan", "operatesIn", "Dera Ismail Khan"),
    ),
    (
        "The TTP remains active in North Waziristan and Bajaur, officials say.",
        ("Tehreek-e-Taliban Pakistan", "operatesIn", "Bajaur"),
    ),
    (
        "Notorious for its violence, LeJ has killed hundreds. Its presence across Punjab and Karachi has fueled instability.",
        ("Lashkar-e-Jhangvi", "operatesIn", "Karachi"),
    ),
    # accuses
    (
        "Iran accuses Pakistan of harboring Sunni militants, while Pakistan blames Iran for providing sanctuary to Baloch insurgents.",
        ("Pakistan", "accuses", "Iran"),
    ),
    ("Afghanistan blamed Pakistan for the airstrikes in Khost.", ("Afghanistan", "accuses", "Pakistan")),
]


@pytest.mark.parametrize(("text", "expected"), POSITIVE, ids=[p[1][1] + ":" + p[1][0] for p in POSITIVE])
def test_relation_is_found(text, expected):
    assert expected in facts(text)


NEGATIVE = [
    # an indefinite "a leader of" is membership, not leadership
    (
        "Ishaq Baloch, a leader of the National Party, told the radio that dialogue is the only way.",
        ("Ishaq Baloch", "leads", "National Party"),
    ),
    # the Balochistan National Party is not the National Party
    (
        "Akhtar Mengal, president of the Balochistan National Party, warned of chaos.",
        ("Akhtar Mengal", "leads", "National Party"),
    ),
    # a former member is not a member now
    (
        "Ishaq Baloch, a former member of the National Party, joined another movement.",
        ("Ishaq Baloch", "memberOf", "National Party"),
    ),
    # a hedge keeps the statement out of the plain triples
    (
        "The TTP could expand its operations in Punjab, analysts warn.",
        ("Tehreek-e-Taliban Pakistan", "operatesIn", "Punjab"),
    ),
    # naming two groups side by side says nothing about units
    (
        "The BLA and the Majeed Brigade both operate in Kech.",
        ("Majeed Brigade", "partOf", "Balochistan Liberation Army"),
    ),
    # a General Ayub Khan and a Gohar Ayub Khan in one sentence are two people, not kin by default
    (
        "General Ayub Khan ruled in the 1960s; Gohar Ayub Khan of the PTI leads the opposition today.",
        ("Gohar Ayub Khan", "relativeOf", "Ayub Khan"),
    ),
    # no accusation verb, no accusation
    ("Iran and Pakistan agreed to cooperate on border security.", ("Iran", "accuses", "Pakistan")),
    # the founder of a party is not its leader by that sentence
    ("PTI founder Imran Khan has been in jail since 2023.", ("Imran Khan", "leads", "Pakistan Tehreek-e-Insaf")),
]


@pytest.mark.parametrize(("text", "unwanted"), NEGATIVE, ids=[n[1][1] + ":" + n[1][0] for n in NEGATIVE])
def test_look_alike_does_not_give_the_relation(text, unwanted):
    assert unwanted not in facts(text)


def test_hedged_relation_is_kept_as_hypothetical_statement():
    result = run("The TTP could expand its operations in Punjab, analysts warn.")
    modalities = {f.modality for f in result.facts if f.predicate == "operatesIn"}
    assert modalities == {"Hypothetical"}


def test_allegation_is_reported_not_asserted():
    text = (
        "Balochistan Chief Minister Sarfaraz Bugti vowed continued operations against militancy, describing "
        'the attacks as orchestrated by "Indian-sponsored" elements - a charge repeatedly leveled at the '
        "BLA but denied by New Delhi."
    )
    result = run(text)
    assert ("Sarfaraz Bugti", "accuses", "India") in facts(text)
    assert ("India", "sponsors", "Balochistan Liberation Army") not in facts(text)
    [alleged] = [f for f in result.facts if f.predicate == "sponsors"]
    assert alleged.modality == "Alleged"
    assert (alleged.subject, alleged.object) == ("india", "balochistan-liberation-army")
    assert alleged.claimant == "sarfaraz-bugti" and alleged.denied_by == "india"


def test_every_fact_quotes_its_sentence_exactly_and_names_both_ends():
    text = " ".join(t for t, _ in POSITIVE[:12])
    result = run(text)
    assert result.facts
    for f in result.facts:
        ev = f.evidence
        assert text[ev.start : ev.end] == ev.quote
        if not ev.resolved and f.predicate in {"leads", "memberOf", "founded", "relativeOf"}:
            quote = normalise(ev.quote).lower()
            for end in (f.subject, f.object):
                entity = result.entities[end]
                names = {entity.label, *entity.aliases}
                assert any(normalise(n).lower() in quote for n in names), (f, names)


def test_acronyms_do_not_fire_inside_words_or_in_lower_case():
    result = run("Officials blamed the tank drivers, and the Kpk-style bla bla of Tanker crews.")
    assert not {m for m in result.entities if m in {"balochistan-liberation-army", "tank", "khyber-pakhtunkhwa"}}
    result = run("The BLA struck in Tank district.")
    assert {"balochistan-liberation-army", "tank"} <= set(result.entities)


def test_people_are_minted_with_honorifics_as_aliases():
    result = run(
        "Other leaders, including JUI-F chief Maulana Fazlur Rahman, spoke. Later Rahman's aides met "
        "Dr. Moeed Pirzada, a commentator."
    )
    people = {e.label: e for e in result.entities.values() if e.type == "Person"}
    assert set(people) == {"Fazlur Rahman", "Moeed Pirzada"}
    assert "Maulana Fazlur Rahman" in people["Fazlur Rahman"].aliases
    assert people["Fazlur Rahman"].evidence[0].rule.startswith("person.")
