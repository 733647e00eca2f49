"""Fit when the trained claim verifier may overrule `rag check`'s rules, leave-one-set-out.

Two thresholds (``rag.verify.model``): ``promote``, the P(supported) at which a claim the rules call
"not found" only for want of closeness or shared words becomes supported on a candidate the rules do
not veto; ``demote``, the P(contradicted) + P(not found) at which a claim the rules support is not.
For every claim of ``../shared/eval/claims_dev.jsonl``, ``tests/data/claims_extra.jsonl`` (both on
the news articles) and ``data/eval/claims_dev3`` (its own corpus, its own index home) the rules measure once and the model reads once (``ModelCheck.read`` with a low floor); then every pair
of thresholds is tried. A pair is scored by claims labelled right, then true claims cited into a
gold document, then edited claims caught; a tie goes to the middle of the tied run.
Each set is scored with the pair chosen on the others (its cross-validated figure); the pair
written is the one chosen on all. "Never" (above any probability) is always a candidate, so the
model is only let in where it wins. claims_dev2 is never read here.

    python -m bench.calibrate_verifier [--home var] [--model DIR] [--write]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.check_claims import CLAIMS_DEV, CLAIMS_EXTRA, _merge, load_claims, score  # noqa: E402
from bench.common import REPO  # noqa: E402
from embeddings.verifier import MODEL_DIR, Verifier  # noqa: E402
from rag import Assistant, Settings  # noqa: E402
from rag.assistant.check import analyse_sentence, background_of, default_verifier, split_text  # noqa: E402
from rag.core.calibration import CALIBRATION_FILE, NEVER, VerifierCalibration  # noqa: E402
from rag.verify.claims import Passage, Support  # noqa: E402
from rag.verify.model import ModelCheck, Reading, revise  # noqa: E402
from rag.verify.support import StructuredVerifier  # noqa: E402

CLAIMS_DEV3 = REPO / "data" / "eval" / "claims_dev3"
GRID = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, NEVER]
FLOOR = min(GRID)


@dataclass(frozen=True)
class Piece:
    """One sentence of a claim as the check sees it: the rules' verdict, the model's reading, the documents."""

    rules: Support
    reading: Reading | None
    doc_ids: list[str]  # per candidate passage


@dataclass(frozen=True)
class Measured:
    """What the rules measured on one sentence of a claim: all the model's reading needs, kept between runs."""

    analysis: dict
    passages: list[Passage]
    background: str
    doc_ids: list[str]  # per candidate passage


def rules_measure(assistant, rules: StructuredVerifier, claim: str) -> list[Measured]:
    """The rules' measurements for each sentence of ``claim`` (retrieval and rules: the slow part)."""
    out = []
    for start, end in split_text(claim):
        sentence = " ".join(claim[start:end].split())
        analysis, candidates, documents = analyse_sentence(assistant, rules, sentence)
        out.append(Measured(analysis, [c[1] for c in candidates], background_of(documents),
                            [c[0].chunk.doc_id for c in candidates]))
    return out


def all_measured(path: Path, homes: dict[str, Path | None], sets: dict[str, list[dict]]) -> dict[str, list[list[Measured]]]:
    """The rules' measurements of every claim, made once and kept in ``path`` (a pickle under var/).

    ``homes`` gives each set's index home (None: RAG_HOME or ./var); the sets sharing a home share an index.
    """
    key = {name: [c["id"] for c in claims] for name, claims in sets.items()}
    if path.is_file():
        saved = pickle.loads(path.read_bytes())
        if saved.get("key") == key:
            return {name: [[Measured(*m) for m in claim] for claim in claims]
                    for name, claims in saved["measured"].items()}
    measured = {}
    for home in dict.fromkeys(homes.values()):
        settings = Settings.from_env().replace(home=home) if home else Settings.from_env()
        assistant = Assistant(settings)
        assistant.ensure_index()
        rules = default_verifier(assistant)
        for name, claims in sets.items():
            if homes[name] != home:
                continue
            measured[name] = []
            for claim in claims:
                measured[name].append(rules_measure(assistant, rules, claim["claim"]))
                print(f"{name} {claim['id']} measured", file=sys.stderr, flush=True)
    measured = {name: measured[name] for name in sets}
    path.parent.mkdir(parents=True, exist_ok=True)
    # plain tuples: a class of this module pickled when it runs as __main__ could not be read back
    plain = {name: [[(m.analysis, m.passages, m.background, m.doc_ids) for m in claim] for claim in claims]
             for name, claims in measured.items()}
    path.write_bytes(pickle.dumps({"key": key, "measured": plain}))
    return measured


def dev3_home(home: Path) -> Path:
    """The index home of claims_dev3: its corpus copied into ``home``/library (as `make check-claims-dev3`)."""
    library = home / "library"
    library.mkdir(parents=True, exist_ok=True)
    for source in sorted((CLAIMS_DEV3 / "corpus").iterdir()):
        target = library / source.name
        if not target.exists() or target.read_bytes() != source.read_bytes():
            target.write_bytes(source.read_bytes())
    return home


