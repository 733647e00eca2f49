"""Fit the evidence weights: which retrieved sentence answers the question, with leave-one-corpus-out validation.

For every answerable question of the four reading dev corpora (news articles,
general HTML pages, PDF manuals, manuals2) the answer layer's candidate sentences are
collected with their features (``rag.answer.evidence.score_candidates``).
A candidate's label is the share of the question's ``must_include`` groups
its text (or English rendering) holds. A small grid over the weights that
matter most (``GRID``), then each small weight in turn (``SMALL``), is searched for
the best evidence@3: the evidence an answer shows (``select_evidence``: the
top three non-overlapping candidates within the keep ratio of the best, five
for a list) together holds every group. Averaged over the corpora so each
counts the same, however many questions it has. The weights are fitted with
the loosest keep ratio; then the strictest ratio that keeps their evidence@3
and whose next stricter ratio keeps it too is chosen (``KEEP_RATIOS``), so an
answer shows few quotes and is not one question from losing an answer. The
hubness correction (``HUB_WEIGHTS``) and the cap of the ``focus`` feature
(``FOCUS_MAXES``) are chosen with the weights.
Leave-one-corpus-out: the weights and ratio fitted without a corpus are scored
on it, beside those fitted with every corpus in.

    python -m bench.calibrate_evidence [--write]

Then refit ``min_relevance`` on the new scores: ``python -m bench.calibrate --relevance-only --write``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from bench.calibrate import MRR_DEPTH, READING_CORPORA, neighbourhood, open_index  # noqa: E402
from rag.core.calibration import CALIBRATION_FILE  # noqa: E402
from rag.core.config import PROJECT_ROOT  # noqa: E402

TOP = 3  # evidence pieces an ordinary answer shows
# The weights searched, from the hand-set start (rag.core.calibration.UNFITTED_EVIDENCE_WEIGHTS).
# ``similarity`` stays fixed as the scale the others (and min_relevance) are read against;
# ``similarity_other`` is already on that scale (rag.store.crosslingual), its weight is searched near it.
GRID = {
    "similarity_other": [0.3, 0.4, 0.5, 0.65],
    "overlap": [0.2, 0.35],
    "rare_overlap": [0.0, 0.1, 0.2],
    "answer_type": [0.08, 0.15],
    "pair": [-1.0, -0.1, -0.05, 0.0],
}
# The small weights, searched one at a time after the grid (each with the others fixed): a full grid
# over them too would take 81 times as long.
SMALL = {
    "other_language": [-0.05, 0.0, 0.05],
    "focus": [-0.2, -0.1, 0.0],
    "rank": [-0.02, -0.01, 0.0],
    "outside": [-0.05, -0.02, 0.0],
    "counted": [0.0, 0.1, 0.2, 0.3],
}
# The hubness correction of non-English sentences' similarity (rag.store.crosslingual): each value changes the
# features themselves, so the candidates are collected once per value and the weights fitted on each.
HUB_WEIGHTS = [0.0, 0.5, 1.0]
# How many of the question's names a sentence's document may lack (and another retrieved one has) and count in
# its ``focus`` feature. The candidates are collected uncapped and the cap applied to that column, so each
# value costs a fit, not a collection.
FOCUS_MAXES = [1.0, 2.0, 3.0]
# How close to the best piece's score a further piece must be to be shown (rag.answer.evidence.shown). The
# weights are fitted with the loosest; then the strictest ratio that keeps their evidence@3, one step back:
# few quotes, and not one question from losing an answer (fit_keep_ratio).
KEEP_RATIOS = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


@dataclass
class Question:
    corpus: str
    text: str
    x: np.ndarray  # candidates x features
    y: np.ndarray  # share of must_include groups each candidate holds
    groups: list[list[str]]
    texts: list[str]
    spans: list[tuple[str, int, int]]  # (document, start, end) of each candidate
    is_list: bool  # the answer shows LIST_EVIDENCE pieces rather than EVIDENCE_LIMIT


def feature_names() -> list[str]:
    from rag.answer.evidence import Features

    return [f.name for f in fields(Features)]


def collect(home: Path, hub_weight: float | None = None, read: bool = True,
            corpora: list[str] | None = None) -> list[Question]:
    """The candidates of every answerable dev question of ``corpora`` (default: all of ``READING_CORPORA``),
    scored under the current weights (``focus`` uncapped), the best few with the reader's probability
    (``read``; its weight is fitted by ``bench.calibrate_reader``)."""
    from rag.answer.evidence import score_candidates
    from rag.answer.plan import make_plan
    from rag.answer.translation import translator
    from rag.models.generate import load_generator
    from rag.evaluation.metrics import must_include_hits
    from rag.retrieval.retrieve import retrieve
    from rag.core.tuning import EVIDENCE_CHUNKS

    names = feature_names()
    out: list[Question] = []
    for corpus in corpora or list(READING_CORPORA):
        index = open_index(corpus, home)
        settings = index.settings
        generator = load_generator(settings)
        translate = translator(generator) if generator is not None and settings.translate else None
        for line in READING_CORPORA[corpus][1].read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            q = json.loads(line)
            groups = q.get("must_include") or []
            if not q.get("answerable", True) or not groups:
                continue
            plan = make_plan(q["question"], index)
            k = max(settings.top_k, EVIDENCE_CHUNKS)
            found = retrieve(index, q["question"], k=k, candidates=max(settings.candidates, k), rrf_k=settings.rrf_k)
            candidates = score_candidates(index, found.hits, found.vector, plan, translate, hub_weight, math.inf,
                                          read=read)
            if not candidates:
                continue
            texts = [f"{c.evidence.text}\n{c.evidence.text_en or ''}" for c in candidates]
            y = [sum(h is not None for h in must_include_hits(t, groups)) / len(groups) for t in texts]
            x = [[getattr(c.features, n) for n in names] for c in candidates]
            spans = [(c.evidence.hit.chunk.doc_id, c.evidence.start, c.evidence.end) for c in candidates]
            out.append(Question(corpus, q["question"], np.array(x, dtype=float), np.array(y), groups, texts, spans,
                                plan.is_list))
        index.close()
    return out


def cached_collect(cache: Path | None, home: Path, hub_weight: float | None = None, read: bool = True,
                   corpora: list[str] | None = None) -> list[Question]:
    """``collect``, kept in ``cache`` (a pickle under var/) and reused while the answer layer's code, the
    calibration and the question files are unchanged: a collection reads every dev question (minutes), a fit
    over it takes seconds."""
    corpora = corpora or list(READING_CORPORA)
    if cache is None:
        return collect(home, hub_weight, read, corpora)
    sources = [*sorted((PROJECT_ROOT / "rag" / "answer").glob("*.py")), CALIBRATION_FILE,
               *(READING_CORPORA[c][1] for c in corpora)]
    key = hashlib.sha256(repr((hub_weight, read, corpora)).encode()
                         + b"".join(path.read_bytes() for path in sources)).hexdigest()
    saved = pickle.loads(cache.read_bytes()) if cache.exists() else {}
    if key not in saved:
        # plain dicts: a class of this module pickled when it runs as __main__ could not be read back
        saved[key] = [vars(q) for q in collect(home, hub_weight, read, corpora)]
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(saved))
    return [Question(**q) for q in saved[key]]


def capped(questions: list[Question], focus_max: float) -> list[Question]:
    """The questions with their ``focus`` feature capped at ``focus_max`` (as ``score_candidates`` caps it)."""
    column = feature_names().index("focus")
    out = []
    for q in questions:
        x = q.x.copy()
        x[:, column] = np.minimum(x[:, column], focus_max)
        out.append(replace(q, x=x))
    return out


def fit(questions: list[Question], start: dict[str, float]) -> dict[str, float]:
    """The grid point with the best evidence@3 (then @1), averaged over corpora so each counts the same.

    A grid over a few weights (the rest stay at ``start``) rather than a
    gradient fit: with a few dozen questions per corpus, a surrogate loss over
    every weight fitted one corpus at the others' expense (measured: a listwise
    softmax fit lifted the general pages from 0.56 to 0.67 and dropped the
    PDFs from 0.75 to 0.50). Of the best grid points, the one whose grid
    neighbours score best (``bench.calibrate.neighbourhood``), then the one that
    ranks the answering sentence highest (``answer_mrr``). Each small weight is
    then chosen in turn with the rest fixed: the best, then the best-ranking,
    then the middle of its tied values.
    """
    names = feature_names()
    vector = lambda weights: np.array([weights.get(n, 0.0) for n in names])  # noqa: E731

    def ranking(weights: dict[str, float]) -> float:
        w = vector(weights)
        return averaged(questions, lambda part: answer_mrr(part, w))

    points = list(itertools.product(*GRID.values()))
    at = lambda point: {**start, **dict(zip(GRID, point))}  # noqa: E731
    scores = {point: quality(questions, vector(at(point))) for point in points}
    top = max(scores.values())
    best = at(max((p for p in points if scores[p] == top), key=lambda p: (
        neighbourhood(p, list(GRID.values()), scores.__getitem__), ranking(at(p)), -points.index(p))))
    for name, values in SMALL.items():
        tried = {value: quality(questions, vector({**best, name: value})) for value in values}
        tied = [value for value in values if tried[value] == max(tried.values())]
        middle = tied[len(tied) // 2]
        best[name] = max(tied, key=lambda value: (ranking({**best, name: value}), value == middle))
    return best


def averaged(questions: list[Question], metric: Callable[[list[Question]], float]) -> float:
    """``metric`` on each corpus's questions, averaged so each corpus counts the same however many it has."""
    corpora = sorted({q.corpus for q in questions})
    return sum(metric([q for q in questions if q.corpus == c]) for c in corpora) / len(corpora)


