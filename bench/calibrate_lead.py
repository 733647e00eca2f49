"""Fit the lead verifier's support threshold on the dev sets' leads, with leave-one-corpus-out validation.

For every dev question the answer layer does not refuse (news articles,
general HTML pages, PDF manuals), the local model's lead is drafted from the
best evidence as an answer would draft it (``rag.answer.lead.draft_lead``):
only where a lead can be trusted at all, and only drafts that pass the checks
that do not depend on the threshold (no word the passage lacks, the number
asked for, a whole pair). A draft is *right* when it holds every
``must_include`` group of an answerable question and *wrong* otherwise (any
lead on an unanswerable question is wrong). A threshold shows the drafts whose
word-overlap support reaches it. The chosen one shows the fewest wrong leads,
then the most right ones (a wrong lead is worse than none), each as a share of
the corpus's questions averaged over corpora; a tie goes to the middle of the
tied run. Leave-one-corpus-out: the threshold chosen without a corpus is
scored on it, beside the one chosen with every corpus in.

    python -m bench.calibrate_lead [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.calibrate import CORPORA, open_index  # noqa: E402
from rag.core.calibration import CALIBRATION_FILE  # noqa: E402
from rag.core.config import PROJECT_ROOT  # noqa: E402

THRESHOLDS = [0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 1.0]


@dataclass(frozen=True)
class Drafted:
    corpus: str
    question: str
    text: str
    score: float
    right: bool


def collect(home: Path) -> tuple[list[Drafted], dict[str, int]]:
    """Every draft lead that passes the threshold-free checks, and the number of questions per corpus."""
    from rag.answer.answerer import ground
    from rag.answer.translation import with_translations
    from rag.answer.lead import draft_lead
    from rag.answer.verifier import WordOverlapVerifier
    from rag.models.generate import load_generator
    from rag.evaluation.metrics import must_include_hits

    drafts: list[Drafted] = []
    counts: dict[str, int] = {}
    verifier = WordOverlapVerifier()
    for corpus in CORPORA:
        index = open_index(corpus, home)
        settings = index.settings
        generator = load_generator(settings)
        if generator is None:
            raise SystemExit("calibrating the lead needs the local model (settings.generator)")
        rows = [json.loads(line) for line in CORPORA[corpus][1].read_text(encoding="utf-8").splitlines()
                if line.strip()]
        counts[corpus] = len(rows)
        for q in rows:
            grounds = ground(index, generator, settings, q["question"], q["question"], time.perf_counter())
            if grounds.reason or not grounds.evidence:
                continue
            evidence = grounds.evidence
            if settings.translate:
                evidence = with_translations(index, generator, evidence)
            draft = draft_lead(generator, settings, grounds.plan, evidence[0], verifier)
            if not draft.text or not draft.checks:
                continue
            groups = q.get("must_include") or []
            right = (bool(q.get("answerable", True)) and bool(groups)
                     and all(h is not None for h in must_include_hits(draft.text, groups)))
            drafts.append(Drafted(corpus, q["question"], draft.text, draft.score, right))
        index.close()
    return drafts, counts


def shown(drafts: list[Drafted], counts: dict[str, int], corpus: str, threshold: float) -> tuple[float, float]:
    """(wrong, right) leads shown at ``threshold``, as shares of ``corpus``'s questions."""
    mine = [d for d in drafts if d.corpus == corpus and d.score >= threshold]
    return (sum(not d.right for d in mine) / counts[corpus], sum(d.right for d in mine) / counts[corpus])


def choose(drafts: list[Drafted], counts: dict[str, int], corpora: list[str]) -> float:
    """The threshold with the fewest wrong leads, then the most right ones, averaged over ``corpora``."""
    def quality(threshold: float) -> tuple[float, float]:
        wrong = sum(shown(drafts, counts, c, threshold)[0] for c in corpora) / len(corpora)
        right = sum(shown(drafts, counts, c, threshold)[1] for c in corpora) / len(corpora)
        return (-wrong, right)

    best = max(quality(t) for t in THRESHOLDS)
    tied = [t for t in THRESHOLDS if quality(t) == best]
    return tied[len(tied) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=PROJECT_ROOT / "var" / "calibrate")
    parser.add_argument("--write", action="store_true", help=f"write the threshold to {CALIBRATION_FILE}")
    args = parser.parse_args(argv)
    drafts, counts = collect(args.home)
    for d in drafts:
        print(f"  {d.corpus:8} {d.score:.2f} {'right' if d.right else 'WRONG':5} {d.text[:60]!r} <- {d.question[:60]}",
              file=sys.stderr)
    corpora = list(CORPORA)
    chosen = choose(drafts, counts, corpora)
    print(f"support threshold {chosen} ({len(drafts)} draft leads)")
    print(f"{'corpus':10} {'wrong/right with it in':>24} {'held out':>18}")
    held = {}
    for corpus in corpora:
        without = choose(drafts, counts, [c for c in corpora if c != corpus])
        with_in, held_out = shown(drafts, counts, corpus, chosen), shown(drafts, counts, corpus, without)
        held[corpus] = {"with": {"wrong": with_in[0], "right": with_in[1]},
                        "held_out": {"wrong": held_out[0], "right": held_out[1]}, "threshold": without}
        print(f"{corpus:10} {with_in[0]:11.3f} {with_in[1]:11.3f}   {held_out[0]:8.3f} {held_out[1]:8.3f}"
              f"   (threshold {without})")
    if args.write:
        data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")) if CALIBRATION_FILE.exists() else {}
        data["lead"] = {"name": "bench/calibrate_lead.py", "support_threshold": chosen, "leave_one_corpus_out": held}
        CALIBRATION_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {CALIBRATION_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