def read(judge: ModelCheck, sentences: list[Measured]) -> list[Piece]:
    """The rules' verdict and the model's reading (every candidate down to ``FLOOR`` vetted) per sentence."""
    return [Piece(judge.rules.decide(m.analysis), judge.read(m.analysis, m.passages, m.background, floor=FLOOR),
                  m.doc_ids) for m in sentences]


def verdict(pieces: list[Piece], calibration: VerifierCalibration) -> dict:
    """The claim's `rag check` result (as ``bench.check_claims`` scores it) under ``calibration``."""
    results = []
    for piece in pieces:
        s = revise(piece.rules, piece.reading, calibration)
        cited = [{"doc_id": piece.doc_ids[s.evidence]}] if s.evidence >= 0 else []
        results.append({"verdict": s.verdict, "reason": s.reason, "citations": cited})
    return results[0] if len(results) == 1 else _merge(results)


def figures(claims: list[dict], measured: list[list[Piece]], calibration: VerifierCalibration) -> dict:
    return score(claims, [verdict(m, calibration) for m in measured])


def quality(f: dict) -> tuple[int, int, int]:
    return (f["overall"]["right"], f["supported_with_gold_citation"]["right"], f["unsupported_not_supported"]["right"])


def choose(sets: list[tuple[list[dict], list[list[Piece]]]]) -> VerifierCalibration:
    """The pair with the best summed quality on ``sets``; a tie goes to the middle of the tied run, demote first.

    The same rule as the other fits (``bench.calibrate_lead``): where the claims cannot tell thresholds
    apart, neither end of the run is favoured.
    """
    def total(pair: tuple[float, float]) -> tuple[int, ...]:
        cal = VerifierCalibration("fitted", *pair)
        return tuple(sum(q) for q in zip(*(quality(figures(c, m, cal)) for c, m in sets)))
    scored = {pair: total(pair) for pair in itertools.product(GRID, GRID)}
    best = [pair for pair, q in scored.items() if q == max(scored.values())]
    demotes = sorted({d for _, d in best})
    demote = demotes[len(demotes) // 2]
    promotes = sorted(p for p, d in best if d == demote)
    return VerifierCalibration("fitted", promotes[len(promotes) // 2], demote)


def line(name: str, f: dict) -> str:
    parts = [f"{f[k]['right']}/{f[k]['of']}" for k in
             ("overall", "unsupported_not_supported", "supported_with_gold_citation")]
    return f"  {name:22} right {parts[0]}  edited caught {parts[1]}  true cited {parts[2]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.calibrate_verifier", description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="index home of the news articles (default: RAG_HOME or ./var)")
    parser.add_argument("--home-dev3", type=Path, default=REPO / "var" / "claims-dev3",
                        help="index home of claims_dev3's corpus (default: var/claims-dev3)")
    parser.add_argument("--model", type=Path, default=MODEL_DIR, help="the verifier folder (default: the shipped one)")
    parser.add_argument("--cache", type=Path, default=REPO / "var" / "calibrate-verifier-rules.pkl",
                        help="where the rules' measurements are kept between runs (delete it after changing the rules)")
    parser.add_argument("--write", action="store_true", help=f"write the chosen pair to {CALIBRATION_FILE}")
    args = parser.parse_args(argv)
    sets = {p.name: load_claims(p) for p in (CLAIMS_DEV, CLAIMS_EXTRA)}
    sets["claims_dev3"] = load_claims(CLAIMS_DEV3 / "claims.jsonl")
    homes = {CLAIMS_DEV.name: args.home, CLAIMS_EXTRA.name: args.home, "claims_dev3": dev3_home(args.home_dev3)}
    rules_measured = all_measured(args.cache, homes, sets)
    # the rules' decisions and vetoes need no encoder: the measurements hold what they compare
    judge = ModelCheck(StructuredVerifier(encode=None), model=Verifier.load(args.model))  # type: ignore[arg-type]
    measured = {name: [read(judge, m) for m in rules_measured[name]] for name in sets}
    rules_only = VerifierCalibration()
    report: dict = {"folds": {}}
    for name, claims in sets.items():
        others = [(sets[o], measured[o]) for o in sets if o != name]
        cal = choose(others)
        held = figures(claims, measured[name], cal)
        before = figures(claims, measured[name], rules_only)
        report["folds"][name] = {"promote": cal.promote, "demote": cal.demote, "right": held["overall"]["right"],
                                 "of": len(claims), "rules_right": before["overall"]["right"], "misses": held["misses"]}
        print(f"{name} (thresholds from the other sets: promote {cal.promote}, demote {cal.demote})")
        print(line("rules", before))
        print(line("rules + model", held))
        for miss in before["misses"]:
            print(f"    rules miss: {miss}")
        for miss in held["misses"]:
            print(f"    miss: {miss}")
    chosen = choose([(sets[n], measured[n]) for n in sets])
    print(f"chosen on all sets: promote {chosen.promote}, demote {chosen.demote}")
    if args.write:
        data = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")) if CALIBRATION_FILE.exists() else {}
        data["verifier"] = {"name": "fitted", "promote": chosen.promote, "demote": chosen.demote,
                            "fitted_on": sorted(sets), "model": str(args.model.name),
                            "cross_validation": report["folds"]}
        CALIBRATION_FILE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
