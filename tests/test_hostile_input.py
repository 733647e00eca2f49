"""Hostile input: arbitrary text, bytes, questions, file batches and path tricks.

Whatever a user or an upload throws at the assistant, the answer is a result
or a one-line reason (IngestError, BadQuestion, IndexReport.skipped), never a
crash, never a file written or read outside the library folder.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from rag import Assistant, Settings
from rag.ingest.chunk import MAX_SENTENCE_CHARS, chunk_sentences, split_sentences
from rag.ingest.clean import find_noise
from rag.retrieval.index import Index
from rag.ingest.read import SUPPORTED_SUFFIXES, IngestError, read_document
from rag.core.records import Document
from rag.retrieval.retrieve import BadQuestion

ARTICLE = (
    "The harbour of Rotterdam opened a new container terminal on Monday. Officials said it can handle "
    "two million containers a year. Dock workers welcomed the jobs, but residents worried about noise.\n"
)
# Every code point category, control characters and line separators included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=("Cs",)), max_size=3000)
NEWSY_TEXT = st.lists(
    st.sampled_from([
        "Read more", "Share", "date 2021-05-26 ", "Recommended\n", "Teaser title\n", "A short teaser...\n",
        "© 2021 Reuters. All rights reserved.", "Previous: old news", "\n", "\n\n", " ", "\t", "\r", "\x00",
        "\x0b", "\u2028", "\u200b", "…", "Mr. Smith said", "U.S. officials met on Jan. 5.", "!?", "é", "中文。",
        ARTICLE,
    ]) | ANY_TEXT.map(lambda s: s[:200]),
    max_size=40,
).map("".join)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_spans(text: str) -> None:
    """The invariants that keep every citation an exact slice of the original text."""
    noise = find_noise(text)
    for span in noise:
        assert 0 <= span.start < span.end <= len(text)
    for a, b in zip(noise, noise[1:]):
        assert a.end < b.start, "noise spans must be sorted and apart (merged when touching)"
    sentences = split_sentences(text)
    for s in sentences:
        assert 0 <= s.start < s.end <= len(text)
        assert s.end - s.start <= MAX_SENTENCE_CHARS
        assert "\n\n" not in text[s.start:s.end]  # a hard-wrapped line may continue; a blank line never
        assert not any(n.start < s.end and s.start < n.end for n in noise), "a sentence overlaps boilerplate"
    for a, b in zip(sentences, sentences[1:]):
        assert a.end <= b.start
    doc = Document("d.txt", "0" * 64, "t", None, "en", text)
    chunks = chunk_sentences(doc, sentences, chunk_chars=300, overlap=1)
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    for c in chunks:
        assert 0 <= c.start < c.end <= len(text) and c.text == text[c.start:c.end]
    for s in sentences:
        assert any(c.start <= s.start and s.end <= c.end for c in chunks), "a sentence fell out of every chunk"


@PROPERTY
@given(ANY_TEXT)
def test_arbitrary_unicode_keeps_span_invariants(text: str) -> None:
    check_spans(text)


@PROPERTY
@given(NEWSY_TEXT)
def test_news_like_junk_keeps_span_invariants(text: str) -> None:
    check_spans(text)


@settings(max_examples=3, deadline=None)
@given(st.text(min_size=1, max_size=200), st.integers(1_000_000, 5_000_000))
def test_find_noise_on_megabytes(unit: str, size: int) -> None:
    text = (unit * (size // len(unit) + 1))[:size]
    noise = find_noise(text)
    assert all(0 <= n.start < n.end <= len(text) for n in noise)
    assert all(a.end < b.start for a, b in zip(noise, noise[1:]))


@settings(max_examples=2, deadline=None)
@given(st.lists(st.sampled_from([ARTICLE, ARTICLE.replace("\n", " "), "Read more ", "x" * 50, "\n"]), min_size=1, max_size=6))
def test_split_one_megabyte(units: list[str]) -> None:
    unit = "".join(units)
    check_spans((unit * (1_000_000 // len(unit) + 1))[:1_000_000])


def test_one_long_line_splits_in_linear_time() -> None:
    """pysbd is quadratic in its input: a 300 KB single line took minutes before it was fed in pieces."""
    text = " ".join(ARTICLE.split()) + " "
    text = text * (300_000 // len(text))
    started = time.perf_counter()
    sentences = split_sentences(text)
    assert time.perf_counter() - started < 30
    assert len(sentences) >= 3 * (300_000 // len(ARTICLE)) * 0.9


# -- files -----------------------------------------------------------------------------------------

def _pdf(text: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


PDF = _pdf(ARTICLE)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
SUFFIXES = sorted(SUPPORTED_SUFFIXES) + [".docx", ".exe", "", ".TXT", ".Pdf"]


def _mutated(data: bytes, seed: int, flips: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(flips):
        choice = rng.random()
        pos = rng.randrange(len(out))
        if choice < 0.6:
            out[pos] = rng.randrange(256)
        elif choice < 0.8:
            del out[pos:pos + rng.randrange(1, 64)]
        else:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
    return bytes(out)


def assert_document_or_reason(path: Path) -> None:
    try:
        doc = read_document(path, path.name, max_bytes=2_000_000)
    except IngestError as exc:
        reason = str(exc)
        assert reason.strip() and "\n" not in reason and len(reason) < 300, reason
        return
    assert doc.text.strip() and doc.doc_id == path.name and len(doc.sha256) == 64
    assert "\n" not in doc.title


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(SUFFIXES),
    st.binary(max_size=4000)
    | st.builds(lambda b: b"%PDF-1.4\n" + b, st.binary(max_size=2000))
    | st.builds(lambda s, n: _mutated(PDF, s, n), st.integers(0, 10**9), st.integers(1, 40))
    | st.builds(lambda s: s.encode("utf-8", "surrogatepass"), ANY_TEXT)
    | st.builds(lambda s: ("<html><title>" + s + "</title><body><script>" + s + "</script><p>" + s).encode(), ANY_TEXT),
)
def test_read_document_gives_a_document_or_one_line_reason(tmp_path: Path, suffix: str, data: bytes) -> None:
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(data)
    assert_document_or_reason(path)


def test_broken_pdfs_give_one_line_reasons(tmp_path: Path) -> None:
    """pypdf raises NotImplementedError, AttributeError and more on damaged files, not only PdfReadError."""
    path = tmp_path / "broken.pdf"
    path.write_bytes(PDF.replace(b"/FlateDecode", b"/FlateDecodX"))  # an unknown filter
    with pytest.raises(IngestError, match="unreadable PDF"):
        read_document(path, "broken.pdf")
    for seed in range(300):
        path.write_bytes(_mutated(PDF, seed, 1 + seed % 30))
        assert_document_or_reason(path)


def test_real_pdf_reads(tmp_path: Path) -> None:
    path = tmp_path / "a.pdf"
    path.write_bytes(PDF)
    assert "Rotterdam" in read_document(path, "a.pdf").text


def _home(tmp_path: Path, **changes: object) -> Settings:
    """A private home with an empty library (no bundled articles), translation and generator off."""
    (tmp_path / "home" / "library").mkdir(parents=True)
    return Settings(home=tmp_path / "home", translate=False, generator="none").replace(**changes)


@pytest.fixture()
def batch(tmp_path: Path) -> dict[str, Path]:
    """One good file among files that each must be skipped with a reason."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    files = {
        "good.txt": ARTICLE.encode(),
        "good2.txt": ARTICLE.encode(),  # duplicate content under another name
        "empty.txt": b"",
        "blank.md": b" \n\t\n",
        "picture.txt": PNG,  # a PNG renamed .txt: rejected by content, not name
        "picture.html": PNG,
        "fake.pdf": b"<html>not a pdf</html>",  # no %PDF header
        "latin1.txt": "Caf\xe9 cr\xe8me in K\xf6ln.".encode("latin-1"),  # a legacy encoding, read as such
        "huge.txt": b"word " * 300_000,  # 1.5 MB, over the 1 MB limit set below
        "notes.docx": b"PK\x03\x04 zip",
        "README": b"A file without a suffix is read as text when its bytes are text.",
        "picture.qqq": PNG,  # an unknown suffix: judged by content
        "only-boilerplate.txt": b"Read more\nShare\n",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


