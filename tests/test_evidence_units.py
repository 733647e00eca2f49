"""Evidence units follow the document's structure: a lead-in comes with its list, a short line with the
sentence that names its subject; a question for a number the passages never give is refused; the reader
scores the best candidates. Made-up documents, no dev or training text."""

from __future__ import annotations

from rag.answer.evidence import score_candidates, select_evidence
from rag.answer.facts import counts_asked, has_answer_type
from rag.answer.plan import make_plan
from rag.answer.refuse import refusal_reason
from rag.core.config import Settings
from rag.core.tuning import READ_CANDIDATES
from rag.retrieval.retrieve import retrieve
from rag.verify.overlap import content_words
from tests.test_evidence_context import indexed

MANUAL = """# The relay

## Modes

The relay accepts the following modes:

- direct, which sends each message at once
- batched, which waits for a full queue
- paranoid, which checks every recipient twice

Logging is configured in a separate file that the operator edits by hand.

## Journal

The journal_rotate setting decides when the relay starts a new journal file.
The default is 50 MiB.

## Retries

The relay retries a failed delivery after a pause that grows with every attempt, until the message expires.
"""


def evidence_for(index, question: str):
    found = retrieve(index, question, k=4)
    plan = make_plan(question, index)
    return plan, found, select_evidence(index, found.hits, found.vector, plan)


def quoted_piece(tmp_path, name: str, text: str, question: str, marker: str) -> str:
    """The text of the shown piece holding ``marker``, checked to be exactly the document's text there."""
    index = indexed(tmp_path, name, text)
    try:
        _plan, _found, evidence = evidence_for(index, question)
        piece = next(e for e in evidence if marker in e.text)
        assert piece.text == index.text_span(piece.hit.chunk.doc_id, piece.start, piece.end)
        return piece.text
    finally:
        index.close()


def test_a_lead_in_is_quoted_with_the_items_it_introduces(tmp_path):
    piece = quoted_piece(tmp_path, "relay.md", MANUAL, "Which modes does the relay accept?", "following modes:")
    assert "paranoid" in piece and "Logging" not in piece


CONFIG = """# The relay

## Quiet mode

Quiet mode is off by default. To turn quiet mode on for every client:

```
relay.conf:
    quiet_mode = yes
```

Restart the relay afterwards so that it reads its configuration again.
"""


def test_a_lead_in_is_quoted_with_the_code_it_introduces(tmp_path):
    piece = quoted_piece(tmp_path, "quiet.md", CONFIG,
                         "What do I put in relay.conf to turn quiet mode on for all clients?", "for every client:")
    assert "quiet_mode = yes" in piece and "Restart" not in piece


STORES = """# The relay

## Stores

The relay can keep its queue in two stores:

- flatfile, the plain files of old releases
- qstore, a journaled store added in release 2.0

Qstore is preferred, since it survives a crash.

Backups of either store are described in the operations guide.
"""


def test_the_sentence_after_a_list_that_goes_on_about_an_item_comes_with_it(tmp_path):
    piece = quoted_piece(tmp_path, "stores.md", STORES, "Which stores can the relay keep its queue in?", "two stores:")
    assert "qstore, a journaled" in piece and "survives a crash" in piece and "Backups" not in piece


def test_a_short_line_comes_with_the_sentence_that_names_its_subject(tmp_path):
    piece = quoted_piece(tmp_path, "relay.md", MANUAL,
                         "How big may the journal get before journal_rotate starts a new file?", "50 MiB")
    assert "The journal_rotate setting decides" in piece


def test_a_number_the_passages_never_give_is_refused_as_a_near_miss(tmp_path):
    index = indexed(tmp_path, "relay.md", MANUAL)
    try:
        settings = Settings(home=tmp_path, corpus_dir=tmp_path / "library")
        plan, found, evidence = evidence_for(index, "How many times does the relay retry a failed delivery?")
        assert "no number" in refusal_reason(plan, evidence, found.hits, settings, index)
        plan, found, evidence = evidence_for(index, "How big may the journal get before journal_rotate starts a new file?")
        assert refusal_reason(plan, evidence, found.hits, settings, index) == ""
    finally:
        index.close()


def test_a_quantity_is_a_new_number_in_digits_or_in_words_of_either_language():
    plan = make_plan("How many modes does the relay accept?")
    assert has_answer_type(plan, "The relay accepts three modes.")
    assert has_answer_type(plan, "Het relais kent drie standen.", "nl")
    assert has_answer_type(plan, "It accepts 3 modes.")
    assert not has_answer_type(plan, "The relay accepts several modes.")
    assert not has_answer_type(make_plan("Does it accept 3 modes, how many?"), "It accepts 3 modes.")


def test_a_count_is_a_number_of_what_the_question_counts():
    plan = make_plan("How many modes did the first relay release support?")
    assert plan.counted == frozenset(content_words("modes"))
    assert counts_asked(plan, "It shipped with 3 modes and a journal.")
    assert counts_asked(plan, "The release, version 1.2, had three delivery modes.")
    assert not counts_asked(plan, "Relay 1.2 (May 3rd, 1999) was the first release.")
    assert not counts_asked(make_plan("How many of 3 modes are safe?"), "Two of 3 modes are safe.")
    assert make_plan("How big can the journal get?").counted == frozenset()
    assert make_plan("When was it released?").counted == frozenset()


def test_the_reader_scores_the_best_candidates_only(tmp_path):
    index = indexed(tmp_path, "relay.md", MANUAL)
    try:
        question = "What is the default size at which the journal is rotated?"
        found = retrieve(index, question, k=4)
        candidates = score_candidates(index, found.hits, found.vector, make_plan(question, index), read=True)
        read = [c for c in candidates if c.features.reader > 0]
        assert 0 < len(read) <= READ_CANDIDATES
        best = max(candidates, key=lambda c: c.features.reader)
        assert "50 MiB" in best.evidence.text
    finally:
        index.close()
