"""Shared fixtures: one real index of the bundled articles per test session.

Everything is real: the packaged encoder, FAISS, SQLite and the packaged GGUF
model (used for translation at ingest and for answers). Building the index
takes about half a minute, so it is built once and shared; tests that change
documents work on their own copy (``fresh_assistant``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from rag import Assistant, Settings  # noqa: E402
from rag.core.config import BUNDLED_CORPUS  # noqa: E402
from tests.home_copy import copy_home, keep_pristine  # noqa: E402

DEV_QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev_questions.jsonl"



@pytest.fixture(scope="session")
def built_home(tmp_path_factory) -> Path:
    """A home folder (library + index) with the bundled articles indexed, built once."""
    home = tmp_path_factory.mktemp("home")
    assistant = Assistant(Settings(home=home))
    report = assistant.ingest()
    assert len(report.added) == len(list(BUNDLED_CORPUS.glob("*.txt")))
    assistant.close()
    keep_pristine(home)
    return home


@pytest.fixture(scope="session")
def assistant(built_home) -> Assistant:
    """A read-only assistant on the shared index, with the default local model."""
    return Assistant(Settings(home=built_home))


@pytest.fixture()
def fresh_assistant(built_home, tmp_path) -> Assistant:
    """An assistant on a private copy of the shared index, free to add and remove documents."""
    return Assistant(Settings(home=copy_home(built_home, tmp_path / "home")))


@pytest.fixture(scope="session")
def dev_questions_path() -> Path:
    """The shared dev questions (shared/ sits beside the clone, in CI too)."""
    if not DEV_QUESTIONS.exists():
        pytest.fail(f"missing {DEV_QUESTIONS}: shared/ must sit beside the repository")
    return DEV_QUESTIONS
