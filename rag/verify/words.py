"""Reading a claim or an evidence sentence: tokens, light stems, names, clauses, the language's word tables."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from rag import lang as language


def lang_data(lang: str) -> dict[str, Any]:
    """The claim checker's word tables for ``lang`` (``rag.lang``), English for whatever it lacks."""
    english = language.get(language.DEFAULT).claim_words
    return {**english, **language.get(lang).claim_words} if lang != language.DEFAULT else english


def english_data() -> dict[str, Any]:
    """The English tables: claims are English, whatever language the evidence is in."""
    return language.get(language.DEFAULT).claim_words


TOKEN = re.compile(r"\$|€|£|%|\d+(?:[.,:]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)?|[\"“”‘’'(]")


@dataclass(frozen=True)
class Token:
    text: str
    low: str  # lower case, possessive 's removed
    start: int
    initial: bool  # first word of a sentence or quote


def normalise(text: str) -> str:
    return re.sub(r"[’‘`´]", "'", unicodedata.normalize("NFKC", text))


def tokens(text: str) -> list[Token]:
    """Words, numbers and currency signs, each knowing whether it opens a sentence or a quote."""
    out: list[Token] = []
    initial = True
    text = normalise(text)
    for m in TOKEN.finditer(text):
        raw = m.group()
        if raw in "\"“”‘'(":
            initial = initial or raw in "\"“‘("
            continue
        gap = text[out[-1].start + len(out[-1].text): m.start()] if out else ""
        if out and re.search(r"[.!?:]\s*$", gap.strip() + " ") and re.search(r"[.!?:]", gap):
            initial = True
        low = raw.lower()
        low = re.sub(r"'s$", "", low)
        out.append(Token(raw, low, m.start(), initial))
        initial = False
    return out


def stem(word: str) -> str:
    """A light suffix strip, enough for "miners"/"miner", "moved"/"move", "headquartered"/"headquarters"."""
    word = word.lower()
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    return word.rstrip("e") if len(word) > 4 else word


def content_stems(text: str, lang: str = "en") -> list[str]:
    stop = lang_data(lang)["stopwords"]
    return [stem(t.low) for t in tokens(text) if t.low not in stop and (len(t.low) > 1) and not t.low.isdigit()
            and t.low not in "$€£%"]


def is_name(t: Token, lang: str) -> bool:
    data = lang_data(lang)
    if not t.text[:1].isupper() or t.low in data["stopwords"] or t.low in english_data()["stopwords"]:
        return False
    if t.low in data["months"] or t.low in data["weekdays"] or t.low in data.get("roles", ()) \
            or t.low in english_data()["role_modifiers"] or t.low in english_data()["roles"]:
        return False
    return not t.initial or t.text.isupper() or any(ch.isupper() for ch in t.text[1:])


def names(text: str, lang: str = "en", known: str = "") -> list[Token]:
    """Capitalised words that are not common words: people, places, companies.

    The first word of a sentence counts only when ``known`` (the documents)
    writes it, and always with a capital.
    """
    found = []
    for t in tokens(text):
        if is_name(t, lang):
            found.append(t)
        elif t.initial and t.text[:1].isupper() and t.low not in lang_data(lang)["stopwords"] and known \
                and re.search(r"\b" + re.escape(t.text) + r"\b", known) \
                and not re.search(r"\b" + re.escape(t.low) + r"\b", known):
            found.append(t)
    return found


def same_name(a: str, b: str) -> bool:
    """One name written two ways: China/Chinese, Kazakh/Kazakhstan, Irkutsk/Irkoetsk, NFTs/NFT."""
    a, b = stem(a), stem(b)
    if a == b:
        return True
    shorter = min(len(a), len(b))
    prefix = len(next((a[:i] for i in range(shorter, 0, -1) if a[:i] == b[:i]), ""))
    if prefix >= 4 and prefix >= 0.75 * shorter:
        return True
    # spelling variants differ inside a name, not at its ends (Canada and Canaan are two names)
    return shorter >= 5 and a[0] == b[0] and a[-2:] == b[-2:] and SequenceMatcher(None, a, b).ratio() >= 0.8