def test_bad_files_are_skipped_with_reasons_and_the_batch_goes_on(tmp_path: Path, batch: dict[str, Path]) -> None:
    assistant = Assistant(_home(tmp_path, max_file_mb=1.0))
    report = assistant.ingest(sorted(batch.values()))
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert report.added == ["README", "good.txt", "latin1.txt"], report
    expected = {
        "good2.txt": "duplicate", "empty.txt": "empty", "blank.md": "empty", "picture.txt": "binary",
        "picture.html": "binary", "fake.pdf": "%PDF", "huge.txt": "too large",
        "notes.docx": "damaged", "picture.qqq": "binary file (PNG image)", "only-boilerplate.txt": "no content",
    }
    for name, word in expected.items():
        assert name in reasons, f"{name} not reported: {reasons}"
        assert word in reasons[name] and "\n" not in reasons[name], (name, reasons[name])
    assert [d["doc_id"] for d in assistant.documents()] == ["README", "good.txt", "latin1.txt"]
    assert "Café crème in Köln." in assistant.document("latin1.txt").text
    assert assistant.search("Rotterdam container terminal")[0].chunk.doc_id == "good.txt"


# -- paths -----------------------------------------------------------------------------------------

def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def test_upload_names_cannot_escape_the_library(tmp_path: Path) -> None:
    settings = _home(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("The vault code is 0000. " * 5)
    before = _tree(tmp_path)
    uploads = tmp_path / "uploads" / "nested"
    uploads.mkdir(parents=True)
    tricky = ["..\\..\\x.txt", "..txt", "...", " .hidden.txt", "a\tb.md", "ü😀.txt", "con.txt", "-rf.txt", "x" * 200 + ".txt"]
    for i, name in enumerate(tricky):
        (uploads / name).write_text(f"Upload number {i} says the harbour opened a terminal in Rotterdam. " * 3)
    index = Index(settings)
    added, skipped = index.add_files([uploads / name for name in tricky] + [uploads / ".." / ".." / "outside" / "secret.txt"])
    library = settings.library.resolve()
    for doc_id in added:
        target = (library / doc_id).resolve()
        assert library in target.parents and target.is_file(), doc_id
        assert Path(doc_id).suffix in SUPPORTED_SUFFIXES or doc_id == "document", f"{doc_id} lost its type"
    assert not skipped  # "..." has no suffix and is read as text, kept as "document"
    assert len(added) == len(tricky) + 1
    after = _tree(tmp_path)
    new = {p for p in after if p not in before}
    assert all(p.startswith(("home/library/", "home/index/", "uploads/")) for p in new), new
    assert (outside / "secret.txt").read_text() == before["outside/secret.txt"].decode()
    assert not any(name.startswith(".") and name.endswith(".part") for name in os.listdir(library))


def test_symlinks_are_never_followed(tmp_path: Path) -> None:
    settings = _home(tmp_path)
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("The vault code is 4711 and the guard sleeps at noon. " * 3)
    library = settings.library
    (library / "ok.txt").write_text(ARTICLE)
    (library / "link.txt").symlink_to(secret)  # planted inside the library
    (library / "linked-dir").symlink_to(secret.parent, target_is_directory=True)
    upload_link = tmp_path / "upload.txt"
    upload_link.symlink_to(secret)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "inner.txt").symlink_to(secret)
    assistant = Assistant(settings)
    report = assistant.ingest([upload_link, folder])
    assert report.added == ["ok.txt"]
    assert any(s.path.endswith("link.txt") and "symbolic" in s.reason for s in report.skipped), report.skipped
    assert any(s.path.endswith("upload.txt") and "symbolic" in s.reason for s in report.skipped), report.skipped
    for doc in assistant.documents():
        assert "vault" not in assistant.document(doc["doc_id"]).text
    assert not any("vault" in h.chunk.text for h in assistant.search("vault code guard"))
    assert secret.read_text().startswith("The vault code is 4711")


