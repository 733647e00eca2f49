"""Grade evaluation results and sum them up: pure functions over results.jsonl records.

A record is one line of results.jsonl (see ``rag.evaluation.evaluate``). Everything here
is recomputed from the record's plain fields (answer, statements, citations,
retrieved, sources, must_include), so a summary can be rebuilt from any
results file and tested on hand-made ones. Statements are read as records;
only results files written before answers had statements are split by their
[n] markers. The two checks that need the documents or the
encoder are made while running and stored in the record: ``citations[i].exact``
(quote == document text[start:end]) and ``similarity`` (answer vs reference).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.verify.overlap import content_words, is_supported

Record = dict[str, Any]
# Who grades "support": the pipeline's own verifier, so the support rate is a self-check (it can only
# show that the pipeline kept to its own rule, not that the rule is right).
SUPPORT_JUDGE = "self-check: rag.verify.overlap word overlap, the same verifier that filtered the answer"
CLAIM_ROLES = ("lead", "quote", "summary")  # a translation statement is a reading aid, not a claim
RANK_CUTOFFS = (1, 3, 5, 10)
LATENCY_KEYS = ("total", "first_token", "retrieve", "generate")

MARKERS = re.compile(r"\s*(?:\[\d+\])+")
MARKER_NUMBER = re.compile(r"\[(\d+)\]")
# The pipeline's own labels, not claims: "(unverified)", "(machine translation from nl: ...)" (a reading
# aid after the original quote) and the older "(translated from nl)".
PIPELINE_LABELS = re.compile(
    r"\((?:translated from [a-z]{2,3}|unverified)\)|\(machine translation from [a-z]{2,3}: .*?\)(?=\s*(?:\[\d|$))",
    re.IGNORECASE,
)
# A sentence ends after . ! ? (unless markers follow, which belong to it) or after its markers.
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?!\[\d)|(?<=\d\])\s+(?!\[\d)")


# -- one record ---------------------------------------------------------------------


@dataclass(frozen=True)
class CitedSentence:
    """One sentence of an answer and whether a passage it cites backs it."""

    text: str  # without markers and pipeline labels
    cited: tuple[int, ...]
    supported: bool


def must_include_hits(answer: str, groups: Sequence[Sequence[str]]) -> list[str | None]:
    """For each group, the first alternative found in ``answer`` (case-insensitive), else None."""
    lowered = answer.lower()
    return [next((alt for alt in group if alt and alt.lower() in lowered), None) for group in groups]


def is_correct(record: Record) -> bool | None:
    """An answerable question's answer is correct when not refused and every group matched.

    None when it cannot be graded (unanswerable, or no must_include groups).
    """
    groups = record.get("must_include") or []
    if not record.get("answerable", True) or not groups:
        return None
    return not record.get("refused") and all(hit is not None for hit in must_include_hits(record.get("answer", ""), groups))


def answer_rank(passages: Sequence[str], groups: Sequence[Sequence[str]]) -> int | None:
    """The smallest k whose top-k passages hold every must_include group (None if no k does, or no groups)."""
    if not groups:
        return None
    seen = ""
    for k, passage in enumerate(passages, start=1):
        seen += "\n" + passage
        if all(hit is not None for hit in must_include_hits(seen, groups)):
            return k
    return None


def passed(record: Record) -> bool:
    """Pass/fail for the report: correct answer, or a refusal when the articles cannot answer."""
    if not record.get("answerable", True):
        return bool(record.get("refused"))
    correct = is_correct(record)
    return (not record.get("refused")) if correct is None else correct


def cited_sentences(answer: str, citations: Sequence[Record],
                    statements: Sequence[Record] | None = None) -> list[CitedSentence]:
    """The cited claims of an answer and whether a passage each cites backs it.

    With ``statements`` (every record written since answers have them) each lead,
    quote or summary statement with a citation is one claim; translations are
    reading aids, not claims. Older records are split into sentences at their
    [n] markers. A claim is supported when a passage it cites (quote or its
    translation) supports it.
    """
    passages = {c["n"]: [c.get("quote") or "", c.get("translation") or ""] for c in citations}
    if statements:
        return [
            CitedSentence(s["text"], (s["citation"],),
                          s["citation"] in passages and is_supported(s["text"], passages[s["citation"]]))
            for s in statements if s.get("role") in CLAIM_ROLES and s.get("citation") is not None
        ]
    sentences: list[str] = []
    for piece in SENTENCE_BREAK.split(answer.strip()):
        if sentences and not content_words(_claim(piece)):
            # "(translated from nl) [1]", ". [2]" and the "He. [2]" of "Vice Premier Liu. He." belong
            # to the sentence before: the answer quotes them as one.
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    out = []
    for sentence in sentences:
        numbers = tuple(int(n) for n in MARKER_NUMBER.findall(sentence))
        if not numbers:
            continue
        claim = _claim(sentence)
        supported = any(n in passages and is_supported(claim, passages[n]) for n in numbers)
        out.append(CitedSentence(claim, numbers, supported))
    return out


def leads(record: Record) -> list[str]:
    """The texts of the answer's lead statements (none for a refusal or an old record without statements)."""
    if record.get("refused"):
        return []
    return [s["text"] for s in record.get("statements") or [] if s.get("role") == "lead"]


