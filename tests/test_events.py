"""Events, dates, claims of responsibility and casualty figures."""

import re

import pytest

from kg.events import DATE_PATTERNS, resolve_date
from kg.pipeline import build
from tests.helpers import label, run


def date_of(text: str, doc_date: str | None) -> str | None:
    for precision, regex in DATE_PATTERNS:
        m = regex.search(text)
        if m:
            return resolve_date(m, precision, doc_date)
    return None


@pytest.mark.parametrize(
    ("text", "doc_date", "expected"),
    [
        ("on January 31, militants struck", "2026-02", "2026-01-31"),
        ("31 January 2026", None, "2026-01-31"),
        ("on December 28 the convoy was hit", "2026-01-05", "2025-12-28"),  # the year before the article
        ("in March 2025 with the hijacking", None, "2025-03"),
        ("launched Operation Azm-e-Istehkam in 2024", None, "2024"),
        ("on February 4 security forces", None, None),  # no year and no document date: not guessed
    ],
)
def test_dates_at_the_precision_the_text_gives(text, doc_date, expected):
    assert date_of(text, doc_date) == expected


def test_over_the_past_few_days_gives_no_date():
    result = run("Over the past few days, the attack on the Jaffar Express shocked the country.", "2025-03")
    [event] = result.events
    assert event.date is None


def claims_of(text: str, date: str | None = "2026-02-01"):
    result = run(text, date)
    return result, {
        (c.count, c.qualifier, c.category, c.outcome, label(result, c.claimant) if c.claimant else None)
        for c in result.claims
    }


def test_each_side_keeps_its_own_figures():
    text = (
        "Pakistan's largest province has long seen fighting between Pakistani forces and separatists. "
        "On January 31, the BLA launched dozens of simultaneous attacks across the province. "
        "The government said at least 30 civilians and 18 soldiers were killed in the attacks. "
        "Authorities said over 170 BLA fighters were killed. "
        "The insurgents said they killed over 200 government security personnel and lost 34 fighters."
    )
    result, claims = claims_of(text)
    assert claims == {
        (30, "AtLeast", "Civilians", "Killed", "Government of Pakistan"),
        (18, "Exactly", "SecurityPersonnel", "Killed", "Government of Pakistan"),
        (170, "MoreThan", "Militants", "Killed", "Government of Pakistan"),
        (200, "MoreThan", "SecurityPersonnel", "Killed", "Balochistan Liberation Army"),
        (34, "Exactly", "Militants", "Killed", "Balochistan Liberation Army"),
    }
    assert len({c.event for c in result.claims}) == 1


def test_number_words_qualifiers_and_alternatives():
    _, claims = claims_of(
        "Militants ambushed a convoy in Kech on March 3, killing eighteen soldiers and "
        "injuring nearly 40 people, the ISPR said."
    )
    assert (18, "Exactly", "SecurityPersonnel", "Killed", "Inter-Services Public Relations") in claims
    assert (40, "Approximately", "People", "Injured", "Inter-Services Public Relations") in claims
    _, claims = claims_of(
        "On January 31 the BLA launched attacks across the province. The BLA claimed "
        "the deaths of over 80 security personnel (with some claims specifying 84 or 94) and "
        "the capture of 18 others."
    )
    assert {(80, "MoreThan"), (84, "Exactly"), (94, "Exactly")} <= {(c[0], c[1]) for c in claims if c[3] == "Killed"}
    assert (18, "Exactly", "SecurityPersonnel", "Captured", "Balochistan Liberation Army") in claims


def test_dozens_is_not_turned_into_a_number():
    _, claims = claims_of("On January 31 the BLA launched attacks that claimed the lives of dozens of soldiers.")
    assert claims == set()


def test_a_figure_from_another_event_in_the_sentence_goes_to_that_event():
    result = run(
        "On March 3, the BLA launched an attack on a convoy in Kech that killed 12 soldiers, "
        "weeks after a bombing on the Jaffar Express on February 1 that killed 40 people."
    )
    events = {e.id: e for e in result.events}
    by_count = {c.count: events[c.event] for c in result.claims}
    assert by_count[12] is not by_count[40]
    assert "jaffar-express" in by_count[40].targets


def test_unverified_figures_are_marked():
    result = run(
        "On January 31, the BLA launched attacks across the province. The government said at least "
        "30 civilians were killed. RFE/RL could not independently verify the claims."
    )
    assert [c.verified for c in result.claims] == [False]


