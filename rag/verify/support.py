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

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rag.verify.claims import CONTRADICTED, NOT_FOUND, SUPPORTED, Calibration, Passage, Support
from rag.verify.polarity import polarity_conflict
from rag.verify.quantities import dates_differ, quantities_and_dates, rival_quantity, same_quantity, show_quantity
from rag.verify.speakers import attribution_only, role_conflict, swapped_roles, wrong_speaker
from rag.verify.words import (aligned_name, clauses, code_names, content_stems, identifiers, name_run, names, normalise, same_name,
                              tokens)

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
                    "missing": [], "uncovered": "", "ranking": []}
        scores = self.rank(claim, passages)
        best = int(np.argmax(scores))
        p = passages[best]
        found = self.facts(claim, p, background)
        matches = self._clause_matches(claim, p)
        coverage, uncovered, after_needed = clause_coverage(matches, self.calibration.coverage_weight)
        return {
            "claim": claim, "evidence": best, "relevance": scores[best], "coverage": coverage,
            "uncovered": uncovered, "clauses": matches, "contradictions": found["contradictions"],
            "missing": found["missing"], "uses_after": found["uses_after"] or after_needed,
            "ranking": [int(i) for i in np.argsort(scores, kind="stable")[::-1]],
        }

    def facts(self, claim: str, p: Passage, background: str = "") -> dict[str, Any]:
        """The rules' vetoes of ``claim`` on passage ``p``: contradicted facts (with their reason) and facts
        the passage lacks; ``uses_after`` when a fact is only in the sentence after it.

        ``claim`` is normalised already (``analyse`` does it). This is the sharp part of the rules, asked
        of any candidate the trained model would cite (``rag.verify.model``), not only of the best one.
        """
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
            if any(same_quantity(q, e) for e in w_q):
                used_after = used_after or not any(same_quantity(q, e) for e in e_q)
                continue
            rival = rival_quantity(q, e_q)
            if rival:
                contradictions.append(f"the article says {show_quantity(rival)}, not {show_quantity(q)}")
            elif q.strong:
                missing.append(f"the article gives no {show_quantity(q)}")
        for d in c_d:
            if any(d.kind == e.kind and d.value == e.value for e in w_d):
                used_after = used_after or not any(d.kind == e.kind and d.value == e.value for e in e_d)
                continue
            rival_date = next((e for e in e_d if dates_differ(d, e)), None)
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
            rival_name = aligned_name(n, claim, unmatched_evidence, original if not p.english else f"{original} {p.english}")
            if rival_name:
                contradictions.append(f"the article says {rival_name}, not {name_run(claim, n)}")
            elif any(same_name(n.low, w) for w in window_words):
                continue
            elif not any(same_name(n.low, w.low) for w in tokens(background)):
                missing.append(f"the documents never mention {n.text}")

        # code names (a parameter, a variable) are written exactly: one no document gives is invented
        window_ids, known_ids = set(identifiers(window_text)), set(identifiers(background))
        for ident in identifiers(claim):
            if ident not in window_ids and ident not in known_ids:
                missing.append(f"the documents never mention {ident}")

        # lower-case names a technical noun marks ("the apt package"): another one before the same noun
        # in the evidence is a swap ("the debconf package"); one the documents never give is invented
        evidence_code = code_names(f"{original} {p.english or ''}")
        for name, head in code_names(claim):
            if any(same_name(name, w) for w in window_words):
                continue
            rival_code = next((n for n, h in evidence_code if h == head and not any(n == c for c, _h in code_names(claim))), None)
            if rival_code:
                contradictions.append(f"the article says the {rival_code} {head}, not the {name} {head}")
            elif not any(same_name(name, w.low) for w in tokens(background)):
                missing.append(f"the documents never mention {name}")

        # negation: the claim denies what the evidence asserts, or the reverse
        if not original.rstrip().endswith("?"):
            flip = polarity_conflict(claim, original, p.english, p.lang)
            if flip:
                contradictions.append(flip)

        # speaker: a statement put in someone else's mouth (the clearest reason, so shown first)
        wrong = wrong_speaker(claim, p, known)
        if wrong:
            contradictions.insert(0, wrong)

        # job titles and who-did-what
        role = role_conflict(claim, english, window_en)
        if role:
            contradictions.append(role)
        swap = swapped_roles(claim, english, known)
        if swap:
            contradictions.append(swap)

        return {"contradictions": list(dict.fromkeys(contradictions)), "missing": list(dict.fromkeys(missing)),
                "uses_after": used_after}

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
        pieces = [c for c in clauses(claim) if not attribution_only(c)]
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
