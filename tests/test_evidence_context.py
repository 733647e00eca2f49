"""Evidence pieces carry what they cannot be read without: a definition's body comes with its term."""

from __future__ import annotations

from rag.answer.evidence import select_evidence
from rag.answer.plan import make_plan
from rag.config import Settings
from rag.index import Index
from rag.retrieve import retrieve

MANUAL = """# Shell variables

## HISTCONTROL

A colon-separated list of values controlling how commands are saved on the history list.

## PROMPT_DIRTRIM

If set to a number greater than zero, the value is used as the number of trailing directory components to retain when expanding the prompt.

## Startup

Bash reads the startup file of the user when an interactive shell starts.
"""


def test_a_definition_body_is_quoted_with_its_term(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    (library / "variables.md").write_text(MANUAL, encoding="utf-8")
    index = Index(Settings(home=tmp_path, corpus_dir=library))
    index.sync()
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
