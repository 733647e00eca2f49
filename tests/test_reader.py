"""The shipped reader on made-up documentation (no dev or training text): it must rank the unit that
states the asked detail above the on-topic units that do not, and give a low probability when no unit
states it."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.reader import DEFAULT_DIR, Reader

pytestmark = pytest.mark.skipif(not (DEFAULT_DIR / "model.safetensors").exists(), reason="reader weights not built")

# (question, the unit that answers, on-topic units that do not)
CASES = [
    (
        "What is the default value of the spool_limit setting?",
        "spool_limit (number, default 250)\nThe number of queued messages kept on disk before new ones are refused.",
        [
            "The spool directory holds messages that could not be delivered yet.",
            "Raising spool_limit on a busy relay lets more mail wait during an outage.",
        ],
    ),
    (
        "In which sections of the configuration can BrimCacheSize be used?",
        "BrimCacheSize Directive\nContext: server config, virtual host",
        [
            "BrimCacheSize Directive\nDescription: Size of the shared cache of rendered templates",
            "BrimCacheSize sets how many kilobytes of rendered templates the cache keeps in memory.",
        ],
    ),
    (
        "Which compression levels does the --squash option accept?",
        "The --squash option accepts the following levels:\n- none\n- fast\n- best",
        [
            "The --squash option accepts the following levels:",
            "Compression with --squash makes archives smaller at the cost of time.",
        ],
    ),
    (
        "What does the 'quietbell' option do?",
        "'quietbell' 'qb' boolean (default off)\nglobal\nFlash the status line instead of ringing the bell.",
        [
            "'loudtabs' 'lt' boolean (default on)\nglobal\nShow tab characters as wide arrows.",
            "The 'quietbell' option was added in version 4.",
        ],
    ),
]

# Questions for a detail the units never state (a near miss): no unit may look like an answer.
NEAR_MISSES = [
    (
        "What is the maximum number of worker threads grimd will start?",
        [
            "grimd serves requests with a pool of worker threads.",
            "Each worker thread handles one connection at a time.",
            "WorkerPool Directive\nDescription: Enables the pool of worker threads",
        ],
    ),
]


# What the shipped reader gets wrong today (measured, docs/reader.md): strict, so a reader that learns
# them turns these into failures to remove. Its training pairs hold few lead-ins with their lists.
KNOWN_MISSES = {
    ("rank", "Which compression levels"): "prefers the lead-in alone to the lead-in with its list",
    ("accept", "Which compression levels"): "prefers the lead-in alone to the lead-in with its list",
    ("accept", "In which sections"): "ranks the Context row first, but below 0.5 for this wording",
}


def cases(test: str) -> list:
    """``CASES`` with the known misses of ``test`` marked as expected failures."""
    out = []
    for case in CASES:
        reason = next((r for (t, start), r in KNOWN_MISSES.items() if t == test and case[0].startswith(start)), None)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(*case, marks=marks, id=case[0][:40]))
    return out


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader.load()


def test_score_gives_one_probability_per_unit(reader):
    probs = reader.score("What is the default port?", ["The default port is 8080.", "Ports are numbers."])
    assert probs.shape == (2,)
    assert np.all((probs >= 0) & (probs <= 1))
    assert reader.score("anything", []).shape == (0,)


@pytest.mark.parametrize("question,answer,others", cases("rank"))
def test_the_answering_unit_ranks_above_the_on_topic_ones(reader, question, answer, others):
    probs = reader.score(question, [answer, *others])
    assert probs[0] > probs[1:].max(), dict(zip([answer, *others], probs.round(3)))


@pytest.mark.parametrize("question,answer,others", cases("accept"))
def test_the_answering_unit_is_accepted_and_the_others_are_not(reader, question, answer, others):
    probs = reader.score(question, [answer, *others])
    assert probs[0] >= 0.5, dict(zip([answer, *others], probs.round(3)))
    assert probs[1:].max() < 0.5, dict(zip([answer, *others], probs.round(3)))


@pytest.mark.parametrize("question,units", NEAR_MISSES, ids=[c[0][:40] for c in NEAR_MISSES])
def test_a_near_miss_gets_no_confident_unit(reader, question, units):
    probs = reader.score(question, units)
    assert probs.max() < 0.5, dict(zip(units, probs.round(3)))
