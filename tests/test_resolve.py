"""Entity resolution across documents: spelling variants join, different actors never do."""

from kg.pipeline import build
from kg.resolve import same_name


def test_transliterations_are_one_name():
    assert same_name("Fazl-ur-Rehman", "Fazlur Rahman")
    assert same_name("Kiyya Baloch", "Kiyya Baluch")
    assert same_name("Jeeyand Baloch", "Jiyand Baloch")


def test_different_actors_stay_apart():
    assert not same_name("Balochistan National Party", "National Party")
    assert not same_name("Imtiaz Baloch", "Ishaq Baloch")
    assert not same_name("Ayub Khan", "Gohar Ayub Khan")
    assert not same_name("Imran Khan", "Imran Nazir Khan")


def test_one_node_for_a_person_spelled_two_ways(tmp_path):
    (tmp_path / "a.txt").write_text("JUI-F chief Maulana Fazl-ur-Rehman criticised the operation.", encoding="utf-8")
    (tmp_path / "b.txt").write_text("JUI-F chief Maulana Fazlur Rahman called for talks.", encoding="utf-8")
    corpus = build([tmp_path]).corpus
    people = [e for e in corpus.entities.values() if e.type == "Person"]
    assert len(people) == 1
    assert {"Fazlur Rahman", "Fazl-ur-Rehman"} <= {people[0].label, *people[0].aliases}
    leads = {k[0] for k in corpus.facts if k[1] == "leads"}
    assert leads == {people[0].id}


def test_iris_are_stable_slugs_of_dictionary_ids(seeds_build):
    ids = set(seeds_build.corpus.entities)
    assert {"balochistan-liberation-army", "tehreek-e-taliban-pakistan", "khyber-pakhtunkhwa", "noshki"} <= ids
    assert "sarfaraz-bugti" in ids