def test_claim_of_responsibility_for_both_attacks_names_two_events():
    text = (
        "The most deadly were the attack on Jaffar Express and the security forces' convoy in Balochistan's "
        "Noshki district. The Balochistan Liberation Army (BLA), a separatist group, claimed responsibility "
        "for both attacks."
    )
    result = run(text, "2025-03")
    claimed = {f.object for f in result.facts if f.predicate == "claimedResponsibilityFor"}
    assert len(claimed) == 2
    events = {e.id: e for e in result.events}
    assert any("jaffar-express" in events[e].targets for e in claimed)
    assert any("noshki" in events[e].locations for e in claimed)


@pytest.mark.parametrize(
    "text",
    [
        "The BLA could claim responsibility for the attack on the Jaffar Express.",
        "The TTP denied any role in the attack on the Jaffar Express.",
    ],
)
def test_no_claim_from_a_hypothetical_or_a_denial(text):
    result = run(text, "2025-03")
    assert not [f for f in result.facts if f.predicate == "claimedResponsibilityFor" and f.modality == "Claimed"]


def test_claimed_by_and_said_it_carried_out():
    result = run("A police station was damaged in an attack claimed by the separatist BLA on February 1.", "2026-02")
    [claim] = [f for f in result.facts if f.predicate == "claimedResponsibilityFor"]
    event = next(e for e in result.events if e.id == claim.object)
    assert event.date == "2026-02-01"
    result = run("A bomb hit a checkpoint in Quetta on May 2. The TTP said it carried out the attack.", "2025-05")
    assert {f.subject for f in result.facts if f.predicate == "claimedResponsibilityFor"} == {
        "tehreek-e-taliban-pakistan"
    }


def test_named_offensive_keeps_its_name_and_alias():
    result = run(
        "A wave of coordinated attacks hit the province on January 31. In retaliation, the BLA launched what it "
        'termed "Operation Herof 2.0" (or "black storm"), targeting over a dozen locations including '
        "Quetta, Gwadar, Mastung and Noshki.",
        "2026-02-01",
    )
    [event] = [e for e in result.events if e.names]
    assert event.names == ["Operation Herof 2.0", "black storm"]
    assert event.type == "Attack" and event.date == "2026-01-31"
    assert {"quetta", "gwadar", "mastung", "noshki"} <= event.locations


def test_rescue_operation_responds_to_the_attack():
    result = run(
        "In March 2025 militants hijacked the Jaffar Express near Sibi. The rescue operation resulted "
        "in the deaths of 33 attackers and the release of over 300 hostages."
    )
    responds = [f for f in result.facts if f.predicate == "respondsTo"]
    assert len(responds) == 1
    attack = next(e for e in result.events if e.id == responds[0].object)
    assert "jaffar-express" in attack.targets
    assert {(c.count, c.outcome) for c in result.claims} == {(33, "Killed"), (300, "Rescued")}


def write_docs(tmp_path, texts: dict[str, str]) -> None:
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")


def test_one_event_across_articles_however_spelled(tmp_path):
    write_docs(
        tmp_path,
        {
            "a.txt": "Tuesday, March 11, 2025\n\nThe BLA claimed responsibility for the attack on the Jaffar Express near Sibi.",
            "b.txt": "Thursday, March 13, 2025\n\nThe hijacking of the Jaffer Express train ended after two days. "
            "The rescue operation freed over 300 hostages.",
        },
    )
    corpus = build([tmp_path]).corpus
    attacks = [e for e in corpus.events.values() if e.type in ("Attack", "Hijacking")]
    assert len(attacks) == 1 and attacks[0].type == "Hijacking"
    claimed = [k for k in corpus.facts if k[1] == "claimedResponsibilityFor"]
    assert [k[2] for k in claimed] == [attacks[0].id]


def test_two_attacks_in_one_town_on_different_days_stay_two(tmp_path):
    write_docs(
        tmp_path,
        {
            "a.txt": "Monday, May 5, 2025\n\nOn May 4, the TTP launched an attack on a police post in Bannu, killing 3 policemen.",
            "b.txt": "Friday, May 9, 2025\n\nOn May 8, the TTP launched an attack on a police post in Bannu, killing 2 policemen.",
        },
    )
    corpus = build([tmp_path]).corpus
    dated = sorted(e.date for e in corpus.events.values() if e.date)
    assert dated == ["2025-05-04", "2025-05-08"]


