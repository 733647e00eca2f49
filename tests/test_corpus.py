"""The foundation on the real bundled articles: metadata, chunks, boilerplate, incremental sync."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag import Assistant, BadQuestion, Settings
from rag.core.config import BUNDLED_CORPUS, PROJECT_ROOT
from rag.retrieval.index import Index, IndexMismatch
from rag.ingest import read as reading
from rag.ingest.read import read_document
from tests.home_copy import copy_home

DUTCH = "000_5fdcef65269e35eb.txt"
ONE_PARAGRAPH = "001_501f41a9e7071e08.txt"
WITH_SPAM = "002_73a215b6f4d68b6c.txt"


def all_chunks(assistant: Assistant):
    store = assistant.index.store
    ids = [row[0] for row in store._db.execute("SELECT id FROM chunks")]
    return list(store.chunks_by_ids(ids).values())


def test_metadata_of_the_bundled_articles(assistant):
    docs = {d["doc_id"]: d for d in assistant.documents()}
    assert set(docs) == {p.name for p in BUNDLED_CORPUS.glob("*.txt")}
    assert docs[DUTCH]["lang"] == "nl" and docs[DUTCH]["date"] == "2021-12"
    assert docs[ONE_PARAGRAPH]["date"] == "2021-05-26"
    assert all(d["lang"] == "en" for name, d in docs.items() if name != DUTCH)
    assert all(d["title"] and not d["title"].lower().startswith("date") for d in docs.values())


def test_every_chunk_is_an_exact_sentence_aligned_slice(assistant):
    chunks = all_chunks(assistant)
    texts = {d["doc_id"]: assistant.document(d["doc_id"]).text for d in assistant.documents()}
    for chunk in chunks:
        text = texts[chunk.doc_id]
        assert text[chunk.start:chunk.end] == chunk.text
        assert chunk.text.rstrip()[-1] in '.!?"”’\'…)' or chunk.end == len(text.rstrip()) or "\n" in text[chunk.end:chunk.end + 2]
    paragraph = [c for c in chunks if c.doc_id == ONE_PARAGRAPH]
    assert len(paragraph) >= 5, "the single-paragraph article must still split into several chunks"
    assert all(len(c.text) <= 1200 for c in paragraph)


def test_full_stops_in_names_and_tickers_end_no_sentence():
    from rag.ingest.chunk import split_sentences

    text = ("Edward Lu of Canaan Inc (CAN.O), another maker, said he was looking abroad. "
            "It came from a committee headed by Vice Premier Liu. He. Then (a stray bracket. "
            "Later text follows here. The end of it all.")
    found = [text[s.start:s.end] for s in split_sentences(text)]
    assert found[0] == "Edward Lu of Canaan Inc (CAN.O), another maker, said he was looking abroad."
    assert found[1] == "It came from a committee headed by Vice Premier Liu. He."
    assert found[-1] == "The end of it all."  # an unclosed bracket glues at most the next sentence


def test_dutch_sentences_carry_multilingual_vectors(assistant):
    """Cross-lingual search needs no translation at ingest: Dutch sentences get multilingual vectors."""
    dutch = assistant.index.store.sentences_in(DUTCH, 0, 10**9)
    assert dutch and all(s.vector_ml is not None for s in dutch)
    english = assistant.index.store.sentences_in(ONE_PARAGRAPH, 0, 10**9)
    assert english and all(s.vector_ml is None for s in english)


def test_boilerplate_produces_no_chunk(assistant):
    joined = "\n".join(c.text for c in all_chunks(assistant))
    for furniture in ("Recommend", "mole", "Face reading", "Read more", "Trust Principles", "<<:", ">>:",
                      "Justin Sun"):
        assert furniture.lower() not in joined.lower(), furniture
    title = read_document(BUNDLED_CORPUS / WITH_SPAM, WITH_SPAM).text.split("\n", 1)[0]
    assert sum(c.text.count(title) for c in all_chunks(assistant) if c.doc_id == WITH_SPAM) == 1


def test_a_question_about_moles_finds_no_spam(assistant):
    hits = assistant.search("Is a mole in the eyebrow a sign of good luck?", k=10)
    assert all("mole" not in h.chunk.text.lower() for h in hits)
    answer = assistant.ask("What do moles on the face say about a person's luck?")
    assert answer.refused


def test_english_questions_find_the_dutch_article(assistant):
    for question in ("Where did Deng of Bitmall give his interview?", "What did Crypto Lucy say about her friends?"):
        assert DUTCH in [h.chunk.doc_id for h in assistant.search(question, k=5)], question


def test_dev_questions_find_their_source_in_the_top_5(assistant, dev_questions_path):
    questions = [json.loads(line) for line in dev_questions_path.read_text().splitlines() if line.strip()]
    answerable = [q for q in questions if q.get("answerable", True) and q.get("sources")]
    found = {q["id"]: bool(set(q["sources"]) & {h.chunk.doc_id for h in assistant.search(q["question"], k=5)})
             for q in answerable}
    assert sum(found.values()) / len(found) >= 0.95, found
    assert all(found[q["id"]] for q in answerable if q.get("kind") == "crossling"), found


def test_resync_touches_only_what_changed(fresh_assistant):
    assistant = fresh_assistant
    again = assistant.ingest()
    assert not again.changed and len(again.unchanged) == 5
    library = assistant.index.library()
    (library / "004_47c41b848a0edef2.txt").write_text(
        (library / "004_47c41b848a0edef2.txt").read_text() + "\nA new closing line about hydropower in Yunnan.\n"
    )
    (library / "003_dba489deda596f31.txt").unlink()
    before = assistant.index.encoder.encoded
    report = assistant.ingest()
    assert report.updated == ["004_47c41b848a0edef2.txt"] and report.removed == ["003_dba489deda596f31.txt"]
    assert assistant.index.encoder.encoded - before <= 3, "unchanged chunks must come from the embedding cache"
    assert "003_dba489deda596f31.txt" not in {d["doc_id"] for d in assistant.documents()}
    assert any("Yunnan" in h.chunk.text for h in assistant.search("hydropower in Yunnan closing line", k=3))


def test_other_formats_are_read_with_real_parsers(fresh_assistant, tmp_path):
    from fpdf import FPDF

    html = tmp_path / "story.html"
    html.write_text(
        "<html><head><title>Geothermal mining in Iceland</title>"
        '<meta property="article:published_time" content="2021-07-01"><script>alert(1)</script></head>'
        "<body><nav>Home | News</nav><article><h1>Geothermal mining in Iceland</h1>"
        "<p>Miners in Reykjanes use geothermal power to run their machines.</p></article></body></html>"
    )
    markdown = tmp_path / "note.md"
    markdown.write_text("# Hosting in Norway\n\nA hosting firm in Tromso offers cheap hydropower to miners.\n")
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, "Paraguay dam power\n\nThe Itaipu dam sells surplus electricity to bitcoin miners.")
    pdf_path = tmp_path / "paraguay.pdf"
    pdf.output(str(pdf_path))

    report = fresh_assistant.ingest([html, markdown, pdf_path])
    assert sorted(report.added) == ["note.md", "paraguay.pdf", "story.html"], report.skipped
    story = fresh_assistant.document("story.html")
    assert story.title == "Geothermal mining in Iceland" and story.date == "2021-07-01"
    assert "alert" not in story.text and "Home | News" not in story.text
    assert fresh_assistant.search("Itaipu dam surplus electricity", k=1)[0].chunk.doc_id == "paraguay.pdf"
    assert fresh_assistant.search("hosting firm in Tromso", k=1)[0].chunk.doc_id == "note.md"


def test_each_added_file_is_extracted_once(fresh_assistant, tmp_path, monkeypatch):
    """``add_files`` extracts a file to check it can be read; the sync after it indexes that extraction."""
    extract, calls = reading.extract, []
    monkeypatch.setattr(reading, "extract", lambda data, suffix: calls.append(suffix) or extract(data, suffix))
    note = tmp_path / "note.md"
    note.write_text("# Copper\n\nCopper prices rose in 2021 after two mines in Chile closed for repairs.\n")
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>Tin</title></head><body><article><p>Tin from Bolivia is shipped "
                    "through Arica, a port in the north of Chile, most of the year.</p></article></body></html>")
    report = fresh_assistant.ingest([note, page])
    assert sorted(report.added) == ["note.md", "page.html"], report.skipped
    assert sorted(calls) == [".html", ".md"]  # the bundled articles are unchanged: hashed, never extracted
    library = fresh_assistant.settings.library
    assert fresh_assistant.document("page.html") == read_document(library / "page.html", "page.html")


def test_a_file_changed_after_it_was_added_is_read_again(fresh_assistant, tmp_path):
    note = tmp_path / "note.md"
    note.write_text("# Copper\n\nCopper prices rose in 2021 after two mines in Chile closed for repairs.\n")
    added, _ = fresh_assistant.index.add_files([note])
    (fresh_assistant.settings.library / added[0]).write_text("# Copper\n\nCopper prices fell in 2022 as the "
                                                             "two mines in Chile opened again.\n")
    fresh_assistant.index.sync()
    assert "fell in 2022" in fresh_assistant.document(added[0]).text
    assert fresh_assistant.index.read_ahead == {}


def test_an_index_built_with_other_settings_says_how_to_rebuild(built_home, tmp_path):
    home = tmp_path / "home"
    copy_home(built_home, home)
    index = Index(dataclasses.replace(Settings(home=home), chunk_chars=300))
    with pytest.raises(IndexMismatch, match="rag ingest --rebuild"):
        index.sync()


def test_empty_question_is_a_clear_error(assistant):
    for question in ("", "   ", "?!"):
        with pytest.raises(BadQuestion, match="empty"):
            assistant.search(question)


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args, "--home", str(home), "--generator", "none"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(home)},
    )


def test_cli_search_json_and_info(built_home):
    result = run_cli("search", "Which companies moved mining to Kazakhstan?", "--json", "-k", "4", home=built_home)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert len(hits) == 4
    assert all(set(h) == {"doc_id", "chunk_id", "score", "start", "end", "text"} for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    info = run_cli("info", home=built_home)
    assert info.returncode == 0 and "chunks" in info.stdout and "all-MiniLM-L6-v2" in info.stdout
    empty = run_cli("search", "  ", home=built_home)
    assert empty.returncode == 2 and empty.stderr.count("\n") == 1 and "empty" in empty.stderr