def wrong_lead(record: Record) -> bool:
    """A lead that states something wrong: on an unanswerable question, or missing a must_include group.

    A wrong lead is worse than no lead: it is the short answer a reader takes away.
    """
    stated = leads(record)
    if not stated:
        return False
    if not record.get("answerable", True):
        return True
    groups = record.get("must_include") or []
    return bool(groups) and any(hit is None for hit in must_include_hits(" ".join(stated), groups))


def answer_text(record: Record) -> str:
    """The answer's words without citation markers: its statements, or (old records) the text without [n]."""
    statements = record.get("statements")
    if statements:
        return " ".join(s["text"] for s in statements)
    return " ".join(MARKERS.sub(" ", record.get("answer", "")).split())


def _claim(sentence: str) -> str:
    """The sentence as a claim: without [n] markers and the pipeline's labels."""
    return " ".join(PIPELINE_LABELS.sub(" ", MARKERS.sub(" ", sentence)).split())


def ranking(record: Record) -> list[str]:
    """Retrieved doc ids in rank order, from the deepest list the record has."""
    deep = record.get("retrieved_deep") or []
    hits = deep if len(deep) > len(record.get("retrieved") or []) else record.get("retrieved") or []
    return [h["doc_id"] for h in hits]


def gold_rank(record: Record) -> int | None:
    """1-based rank of the first retrieved passage from a gold source, None if none retrieved."""
    sources = set(record.get("sources") or [])
    return next((rank for rank, doc in enumerate(ranking(record), start=1) if doc in sources), None)


def recall_at(record: Record, k: int) -> float:
    """Share of the gold sources that appear among the first ``k`` retrieved passages."""
    sources = set(record.get("sources") or [])
    return len(sources & set(ranking(record)[:k])) / len(sources)


