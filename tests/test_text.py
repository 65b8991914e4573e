import re

from hypothesis import given, settings
from hypothesis import strategies as st

from kg.ingest import stated_date
from kg.text import (
    _BOUNDARY,
    _FOLDS,
    _LINE,
    _NORMALISE,
    _OPENS_QUOTE,
    ABBREVIATIONS,
    Sentence,
    normalise,
    split_sentences,
)


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


def reference_split(text: str) -> list[Sentence]:
    """split_sentences as it was written before it was made faster: the result must not move."""

    def ends_with_abbreviation(body: str, dot: int) -> bool:
        word = re.search(r"([A-Za-z.]+)$", body[max(0, dot - 100) : dot])
        if not word:
            return False
        token = word.group(1).rstrip(".").lower()
        return token in ABBREVIATIONS or len(token) == 1 or "." in token

    def piece(start: int, end: int, paragraph: int) -> list[Sentence]:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        return [Sentence(start, end, text[start:end], paragraph)] if end > start else []

    sentences = []
    for number, line in enumerate(_LINE.finditer(text)):
        offset, body = line.start(), line.group()
        cut = 0
        for match in _BOUNDARY.finditer(body):
            opens_quote = bool(_OPENS_QUOTE.match(body, match.end()))
            if body[match.start()] == "." and not opens_quote and ends_with_abbreviation(body, match.start()):
                continue
            sentences.extend(piece(offset + cut, offset + match.end(), number))
            cut = match.end()
        sentences.extend(piece(offset + cut, offset + len(body), number))
    return sentences


SENTENCE_BITS = ["Dr.", " Gen. ", "U.S. ", "a.", " No. 5", ". ", "! ", "? ", '." ', ".) ", "\n", " ", "\u2003", "\x1c"]
SENTENCE_BITS += ["The", "army", " said", " A", " 12", "(", '"', "'", "x" * 120 + ".", "\u00a0", "\t"]
SENTENCE_BITS += ["fooo.barr", "word", ".", "Next", "etc", "vs", "x", "é", "fooo.barr. Next", " etc. The"]


@settings(max_examples=500)
@given(st.lists(st.one_of(st.sampled_from(SENTENCE_BITS), st.text(max_size=8)), max_size=30).map("".join))
def test_split_sentences_equals_the_reference(text):
    assert split_sentences(text) == reference_split(text)
