"""The lexical side finds identifiers that join letters and digits by their word part too."""

from __future__ import annotations

import numpy as np

from rag.store.lexical import body, identifier_parts
from rag.core.records import Chunk, Document
from rag.store.sqlite import ChunkStore


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
