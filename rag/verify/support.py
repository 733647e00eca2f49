"""Does an evidence sentence support a claim, contradict it, or not say it?

Word overlap passes "did not ban" against "banned", "30,000 kg" against
"3,000 kg" and a quote put in the wrong mouth, because the words are all
there. This verifier first picks the evidence sentence closest to the claim
(the project's encoder plus word overlap), then compares the parts that carry
the claim's meaning one by one: quantities with their unit and scale, dates,
names, negation, the speaker of a statement, job titles and who did what to
whom. A part that differs makes the claim *contradicted*, with a reason a
reader can check ("the article says 3,000 kg, not 30,000 kg"); a part the
evidence does not contain, or a clause nothing in it resembles, makes it
*not found*. Thresholds come from ``bench/calibrate_check.py`` via
``rag/data/check_calibration.json``, never from constants tuned here.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import numpy as np

from rag import lang as language

SUPPORTED, CONTRADICTED, NOT_FOUND = "supported", "contradicted", "not_found"
CALIBRATION_FILE = Path(__file__).parents[1] / "data" / "check_calibration.json"


def lang_data(lang: str) -> dict[str, Any]:
    """The claim checker's word tables for ``lang`` (``rag.lang``), English for whatever it lacks."""
    english = language.get(language.DEFAULT).claim_words
    return {**english, **language.get(lang).claim_words} if lang != language.DEFAULT else english


def english_data() -> dict[str, Any]:
    """The English tables: claims are English, whatever language the evidence is in."""
    return language.get(language.DEFAULT).claim_words


# -- records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    """One evidence candidate: a sentence (or two) of a document, as the verifier sees it."""

    text: str  # the original text
    english: str | None = None  # machine rendering when the original is not English
    lang: str = "en"
    before: str = ""  # the sentence just before, for the speaker of a quote and spill-over facts
    after: str = ""
    vector: np.ndarray | None = None  # the project encoder's vector of the English text, if known
    vector_ml: np.ndarray | None = None  # multilingual vector of a non-English original, if known


@dataclass(frozen=True)
class Support:
    """The verdict on one claim; ``score`` and ``reasons`` are what the ``Verifier`` protocol asks for."""

    verdict: str  # supported | contradicted | not_found
    score: float  # 0..1, how well the evidence backs the claim
    reasons: tuple[str, ...]  # human reasons, the first is the one to show
    evidence: int = -1  # index into the passages of the sentence the verdict rests on
    uses_after: bool = False  # the next sentence was needed too (cite it)
    details: dict[str, Any] = field(default_factory=dict)  # the measured features, for calibration

    @property
    def reason(self) -> str:
        return self.reasons[0] if self.reasons else ""


