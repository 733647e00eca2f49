"""The rules `make calibrate` chooses by, on small made-up data: what each fit prefers, and how it breaks ties."""

from __future__ import annotations

import numpy as np
import pytest

from bench.calibrate import neighbourhood
from bench.calibrate_evidence import KEEP_RATIOS, Question, answer_mrr, capped, feature_names, fit_keep_ratio, shown
from bench.calibrate_lead import THRESHOLDS, Drafted, choose


def draft(score: float, right: bool, corpus: str = "a") -> Drafted:
    return Drafted(corpus, "q", "lead", score, right)


def test_the_lead_threshold_shows_no_wrong_lead_before_it_shows_more_right_ones():
    drafts = [draft(1.0, True), draft(0.65, True), draft(0.62, False)]
    # Above 0.62 the wrong draft is hidden (and the right one at 0.65 with it); 0.7 to 1.0 tie: the middle.
    assert choose(drafts, {"a": 10}, ["a"]) == 0.8


def test_the_lead_threshold_takes_the_middle_of_a_tie():
    assert choose([draft(1.0, True)], {"a": 5}, ["a"]) == THRESHOLDS[len(THRESHOLDS) // 2]


def question(scores: list[float], holds: list[bool]) -> Question:
    """Candidates with one feature (the score itself); ``holds`` says which hold the answer."""
    n = len(scores)
    return Question("c", "q", np.array(scores, dtype=float).reshape(n, 1), np.array(holds, dtype=float),
                    [["gold"]], ["gold" if h else "other" for h in holds], [("d", 10 * i, 10 * i + 5) for i in range(n)],
                    False)


def test_the_keep_ratio_is_a_step_back_from_the_strictest_that_still_shows_the_answer():
    # The answer ranks second at 0.65 of the best score: ratios up to 0.6 show it, stricter ones do not. 0.6 is one
    # step from losing it, so the ratio a step back is chosen.
    q = question([1.0, 0.65, 0.1], [False, True, False])
    w = np.array([1.0])
    assert fit_keep_ratio([q], w) == 0.5
    assert len(shown(q, w, 3, 0.6)) == 2 and len(shown(q, w, 3, KEEP_RATIOS[0])) == 2
    assert len(shown(q, w, 3, 0.7)) == 1
    # At 0.55 of the best, only the loosest ratio shows it: nothing stricter keeps it, the loosest is chosen.
    assert fit_keep_ratio([question([1.0, 0.55, 0.1], [False, True, False])], w) == KEEP_RATIOS[0]


def test_the_keep_ratio_is_the_strictest_of_all_when_the_best_piece_holds_the_answer():
    q = question([1.0, 0.9, 0.8], [True, False, False])
    assert fit_keep_ratio([q], np.array([1.0])) == max(KEEP_RATIOS)


def test_the_focus_cap_is_applied_to_the_collected_column_only():
    names = feature_names()
    x = np.full((2, len(names)), 5.0)
    q = Question("c", "q", x, np.array([1.0, 0.0]), [["gold"]], ["gold", "other"], [("d", 0, 5), ("d", 10, 15)], False)
    (one,) = capped([q], 1.0)
    focus = names.index("focus")
    assert (one.x[:, focus] == 1.0).all()
    assert (np.delete(one.x, focus, axis=1) == 5.0).all()
    assert (q.x == 5.0).all()  # the collected candidates are left as they were, for the next cap


def test_of_equal_settings_the_one_whose_neighbours_score_best_is_inside_the_region():
    axes = [[0.5, 1.0], [0.8, 1.0, 1.2, 1.4]]
    # Two settings reach 0.95; (0.5, 1.0) sits beside a cliff (0.5, 0.8) -> 0.6, (0.5, 1.2) between good ones.
    score = {(0.5, 0.8): 0.6, (0.5, 1.0): 0.95, (0.5, 1.2): 0.95, (0.5, 1.4): 0.9,
             (1.0, 0.8): 0.9, (1.0, 1.0): 0.9, (1.0, 1.2): 0.9, (1.0, 1.4): 0.9}
    around = {p: neighbourhood(p, axes, lambda q: (score[q],)) for p in [(0.5, 1.0), (0.5, 1.2)]}
    assert around[(0.5, 1.0)] == pytest.approx(((0.6 + 0.95 + 0.9) / 3,))
    assert around[(0.5, 1.2)] == pytest.approx(((0.95 + 0.9 + 0.9) / 3,))
    assert max(around, key=around.get) == (0.5, 1.2)


def test_a_step_off_the_grid_is_not_counted_as_a_neighbour():
    assert neighbourhood((1,), [[1, 2]], lambda q: (float(q[0]), 0.0)) == (2.0, 0.0)
    assert neighbourhood((1,), [[1]], lambda q: (1.0,)) == ()


def test_the_answer_rank_tells_apart_weights_that_show_the_same_answers():
    q = question([1.0, 0.8, 0.5], [False, True, False])
    assert answer_mrr([q], np.array([1.0])) == 0.5
    assert answer_mrr([q], np.array([-1.0])) == 0.5  # reversed: the answer is still second of three
    top = question([0.8, 1.0, 0.5], [False, True, False])
    assert answer_mrr([top], np.array([1.0])) == 1.0