def test_same_side_same_figure_in_two_articles_is_one_claim_with_two_evidences(tmp_path):
    sentence = "On January 31, the BLA launched attacks across the province. The government said at least 30 civilians were killed."
    write_docs(
        tmp_path,
        {"a.txt": "February 1, 2026\n\n" + sentence, "b.txt": "February 2, 2026\n\n" + sentence + " More later."},
    )
    corpus = build([tmp_path]).corpus
    [(key, evidence)] = list(corpus.claims.items())
    assert key[4] == 30 and len({e.doc for e in evidence}) == 2
    assert all(re.search(r"30 civilians", e.quote) for e in evidence)


def test_a_date_is_not_a_casualty_figure_and_according_to_names_the_claimant():
    result = run(
        "A blast in Quetta on 2 March 2026 left several officers dead. According to the Government "
        "of Balochistan, 7 policemen were killed in the blast.",
        "2026-03",
    )
    assert [(c.count, c.claimant) for c in result.claims] == [(7, "government-of-balochistan")]
    [event] = result.events
    assert event.date == "2026-03-02" and event.locations == {"quetta"}


def test_perpetrators_named_as_a_countrys_forces_and_units():
    result = run(
        "Pakistan's security forces on February 4 wrested control of Nushki from separatist militants.", "2026-02"
    )
    [op] = result.events
    assert op.type == "SecurityOperation" and op.perpetrators == {"pakistan-army"}
    assert op.date == "2026-02-04" and op.locations == {"noshki"}
    result = run(
        "In March 2025 the BLA hijacked the Jaffar Express. The attack was carried out by elite units of "
        "the BLA, including the Majeed Brigade and the Fateh Squad."
    )
    [attack] = [e for e in result.events if e.type == "Hijacking"]
    assert {"balochistan-liberation-army", "majeed-brigade", "fateh-squad"} <= attack.perpetrators


def test_the_military_is_only_resolved_when_the_article_has_one_country():
    text = "The military launched Operation Azm-e-Istehkam in 2024, targeting militant hideouts in Bannu."
    [op] = run(text).events
    assert op.perpetrators == set()  # no country named: "the military" of whom?
    [op] = run("Pakistan faces a long insurgency, and Pakistani officials admit it. " + text).events
    assert op.perpetrators == {"pakistan-army"} and op.date == "2024"


def test_a_wire_report_in_the_usual_shape():
    """Our own sentences in the shape agencies report a claimed bombing (a day name, a figure
    in the claim sentence, the same figure again in the spokesman's quote, a variant spelling)."""
    text = (
        "The BLA on Friday claimed responsibility for a roadside bomb attack in Quetta that killed ten Pakistani "
        'soldiers and wounded three others. "The vehicle was destroyed and all 10 soldiers on board were killed," '
        "said BLA spokesman Jiyand Baloch. The TTP denied any involvement in the blast."
    )
    result = run(text, "2025-05-10")  # a Saturday
    [event] = result.events
    assert event.date == "2025-05-09" and event.locations == {"quetta"}
    claimed = {(f.subject, f.modality) for f in result.facts if f.predicate == "claimedResponsibilityFor"}
    assert claimed == {("balochistan-liberation-army", "Claimed")}
    figures = {(c.count, c.outcome, c.category, c.claimant) for c in result.claims}
    assert figures == {
        (10, "Killed", "SecurityPersonnel", "balochistan-liberation-army"),
        (3, "Injured", "SecurityPersonnel", "balochistan-liberation-army"),
    }
    assert ("jiyand-baloch", "memberOf", "balochistan-liberation-army") in {
        (f.subject, f.predicate, f.object) for f in result.facts
    }


def test_a_victim_noun_spelled_with_look_alike_letters_is_still_its_category():
    """Ignore-case matching takes the long s (ſ) as 's' and the dotless ı as 'i': the figure's
    words must be looked up the same way, or the document fails (KeyError) instead of saying
    what it says."""
    text = (
        "Pakistan's largest province has long seen fighting. On January 31, the BLA launched attacks "
        "across the province. The government said at least 30 civilians and 18 soldiers were killed."
    )
    plain = claims_of(text)[1]
    spelled = claims_of(text.replace("civilians", "cıvilians").replace("soldiers", "ſoldiers"))[1]
    assert spelled == plain and {c[:4] for c in plain} == {
        (30, "AtLeast", "Civilians", "Killed"),
        (18, "Exactly", "SecurityPersonnel", "Killed"),
    }