@dataclass(frozen=True)
class Calibration:
    """Thresholds fitted by bench/calibrate_check.py (see rag/data/check_calibration.json)."""

    min_relevance: float = 0.45  # best evidence score below this: nothing in the articles is close
    min_coverage: float = 0.45  # a claim clause whose best match is below this is not in the evidence
    # How a clause's match is scored: 1.0 takes the better of encoder similarity and shared words (the
    # original rule); below 1.0, ``coverage_weight`` x similarity + the rest x shared words, so a clause
    # that only sounds like the topic (every sentence of a one-topic library does) but shares none of
    # its words with the cited sentence scores low. Fitted with the thresholds.
    coverage_weight: float = 1.0

    @classmethod
    def load(cls, path: Path = CALIBRATION_FILE) -> "Calibration":
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        known = {k: float(v) for k, v in data.get("thresholds", {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


# -- reading a sentence -------------------------------------------------------------------


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


# -- quantities and dates --------------------------------------------------------------


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str | None
    text: str
    strong: bool  # written in digits or with a unit (a bare "two" may be paraphrased away)


@dataclass(frozen=True)
class DateMention:
    kind: str  # year | month | day | weekday | dom | relative
    value: str
    text: str


def _number(raw: str) -> float | None:
    raw = raw.strip()
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw):
        return float(raw.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", raw):  # 3.000 in Dutch
        return float(raw.replace(".", ""))
    if re.fullmatch(r"\d+([.,]\d+)?", raw):
        return float(raw.replace(",", "."))
    return None


def quantities_and_dates(text: str, lang: str = "en") -> tuple[list[Quantity], list[DateMention]]:
    """Every quantity (value in base units, with its unit) and every date mention of ``text``."""
    data = lang_data(lang)
    toks = tokens(text)
    lows = [t.low for t in toks]
    quantities: list[Quantity] = []
    dates: list[DateMention] = []
    used: set[int] = set()
    plain = normalise(text)

    def span(a: int, b: int) -> str:
        """The text as written from token a to token b: "3,000 kilograms", "$25 million", "35%"."""
        return plain[toks[a].start: toks[b].start + len(toks[b].text)]

    for i, t in enumerate(toks):
        low = t.low
        nxt = lows[i + 1] if i + 1 < len(lows) else ""
        prev = lows[i - 1] if i > 0 else ""
        if low in data["months"] and (lang != "en" or t.text[:1].isupper()):
            month = data["months"].index(low) + 1
            day = None
            if re.fullmatch(r"\d{1,2}", nxt):
                day, _ = int(nxt), used.add(i + 1)
            elif re.fullmatch(r"\d{1,2}", prev) and i - 1 not in used:
                day, _ = int(prev), used.add(i - 1)
            dates.append(DateMention("month", str(month), t.text))
            if day is not None:
                dates.append(DateMention("day", f"{month}-{day}", f"{t.text} {day}"))
            continue
        if low in data["weekdays"]:
            dates.append(DateMention("weekday", str(data["weekdays"].index(low)), t.text))
            continue
        if low in data["relative_days"] and nxt not in ("'s",) and not re.search(r"'s\b", t.text.lower()) \
                and not normalise(text)[t.start + len(t.text): t.start + len(t.text) + 2].startswith("'s"):
            dates.append(DateMention("relative", f"{data['relative_days'][low]}:day", t.text))
            continue
        if low in data["relative"]:
            unit_word = nxt
            units = data["time_units"]
            if isinstance(units, dict):
                unit = units.get(unit_word)
            else:
                unit = stem(unit_word) if stem(unit_word) in units else None
            if unit_word in data["weekdays"]:
                unit = "weekday"
            if unit:
                dates.append(DateMention("relative", f"{data['relative'][low]}:{unit}", f"{t.text} {toks[i + 1].text}"))
            continue
        m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)", low)
        if m:
            dates.append(DateMention("dom", m.group(1), t.text))
            continue
        if i in used:
            continue
        if re.fullmatch(r"\d{1,2}:\d{2}", low):
            hours, minutes = (int(x) for x in low.split(":"))
            end = t.start + len(t.text)
            meridiem = re.match(r"\s*([ap])\.?\s?m\b\.?", plain[end:], re.IGNORECASE)
            if meridiem and meridiem.group(1).lower() == "p" and hours < 12:
                hours += 12
            written = plain[t.start: end + (meridiem.end() if meridiem else 0)]
            quantities.append(Quantity(hours * 60.0 + minutes, "clock", written, True))
            continue
        if re.fullmatch(r"(19|20)\d{2}", low) and prev not in ("$", "€", "£") and nxt not in data["units"]:
            dates.append(DateMention("year", low, t.text))
            continue
        value = _number(low)
        strong = value is not None
        if value is None and low in data["numbers"]:
            value = float(data["numbers"][low])
            strong = value >= 3  # "two acquaintances" may paraphrase "A and B"; "eight farms" is a fact
        if value is None and low in data["one"]:
            # "a whole year", "one month": a count of one, but only in front of a unit
            j = i + 1
            while j < len(lows) and j <= i + 3 and lows[j] not in data["units"] and lows[j].isalpha() \
                    and lows[j] not in data["stopwords"]:
                j += 1
            if j < len(lows) and lows[j] in data["units"] and data["units"][lows[j]] in data["durations"] | {"kg", "km"}:
                value = 1.0
            else:
                continue
        if value is None:
            if low in data["fractions"] and prev in data["one"] | {"than", "the"} | set(data["stopwords"]):
                quantities.append(Quantity(data["fractions"][low], "percent", span(i, i), True))
            continue
        j = i + 1
        if j < len(lows) and lows[j] in data["scales"]:
            value *= data["scales"][lows[j]]
            j += 1
        unit, first, last = None, i, j - 1
        if prev in ("$", "€", "£"):
            unit, first = data["units"][prev], i - 1
        k = j
        while unit is None and k < len(lows) and k <= j + 2:
            two = f"{lows[k]} {lows[k + 1]}" if k + 1 < len(lows) else ""
            if two in data["units"]:
                unit, last = data["units"][two], k + 1
            elif lows[k] in data["units"]:
                unit, last = data["units"][lows[k]], k
            elif lows[k] in ("full", "whole", "entire", "square", "more", "long") or lows[k] in data["stopwords"] and k == j:
                k += 1
                continue
            break
        quantities.append(Quantity(value, unit, span(first, last), strong or unit is not None))
    # "80 to 90 percent": the unit of the second number belongs to the first as well
    fixed: list[Quantity] = []
    for q in quantities:
        fixed.append(q)
    for a, b in zip(range(len(fixed)), range(1, len(fixed))):
        qa, qb = fixed[a], fixed[b]
        if qa.unit is None and qb.unit is not None and re.search(
                re.escape(qa.text.split()[0]) + r"\s*(" + "|".join(re.escape(w) for w in data["range_words"]) + r")\s*"
                + re.escape(qb.text.split()[0]), normalise(text), re.IGNORECASE):
            fixed[a] = Quantity(qa.value, qb.unit, f"{qa.text} {qb.text.split()[-1]}", True)
    return fixed, dates


def show_quantity(q: Quantity) -> str:
    return " ".join(q.text.split())


# -- negation, speakers, roles ------------------------------------------------------------


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


def negation_cues(text: str, lang: str = "en", aims: bool = False) -> list[str]:
    """The words of ``text`` that deny something: "not", "no", "n't", and verbs of stopping.

    "not only" denies nothing, and a stopping verb after "to" ("aims to stop
    the risk") states an aim, not that something stopped.
    """
    data = lang_data(lang)
    lows = [t.low for t in tokens(text)]
    skip = {i for i in range(len(lows) - 1) if (lows[i], lows[i + 1]) in data["not_negating"]}
    cues = []
    for i, low in enumerate(lows):
        if i in skip:
            continue
        if low in data["negation"] or low.endswith("n't"):
            cues.append("not")
            continue
        stop = next((c for c in data["cessation"] if low.startswith(c) and len(low) - len(c) <= 3), None)
        if stop and (aims or not (i > 0 and lows[i - 1] in ("to", "te"))):
            cues.append(stop)
    return cues


def negated(text: str, lang: str = "en") -> bool:
    return bool(negation_cues(text, lang))


def speaker(text: str, lang: str = "en", known: str = "") -> tuple[list[Token], str] | None:
    """Who a sentence says is speaking: (names, phrase), or None when it reports no one.

    "X said", "X, founder of Y, said", "..., said a Chinese crypto player",
    "according to X" and '"...", lacht ze' (a pronoun: no names).
    """
    data = lang_data(lang)
    toks = tokens(text)
    plain = normalise(text)
    for i, t in enumerate(toks):
        if t.low not in data["reporting"]:
            continue
        if t.low in ("according", "volgens"):
            if t.low == "according" and not (i + 1 < len(toks) and toks[i + 1].low == "to"):
                continue
            at = toks[i + 2 if t.low == "according" else i + 1].start if i + 2 < len(toks) else len(text)
            span = _phrase(text, at)
            return names(span, lang, known), span
        # a clause ends at , ; : and at a closed quotation followed by a comma ('"...", lacht ze')
        segments = [re.sub(r"[\"“”]", " ", seg) for seg in re.split(r"[,;:]\s*[\"“”]?|[\"“”]\s*[,;:]", plain[:t.start])]
        before = segments[-1].strip()
        if before:
            before_names = names(before, lang, known)
            if before_names and len(before.split()) <= 8:
                return before_names, before
            last = before.split()[-1].lower()
            if last in data["pronouns"] or last in ("i", "we", "ik", "wij", "they"):
                return [], before.split()[-1]
            continue  # "neither of them added a note": a verb with an object, not a report
        after = _phrase(text, t.start + len(t.text))
        first = after.split()[0] if after.split() else ""
        if first and (first.lower() in data["pronouns"] or first[:1].isupper()
                      or first.lower() in ("a", "an", "the", "een", "de", "het")):
            return names(after, lang, known), after  # '"...", said a Chinese crypto player'
        earlier = [seg for seg in segments[:-1][-3:] if seg.strip()]  # "X, founder of Y, said that ..."
        found = [n for seg in earlier for n in names(seg, lang, known)]
        if found:
            return found, ", ".join(seg.strip() for seg in earlier)
    return None


def _phrase(text: str, start: int) -> str:
    """The words from ``start`` to the next comma or full stop."""
    rest = normalise(text)[start:]
    return re.split(r"[,;:.!?\"“”]|\s(?:who|which|that|adding|dat|die)\s", rest)[0].strip()


def roles_near(text: str, lang: str = "en") -> list[tuple[str, str | None, int]]:
    """(role, modifier, token position) for each job title: ("premier", "vice", 7), ("founder", "co", 3)."""
    data = english_data()
    toks = tokens(text)
    out = []
    for i, t in enumerate(toks):
        if t.low in data["roles"]:
            mod = toks[i - 1].low if i > 0 and toks[i - 1].low in data["role_modifiers"] else None
            out.append((t.low, mod, i))
    return out


# -- the verifier -----------------------------------------------------------------------


Encode = Callable[[list[str]], np.ndarray]


class StructuredVerifier:
    """Supported, contradicted or not found, by comparing a claim's facts with its best evidence sentence.

    ``encode`` is the project's English sentence encoder (unit vectors);
    ``encode_multilingual`` the multilingual one for non-English originals.
    ``background`` is text the claim may draw names from (the retrieved
    documents): a name it never mentions is an invented detail.
    """

    def __init__(self, encode: Encode, encode_multilingual: Encode | None = None,
                 calibration: Calibration | None = None):
        self.encode = encode
        self.encode_multilingual = encode_multilingual
        self.calibration = calibration or Calibration.load()

    # The Verifier protocol.
    def support(self, claim: str, passages: Sequence[Passage | str], background: str = "") -> Support:
        items = [p if isinstance(p, Passage) else Passage(p) for p in passages]
        return self.decide(self.analyse(claim, items, background))

    # -- step 1: the evidence -------------------------------------------------------

    def multilingual_similarity(self, claim: str, passages: Sequence[Passage]) -> list[float]:
        """The multilingual encoder's similarity of ``claim`` to each passage's original (0 where unknown)."""
        if self.encode_multilingual is None or not any(p.vector_ml is not None for p in passages):
            return [0.0] * len(passages)
        claim_vec = self.encode_multilingual([claim])[0]
        return [float(np.dot(claim_vec, p.vector_ml)) if p.vector_ml is not None else 0.0 for p in passages]

    def _reads_original(self, p: Passage) -> bool:
        """Whether ``p`` is read in its own language by the multilingual encoder (a non-English original)."""
        return p.vector_ml is not None and self.encode_multilingual is not None

    def rank(self, claim: str, passages: Sequence[Passage]) -> list[float]:
        """Relevance of each passage to ``claim``: encoder similarity and shared words.

        Each passage is read by the encoder made for its language: an English
        sentence (or the English rendering of another language's) by the
        project's encoder, a non-English original by the multilingual one. The
        English encoder never reads a Dutch sentence: its score there is noise
        that can outrank the right sentence or lift a wrong one.
        """
        if not passages:
            return []
        claim_vec = self.encode([claim])[0]
        english_read = [i for i, p in enumerate(passages) if not self._reads_original(p) or p.english]
        missing = [i for i in english_read if passages[i].vector is None or passages[i].english]
        fresh = self.encode([passages[i].english or passages[i].text for i in missing]) if missing else []
        vectors = {i: v for i, v in zip(missing, fresh)}
        multilingual = self.multilingual_similarity(claim, passages)
        wanted = set(content_stems(claim))
        scores = []
        for i, p in enumerate(passages):
            if self._reads_original(p):
                similarity = multilingual[i]
                if p.english:
                    # a machine rendering alone misranks (it drops and invents words); the multilingual
                    # encoder reads the original, and the mean of the two ranks best
                    similarity = 0.5 * (similarity + float(np.dot(claim_vec, vectors[i])))
            else:
                vector = vectors[i] if i in vectors else p.vector
                similarity = float(np.dot(claim_vec, vector))
            words = set(content_stems(p.english or p.text)) | set(content_stems(p.text, p.lang))
            overlap = len(wanted & words) / len(wanted) if wanted else 0.0
            scores.append(0.65 * similarity + 0.35 * overlap)
        return scores

    # -- step 2: compare ------------------------------------------------------------

    def analyse(self, claim: str, passages: Sequence[Passage], background: str = "") -> dict[str, Any]:
        """Everything measured about ``claim`` against its best passage (thresholds not applied)."""
        claim = " ".join(normalise(claim).split())
        if not passages:
            return {"claim": claim, "evidence": -1, "relevance": 0.0, "coverage": 0.0, "contradictions": [],
                    "missing": [], "uncovered": ""}
        scores = self.rank(claim, passages)
        best = int(np.argmax(scores))
        p = passages[best]
        original, english = p.text, p.english or p.text
        window_en = " ".join(x for x in (p.before, english, p.after) if x)
        window_text = " ".join(x for x in (p.before, original, p.english or "", p.after) if x)
        known = f"{background} {window_text}"
        contradictions: list[str] = []
        missing: list[str] = []
        used_after = False

        # quantities and dates: a different value in the evidence contradicts; none at all is not found
        c_q, c_d = quantities_and_dates(claim)
        e_q, e_d = quantities_and_dates(original, p.lang)
        if p.english:
            q2, d2 = quantities_and_dates(p.english)
            e_q, e_d = e_q + [q for q in q2 if q.unit is not None], e_d + d2
        # the sentence after may hold the rest of the fact (it is then cited too); the one before is
        # never cited, so a quantity or date only it gives is not in the evidence
        w_q, w_d = list(e_q), list(e_d)
        if p.after:
            q3, d3 = quantities_and_dates(p.after, p.lang)
            w_q += q3
            w_d += d3
        for q in c_q:
            if any(_same_quantity(q, e) for e in w_q):
                used_after = used_after or not any(_same_quantity(q, e) for e in e_q)
                continue
            rival = _rival_quantity(q, e_q)
            if rival:
                contradictions.append(f"the article says {show_quantity(rival)}, not {show_quantity(q)}")
            elif q.strong:
                missing.append(f"the article gives no {show_quantity(q)}")
        for d in c_d:
            if any(d.kind == e.kind and d.value == e.value for e in w_d):
                used_after = used_after or not any(d.kind == e.kind and d.value == e.value for e in e_d)
                continue
            rival_date = next((e for e in e_d if _rival_date(d, e)), None)
            if rival_date:
                contradictions.append(f"the article says {rival_date.text}, not {d.text}")
            elif d.kind != "relative":
                missing.append(f"the article gives no date {d.text}")

        # names: each must be in the evidence; a different name in the same place is a swap
        claim_names = names(claim, "en", known)
        evidence_names = names(original, p.lang, known) + (names(p.english, "en", known) if p.english else [])
        window_words = [t.low for t in tokens(window_text)]
        unmatched_evidence = [n for n in evidence_names if not any(same_name(n.low, c.low) for c in claim_names)
                              and not n.initial]  # "Specifically, ..." is no rival for a name
        sentence_words = [t.low for t in tokens(f"{original} {p.english or ''}")]
        for n in claim_names:
            if any(same_name(n.low, w) for w in sentence_words):
                continue
            rival_name = _aligned(n, claim, unmatched_evidence, original if not p.english else f"{original} {p.english}")
            if rival_name:
                contradictions.append(f"the article says {rival_name}, not {_run(claim, n)}")
            elif any(same_name(n.low, w) for w in window_words):
                continue
            elif not any(same_name(n.low, w.low) for w in tokens(background)):
                missing.append(f"the documents never mention {n.text}")

        # negation: the claim denies what the evidence asserts, or the reverse
        if not original.rstrip().endswith("?"):
            flip = _polarity_conflict(claim, original, p.english, p.lang)
            if flip:
                contradictions.append(flip)

        # speaker: a statement put in someone else's mouth (the clearest reason, so shown first)
        wrong = _wrong_speaker(claim, p, known)
        if wrong:
            contradictions.insert(0, wrong)

        # job titles and who-did-what
        role = _role_conflict(claim, english, window_en)
        if role:
            contradictions.append(role)
        swap = _swapped_roles(claim, english, known)
        if swap:
            contradictions.append(swap)

        # every clause of the claim must resemble something in the evidence
        matches = self._clause_matches(claim, p)
        coverage, uncovered, after_needed = clause_coverage(matches, self.calibration.coverage_weight)
        return {
            "claim": claim, "evidence": best, "relevance": scores[best], "coverage": coverage,
            "uncovered": uncovered, "clauses": matches, "contradictions": list(dict.fromkeys(contradictions)),
            "missing": list(dict.fromkeys(missing)),
            "uses_after": used_after or after_needed,
        }

    def _clause_matches(self, claim: str, p: Passage) -> list[dict[str, Any]]:
        """How each clause of the claim matches the cited evidence (``clause_coverage`` scores them).

        A clause matches by encoder similarity to the evidence sentence or one of
        its clauses, or by the share of its words found there. An invented
        detail ("because most trading moved offshore") is a clause that matches
        nothing. Only what would be cited counts: the sentence itself, and the
        sentence after it (which is then cited too). The sentence before is
        never quoted, so a clause only it says is not covered.

        A non-English sentence is compared through its English rendering (the
        project's encoder and words) and through its original and its clauses
        (the multilingual encoder); the English encoder never reads the original.
        """
        pieces = [c for c in clauses(claim) if not _attribution_only(c)]
        if not pieces:
            return []
        foreign = self._reads_original(p)
        english = p.english or ("" if foreign else p.text)
        own_en = [english] + [c for c in clauses(english) if c != english] if english else []
        after = [p.after] + [c for c in clauses(p.after) if c != p.after] if p.after else []
        piece_en = self.encode(pieces + own_en + (after if not foreign else []))
        sims_en = piece_en[: len(pieces)] @ piece_en[len(pieces):].T
        own_sims = sims_en[:, : len(own_en)]
        after_sims = sims_en[:, len(own_en):]
        if foreign:
            # the original and its clauses, and the sentence after, read by the multilingual encoder
            own_ml = [p.text] + [c for c in clauses(p.text, p.lang) if c != p.text]
            ml = self.encode_multilingual(pieces + own_ml[1:] + after)
            ml_pieces = ml[: len(pieces)]
            own_vectors = np.vstack([p.vector_ml[None, :], ml[len(pieces): len(pieces) + len(own_ml) - 1]])
            own_sims = np.hstack([own_sims, ml_pieces @ own_vectors.T])
            after_sims = ml_pieces @ ml[len(pieces) + len(own_ml) - 1:].T
        own_words = set(content_stems(" ".join([english, p.text]))) | set(content_stems(p.text, p.lang))
        after_words = set(content_stems(p.after)) if p.after else set()
        out = []
        for i, piece in enumerate(pieces):
            words = set(content_stems(piece))
            out.append({
                "clause": piece,
                "similarity": float(own_sims[i].max()) if own_sims.shape[1] else 0.0,
                "overlap": len(words & own_words) / len(words) if words else 1.0,
                "similarity_after": float(after_sims[i].max()) if after_sims.shape[1] else 0.0,
                "overlap_after": len(words & after_words) / len(words) if words else 0.0,
            })
        return out

    # -- step 3: decide -------------------------------------------------------------

    def decide(self, a: dict[str, Any]) -> Support:
        """The verdict from the measurements, with the calibrated thresholds."""
        cal = self.calibration
        details = {k: v for k, v in a.items() if k != "claim"}
        if a["evidence"] < 0 or a["relevance"] < cal.min_relevance:
            return Support(NOT_FOUND, round(max(0.0, a["relevance"]), 3),
                           ("no sentence in the documents is close to this",), a["evidence"], False, details)
        if a["contradictions"]:
            return Support(CONTRADICTED, 0.0, tuple(a["contradictions"]), a["evidence"], False, details)
        if a["missing"]:
            return Support(NOT_FOUND, round(min(a["relevance"], 0.3), 3), tuple(a["missing"]), a["evidence"],
                           False, details)
        if a["coverage"] < cal.min_coverage:
            return Support(NOT_FOUND, round(a["coverage"] * 0.5, 3),
                           (f"the documents do not say: “{a['uncovered']}”",), a["evidence"], False, details)
        score = min(1.0, 0.5 * a["relevance"] + 0.5 * a["coverage"])
        return Support(SUPPORTED, round(score, 3), ("the cited sentence says this",), a["evidence"],
                       bool(a.get("uses_after")), details)


def clause_match(similarity: float, overlap: float, weight: float) -> float:
    """One clause's match score: the better of the two at ``weight`` 1.0, else their weighted mean."""
    return max(similarity, overlap) if weight >= 1.0 else weight * similarity + (1.0 - weight) * overlap


def clause_coverage(matches: list[dict[str, Any]], weight: float) -> tuple[float, str, bool]:
    """(coverage, the worst-covered clause, whether the next sentence is needed) of ``_clause_matches``.

    Coverage is the lowest clause score; each clause takes the better of the
    cited sentence and the one after it, and needing the one after (it matches
    clearly better) makes the citation include it.
    """
    worst, worst_clause, after_needed = 1.0, "", False
    for m in matches:
        own = clause_match(m["similarity"], m["overlap"], weight)
        after = clause_match(m["similarity_after"], m["overlap_after"], weight)
        best = max(own, after)
        if best < worst:
            worst, worst_clause = best, m["clause"]
        if after > own + 0.05:
            after_needed = True
    return worst, worst_clause, after_needed


# -- comparison helpers -------------------------------------------------------------


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def _same_quantity(q: Quantity, e: Quantity) -> bool:
    return _close(q.value, e.value) and (q.unit == e.unit or q.unit is None or e.unit is None)


def _rival_quantity(q: Quantity, evidence: list[Quantity]) -> Quantity | None:
    """An evidence quantity that says something else about the same measure."""
    durations = english_data()["durations"]
    if q.unit is not None:
        same_unit = [e for e in evidence if e.unit == q.unit]
        if same_unit:
            return min(same_unit, key=lambda e: abs(math.log10(max(e.value, 1e-9) / max(q.value, 1e-9))))
        if q.unit in durations:
            return next((e for e in evidence if e.unit in durations and _close(e.value, q.value)), None)
        return None
    bare = [e for e in evidence if e.unit is None and e.strong]
    return bare[0] if q.strong and len(bare) == 1 else None


def _rival_date(d: DateMention, e: DateMention) -> bool:
    if d.kind == "relative" and e.kind == "relative":
        return d.value != e.value
    return d.kind == e.kind and d.value != e.value


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


def _aligned(name: Token, claim: str, candidates: list[Token], evidence: str) -> str | None:
    """An evidence name standing where the claim has ``name``: both share a word beside them."""
    mine = _context(claim, name.start)
    for other in candidates:
        if mine & _context(evidence, other.start):
            return _run(evidence, other)
    return None


def _run(text: str, name: Token) -> str:
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


def _polarity_conflict(claim: str, original: str, english: str | None, lang: str) -> str:
    """A reason when one side denies what the other asserts.

    The same stopping verb on both sides ("halted" / "to halt") cancels out.
    In English a denying clause must line up with the other side: it shares
    words with it, and either the other side denies nothing and holds most of
    the clause, or the other side asserts the very word denied ("not allowed"
    against "allowed") in a clause that denies nothing.
    """
    c_cues, e_cues = negation_cues(claim), negation_cues(original, lang)
    shared = set(negation_cues(claim, aims=True)) & set(negation_cues(original, lang, aims=True)) - {"not"}
    claim_neg = any(c not in shared for c in c_cues)
    ev_neg = any(c not in shared for c in e_cues)
    if lang != "en":  # the original decides; its words are not the claim's, so whole sentences are compared
        if claim_neg == ev_neg:
            return ""
        return (f"the article says the opposite: “{' '.join(original.split())}”"
                + (f" ({english})" if english else ""))
    best, best_share = "", 0.0
    for denier, other, other_neg, is_claim in ((claim, original, ev_neg, True), (original, claim, claim_neg, False)):
        if not (claim_neg if is_claim else ev_neg):
            continue
        other_words = set(content_stems(other))
        other_parts = clauses(other, merge=False) or [other]
        for part in clauses(denier, merge=False) or [denier]:
            if not negated(part):
                continue
            words = set(content_stems(part))
            shared_words = words & other_words
            share = len(shared_words) / len(words) if words else 0.0
            denied = _denied_word(part)
            holding = [c for c in other_parts if denied is not None and denied in content_stems(c)]
            asserted = bool(holding) and not any(negated(c) for c in holding)
            if len(shared_words) >= 2 and (asserted or (not other_neg and share >= 0.5)) and share > best_share:
                # quote the article's side: its denying clause, or the clause asserting what the claim denies
                best = part if not is_claim else (holding[0] if asserted else _closest(part, other_parts))
                best_share = share
    if not best:
        return ""
    return f"the article says the opposite: “{best}”"


def _closest(text: str, parts: list[str]) -> str:
    words = set(content_stems(text))
    return max(parts, key=lambda p: len(words & set(content_stems(p))))


def _denied_word(text: str) -> str | None:
    """The first content word after the first negation word: "allowed" in "are not allowed to"."""
    data = english_data()
    toks = tokens(text)
    for i, t in enumerate(toks):
        if t.low in data["negation"] or t.low.endswith("n't"):
            for u in toks[i + 1: i + 4]:
                if u.low not in data["stopwords"] and u.low.isalpha():
                    return stem(u.low)
            return None
    return None


def _wrong_speaker(claim: str, p: Passage, known: str) -> str:
    said = speaker(claim, "en", known)
    if said is None:
        return ""
    claim_names, claim_phrase = said
    if not claim_names:
        return ""
    found = speaker(p.text, p.lang, known) or (speaker(p.english, "en", known) if p.english else None)
    if found is None and p.text.lstrip()[:1] in "\"“'‘" and p.after:
        found = speaker(p.after, "en", known)  # a quotation whose speaker is named just after it
    if found is None:
        return ""
    ev_names, ev_phrase = found
    if ev_names:
        if any(same_name(c.low, e.low) for c in claim_names for e in ev_names):
            return ""
        return f"the article attributes this to {ev_phrase}, not {claim_phrase}"
    pronouns = {**english_data()["pronouns"], **lang_data(p.lang)["pronouns"]}
    if ev_phrase.lower() in pronouns:
        # a pronoun: wrong if the claim's own pronouns give the speaker the other gender
        claim_gender = {english_data()["pronouns"][t.low] for t in tokens(claim) if t.low in english_data()["pronouns"]}
        ev_gender = pronouns[ev_phrase.lower()]
        if claim_gender and ev_gender not in claim_gender:
            return f"the article attributes this to someone else (“{ev_phrase}”), not {claim_phrase}"
        return ""
    text_words = [t.low for t in tokens(f"{p.text} {p.english or ''}")]
    if not any(same_name(c.low, w) for c in claim_names for w in text_words):
        return f"the article attributes this to {ev_phrase}, not {claim_phrase}"
    return ""


def _role_conflict(claim: str, evidence: str, window: str) -> str:
    """A job title changed: "Premier" for "Vice Premier", "chief executive" for "co-founder"."""
    claim_roles = roles_near(claim)
    ev_roles = roles_near(evidence)
    window_roles = {r for r, _m, _i in roles_near(window)}
    for role, mod, _i in claim_roles:
        same = [(r, m) for r, m, _j in ev_roles if r == role]
        if same:
            if all(m != mod for _r, m in same):
                ev_mod = same[0][1]
                return (f"the article says {(ev_mod + ' ') if ev_mod else ''}{role}, "
                        f"not {(mod + ' ') if mod else ''}{role}")
            continue
        if role in window_roles:
            continue
        # a title the evidence does not give, where it gives the same person another one
        claim_people = {stem(t.low) for t in names(claim)}
        for r, m, j in ev_roles:
            toks = tokens(evidence)
            near = {stem(t.low) for t in toks[max(0, j - 4): j + 5] if t.text[:1].isupper()}
            if near & claim_people and r != role:
                return f"the article calls them {(m + '-') if m == 'co' else (m + ' ') if m else ''}{r}, not {role}"
    return ""


def _swapped_roles(claim: str, evidence: str, known: str) -> str:
    """Who did what to whom: "A asked B" where the evidence says "B asked A"."""
    data = english_data()
    c_toks, e_toks = tokens(claim), tokens(evidence)
    actors = data["roles"]

    def sides(toks: list[Token], i: int) -> tuple[set[str], set[str]]:
        left = {stem(t.low) for t in toks[max(0, i - 5): i] if t.text[:1].isupper() and t.low not in data["stopwords"] or t.low in actors}
        right = {stem(t.low) for t in toks[i + 1: i + 6] if t.text[:1].isupper() and t.low not in data["stopwords"] or t.low in actors}
        return left, right

    for i, t in enumerate(c_toks):
        if t.low in data["stopwords"] or t.text[:1].isupper() or t.low in actors or len(t.low) < 3:
            continue
        for j, u in enumerate(e_toks):
            if stem(u.low) != stem(t.low):
                continue
            if any(x.low in data["passive"] for x in c_toks[max(0, i - 2): i + 2] + e_toks[max(0, j - 2): j + 2]):
                continue
            c_left, c_right = sides(c_toks, i)
            e_left, e_right = sides(e_toks, j)
            c_left, c_right = c_left - c_right, c_right - c_left
            e_left, e_right = e_left - e_right, e_right - e_left
            if c_left & e_right and c_right & e_left:
                return (f"the article says it the other way round: “{' '.join(x.text for x in e_toks[max(0, j - 3): j + 4])}”")
    return ""


def _attribution_only(clause: str) -> bool:
    """ "a Chinese crypto blogger writes", "Reuters reported": a source, not a fact to find."""
    data = english_data()
    toks = tokens(clause)
    if not any(t.low in data["reporting"] for t in toks):
        return False
    rest = [t for t in toks if t.low not in data["reporting"] and t.low not in data["stopwords"]
            and not t.text[:1].isupper()]
    return len(rest) <= 2
