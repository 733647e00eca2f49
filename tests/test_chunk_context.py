"""A chunk that opens with a unit leaning on the one before (a list item under its lead-in, an "It …"
sentence) carries that unit too, so neither the retriever nor a reader sees the item without its subject."""

from __future__ import annotations

from rag.ingest.chunk import chunk_sentences, split_sentences
from rag.core.records import Document
from rag.ingest.sentences import leans_on_previous

FILLER = " ".join(f"Sentence number {i} of the opening paragraph says nothing in particular." for i in range(4))

SHADOW = f"""{FILLER}

The shadow file has one line per user, and as shadow(5) describes, the colon-separated fields mean the following:

The login name of the user.

The encrypted password, where a leading "$1$" means MD5 and "*" means no login.

The date of the last password change, counted in days since 1 January 1970.

The number of days before the password may be changed again.
"""

MANIFESTO = f"""{FILLER}

The most popular distribution today is the Softlanding Linux System, which many people run at home.

It is quite possibly the most badly maintained distribution available, and its bugs are never fixed.

Other distributions are maintained by companies that sell them.
"""


def chunks_of(text: str, last_of_first_chunk: str, lang: str = "en"):
    """The chunks of ``text``, sized so that the first one ends with the sentence ``last_of_first_chunk``."""
    doc = Document("doc.txt", "0" * 64, "doc", None, lang, text)
    size = text.index(last_of_first_chunk) + len(last_of_first_chunk) + 5
    return chunk_sentences(doc, split_sentences(text, lang), chunk_chars=size, overlap=1)


def test_a_list_item_opening_a_chunk_keeps_its_lead_in():
    chunks = chunks_of(SHADOW, "The login name of the user.")
    holding = [c for c in chunks if "encrypted password" in c.text]
    assert len(chunks) > 1 and holding
    assert all("fields mean the following:" in c.text for c in holding), [c.text[:80] for c in holding]


def test_a_sentence_pointing_back_opens_a_chunk_with_what_it_points_to():
    chunks = chunks_of(MANIFESTO, "its bugs are never fixed.")
    holding = [c for c in chunks if "badly maintained" in c.text]
    assert len(chunks) > 1 and holding
    assert all("Softlanding Linux System" in c.text for c in holding), [c.text[:80] for c in holding]


def test_what_leans_on_the_sentence_before():
    assert leans_on_previous("The fields mean the following:", "sentence", "The login name.")
    assert leans_on_previous("Debian had 474 packages.", "sentence", "It was released in 1996.")
    assert leans_on_previous("Die Felder bedeuten:", "sentence", "Der Benutzername.", "de")
    assert leans_on_previous("Das Paket ist alt.", "sentence", "Es wird nicht mehr gepflegt.", "de")
    assert leans_on_previous("China banned mining", "sentence", "for the first time in May.")
    assert not leans_on_previous("Debian had 474 packages.", "sentence", "Bruce Perens led the project.")
    assert not leans_on_previous("Options:", "heading", "The login name.")  # a heading is a section, not a lead-in

