"""Quantities with their unit and scale, and dates, read from a sentence and compared across two."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rag.verify.words import english_data, lang_data, normalise, stem, tokens


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str | None
    text: str
    strong: bool  # written in digits or with a unit (a bare "two" may be paraphrased away)
    vague: bool = False  # "a few minutes": no number, ``value`` is the unit's size in the base unit


def in_base_unit(value: float, unit: str | None, data: dict) -> tuple[float, str | None]:
    """``value`` ``unit`` in the base unit of its measure (``unit_base``): 6 minutes -> 360 seconds."""
    base = data["unit_base"].get(unit) if unit else None
    return (value * base[1], base[0]) if base else (value, unit)


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
        if value is None and low in data["vague_counts"]:
            unit_at = next((k for k in range(i + 1, min(i + 3, len(lows))) if lows[k] in data["units"]), None)
            if unit_at is not None and all(lows[k] not in data["stopwords"] for k in range(i + 1, unit_at)):
                size, base = in_base_unit(1.0, data["units"][lows[unit_at]], data)
                quantities.append(Quantity(size, base, span(i, unit_at), False, vague=True))
            continue
        if value is None:
            if low in data["fractions"] and prev in data["one"] | {"than", "the"} | set(data["stopwords"]):
                quantities.append(Quantity(data["fractions"][low], "percent", span(i, i), True))
            continue
        j = i + 1
        share = _fraction(lows[j]) if j < len(lows) else None
        if share is not None and plain[t.start + len(t.text): toks[j].start].strip() in ("", "-"):
            quantities.append(Quantity(value * share, "percent", span(i, j), True))  # "two-thirds", "3 quarters"
            used.add(j)
            continue
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
        value, unit = in_base_unit(value, unit, data)
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
            raw_unit = data["units"].get(qb.text.split()[-1].lower(), qb.unit)
            value, unit = in_base_unit(qa.value, raw_unit, data)
            fixed[a] = Quantity(value, unit, f"{qa.text} {qb.text.split()[-1]}", True)
    return fixed, dates


def show_quantity(q: Quantity) -> str:
    return " ".join(q.text.split())


def _fraction(word: str) -> float | None:
    """The share a fraction word names, as a percentage: "thirds" -> 33.3 (None for any other word)."""
    data = english_data()
    return data["fractions"].get(data["fraction_plurals"].get(word, word))


def _close(a: float, b: float, unit: str | None = None) -> bool:
    """Equal values; within ``unit_tolerance`` for a converted unit (KB and KiB, a month and 30 days)."""
    data = english_data()
    converted = unit is not None and unit in {base for base, _f in data["unit_base"].values()}
    return math.isclose(a, b, rel_tol=data["unit_tolerance"] if converted else 1e-6, abs_tol=1e-9)


def same_quantity(q: Quantity, e: Quantity) -> bool:
    if q.vague or e.vague:  # "a few minutes" is only ever the same as another few minutes
        return q.vague and e.vague and q.unit == e.unit and _close(q.value, e.value)
    return _close(q.value, e.value, q.unit if q.unit == e.unit else None) and \
        (q.unit == e.unit or q.unit is None or e.unit is None)


def rival_quantity(q: Quantity, evidence: list[Quantity]) -> Quantity | None:
    """An evidence quantity that says something else about the same measure."""
    durations = english_data()["durations"]
    if q.vague:  # "a few hours" where the evidence says "a few minutes"
        return next((e for e in evidence if e.vague and e.unit == q.unit and not _close(e.value, q.value)), None)
    evidence = [e for e in evidence if not e.vague]
    if q.unit is not None:
        same_unit = [e for e in evidence if e.unit == q.unit]
        if same_unit:
            return min(same_unit, key=lambda e: abs(math.log10(max(e.value, 1e-9) / max(q.value, 1e-9))))
        if q.unit in durations:
            return next((e for e in evidence if e.unit in durations and _close(e.value, q.value)), None)
        return None
    bare = [e for e in evidence if e.unit is None and e.strong]
    return bare[0] if q.strong and len(bare) == 1 else None


def dates_differ(d: DateMention, e: DateMention) -> bool:
    if d.kind == "relative" and e.kind == "relative":
        return d.value != e.value
    return d.kind == e.kind and d.value != e.value
