"""Claims for training the support model, made from documents and labelled by construction.

Sources are the Debian documentation packages of ``debian.TRAINING_PACKAGES`` and the bundled news
articles (``data/articles``), nothing else: never an evaluation set or a dev claim. Every prose
sentence yields a few examples, each a (claim, evidence) pair with one of three labels:

- supported: the sentence itself, or a meaning-keeping rewrite (clause reorder, deletion of an
  aside, synonym swap, attribution form, passive to active, two adjacent sentences joined);
- contradicted: one fact edited (number, unit, date, name, negation, speaker, role, antonym);
- not found: an invented detail added, or the claim paired with a different on-topic sentence.

The evidence is a window like the one the checker hands the model: the sentence with the sentence
before and/or after it, and sometimes a window centred on the neighbouring sentence,
so that the fact sits beside the middle sentence, as it often does in retrieved text.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from embeddings.training import claim_edits as edits
from embeddings.training.debian import DEFAULT_CACHE, TRAINING_PACKAGES, fetch, html_files
from rag import lang as languages
from rag.ingest.extract import BlockKind, ExtractError, extract
from rag.ingest.sentences import split_span

ARTICLES = Path(__file__).resolve().parents[2] / "data" / "articles"
NEWS = "news-articles"
MIN_WORDS, MAX_WORDS = 7, 45
CONTEXT_RATE = 0.5  # how often the evidence carries the sentence before it, and (apart) the one after
NEIGHBOUR_RATE = 0.2  # how often the evidence window is centred on the sentence beside the claim's
STACK_CHANCES = (0.6, 0.35)  # the chance of a second, then a third rewrite on a supported claim
WORD = re.compile(r"[A-Za-z]{4,}")


@dataclass(frozen=True)
class Document:
    """The prose sentences of one page or article, in order."""

    source: str  # the package, or NEWS
    doc_id: str
    lang: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Example:
    """One training pair, labelled by how it was made."""

    claim: str
    evidence: str
    label: int  # edits.SUPPORTED | CONTRADICTED | NOT_FOUND
    edit: str  # which rewrite made the claim ("none" for the sentence itself)
    source: str
    doc_id: str


def usable(sentence: str) -> bool:
    """A prose sentence a claim can be made from: a full sentence of words, not code or a list."""
    words = sentence.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS or not sentence[0].isupper() or sentence[-1] not in ".!?":
        return False
    letters = sum(ch.isalpha() or ch.isspace() for ch in sentence)
    return letters / len(sentence) > 0.85 and not re.search(r"[{}<>=|\\]|\s-\w|::|/\w+/", sentence)


def document_of(source: str, doc_id: str, data: bytes, suffix: str) -> Document:
    """The usable sentences of a file's paragraphs (headings, code and table rows left out)."""
    extracted = extract(data, suffix)
    code = languages.for_text(extracted.text[:2000]).code
    found: list[str] = []
    for block in extracted.blocks:
        if block.kind != BlockKind.PARAGRAPH:
            continue
        for s in split_span(extracted.text, block.start, block.end, code):
            sentence = " ".join(extracted.text[s.start:s.end].split())
            if usable(sentence):
                found.append(sentence)
    return Document(source, doc_id, code, tuple(found))


def package_documents(package: str, cache: Path = DEFAULT_CACHE) -> list[Document]:
    """Every page of a training package with at least two usable sentences."""
    docs = []
    root = fetch(package, cache)
    for page in html_files(package, cache):
        try:
            doc = document_of(package, str(page.relative_to(root)), page.read_bytes(), ".html")
        except ExtractError:  # a page in a legacy encoding: the other pages are plenty
            continue
        if len(doc.sentences) >= 2:
            docs.append(doc)
    return docs


def article_documents(folder: Path = ARTICLES) -> list[Document]:
    """The bundled news articles (one is Dutch)."""
    return [document_of(NEWS, p.name, p.read_bytes(), ".txt") for p in sorted(folder.glob("*.txt"))]


def content_words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text)}


