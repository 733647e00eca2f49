"""Who says it and who does what: the speaker of a statement, job titles, swapped roles."""

from __future__ import annotations

import re

from rag.verify.claims import Passage
from rag.verify.words import Token, english_data, lang_data, names, normalise, same_name, shares_context, stem, tokens


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


def wrong_speaker(claim: str, p: Passage, known: str) -> str:
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


def role_conflict(claim: str, evidence: str, window: str) -> str:
    """A job title changed: "Premier" for "Vice Premier", "chief executive" for "co-founder"."""
    claim_roles = roles_near(claim)
    ev_roles = roles_near(evidence)
    window_roles = {r for r, _m, _i in roles_near(window)}
    for role, mod, i in claim_roles:
        same = [(r, m) for r, m, _j in ev_roles if r == role]
        if same:
            if all(m != mod for _r, m in same):
                ev_mod = same[0][1]
                return (f"the article says {(ev_mod + ' ') if ev_mod else ''}{role}, "
                        f"not {(mod + ' ') if mod else ''}{role}")
            continue
        if role in window_roles:
            continue
        # a title the evidence does not give, where it gives the same person another one, or another
        # title stands in its place ("defined by the administrator" for "defined by the package maintainer")
        claim_people = {stem(t.low) for t in names(claim)}
        c_toks, toks = tokens(claim), tokens(evidence)
        for r, m, j in ev_roles:
            near = {stem(t.low) for t in toks[max(0, j - 4): j + 5] if t.text[:1].isupper()}
            if r != role and (near & claim_people or shares_context(claim, c_toks[i].start, evidence, toks[j].start)):
                return f"the article calls them {(m + '-') if m == 'co' else (m + ' ') if m else ''}{r}, not {role}"
    return ""


def swapped_roles(claim: str, evidence: str, known: str) -> str:
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


def attribution_only(clause: str) -> bool:
    """ "a Chinese crypto blogger writes", "Reuters reported": a source, not a fact to find."""
    data = english_data()
    toks = tokens(clause)
    if not any(t.low in data["reporting"] for t in toks):
        return False
    rest = [t for t in toks if t.low not in data["reporting"] and t.low not in data["stopwords"]
            and not t.text[:1].isupper()]
    return len(rest) <= 2
