"""Negation: which words deny something, and whether a claim and its evidence disagree on it."""

from __future__ import annotations

from rag.verify.words import clauses, content_stems, english_data, lang_data, stem, tokens


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
            cues.append("stop")  # one cue for all of them: "stops running" says what "deactivates" says
    return cues


def negated(text: str, lang: str = "en") -> bool:
    return bool(negation_cues(text, lang))


def polarity_conflict(claim: str, original: str, english: str | None, lang: str) -> str:
    """A reason when one side denies what the other asserts.

    A stopping verb on both sides ("halted" / "to halt", "stops" / "deactivates") cancels out.
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
            if not any(c not in shared for c in negation_cues(part)):
                continue  # denies nothing, or only stops what the other side stops too
            words = set(content_stems(part))
            shared_words = words & other_words
            share = len(shared_words) / len(words) if words else 0.0
            denied = _denied_word(part)
            holding = [c for c in other_parts if denied is not None and denied in content_stems(c)]
            asserted = bool(holding) and not any(negated(c) for c in holding)
            # a claim's denial needs the evidence to say the very thing denied ("not fully reliable" says
            # nothing against a sentence that never speaks of reliability, however many words they share)
            after = _words_after_negation(part)
            said = not is_claim or not after or bool(after & other_words)
            if len(shared_words) >= 2 and (asserted or (not other_neg and share >= 0.5 and said)) \
                    and share > best_share:
                # quote the article's side: its denying clause, or the clause asserting what the claim denies
                best = part if not is_claim else (holding[0] if asserted else _closest(part, other_parts))
                best_share = share
    if not best:
        return ""
    return f"the article says the opposite: “{best}”"


def _closest(text: str, parts: list[str]) -> str:
    words = set(content_stems(text))
    return max(parts, key=lambda p: len(words & set(content_stems(p))))


def _words_after_negation(text: str, width: int = 3) -> set[str]:
    """The content words among the ``width`` words after the first negation word: what is denied."""
    data = english_data()
    toks = tokens(text)
    for i, t in enumerate(toks):
        if t.low in data["negation"] or t.low.endswith("n't"):
            return {stem(u.low) for u in toks[i + 1: i + 1 + width] if u.low not in data["stopwords"] and u.low.isalpha()}
    return set()


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