def on_topic_rival(doc: Document, i: int) -> int | None:
    """The sentence of ``doc`` (not ``i`` or its neighbours) sharing most content words with sentence ``i``."""
    mine = content_words(doc.sentences[i])
    best, best_overlap = None, 0.0
    for j, other in enumerate(doc.sentences):
        if abs(j - i) <= 2:  # a window around j must not hold sentence i
            continue
        theirs = content_words(other)
        overlap = len(mine & theirs) / (len(mine | theirs) or 1)
        if overlap > best_overlap:
            best, best_overlap = j, overlap
    return best


def evidence_at(doc: Document, i: int, rng: random.Random, last: int | None = None) -> str:
    """Sentence ``i`` (to ``last``), with the sentence before and the one after it some of the time, or a
    window centred on a sentence beside it (``neighbour_window``)."""
    if last is None and rng.random() < NEIGHBOUR_RATE and (window := neighbour_window(doc, i, rng)):
        return window
    last = last if last is not None else i
    first = i - 1 if i > 0 and rng.random() < CONTEXT_RATE else i
    last = last + 1 if last + 1 < len(doc.sentences) and rng.random() < CONTEXT_RATE else last
    return " ".join(doc.sentences[first:last + 1])


def neighbour_window(doc: Document, i: int, rng: random.Random) -> str | None:
    """A window centred on a sentence beside ``i`` that still holds ``i`` (the fact is off-centre)."""
    options = [j for j in (i - 1, i + 1) if 0 <= j < len(doc.sentences)]
    if not options:
        return None
    j = rng.choice(options)
    return " ".join(doc.sentences[max(0, j - 1):min(len(doc.sentences), j + 2)])


class Maker:
    """Turns documents into examples, keeping the edit types balanced: the rarest applicable edit goes first."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()

    def _pick(self, options: dict[str, str]) -> tuple[str, str] | None:
        if not options:
            return None
        low = min(self.counts[k] for k in options)
        edit = self.rng.choice(sorted(k for k in options if self.counts[k] == low))
        self.counts[edit] += 1
        return edit, options[edit]

    def supported(self, doc: Document, i: int) -> tuple[str, str] | None:
        sentence, rng = doc.sentences[i], self.rng
        options = {k: out for k, f in edits.SUPPORTING.items() if (out := f(sentence, rng)) and out != sentence}
        if i + 1 < len(doc.sentences) and (joined := edits.join_sentences(sentence, doc.sentences[i + 1], rng)):
            options["joined"] = joined
        picked = self._pick(options)
        if picked and picked[0] != "joined":
            picked = (picked[0], self.stacked(picked[1]))
        return picked

    def stacked(self, claim: str) -> str:
        """Up to two more rewrites on top of the first: real paraphrases share fewer words than one rewrite
        leaves, and the rules already accept the high-overlap ones, so the model's value is on the others."""
        for chance in STACK_CHANCES:
            if self.rng.random() >= chance:
                break
            rewrites = list(edits.SUPPORTING.values())
            self.rng.shuffle(rewrites)
            claim = next((out for f in rewrites if (out := f(claim, self.rng)) and out != claim), claim)
        return claim

    def contradicted(self, doc: Document, i: int) -> tuple[str, str] | None:
        sentence, rng = doc.sentences[i], self.rng
        options = {k: out for k, f in edits.CONTRADICTING.items() if (out := f(sentence, rng)) and out != sentence}
        near = [j for j in (i - 1, i + 1, i - 2, i + 2) if 0 <= j < len(doc.sentences)]
        others = [doc.sentences[j] for j in near] + [s for j, s in enumerate(doc.sentences)
                                                      if j != i and j not in near]  # neighbours first
        for k, f in edits.CONTRADICTING_IN_DOCUMENT.items():
            if (out := f(sentence, others, rng)) and out != sentence:
                options[k] = out
        if doc.lang != "en":  # word rules are English: only names, numbers and dates carry over
            options = {k: v for k, v in options.items() if k in ("number", "date", "name", "code_name")}
        return self._pick(options)

    def examples(self, doc: Document, i: int) -> Iterator[Example]:
        """The examples made from sentence ``i`` of ``doc``."""
        rng, sentence = self.rng, doc.sentences[i]

        def make(claim: str, label: int, edit: str, last: int | None = None) -> Example:
            return Example(claim, evidence_at(doc, i, rng, last), label, edit, doc.source, doc.doc_id)

        if rng.random() < 0.25 or doc.lang != "en":
            yield make(sentence, edits.SUPPORTED, "none")
        if doc.lang == "en" and (found := self.supported(doc, i)):
            yield make(found[1], edits.SUPPORTED, found[0], i + 1 if found[0] == "joined" else None)
        if found := self.contradicted(doc, i):
            yield make(found[1], edits.CONTRADICTED, found[0])
        yield from self.not_found(doc, i)

    def not_found(self, doc: Document, i: int) -> Iterator[Example]:
        rng = self.rng
        sentence = doc.sentences[i]
        detail = edits.add_detail(sentence, rng) if doc.lang == "en" and rng.random() < 0.5 else None
        if detail:
            self.counts["invented_detail"] += 1
            yield Example(detail, evidence_at(doc, i, rng), edits.NOT_FOUND, "invented_detail", doc.source,
                          doc.doc_id)
        elif (j := on_topic_rival(doc, i)) is not None:
            self.counts["other_sentence"] += 1
            yield Example(sentence, evidence_at(doc, j, rng), edits.NOT_FOUND, "other_sentence", doc.source,
                          doc.doc_id)


