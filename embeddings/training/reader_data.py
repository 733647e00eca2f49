"""(question, unit, label) pairs for the reader, from the training packages and the bundled news only.

A positive is the unit that holds the asked fact (often a structural unit: an option with its
default, a table row with its heading, a lead-in with the list it introduces). Negatives are
the units a topic matcher would pick: the same page, the same subject, the same kind of detail
of another subject, and every unit of a near-miss question (a detail the page never states).
Nothing here reads an evaluation set. ``python -m embeddings.training.reader_data`` writes
the pairs and prints their counts per source.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from embeddings.training import reader_sources as sources
from embeddings.training.debian import DEFAULT_CACHE
from embeddings.training.pairs import Pair

NEWS_DIR = Path(__file__).resolve().parents[2] / "data" / "articles"  # the bundled news


def build(cache: Path = DEFAULT_CACHE, news_dir: Path = NEWS_DIR, seed: int = 13) -> list[Pair]:
    """Every pair of every source, shuffled with ``seed``."""
    pairs = (sources.faq_pairs(cache) + sources.apache_pairs(cache) + sources.vim_pairs(cache)
             + sources.news_pairs(news_dir))
    random.Random(seed).shuffle(pairs)
    return pairs


def save(pairs: list[Pair], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for pair in pairs:
            out.write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")


def counts(pairs: list[Pair]) -> dict[str, dict[str, int]]:
    """Questions, positive and negative pairs per source: the provenance table of docs/reader.md."""
    table: dict[str, dict[str, int]] = {}
    for source in sorted({p.source for p in pairs}):
        mine = [p for p in pairs if p.source == source]
        table[source] = {
            "questions": len({(p.page, p.question) for p in mine}),
            "positive": sum(p.label for p in mine),
            "negative": sum(1 - p.label for p in mine),
            "near_miss_questions": len({(p.page, p.question) for p in mine if p.kind == "near-miss"}),
        }
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the .deb files are unpacked")
    parser.add_argument("--out", type=Path, default=Path("var/train/reader_pairs.jsonl"))
    args = parser.parse_args(argv)
    pairs = build(args.cache)
    save(pairs, args.out)
    print(json.dumps({"pairs": len(pairs), "kinds": Counter(p.kind for p in pairs), "sources": counts(pairs)},
                     indent=1))


if __name__ == "__main__":
    main()
