"""Check that a sentence says nothing its cited passage does not say.

A claim is supported when every number and name in it appears in the
passage (or the passage's English rendering) and most of its content words
do. This is deliberately strict: a small model's fluent invention fails it,
a faithful short answer passes it.
"""

from __future__ import annotations

import re
import unicodedata

from rag.store import STOPWORDS

SUPPORT_THRESHOLD = 0.75
NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "twelve": "12", "twenty": "20", "hundred": "100", "thousand": "1000",
}


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[’‘`´]", "'", text)
    return re.sub(r"(?<=\d)[,.](?=\d{3}\b)", "", text)  # 3,000 -> 3000


def stem(word: str) -> str:
    """A light suffix strip, enough to match "miners" with "miner" and "moved" with "move"."""
    for suffix in ("'s", "ies", "es", "s", "ed", "ing", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def content_words(text: str) -> list[str]:
    words = re.findall(r"[\w$%]+(?:'[\w]+)?", normalise(text))
    return [stem(NUMBER_WORDS.get(w, w)) for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", normalise(text)))


def names(text: str) -> set[str]:
    """Capitalised words that are not the first word of a sentence: people, places, companies."""
    found = set()
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        tokens = re.findall(r"\w[\w'’]*", sentence)
        for token in tokens[1:]:
            if token[0].isupper() and token.lower() not in STOPWORDS:
                found.add(stem(normalise(token)))
    return found


def support(claim: str, sources: list[str], renderings: list[str] | tuple[str, ...] = ()) -> float:
    """How well ``sources`` back ``claim``, from 0 to 1.

    ``sources`` are original texts; ``renderings`` are machine translations of
    them. Numbers and names must appear in an original (a translation is
    model output and may invent them); other content words may come from either.
    """
    original = " ".join(sources)
    original_words = set(content_words(original))
    evidence_words = original_words | set(content_words(" ".join(renderings)))
    claim_words = content_words(claim)
    if not claim_words:
        return 0.0
    if not numbers(claim) <= numbers(original):
        return 0.0
    original_tokens = original_words | {stem(normalise(t)) for t in re.findall(r"\w[\w'’]*", original)}
    if any(name not in original_tokens for name in names(claim) | leading_name(claim)):
        return 0.0  # every name, even a one-letter one ("Canaan Inc (CAN.O)"), must be in the original
    return sum(w in evidence_words for w in claim_words) / len(claim_words)


def is_supported(claim: str, sources: list[str], renderings: list[str] | tuple[str, ...] = (),
                 threshold: float = SUPPORT_THRESHOLD) -> bool:
    return support(claim, sources, renderings) >= threshold


def leading_name(text: str) -> set[str]:
    """The first word when it is capitalised and not a common word (short answers start with names)."""
    tokens = re.findall(r"\w[\w'’]*", text)
    if tokens and tokens[0][0].isupper() and tokens[0].lower() not in STOPWORDS and len(tokens[0]) > 1:
        return {stem(normalise(tokens[0]))}
    return set()


def key_terms(question: str) -> set[str]:
    """Terms a passage must contain to answer ``question``: numbers, years and names in it."""
    return numbers(question) | names(question) | {stem(normalise(t)) for t in re.findall(r"\b[A-Z]{2,}\b", question)}