def build(documents: Iterable[Document], seed: int = 0, limit: int | None = None) -> list[Example]:
    """The examples of ``documents``; with ``limit``, at most that many sentences are used (a seeded sample)."""
    documents = list(documents)
    rng = random.Random(seed)
    pairs = [(d, i) for d in documents for i in range(len(d.sentences))]
    if limit is not None and len(pairs) > limit:
        keep = set(rng.sample(range(len(pairs)), limit))
        pairs = [p for n, p in enumerate(pairs) if n in keep]
    kept: dict[tuple[str, str], list[int]] = {}
    for d, i in pairs:
        kept.setdefault((d.source, d.doc_id), []).append(i)
    maker = Maker(seed)
    return [e for d in documents for i in kept.get((d.source, d.doc_id), []) for e in maker.examples(d, i)]


def balanced_sample(pool: list[Example], n: int, rng: random.Random,
                    shares: dict[int, float] | None = None) -> list[Example]:
    """``n`` examples of ``pool``, per label its share of ``n`` (a third each by default) and within a
    label as even over the edit types as the pool allows (a scarce type gives all it has, the others
    share what it leaves)."""
    groups: dict[int, dict[str, list[Example]]] = {}
    for e in pool:
        groups.setdefault(e.label, {}).setdefault(e.edit, []).append(e)
    out: list[Example] = []
    for label, by_edit in sorted(groups.items()):
        left = int(n * shares[label]) if shares else n // len(groups)
        for k, (edit, items) in enumerate(sorted(by_edit.items(), key=lambda kv: len(kv[1]))):
            take = min(len(items), left // (len(by_edit) - k))
            out += rng.sample(items, take)
            left -= take
    rng.shuffle(out)
    return out


def counts(examples: Iterable[Example]) -> dict[str, dict[str, int]]:
    """Examples per source, per label and per edit: the provenance written next to the model."""
    examples = list(examples)
    return {"source": dict(Counter(e.source for e in examples)),
            "label": dict(Counter(edits.LABELS[e.label] for e in examples)),
            "edit": dict(sorted(Counter(f"{edits.LABELS[e.label]}:{e.edit}" for e in examples).items()))}


def write_jsonl(path: Path, examples: Iterable[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(asdict(e), ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[Example]:
    return [Example(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="make the verifier's training claims and print their counts")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where the .deb files are unpacked")
    parser.add_argument("--out", type=Path, help="write the examples here (.jsonl)")
    parser.add_argument("--limit", type=int, help="at most this many sentences per source")
    args = parser.parse_args(argv)
    examples = []
    for package in TRAINING_PACKAGES:
        examples += build(package_documents(package, args.cache), limit=args.limit)
    examples += build(article_documents(), limit=args.limit)
    print(json.dumps(counts(examples), indent=1))
    if args.out:
        write_jsonl(args.out, examples)


if __name__ == "__main__":
    main()