def quality(questions: list[Question], w: np.ndarray) -> tuple[float, float]:
    """Evidence@3, then evidence@1 (which tells apart weights with the same @3), averaged over corpora."""
    return tuple(averaged(questions, lambda part: evidence_at(part, w, k)) for k in (TOP, 1))


def answer_mrr(questions: list[Question], w: np.ndarray) -> float:
    """Mean reciprocal rank (to depth ``MRR_DEPTH``) of the candidate that holds the most of each question's answer:
    it tells apart weights that show the same answers."""
    total = 0.0
    for q in questions:
        if q.y.max() <= 0:
            continue
        order = np.argsort(-(q.x @ w), kind="stable")[:MRR_DEPTH]
        rank = next((r for r, i in enumerate(order, 1) if q.y[i] == q.y.max()), None)
        total += 1.0 / rank if rank else 0.0
    return total / max(1, len(questions))


def shown(q: Question, w: np.ndarray, k: int, keep_ratio: float) -> list[int]:
    """The candidates an answer shows, as ``rag.answer.evidence.shown`` picks them: the best ``k``
    non-overlapping ones (``LIST_EVIDENCE`` for a list question when ``k`` is TOP), of which only those
    within ``keep_ratio`` of the best score."""
    from rag.core.tuning import LIST_EVIDENCE

    scores = q.x @ w
    limit = LIST_EVIDENCE if q.is_list and k == TOP else k
    top: list[int] = []
    for i in np.argsort(-scores, kind="stable"):
        doc, start, end = q.spans[i]
        if not any(q.spans[j][0] == doc and q.spans[j][1] < end and start < q.spans[j][2] for j in top):
            top.append(i)
        if len(top) == limit:
            break
    if not (q.is_list and k == TOP):
        best = scores[top[0]]
        top = [i for i in top if i == top[0] or scores[i] >= best - abs(best) * (1 - keep_ratio)]
    return top


