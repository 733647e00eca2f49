"""The lexical side: SQLite's FTS5 ranks the bundled articles' paragraphs itself, best first, at most ``limit``;
any text is a safe query; identifiers that join letters and digits are found by their word part too."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rag.core.config import BUNDLED_CORPUS
from rag.core.records import Chunk, Document
from rag.store.lexical import body, identifier_parts, match_expression
from rag.store.sqlite import ChunkStore

# What a user may type: FTS5 operators, column filters, prefix stars, unbalanced quotes and brackets, SQL,
# control characters, symbols only, combining marks, and a pasted page of text.
HOSTILE = ['"', '""', "'", 'AND', 'OR NOT', 'NEAR(mining machines, 2)', 'body: mining', 'mini*', '^mining',
           '(mining', 'mining)', '"unbalanced mining', "'; DROP TABLE chunks_fts; --", "\x00 mining \x1f",
           "+-*/<>=!&|", "\u0301\u0301", "🙂 mining 🙂", "mining " * 5000, "a" * 10_000, "Kazakhstan\\"]


def paragraphs(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text) if len(m.group().split()) >= 5]


@pytest.fixture(scope="module")
def articles(tmp_path_factory):
    """The bundled news articles, one passage per paragraph, in a fresh SQLite store: (store, texts by row)."""
    store = ChunkStore(tmp_path_factory.mktemp("lexical") / "chunks.sqlite")
    for path in sorted(BUNDLED_CORPUS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        doc = Document(path.name, path.name, path.stem, None, "nl" if path.name.startswith("000") else "en", text)
        spans = paragraphs(text)
        chunks = [Chunk(f"{path.name}#{i}", path.name, s, e, text[s:e]) for i, (s, e) in enumerate(spans)]
        store.put_document(doc, chunks, np.zeros((len(chunks), 4), dtype=np.float32),
                           [(s, e, "sentence") for s, e in spans])
    texts = {row: chunk.text for row, chunk in store.chunks_by_ids(range(1, 1000)).items()}
    yield store, texts
    store.close()


def test_a_rare_word_outranks_common_ones(articles):
    """BM25's inverse document frequency: the one paragraph naming Changji beats the many about mining companies."""
    store, texts = articles
    found = store.lexical_search("Which mining companies in Changji must suspend production?", 10)
    assert "Changji" in texts[found[0][0]]
    assert sum("Changji" in texts[row] for row, _ in found) == sum("Changji" in t for t in texts.values())
    assert len(found) == 10  # common words match many more paragraphs than the limit


def test_scores_fall_and_a_smaller_limit_is_a_prefix(articles):
    store, _texts = articles
    question = "Where did Chinese miners move their machines, Kazakhstan or North America?"
    many = store.lexical_search(question, 50)
    scores = [score for _row, score in many]
    assert scores == sorted(scores, reverse=True) and all(score > 0 for score in scores)
    assert store.lexical_search(question, 5) == many[:5]
    assert store.lexical_search(question, 0) == []


def test_only_passages_holding_a_question_word_are_found(articles):
    store, texts = articles
    found = store.lexical_search("Where is Kazakhstan?", 50)
    assert found and all("kazakhstan" in texts[row].lower() for row, _ in found)
    assert store.lexical_search("zzyzx qwertyuiop", 10) == []
    assert store.lexical_search("the of and", 10) == []  # stopwords only: nothing to ask


@pytest.mark.parametrize("question", HOSTILE, ids=range(len(HOSTILE)))
def test_any_text_is_a_safe_query(articles, question):
    store, texts = articles
    found = store.lexical_search(question, 10)
    assert isinstance(found, list) and len(found) <= 10
    if "mining" in question.lower().split():
        assert found, question  # the operators around a word do not hide it
    expression = match_expression(question)  # quoted words joined by OR, nothing else
    assert expression == "" or re.fullmatch(r'"\w+"( OR "\w+")*', expression), expression


def test_word_parts_of_letter_digit_tokens_are_indexed_beside_the_whole_token():
    assert identifier_parts("The first meeting, called Debconf0, used CP437 and ext4 in 2000.") == "Debconf CP ext"
    assert identifier_parts("No identifiers here, only 2000 and max_workers.") == ""
    assert body("Title", "", "Debconf0 took place.", None) == "Title\nDebconf0 took place.\nDebconf"


def test_a_question_naming_the_word_finds_the_numbered_identifier(tmp_path):
    store = ChunkStore(tmp_path / "chunks.sqlite")
    texts = ["The first meeting, called Debconf0, took place in Bordeaux in July 2000.",
             "Mount the vfat file system; the CP437 code page is used for file names.",
             "The meeting took place in a large hall in the first week."]
    for i, text in enumerate(texts):
        doc = Document(f"d{i}.txt", f"sha{i}", f"Doc {i}", None, "en", text)
        store.put_document(doc, [Chunk(f"d{i}.txt#0", doc.doc_id, 0, len(text), text)],
                           np.zeros((1, 4), dtype=np.float32), [(0, len(text), "sentence")])
    ids = {chunk.text: row for row, chunk in store.chunks_by_ids(range(1, 10)).items()}
    assert store.lexical_search("Where was the first DebConf held?", 3)[0][0] == ids[texts[0]]
    assert store.lexical_search("Which code page is CP437?", 3)[0][0] == ids[texts[1]]  # the whole token still matches
    store.close()