def clauses(text: str, lang: str = "en", merge: bool = True) -> list[str]:
    """``text`` cut at punctuation and at clause-opening conjunctions ("because", "while").

    With ``merge``, a piece of fewer than four content words joins the one before
    ("in a more scattered, low-profile way" stays whole), which suits comparing
    meaning; polarity needs the unmerged pieces ("closed, Sichuan has not yet").
    """
    breaks = lang_data(lang).get("clause_breaks", set())
    punctuation = r"(?:(?<!\d)[,;:]|[,;:](?!\d)|[()\u201c\u201d\"])+"  # not inside "3,000" or "2:00"
    pattern = punctuation + r"|\s(?=(?:" + "|".join(sorted(breaks)) + r")\b)" if breaks else punctuation
    pieces = [c.strip(" .?!'\u2019") for c in re.split(pattern, normalise(text)) if len(content_stems(c, lang)) >= 1]
    if not merge:
        return pieces
    merged: list[str] = []
    for piece in pieces:  # "a more scattered, low-profile way" stays one clause
        if merged and (len(content_stems(piece, lang)) < 4 or len(content_stems(merged[-1], lang)) < 2):
            merged[-1] = f"{merged[-1]}, {piece}"
        else:
            merged.append(piece)
    return merged


# Configuration names and variables: "$queue_directory", "address_verify_map", "smtpd_etrn_restrictions"
IDENTIFIER = re.compile(r"(?<![\w$])\$?[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b|(?<![\w$])\$[A-Za-z]\w*")


def identifiers(text: str) -> list[str]:
    """The code names of ``text`` (lower case, without "$"): written exactly, so a different one is another thing."""
    return list(dict.fromkeys(m.group().lstrip("$").lower() for m in IDENTIFIER.finditer(normalise(text))))


def code_names(text: str) -> list[tuple[str, str]]:
    """(name, head) for each lower-case name a technical noun follows: ("warnquota", "command")."""
    heads = english_data()["code_heads"]
    skip = english_data()["stopwords"]
    toks = tokens(text)
    return [(toks[i - 1].low, stem(t.low)) for i, t in enumerate(toks) if i > 0 and stem(t.low) in {stem(h) for h in heads}
            and toks[i - 1].low not in skip and toks[i - 1].text.islower() and not toks[i - 1].low.isdigit()]


def shares_context(a: str, a_position: int, b: str, b_position: int) -> bool:
    """Whether two words stand in the same place: a content word beside one is beside the other."""
    return bool(_context(a, a_position) & _context(b, b_position))


def _context(text: str, position: int, width: int = 3) -> set[str]:
    """The ``width`` nearest content words on each side of a position, names skipped.

    Skipping names lets a place in a list ("the United States and Canada") keep
    the words that say what the list is about ("build mines in").
    """
    skip = english_data()["context_skip"] | english_data()["stopwords"]
    toks = tokens(text)
    index = next((i for i, t in enumerate(toks) if t.start >= position), len(toks))
    words = [(i, stem(t.low)) for i, t in enumerate(toks) if t.low not in skip and not t.text[:1].isupper()
             and t.low.isalpha()]
    left = [w for i, w in words if i < index][-width:]
    right = [w for i, w in words if i > index][:width]
    return set(left + right)


def aligned_name(name: Token, claim: str, candidates: list[Token], evidence: str) -> str | None:
    """An evidence name standing where the claim has ``name``: both share a word beside them."""
    mine = _context(claim, name.start)
    for other in candidates:
        if mine & _context(evidence, other.start):
            return name_run(evidence, other)
    return None


def name_run(text: str, name: Token) -> str:
    """The whole capitalised run around one name token ("North America", "Hong Kong")."""
    toks = tokens(text)
    i = next((k for k, t in enumerate(toks) if t.start == name.start), None)
    if i is None:
        return name.text
    lo = hi = i
    while lo > 0 and toks[lo - 1].text[:1].isupper() and not toks[lo - 1].initial and \
            normalise(text)[toks[lo - 1].start + len(toks[lo - 1].text): toks[lo].start].strip() in ("", "-"):
        lo -= 1
    while hi + 1 < len(toks) and toks[hi + 1].text[:1].isupper() and \
            normalise(text)[toks[hi].start + len(toks[hi].text): toks[hi + 1].start].strip() in ("", "-"):
        hi += 1
    return normalise(text)[toks[lo].start: toks[hi].start + len(toks[hi].text)]
