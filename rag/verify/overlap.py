"""Check that a sentence says nothing its cited passage does not say, and the text helpers it rests on.

A claim is supported when every number and name in it appears in the
passage (or the passage's English rendering) and most of its content words
do. This is deliberately strict: a small model's fluent invention fails it,
a faithful short answer passes it. The answer layer reaches this through
``rag.answer.verifier.WordOverlapVerifier``; the word lists come from
``rag.lang``.
"""

from __future__ import annotations

import re
import unicodedata

from rag import lang
from rag.core.calibration import calibrated_lead

__all__ = ["check", "content_words", "fold", "is_supported", "leading_name", "names",
           "normalise", "numbers", "stem", "support", "vetoes"]


def normalise(text: str) -> str:
    """Lower case, one kind of apostrophe, and thousands separators dropped (3,000 -> 3000)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[’‘`´]", "'", text)
    return re.sub(r"(?<=\d)[,.](?=\d{3}\b)", "", text)


def fold(word: str) -> str:
    """``word`` normalised, stemmed and without diacritics: the form exact matching compares."""
    decomposed = unicodedata.normalize("NFKD", stem(normalise(word)))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(word: str) -> str:
    """A light suffix strip (English's, from ``rag.lang``): "miners" matches "miner", "moved" "move"."""
    return lang.stem(word)


def _language(text: str, code: str | None) -> lang.Language:
    return lang.get(code) if code else lang.for_text(text)


def content_words(text: str, language: str | None = None) -> list[str]:
    """The words of ``text`` that carry meaning, stemmed; number words as digits.

    ``language`` picks the stopwords; by default they are those of the language the text is in.
    """
    data = _language(text, language)
    words = re.findall(r"[\w$%]+(?:'[\w]+)?", normalise(text))
    return [stem(data.number_words.get(w, w)) for w in words
            if w not in data.stopwords and (len(w) > 1 or w.isdigit())]


def numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", normalise(text)))


def names(text: str) -> set[str]:
    """Capitalised words that are not the first word of a sentence: people, places, companies."""
    stopwords = lang.for_text(text).stopwords
    found = set()
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        tokens = re.findall(r"\w[\w'’]*", sentence)
        for token in tokens[1:]:
            if token[0].isupper() and token.lower() not in stopwords:
                found.add(stem(normalise(token)))
    return found


def leading_name(text: str) -> set[str]:
    """The first word when it is capitalised and not a common word (short answers start with names)."""
    tokens = re.findall(r"\w[\w'’]*", text)
    stopwords = lang.for_text(text).stopwords
    if tokens and tokens[0][0].isupper() and tokens[0].lower() not in stopwords and len(tokens[0]) > 1:
        return {stem(normalise(tokens[0]))}
    return set()


def check(claim: str, sources: list[str], renderings: list[str] | tuple[str, ...] = ()) -> tuple[float, list[str]]:
    """How well ``sources`` back ``claim`` (0 to 1), and why it falls short.

    ``sources`` are original texts; ``renderings`` are machine translations of
    them. Numbers and names must appear in an original (a translation is
    model output and may invent them); other content words may come from either.
    """
    original = " ".join(sources)
    original_words = set(content_words(original))
    evidence_words = original_words | set(content_words(" ".join(renderings)))
    claim_words = content_words(claim)
    if not claim_words:
        return 0.0, ["the claim has no content words"]
    missing = vetoes(claim, sources)
    if missing:
        return 0.0, missing
    unsupported = [w for w in claim_words if w not in evidence_words]
    reasons = [f"words not in the passage: {', '.join(dict.fromkeys(unsupported))}"] if unsupported else []
    return (len(claim_words) - len(unsupported)) / len(claim_words), reasons


def vetoes(claim: str, sources: list[str]) -> list[str]:
    """The numbers, then the names, of ``claim`` that no original source holds (each as a reason).

    Any one makes the claim unsupported whatever else says so: a translation or a model may invent them.
    """
    original = " ".join(sources)
    missing_numbers = numbers(claim) - numbers(original)
    if missing_numbers:
        return [f"number {n} is not in the original" for n in sorted(missing_numbers)]
    original_tokens = set(content_words(original)) | {stem(normalise(t)) for t in re.findall(r"\w[\w'’]*", original)}
    # Every name, even a one-letter one ("Canaan Inc (CAN.O)"), must be in the original.
    return [f"name {n} is not in the original"
            for n in sorted(name for name in names(claim) | leading_name(claim) if name not in original_tokens)]


def support(claim: str, sources: list[str], renderings: list[str] | tuple[str, ...] = ()) -> float:
    """``check``'s score alone."""
    return check(claim, sources, renderings)[0]


def is_supported(claim: str, sources: list[str], renderings: list[str] | tuple[str, ...] = (),
                 threshold: float | None = None) -> bool:
    """Whether ``claim``'s support reaches ``threshold`` (by default the calibrated one, ``rag.core.calibration``)."""
    threshold = calibrated_lead().support_threshold if threshold is None else threshold
    return support(claim, sources, renderings) >= threshold