# -- many records -------------------------------------------------------------------


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), None for no values."""
    return round(float(np.percentile(values, q)), 1) if values else None


def available_cutoffs(records: Iterable[Record]) -> list[int]:
    """The rank cutoffs the rankings are deep enough for (1, 3, 5, 10)."""
    depth = max((len(ranking(r)) for r in records), default=0)
    return [k for k in RANK_CUTOFFS if k <= depth]


def summarize(records: Sequence[Record], cutoffs: Sequence[int] | None = None) -> dict[str, Any]:
    """All metrics of a set of records, as a flat dict (None where a metric has no cases)."""
    cutoffs = available_cutoffs(records) if cutoffs is None else cutoffs
    answerable = [r for r in records if r.get("answerable", True)]
    unanswerable = [r for r in records if not r.get("answerable", True)]
    graded = [c for c in (is_correct(r) for r in answerable) if c is not None]
    with_sources = [r for r in answerable if r.get("sources")]
    ranks = [gold_rank(r) for r in with_sources]

    precision_cites = [c for r in with_sources for c in r.get("citations") or []]
    in_sources = sum(c["doc_id"] in set(r["sources"]) for r in with_sources for c in r.get("citations") or [])
    exact_checked = [c["exact"] for r in records for c in r.get("citations") or [] if c.get("exact") is not None]
    sentences = [s for r in records if not r.get("refused")
                 for s in cited_sentences(r.get("answer", ""), r.get("citations") or [], r.get("statements"))]
    with_leads = [r for r in records if leads(r)]
    similarities = [r["similarity"] for r in records if r.get("similarity") is not None]

    metrics: dict[str, Any] = {
        "questions": len(records),
        "passed": sum(passed(r) for r in records),
        "pass_rate": _ratio(sum(passed(r) for r in records), len(records)),
        "answerable": len(answerable),
        "graded": len(graded),
        "correct": sum(graded),
        "accuracy": _ratio(sum(graded), len(graded)),
        "false_refusals": sum(bool(r.get("refused")) for r in answerable),
        "unanswerable": len(unanswerable),
        "refusal_accuracy": _ratio(sum(bool(r.get("refused")) for r in unanswerable), len(unanswerable)),
        "similarity": _mean(similarities),
        "similarity_n": len(similarities),
        "retrieval_n": len(with_sources),
    }
    for k in cutoffs:
        metrics[f"hit@{k}"] = _ratio(sum(rank is not None and rank <= k for rank in ranks), len(ranks))
    for k in cutoffs:
        metrics[f"recall@{k}"] = _mean([recall_at(r, k) for r in with_sources])
    metrics["mrr"] = _mean([1 / rank if rank else 0.0 for rank in ranks])
    # Passage-level: the answer's words (every must_include group) are in the top k retrieved passages.
    with_groups = [r for r in answerable if r.get("must_include") and "answer_rank" in r]
    for k in cutoffs:
        metrics[f"answer_hit@{k}"] = _ratio(
            sum(r["answer_rank"] is not None and r["answer_rank"] <= k for r in with_groups), len(with_groups))
    metrics.update({
        "citations": sum(len(r.get("citations") or []) for r in records),
        "citation_precision": _ratio(in_sources, len(precision_cites)),
        "citation_precision_n": len(precision_cites),
        "quote_exactness": _ratio(sum(exact_checked), len(exact_checked)),
        "quotes_checked": len(exact_checked),
        "cited_sentences": len(sentences),
        "support_rate": _ratio(sum(s.supported for s in sentences), len(sentences)),  # a self-check: SUPPORT_JUDGE
        "leads": len(with_leads),
        "wrong_leads": sum(wrong_lead(r) for r in with_leads),
    })
    for key in LATENCY_KEYS:
        values = [r["timings_ms"][key] for r in records if (r.get("timings_ms") or {}).get(key) is not None]
        metrics[f"{key}_ms_p50"] = percentile(values, 50)
        metrics[f"{key}_ms_p95"] = percentile(values, 95)
    return metrics


def summarize_by_kind(records: Sequence[Record]) -> dict[str, dict[str, Any]]:
    """``summarize`` for each ``kind`` label, with the overall rank cutoffs so columns line up."""
    cutoffs = available_cutoffs(records)
    kinds = sorted({r.get("kind") or "unlabelled" for r in records})
    return {kind: summarize([r for r in records if (r.get("kind") or "unlabelled") == kind], cutoffs)
            for kind in kinds}


# -- two runs -----------------------------------------------------------------------


def compare(records_a: Sequence[Record], records_b: Sequence[Record]) -> dict[str, Any]:
    """Which questions flipped between two runs and how every metric moved (a -> b)."""
    by_id_a = {r["id"]: r for r in records_a}
    by_id_b = {r["id"]: r for r in records_b}
    common = [i for i in by_id_b if i in by_id_a]
    flips = [(i, passed(by_id_a[i]), passed(by_id_b[i])) for i in common]
    metrics_a = {"overall": summarize(records_a), **summarize_by_kind(records_a)}
    metrics_b = {"overall": summarize(records_b), **summarize_by_kind(records_b)}
    moved: dict[str, dict[str, Any]] = {}
    for scope in [s for s in metrics_b if s in metrics_a] + [s for s in metrics_a if s not in metrics_b]:
        a_values, b_values = metrics_a.get(scope, {}), metrics_b.get(scope, {})
        for name in list(b_values) + [n for n in a_values if n not in b_values]:
            a, b = a_values.get(name), b_values.get(name)
            delta = round(b - a, 4) if isinstance(a, (int, float)) and isinstance(b, (int, float)) else None
            moved[f"{scope}.{name}"] = {"a": a, "b": b, "delta": delta}
    return {
        "fixed": [i for i, was, now in flips if now and not was],  # fail -> pass
        "broken": [i for i, was, now in flips if was and not now],  # pass -> fail
        "only_in_a": [i for i in by_id_a if i not in by_id_b],
        "only_in_b": [i for i in by_id_b if i not in by_id_a],
        "metrics": moved,
    }
