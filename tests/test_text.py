from hypothesis import given
from hypothesis import strategies as st

from kg.ingest import stated_date
from kg.text import _FOLDS, _NORMALISE, normalise, split_sentences


def test_sentence_offsets_are_exact_on_seed_text():
    text = (
        "Firstly, the provincial government, led by Chief Minister Sarfaraz Bugti, lacks legitimacy. "
        "Not only is his leadership questioned.\nAnalysts warn, as urged by figures like Dr. Moeed Pirzada, "
        "that the cycle risks more violence."
    )
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "Firstly, the provincial government, led by Chief Minister Sarfaraz Bugti, lacks legitimacy.",
        "Not only is his leadership questioned.",
        "Analysts warn, as urged by figures like Dr. Moeed Pirzada, that the cycle risks more violence.",
    ]
    assert all(text[s.start : s.end] == s.text for s in sentences)


def test_closing_quote_stays_with_its_sentence():
    text = "“We warned about this,” he said. “No one listened.” Talks failed."
    parts = [s.text for s in split_sentences(text)]
    assert parts == ["“We warned about this,” he said.", "“No one listened.”", "Talks failed."]


def test_line_break_ends_a_sentence_and_paragraphs_are_numbered():
    sentences = split_sentences("Largest-Ever Attacks\n\nOn January 31, the BLA struck.")
    assert [s.text for s in sentences] == ["Largest-Ever Attacks", "On January 31, the BLA struck."]
    assert sentences[0].paragraph != sentences[1].paragraph


def test_normalise_keeps_length_so_offsets_hold():
    text = "Pakistan’s “Indian-sponsored” claim — denied"
    assert len(normalise(text)) == len(text)
    assert normalise(text) == 'Pakistan\'s "Indian-sponsored" claim - denied'


@given(st.text(alphabet=st.sampled_from([*_FOLDS, *_FOLDS.values(), "a", "Z", " ", "\n", "é", "\ue000"])))
def test_normalise_is_the_one_for_one_translation(text):
    """The replace chain is the character-for-character table it stands for."""
    assert normalise(text) == text.translate(_NORMALISE)


@given(st.text())
def test_normalise_on_any_text(text):
    assert normalise(text) == text.translate(_NORMALISE)


def test_stated_dates_in_both_orders():
    assert stated_date("Sunday, February 1, 2026\n\nEscalating violence") == "2026-02-01"
    assert stated_date("Published 4 March 2025 by staff") == "2025-03-04"
    assert stated_date("No date here at all") is None
