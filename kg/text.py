"""Sentences with exact character offsets, and the text normalisation matching relies on."""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
ABBREVIATIONS = {
    "dr",
    "mr",
    "mrs",
    "ms",
    "gen",
    "lt",
    "col",
    "maj",
    "capt",
    "brig",
    "sgt",
    "st",
    "prof",
    "sen",
    "rep",
    "gov",
    "no",
    "vs",
    "etc",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "approx",
    "inc",
    "ltd",
    "co",
    "jr",
    "sr",
    "fig",
}
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_LINE = re.compile(r"[^\n]+")
_OPENS_QUOTE = re.compile(r"\s*[\"'(\[]")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.")

# Same-length replacements, so offsets in the normalised text are offsets in the original.
_FOLDS = {"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u2011": "-", "\u00a0": " "}
_NORMALISE = str.maketrans(_FOLDS)


def normalise(text: str) -> str:
    """Quotes, dashes and no-break spaces folded to ASCII, one character for one.

    A chain of str.replace, not str.translate: no replacement is itself replaced, so the
    result is the same, and replace is a few hundred times faster on non-ASCII text."""
    if text.isascii():
        return text
    for old, new in _FOLDS.items():
        text = text.replace(old, new)
    return text


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    paragraph: int  # index of the line it sits on, for discourse (the previous sentence, the heading)


def _ends_with_abbreviation(text: str, dot: int) -> bool:
    # the run of letters and dots just before the dot, at most 100 back (what the regex
    # ([A-Za-z.]+)$ finds in that window), read backwards: a search tried every start
    start, low = dot, max(0, dot - 100)
    while start > low and text[start - 1] in _WORD_CHARS:
        start -= 1
    if start == dot:
        return False
    token = text[start:dot].rstrip(".").lower()
    return token in ABBREVIATIONS or len(token) == 1 or "." in token


def split_sentences(text: str) -> list[Sentence]:
    """Split each line into sentences; a line break always ends a sentence."""
    sentences = []
    for number, line in enumerate(_LINE.finditer(text)):
        offset, body = line.start(), line.group()
        cut = 0
        for match in _BOUNDARY.finditer(body):
            opens_quote = bool(_OPENS_QUOTE.match(body, match.end()))
            if body[match.start()] == "." and not opens_quote and _ends_with_abbreviation(body, match.start()):
                continue
            sentences.extend(_piece(text, offset + cut, offset + match.end(), number))
            cut = match.end()
        sentences.extend(_piece(text, offset + cut, offset + len(body), number))
    return sentences


def _piece(text: str, start: int, end: int, paragraph: int) -> list[Sentence]:
    """Trim white space at both ends; drop pieces with nothing in them."""
    piece = text[start:end]
    body = piece.strip()  # str.strip() drops what str.isspace() calls white space
    if not body:
        return []
    start += len(piece) - len(piece.lstrip())
    return [Sentence(start, start + len(body), body, paragraph)]
