"""The re-ranking probe (`python -m bench.rerank`) on small made-up pools: each re-ranker moves what it should."""

from __future__ import annotations

import numpy as np

from bench.rerank import Candidate, Question, fused_with, hits, mmr, ranks


def pool(fused: list[float], signal: list[float], texts: list[str] | None = None) -> list[Candidate]:
    texts = texts or [f"passage {i}" for i in range(len(fused))]
    vectors = np.eye(len(fused), dtype=np.float32)
    return [Candidate(t, f, {"s": s}, v) for t, f, s, v in zip(texts, fused, signal, vectors)]


def test_ranks_put_the_highest_value_first():
    assert ranks([0.2, 0.9, 0.5]) == [2, 0, 1]


def test_a_signal_at_full_weight_lifts_the_passage_it_prefers():
    candidates = pool([0.9, 0.8, 0.7], [0.0, 0.1, 1.0])
    assert fused_with(["s"], 0.0, 5)(candidates) == [0, 1, 2]
    assert fused_with(["s"], 1.0, 5)(candidates)[0] in (0, 2)  # tied first at equal weight: both ranks count
    assert fused_with(["s"], 2.0, 5)(candidates)[0] == 2


def test_mmr_lowers_a_passage_that_repeats_the_first():
    candidates = pool([1.0, 0.95, 0.5], [0, 0, 0])
    candidates[1].vector = candidates[0].vector.copy()  # the second says what the first says
    assert mmr(1.0)(candidates) == [0, 1, 2]
    assert mmr(0.5)(candidates) == [0, 2, 1]


def test_hits_count_an_answer_in_the_top_three_and_five():
    texts = ["a", "b", "c", "d", "Bordeaux 2000", "f"]
    question = Question([["Bordeaux"], ["2000"]], pool([6, 5, 4, 3, 2, 1], [0, 0, 0, 0, 9, 0], texts))
    assert hits([question], lambda p: list(range(len(p)))) == (0, 1)
    assert hits([question], fused_with(["s"], 2.0, 5)) == (1, 1)
