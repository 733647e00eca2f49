"""Evidence pieces carry what they cannot be read without: a definition's body comes with its term."""

from __future__ import annotations

from rag.answer.evidence import _with_context, score_candidates, select_evidence
from rag.answer.plan import make_plan
from rag.core.config import Settings
from rag.retrieval.index import Index
from rag.retrieval.retrieve import retrieve

MANUAL = """# Shell variables

## HISTCONTROL

A colon-separated list of values controlling how commands are saved on the history list.

## PROMPT_DIRTRIM

If set to a number greater than zero, the value is used as the number of trailing directory components to retain when expanding the prompt.

## Startup

Bash reads the startup file of the user when an interactive shell starts.
"""


def indexed(tmp_path, name: str, text: str) -> Index:
    """An index of a library holding one Markdown file."""
    library = tmp_path / "library"
    library.mkdir()
    (library / name).write_text(text, encoding="utf-8")
    index = Index(Settings(home=tmp_path, corpus_dir=library))
    index.sync()
    return index


def test_a_definition_body_is_quoted_with_its_term(tmp_path):
    index = indexed(tmp_path, "variables.md", MANUAL)
    try:
        question = "Which variable keeps only the last few directory names in the prompt?"
        found = retrieve(index, question, k=3)
        evidence = select_evidence(index, found.hits, found.vector, make_plan(question, index))
        best = evidence[0]
        assert best.text.startswith("PROMPT_DIRTRIM") and "trailing directory components" in best.text
        assert best.text == index.text_span(best.hit.chunk.doc_id, best.start, best.end)  # still an exact quote
        startup = next((e for e in evidence if "startup file" in e.text), None)
        assert startup is None or not startup.text.startswith("PROMPT_DIRTRIM")
    finally:
        index.close()


HISTORY = """# Early distributions

Many distributions started out as fairly good systems. A case in point is the Softlanding Linux System, better known as SLS. It is quite possibly the most badly maintained distribution available; unfortunately, it is also the most popular one.

# Building packages

Packages are built from source by volunteers. Their maintainers upload them to the archive.
"""


def test_a_sentence_pointing_back_is_quoted_with_the_sentence_it_points_to(tmp_path):
    index = indexed(tmp_path, "history.md", HISTORY)
    try:
        question = "Which distribution was popular but the most badly maintained?"
        found = retrieve(index, question, k=3)
        plan = make_plan(question, index)
        candidates = [c.evidence for c in score_candidates(index, found.hits, found.vector, plan)]
        alone = next(e for e in candidates if e.text.startswith("It is quite possibly"))
        piece = _with_context(index, alone)
        assert piece.text.startswith("A case in point is the Softlanding Linux System")
        assert piece.text == index.text_span(piece.hit.chunk.doc_id, piece.start, piece.end)  # still an exact quote
        for sentence in ("Packages are built from source by volunteers.", "Many distributions started out"):
            plain = next(e for e in candidates if e.text.startswith(sentence))
            assert _with_context(index, plain) == plain  # a sentence that stands on its own is quoted alone
        evidence = select_evidence(index, found.hits, found.vector, plan)
        assert sum("badly maintained" in e.text for e in evidence) == 1  # shown once, not beside its own context
    finally:
        index.close()
