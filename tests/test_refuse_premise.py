"""Refusal of the near miss of a kind (a duration or a size the passages never state) and of the false premise
(an option or a quoted token no passage writes). Made-up documents, no dev or training text."""

from __future__ import annotations

from rag.answer.plan import asked_measure, literals_in, make_plan
from rag.answer.refuse import refusal_reason
from rag.core.config import Settings
from tests.test_evidence_context import indexed
from tests.test_evidence_units import evidence_for

SPOOLER = """# The spooler

## Options

The spooler accepts these command-line options:

- `-q` runs quietly and logs only errors.
- `--batch-size` sets how many jobs one pass takes.

## Cleanup

The spooler removes finished jobs from its queue directory at regular times, so that the disk does not fill up.

## Archive

Old reports are moved to the archive, which is kept for 30 days and may grow to 2 GiB.
"""


def reason(tmp_path, index, question: str) -> str:
    plan, found, evidence = evidence_for(index, question)
    return refusal_reason(plan, evidence, found.hits, Settings(home=tmp_path, corpus_dir=tmp_path / "library"),
                          index)


def test_the_kind_of_quantity_and_the_literals_are_read_from_the_question():
    assert asked_measure("How often does the spooler clean up?", "en") == "duration"
    assert asked_measure("What is the maximum size of the archive?", "en") == "size"
    assert asked_measure("How long is the archive kept?", "en") == "duration or length"
    assert asked_measure("How many jobs does one pass take?", "en") == ""
    assert literals_in("What does the -r option of spool-admin do, and 'pause'?") == ("-r", "pause")
    assert literals_in("What does `false | true` print?") == ()
    assert make_plan("What does --batch-size do?").literals == ("--batch-size",)


def test_a_duration_or_size_the_passages_never_state_is_a_near_miss(tmp_path):
    index = indexed(tmp_path, "spooler.md", SPOOLER)
    try:
        assert "no duration" in reason(tmp_path, index, "How often does the spooler remove finished jobs?")
        assert reason(tmp_path, index, "How long is the spooler's archive kept?") == ""
        assert reason(tmp_path, index, "What is the maximum size of the spooler's archive?") == ""
    finally:
        index.close()


def test_an_option_no_passage_writes_is_a_false_premise(tmp_path):
    index = indexed(tmp_path, "spooler.md", SPOOLER)
    try:
        assert "never write --workers" in reason(tmp_path, index, "What does the spooler's --workers option set?")
        assert "never write -Q" in reason(tmp_path, index, "What does the spooler's -Q option do?")
        assert reason(tmp_path, index, "What does the spooler's --batch-size option set?") == ""
    finally:
        index.close()