def evidence_at(questions: list[Question], w: np.ndarray, k: int = TOP, keep_ratio: float = KEEP_RATIOS[0]) -> float:
    """Share of questions whose shown evidence (``shown``) together holds every must_include group.

    Scored on what the reader sees, so a weight that ranks the answer fourth,
    or far below the first, counts as a miss.
    """
    from rag.evaluation.metrics import must_include_hits

    good = 0
    for q in questions:
        seen = "\n".join(q.texts[i] for i in shown(q, w, k, keep_ratio))
        good += all(h is not None for h in must_include_hits(seen, q.groups))
    return good / max(1, len(questions))


def pieces_shown(questions: list[Question], w: np.ndarray, keep_ratio: float) -> float:
    """Mean number of pieces an answer shows."""
    return sum(len(shown(q, w, TOP, keep_ratio)) for q in questions) / max(1, len(questions))


def fit_keep_ratio(questions: list[Question], w: np.ndarray) -> float:
    """The strictest ratio whose evidence@3 (averaged over corpora) equals the loosest one's, and so does the next
    stricter one's (1.0, the strictest there is, has no next).

    The strictest ratio that keeps every answer is one step from losing one: on a corpus it was not fitted on,
    it loses it first. Measured: after the PDF text changed, news and PDF alone kept their answers up to 0.9, and
    general, held out, showed the answer for 0.53 of its questions at 0.9 against 0.69 at 0.8.
    """
    def shows_answers(ratio: float) -> float:
        return averaged(questions, lambda part: evidence_at(part, w, TOP, ratio))

    loosest = shows_answers(KEEP_RATIOS[0])
    keeps = [shows_answers(r) >= loosest for r in KEEP_RATIOS] + [True]
    return max((r for r, this, stricter in zip(KEEP_RATIOS, keeps, keeps[1:]) if this and stricter),
               default=KEEP_RATIOS[0])