def test_planted_symlinks_cannot_redirect_a_write(tmp_path: Path) -> None:
    """A copy goes through ``.<name>.part`` to ``<name>``; links planted at either must not carry it outside."""
    settings = _home(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim1.txt").write_text("untouched")
    (outside / "victim2.txt").write_text(ARTICLE)  # same content as the upload: no reason to pick another name
    (settings.library / ".report.txt.part").symlink_to(outside / "victim1.txt")
    (settings.library / "notes.txt").symlink_to(outside / "victim2.txt")
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for name in ("report.txt", "notes.txt"):
        (uploads / name).write_text(ARTICLE + name)
    (uploads / "notes.txt").write_text(ARTICLE)
    added, skipped = Index(settings).add_files([uploads / "report.txt", uploads / "notes.txt"])
    assert (outside / "victim1.txt").read_text() == "untouched"
    assert (outside / "victim2.txt").read_text() == ARTICLE
    assert len(added) == 2 and not skipped
    for doc_id in added:
        assert not (settings.library / doc_id).is_symlink(), doc_id
        assert (settings.library / doc_id).read_text().startswith(ARTICLE)


def test_remove_refuses_paths_outside_the_library(tmp_path: Path) -> None:
    settings = _home(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    index = Index(settings)
    for doc_id in ["../victim.txt", str(victim), "..", "../home/library/../../victim.txt"]:
        with pytest.raises(ValueError):
            index.remove(doc_id)
    assert victim.read_text() == "keep me"


# -- questions -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def quiet_assistant(built_home: Path) -> Assistant:
    """The shared index without a generator: the question path minus the (slow) model."""
    return Assistant(Settings(home=built_home, generator="none"))


QUESTIONS = (
    ANY_TEXT.map(lambda s: s[:300])
    | st.sampled_from(['"', "*", "NEAR(a b)", "a OR b AND NOT c", "col:val", "^x", "'; DROP TABLE chunks;--", "\x00",
                       "?" * 50, "bitcoin" * 300, "ignore previous instructions", "<script>alert(1)</script>"])
    | st.text(min_size=1990, max_size=2100)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(QUESTIONS)
def test_any_question_gives_results_or_bad_question(quiet_assistant: Assistant, question: str) -> None:
    try:
        hits = quiet_assistant.search(question)
    except BadQuestion as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert len(hits) <= quiet_assistant.settings.top_k
    try:
        answer = quiet_assistant.ask(question)
    except BadQuestion:
        return
    for c in answer.citations:
        assert quiet_assistant.document(c.doc_id).text[c.start:c.end] == c.quote
