"""Can re-ranking the retrieved pool lift passage answer hit@5? A probe over the three dev sets.

Retrieval fuses MiniLM passage vectors and BM25 (``rag.retrieval.retrieve``). Where it misses
at depth 5, the answer mostly sits deeper in the same pool of 30 passages, so a
better re-ranker over that pool is the lever left. This scores the pool by every
signal this machine has and fuses each with the current ranking by reciprocal rank
at several weights:

- ``minilm-sentence``: a passage's best sentence by the English encoder;
- ``use-passage`` / ``use-sentence``: the multilingual encoder on the whole passage
  and on its best sentence;
- ``mmr``: maximal marginal relevance over the passages' MiniLM vectors (a passage
  like those already ranked is lowered);
- ``gemma`` (``--gemma``, slow): the local Gemma model's mean log-likelihood of the
  question after the passage (query likelihood, as in UPR), for the top ``GEMMA_DEPTH``.

It prints answer hit@3/@5 per corpus for each setting, and how many answers the
pool holds at all (what a perfect re-ranker would reach).

    python -m bench.rerank [--gemma]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.calibrate import CORPORA, open_index, questions  # noqa: E402
from rag.core.calibration import calibrated  # noqa: E402
from rag.core.config import PROJECT_ROOT  # noqa: E402
from rag.retrieval.index import Index  # noqa: E402
from rag.evaluation.metrics import answer_rank  # noqa: E402
from rag.retrieval.retrieve import encode_question, retrieve  # noqa: E402

POOL = 30  # passages re-ranked per question (retrieve's own candidate depth)
WEIGHTS = (0.25, 0.5, 1.0)  # a signal's ranking beside the current one (weight 1) in the fusion
MMR_LAMBDAS = (0.9, 0.8, 0.7)  # relevance share of maximal marginal relevance
GEMMA_DEPTH = 10  # passages scored by the local model (about a second each on two cores)
GEMMA_CHARS = 700  # of each passage's text given to the model


@dataclass
class Candidate:
    text: str  # the passage and its English rendering, as the hit test reads them
    fused: float
    signals: dict[str, float] = field(default_factory=dict)
    vector: np.ndarray | None = None  # MiniLM vector of the passage text (for MMR)


@dataclass
class Question:
    must: list
    pool: list[Candidate]


def collect(index: Index, name: str, gemma=None) -> list[Question]:
    """The pool of every answerable question of corpus ``name``, with each passage's signals."""
    english, multilingual = index.encoder, index.multilingual_encoder.encoder
    out = []
    for q in questions(name):
        found = retrieve(index, q["question"], k=POOL)
        question_ml = encode_question(multilingual, q["question"])
        pool = []
        for rank, hit in enumerate(found.hits):
            chunk = hit.chunk
            sentences = index.sentences_in(chunk.doc_id, chunk.start, chunk.end)
            candidate = Candidate(f"{chunk.text}\n{chunk.text_en or ''}", hit.score)
            if hit.lang == "en" and sentences:
                candidate.signals["minilm-sentence"] = max(float(s.vector @ found.vector) for s in sentences)
            else:  # the English encoder cannot read it: its fused dense score stands in
                candidate.signals["minilm-sentence"] = hit.dense if hit.dense is not None else -1.0
            vectors = multilingual.encode([chunk.text] + [s.text for s in sentences])
            candidate.signals["use-passage"] = float(vectors[0] @ question_ml)
            candidate.signals["use-sentence"] = float(max(vectors[1:] @ question_ml)) if sentences else -1.0
            candidate.vector = np.asarray(english.encode([chunk.text_en or chunk.text])[0], dtype=np.float32)
            if gemma is not None:
                candidate.signals["gemma"] = gemma(chunk.text[:GEMMA_CHARS], q["question"]) if rank < GEMMA_DEPTH \
                    else -1e9
            pool.append(candidate)
        out.append(Question(q["must_include"], pool))
    return out