def main(argv: list[str] | None = None) -> int:
    from rag.core.calibration import UNFITTED_EVIDENCE_WEIGHTS, UNFITTED_FOCUS_MAX, UNFITTED_KEEP_RATIO

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / "var" / "calibrate")
    parser.add_argument("--write", action="store_true", help=f"write the fitted weights to {CALIBRATION_FILE}")
    parser.add_argument("--corpus", action="append", choices=list(READING_CORPORA),
                        help="fit on these corpora only (repeat; default: all of them)")
    parser.add_argument("--cache", type=Path, default=None, help="keep the collected candidates in this pickle")
    parser.add_argument("--hub-weights", type=float, nargs="+", default=HUB_WEIGHTS,
                        help="the hubness corrections to try (each one is a collection; default: %(default)s)")
    args = parser.parse_args(argv)
    corpora = args.corpus or list(READING_CORPORA)
    collected = {hub: cached_collect(args.cache, args.home, hub, corpora=corpora) for hub in args.hub_weights}
    by_setting = {(hub, cap): capped(questions, cap) for hub, questions in collected.items() for cap in FOCUS_MAXES}
    start = dict(UNFITTED_EVIDENCE_WEIGHTS)
    names = feature_names()
    vector = lambda weights: np.array([weights.get(n, 0.0) for n in names])  # noqa: E731

    def fit_setting(keep) -> tuple[tuple[float, float], dict[str, float]]:
        """The (hub weight, focus cap) and feature weights with the best evidence@3 (then @1) on the corpora
        ``keep`` accepts. A tie goes to the first hub weight, then to the middle of its tied caps (as the
        lead threshold's does): a cap no question tells apart from its neighbours is not chosen by its end."""
        results = {}
        for setting, questions in by_setting.items():
            mine = [q for q in questions if keep(q.corpus)]
            weights = fit(mine, start)
            results[setting] = (quality(mine, vector(weights)), weights)
        top = max(score for score, _weights in results.values())
        tied = [setting for setting, (score, _weights) in results.items() if score == top]
        caps = [cap for hub, cap in tied if hub == tied[0][0]]
        setting = (tied[0][0], caps[len(caps) // 2])
        return setting, results[setting][1]

    (hub, focus_max), chosen = fit_setting(lambda corpus: True)
    keep_ratio = fit_keep_ratio(by_setting[hub, focus_max], vector(chosen))
    print(f"hub weight {hub}; focus cap {focus_max}; keep ratio {keep_ratio}; weights fitted on every corpus: "
          + ", ".join(f"{n} {chosen.get(n, 0.0):+.3f}" for n in names))
    print(f"{'corpus':10} {'hand-set':>9} {'with it in':>11} {'held out':>9} {'gap':>6}   (evidence@{TOP}; then @1)")
    held = {}
    for corpus in corpora:
        without_setting, without = fit_setting(lambda c: c != corpus)
        without_ratio = fit_keep_ratio([q for q in by_setting[without_setting] if q.corpus != corpus], vector(without))
        mine = [q for q in by_setting[hub, focus_max] if q.corpus == corpus]
        mine_without = [q for q in by_setting[without_setting] if q.corpus == corpus]
        unfitted = by_setting[min(collected), UNFITTED_FOCUS_MAX]  # the hand-set hub weight is 0 when tried
        held[corpus] = {"hand_set": evidence_at([q for q in unfitted if q.corpus == corpus], vector(start), TOP,
                                                UNFITTED_KEEP_RATIO),
                        "with": evidence_at(mine, vector(chosen), TOP, keep_ratio),
                        "held_out": evidence_at(mine_without, vector(without), TOP, without_ratio),
                        "with_at_1": evidence_at(mine, vector(chosen), 1, keep_ratio),
                        "held_out_at_1": evidence_at(mine_without, vector(without), 1, without_ratio),
                        "pieces_shown": pieces_shown(mine, vector(chosen), keep_ratio),
                        "questions": len(mine),
                        "values": {"hub_weight": without_setting[0], "focus_max": without_setting[1],
                                   "keep_ratio": without_ratio,
                                   **{n: without[n] for n in (*GRID, *SMALL)}}}
        h = held[corpus]
        print(f"{corpus:10} {h['hand_set']:9.3f} {h['with']:11.3f} {h['held_out']:9.3f} "
              f"{h['held_out'] - h['with']:+6.3f}   @1 {h['with_at_1']:.3f} -> {h['held_out_at_1']:.3f}"
              f"   n={len(mine)} {h['values']}")
    if args.write:
        def change(data: dict) -> None:
            data["evidence"] = {"name": "bench/calibrate_evidence.py", "weights": {n: chosen.get(n, 0.0) for n in names},
                                "hub_weight": hub, "focus_max": focus_max, "keep_ratio": keep_ratio,
                                "leave_one_corpus_out": held}
        update_calibration(change)
    return 0


def update_calibration(change: Callable[[dict], None]) -> None:
    """Read the calibration file, let ``change`` edit it, write it back (`make calibrate` runs the fits in turn;
    the reader's weight is fitted after these weights, by ``bench.calibrate_reader``)."""
    data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")) if CALIBRATION_FILE.exists() else {}
    change(data)
    CALIBRATION_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {CALIBRATION_FILE}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
