"""Saved conversations: one SQLite file under the home, each conversation owned by one user.

Every call names the owner and every query filters on it, so a user can never
read, rename or delete another user's conversation, even by guessing its id.
A connection is opened per call: the chat serves many threads and a file
handle is never left open between requests.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.core.records import Answer, Chunk, Citation, Hit, Statement

TITLE_CHARS = 80
MAX_CONVERSATIONS = 1000  # per owner; the oldest go first

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
    doc_ids TEXT);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations(owner, updated);
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    question TEXT NOT NULL, answer TEXT, error TEXT NOT NULL DEFAULT '', PRIMARY KEY (conversation_id, seq));
"""


@dataclass
class Message:
    question: str
    answer: Answer | None = None
    error: str = ""


@dataclass
class Conversation:
    id: str
    title: str
    updated: float
    doc_ids: list[str] | None = None  # the document scope; None = the whole library
    messages: list[Message] = field(default_factory=list)


class Conversations:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            with db:
                yield db
        finally:
            db.close()

    def list(self, owner: str) -> list[Conversation]:
        """The owner's conversations, most recently used first (without messages)."""
        with self._db() as db:
            rows = db.execute("SELECT id, title, updated, doc_ids FROM conversations WHERE owner = ? "
                              "ORDER BY updated DESC, rowid DESC", (owner,)).fetchall()
        return [Conversation(r[0], r[1], r[2], _ids(r[3])) for r in rows]

    def create(self, owner: str, title: str = "New conversation", doc_ids: list[str] | None = None) -> str:
        cid = uuid.uuid4().hex
        now = time.time()
        with self._db() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)",
                       (cid, owner, clean_title(title) or "New conversation", now, now, _dump_ids(doc_ids)))
            db.execute("DELETE FROM conversations WHERE owner = ? AND id NOT IN (SELECT id FROM conversations "
                       "WHERE owner = ? ORDER BY updated DESC LIMIT ?)", (owner, owner, MAX_CONVERSATIONS))
        return cid

    def load(self, owner: str, cid: str) -> Conversation | None:
        with self._db() as db:
            row = db.execute("SELECT id, title, updated, doc_ids FROM conversations WHERE owner = ? AND id = ?",
                             (owner, str(cid))).fetchone()
            if row is None:
                return None
            messages = db.execute("SELECT question, answer, error FROM messages WHERE conversation_id = ? "
                                  "ORDER BY seq", (row[0],)).fetchall()
        conversation = Conversation(row[0], row[1], row[2], _ids(row[3]))
        conversation.messages = [Message(q, answer_from_json(a) if a else None, e or "") for q, a, e in messages]
        return conversation

    def append(self, owner: str, cid: str, message: Message) -> bool:
        """Add a finished exchange; the first question also becomes the title of an untitled conversation."""
        with self._db() as db:
            row = db.execute("SELECT title FROM conversations WHERE owner = ? AND id = ?", (owner, str(cid))).fetchone()
            if row is None:
                return False
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?",
                             (cid,)).fetchone()[0]
            db.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?)",
                       (cid, seq, message.question, answer_to_json(message.answer) if message.answer else None,
                        message.error))
            title = clean_title(message.question) if row[0] == "New conversation" and seq == 1 else row[0]
            db.execute("UPDATE conversations SET updated = ?, title = ? WHERE id = ?", (time.time(), title, cid))
        return True

    def rename(self, owner: str, cid: str, title: str) -> bool:
        title = clean_title(title)
        if not title:
            return False
        with self._db() as db:
            return db.execute("UPDATE conversations SET title = ? WHERE owner = ? AND id = ?",
                              (title, owner, str(cid))).rowcount == 1

    def set_scope(self, owner: str, cid: str, doc_ids: list[str] | None) -> bool:
        with self._db() as db:
            return db.execute("UPDATE conversations SET doc_ids = ? WHERE owner = ? AND id = ?",
                              (_dump_ids(doc_ids), owner, str(cid))).rowcount == 1

    def touch(self, owner: str, cid: str) -> bool:
        """Mark as just used, so a reload or restart opens it again."""
        with self._db() as db:
            return db.execute("UPDATE conversations SET updated = ? WHERE owner = ? AND id = ?",
                              (time.time(), owner, str(cid))).rowcount == 1

    def delete(self, owner: str, cid: str) -> bool:
        with self._db() as db:
            return db.execute("DELETE FROM conversations WHERE owner = ? AND id = ?", (owner, str(cid))).rowcount == 1


def clean_title(text: object) -> str:
    """One line of at most TITLE_CHARS printable characters."""
    text = " ".join("".join(ch for ch in str(text or "") if ch.isprintable()).split())
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1].rstrip() + "…"


def _ids(raw: str | None) -> list[str] | None:
    return [str(x) for x in json.loads(raw)] if raw else None


def _dump_ids(doc_ids: list[str] | None) -> str | None:
    return json.dumps(sorted(set(map(str, doc_ids)))) if doc_ids else None


# -- answers as JSON (with the retrieved passages, so a reloaded answer shows them too) ----------


def answer_to_json(answer: Answer) -> str:
    data = {k: v for k, v in asdict(answer).items() if k not in {"citations", "retrieved"}}
    data["citations"] = [c.to_dict() for c in answer.citations]
    data["retrieved"] = [{**asdict(h.chunk), "score": h.score, "dense": h.dense, "lexical": h.lexical,
                          "title": h.title, "date": h.date, "lang": h.lang} for h in answer.retrieved]
    return json.dumps(data, ensure_ascii=False)


def answer_from_json(raw: str) -> Answer | None:
    try:
        data = json.loads(raw)
        citations = [Citation(**c) for c in data.pop("citations")]
        data["statements"] = [Statement(**s) for s in data.pop("statements", [])]
        hits = []
        for h in data.pop("retrieved"):
            chunk = Chunk(h["chunk_id"], h["doc_id"], h["start"], h["end"], h["text"], h.get("text_en"),
                          h.get("section", ""))
            hits.append(Hit(chunk, h["score"], h.get("dense"), h.get("lexical"), h.get("title", ""), h.get("date"),
                            h.get("lang", "en")))
        return Answer(**data, citations=citations, retrieved=hits)
    except (ValueError, KeyError, TypeError):
        return None  # written by another version: the question stays, the answer is dropped