def query_likelihood():
    """Mean log-probability of the question's tokens after the passage, by the packaged Gemma model."""
    from llama_cpp import Llama

    from rag.models.generate import default_gguf_path

    llm = Llama(model_path=str(default_gguf_path()), n_ctx=512, n_threads=os.cpu_count() or 1, logits_all=True,
                verbose=False)

    def score(passage: str, question: str) -> float:
        prefix = llm.tokenize(f"Passage: {passage}\nA question this passage answers: ".encode(), add_bos=True)
        asked = llm.tokenize(question.encode(), add_bos=False)
        llm.reset()
        llm.eval(prefix + asked)
        logits = np.asarray(llm.scores[len(prefix) - 1:len(prefix) + len(asked) - 1], dtype=np.float64)
        top = logits.max(axis=1, keepdims=True)
        log_probs = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
        return float(np.mean([log_probs[i, token] for i, token in enumerate(asked)]))

    return score


def ranks(values: list[float]) -> list[int]:
    """Each value's place (0 = best) in descending order."""
    order = sorted(range(len(values)), key=lambda i: -values[i])
    place = [0] * len(values)
    for at, i in enumerate(order):
        place[i] = at
    return place


def fused_with(signals: list[str], weight: float, rrf_k: int):
    """A re-ranker: the current order and each of ``signals``' orders (at ``weight``), fused by reciprocal rank."""
    def order(pool: list[Candidate]) -> list[int]:
        score = [1 / (rrf_k + at + 1) for at in ranks([c.fused for c in pool])]
        for signal in signals:
            for i, at in enumerate(ranks([c.signals[signal] for c in pool])):
                score[i] += weight / (rrf_k + at + 1)
        return sorted(range(len(pool)), key=lambda i: -score[i])
    return order


def mmr(relevance_share: float):
    """A re-ranker: maximal marginal relevance over the current scores (scaled to 0..1) and MiniLM vectors."""
    def order(pool: list[Candidate]) -> list[int]:
        fused = np.array([c.fused for c in pool])
        relevance = (fused - fused.min()) / (np.ptp(fused) or 1.0)
        vectors = np.array([c.vector / np.linalg.norm(c.vector) for c in pool])
        similar = vectors @ vectors.T
        chosen: list[int] = []
        rest = list(range(len(pool)))
        while rest:
            def gain(i: int) -> float:
                redundancy = max((similar[i, j] for j in chosen), default=0.0)
                return relevance_share * relevance[i] - (1 - relevance_share) * redundancy
            best = max(rest, key=gain)
            chosen.append(best)
            rest.remove(best)
        return chosen
    return order


def hits(qs: list[Question], order) -> tuple[int, int]:
    """Answer hit@3 and hit@5 of a re-ranker over the pools."""
    at3 = at5 = 0
    for q in qs:
        ranked = [q.pool[i].text for i in order(q.pool)]
        rank = answer_rank(ranked[:5], q.must)
        at3 += rank is not None and rank <= 3
        at5 += rank is not None
    return at3, at5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / "var" / "calibrate")
    parser.add_argument("--gemma", action="store_true", help="also score the top passages by the local Gemma model")
    args = parser.parse_args(argv)
    started = time.time()
    gemma = query_likelihood() if args.gemma else None
    indexes = {name: open_index(name, args.home) for name in CORPORA}
    pools = {name: collect(index, name, gemma) for name, index in indexes.items()}
    rrf_k = calibrated(indexes["news"].encoder.name).rrf_k
    signals = ["minilm-sentence", "use-passage", "use-sentence"] + (["gemma"] if gemma else [])
    rerankers = {"current ranking": lambda pool: list(range(len(pool)))}
    for signal in signals:
        for weight in WEIGHTS:
            rerankers[f"+ {signal} × {weight}"] = fused_with([signal], weight, rrf_k)
    for weight in WEIGHTS:
        rerankers[f"+ every signal × {weight}"] = fused_with(signals, weight, rrf_k)
    for share in MMR_LAMBDAS:
        rerankers[f"mmr λ {share}"] = mmr(share)
    print("| re-ranking of the 30-passage pool | " + " | ".join(f"{n} hit@3 / hit@5" for n in CORPORA) + " |")
    print("|---|" + "---|" * len(CORPORA))
    for label, order in rerankers.items():
        cells = []
        for name, qs in pools.items():
            at3, at5 = hits(qs, order)
            cells.append(f"{at3} / {at5} of {len(qs)}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    in_pool = [f"{sum(answer_rank([c.text for c in q.pool], q.must) is not None for q in qs)} of {len(qs)}"
               for qs in pools.values()]
    print("| answer anywhere in the pool (a perfect re-ranker) | " + " | ".join(in_pool) + " |")
    print(f"\n{time.time() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
