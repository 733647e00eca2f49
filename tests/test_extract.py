"""Extraction on real documents: whole sentences, no site chrome, readable PDFs, exact offsets."""

from __future__ import annotations

import re
import statistics
import unicodedata
from pathlib import Path

import pytest

from rag.ingest.chunk import split_units
from rag.ingest.extract import BlockKind, ExtractError, extract
from rag.ingest.read import IngestError, read_document

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"
GENERAL = SHARED / "general" / "corpus"
PDF_DATA = Path(__file__).parent / "data" / "pdf"
PDFS = sorted((SHARED / "pdf" / "corpus").glob("*.pdf")) + sorted(PDF_DATA.glob("*.pdf"))
NAVIGATION_WORDS = re.compile(r"^(?:prev(?:ious)?|next|up|home)(?:\s+(?:prev(?:ious)?|next|up|home))*$", re.IGNORECASE)


def units_of(path: Path):
    doc = read_document(path, path.name)
    return doc, split_units(doc.text, doc.blocks, doc.lang)


@pytest.fixture(scope="module")
def general_units():
    return {path.name: units_of(path) for path in sorted(GENERAL.glob("*.html"))}


@pytest.fixture(scope="module")
def pdf_units():
    return {path.name: units_of(path) for path in PDFS}


def sentence_lengths(units_by_doc) -> list[int]:
    return [u.end - u.start for doc, units in units_by_doc.values() for u in units if u.kind in ("sentence", "row")]


def test_html_sentences_are_whole(general_units):
    lengths = sentence_lengths(general_units)
    assert statistics.median(lengths) >= 60, statistics.median(lengths)
    assert sum(n < 20 for n in lengths) / len(lengths) < 0.05


def test_pdf_sentences_are_whole(pdf_units):
    lengths = sentence_lengths(pdf_units)
    assert statistics.median(lengths) >= 60, statistics.median(lengths)
    assert sum(n < 20 for n in lengths) / len(lengths) < 0.05


def test_offsets_are_exact_and_sections_recorded(general_units):
    for doc, units in general_units.values():
        assert units and all(0 <= u.start < u.end <= len(doc.text) for u in units)
        assert any(u.section for u in units), doc.doc_id
        assert "&#" not in doc.title and "&amp;" not in doc.title


def test_no_navigation_in_html(general_units):
    for doc, units in general_units.values():
        for u in units:
            text = doc.text[u.start:u.end]
            assert not NAVIGATION_WORDS.match(text.strip()), (doc.doc_id, text)
        headings = {doc.text[b.start:b.end] for b in doc.blocks if b.kind is BlockKind.HEADING}
        assert "Table of Contents" not in headings, doc.doc_id  # the chapter's link list, not content


def test_reference_pages_keep_definitions_code_and_tables(general_units):
    doc, _ = general_units["postgres-runtime-config-connection.html"]
    assert "port (integer): The TCP port the server listens on; 5432 by default." in doc.text
    doc, _ = general_units["postgres-datatype-numeric.html"]
    assert "Name: smallint; Storage Size: 2 bytes; Description: small-range integer; Range: -32768 to +32767" in doc.text
    code = [doc.text[b.start:b.end] for b in doc.blocks if b.kind is BlockKind.CODE]
    assert code and any("\n" in c for c in code), "a <pre> block keeps its line breaks"


def test_chrome_of_a_documentation_site_is_dropped():
    page = """<!DOCTYPE html><html><head><title>functools &#8212; Higher-order functions</title></head><body>
    <div class="related" role="navigation"><ul><li><a href="index.html">index</a></li><li><a href="x.html">next</a> |</li></ul></div>
    <div class="document"><div class="body" role="main">
      <nav aria-label="breadcrumb"><a href="/">Docs</a> » <a href="/lib">Library</a></nav>
      <h1>functools</h1>
      <p>The <code>cache</code> decorator wraps a <em>user function</em> with a simple cache
      and returns it; see <a href="#x">the notes</a>
      below for details.</p>
      <pre>@cache
def factorial(n):
    return n * factorial(n-1) if n else 1</pre>
      <dl><dt>maxsize</dt><dd><p>The largest number of calls to remember; the default is 128.</p></dd></dl>
    </div></div>
    <div class="sphinxsidebar" role="navigation"><h3>Previous topic</h3><p><a href="op.html">operator</a></p>
      <h3>This Page</h3><ul><li><a href="src.txt">Show Source</a></li></ul></div>
    <footer><p>Last updated on Nov 01, 2026. Created using a documentation generator.</p></footer>
    </body></html>"""
    extracted = extract(page.encode(), ".html")
    text = extracted.text
    assert extracted.title == "functools — Higher-order functions"
    for chrome in ("Previous topic", "Show Source", "Last updated", "Created using", "breadcrumb", "Docs »", "index"):
        assert chrome not in text, chrome
    assert ("The cache decorator wraps a user function with a simple cache and returns it; "
            "see the notes below for details.") in text
    assert "@cache\ndef factorial(n):\n    return n * factorial(n-1) if n else 1" in text
    assert "maxsize: The largest number of calls to remember; the default is 128." in text


def test_pdf_text_reads_like_the_page(pdf_units):
    for name, (doc, units) in pdf_units.items():
        lines = [doc.text[u.start:u.end] for u in units]
        assert not any(re.search(r"(?:\.\s?){6,}", line) for line in lines), name  # dot leaders
        assert not any(re.fullmatch(r"\s*\d{1,4}\s*", line) for line in lines), name  # page numbers
        assert "c©" not in doc.text and "(cid:" not in doc.text, name
    manpage, _ = pdf_units["bash-manpage.pdf"]
    assert "BASH(1) General Commands Manual" not in manpage.text  # the running head
    assert "successfully" in manpage.text and "suc-\ncessfully" not in manpage.text
    # A hyphen before a part that is no word of its own goes, wherever the whole word appears nowhere else;
    # before a word (a compound broken at its hyphen) it stays.
    assert "unconditionally" in manpage.text and "uncondi-tionally" not in manpage.text
    paper, _ = pdf_units["elstest-5p.pdf"]
    assert "Hamiltonian" in paper.text and "Hamil-tonian" not in paper.text
    assert "quasi-particle" in paper.text
    assert "If set, the return value of a pipeline is the value of the last (rightmost) command" in manpage.text
    reference, _ = pdf_units["bash-reference-manual.pdf"]
    assert not re.search(r"Chapter \d+: [A-Z][a-z]+", reference.text.split("\n\n", 40)[-1][:0] or "")
    headings = [reference.text[b.start:b.end] for b in reference.blocks if b.kind is BlockKind.HEADING]
    assert "6.2 Bash Startup Files" in headings
    # A term printed a fraction of a point lower than its definition still leads it.
    assert "\\xHH the eight-bit character whose value is the hexadecimal value HH (one or two hex digits)" in reference.text
    assert ("builtin A command that is implemented internally by the shell itself, rather than by an executable "
            "program somewhere in the file system.") in reference.text


def test_a_two_column_pdf_reads_column_by_column(pdf_units):
    paper, _ = pdf_units["elstest-5p.pdf"]
    # Left column, wrapped over five lines with a hyphenated "cor-responding"; right column, over three.
    assert ("One of these factors is that due to the small but non negligible coupling to the photon bath, one must "
            "consider BEC of the corresponding mixed light-matter states called polaritons [3].") in paper.text
    assert ("We develop a model which demonstrates formation of a strongly localized polariton-like "
            "quasi-particle.") in paper.text
    # Read row by row, a line of the left column ran on into the line beside it in the right one.
    assert "crys- ide slab" not in paper.text and "oxide crystals are good candidates" in paper.text


def test_two_column_sentences_are_the_ones_printed(pdf_units):
    """Nearly every sentence is a run of the page's own text in the order TeX wrote it (pypdf's content-stream
    order, which follows the columns), letters compared; read row by row, under half were."""
    from pypdf import PdfReader

    def letters(text: str) -> str:
        return re.sub(r"[^a-z]", "", unicodedata.normalize("NFKC", text).lower().replace("-", ""))

    doc, units = pdf_units["elstest-5p.pdf"]
    printed = letters(" ".join(page.extract_text() or "" for page in PdfReader(PDF_DATA / "elstest-5p.pdf").pages))
    sentences = [letters(doc.text[u.start:u.end]) for u in units if u.kind == "sentence"]
    sentences = [s for s in sentences if len(s) >= 40]
    assert sum(s in printed for s in sentences) / len(sentences) >= 0.9


def test_a_column_gutter_needs_prose_on_both_sides():
    from rag.ingest.extract.pdf_columns import Row, _gutter, reading_groups

    def line(top: float, x0: float, x1: float, text: str = "words of a line") -> tuple[Row, float]:
        return Row(0, top, top + 10, x0, x0, text, 10.0, False, False, 800.0), x1

    columns = [line(100 + 12 * i, 72, 290) for i in range(10)] + [line(100 + 12 * i, 320, 540) for i in range(10)]
    title = [line(80, 72, 540, "A title across both columns")]
    assert _gutter(columns + title) == pytest.approx(305, abs=15)
    groups = reading_groups(title + columns)
    assert [len(g) for g in groups] == [1, 10, 10] and {r.column for r in groups[1]} == {1}
    # A running head with its page number, set off above the columns, stays one row across the page (so it is
    # recognised as furniture); a paragraph's short last line right below a column stays in that column.
    head = [line(40, 72, 200, "Chapter 3: Columns"), line(40, 520, 540, "27")]
    last = [line(220, 72, 150, "last words.")]
    groups = reading_groups(head + columns + last)
    assert [r.text for r in groups[0]] == ["Chapter 3: Columns", "27"]
    assert groups[1][-1].text == "last words." and groups[1][-1].column == 1
    # A definition list: short terms on the left, their definitions across the middle.
    definitions = [line(100 + 12 * i, 72, 110, "-c") for i in range(10)] + \
                  [line(100 + 12 * i, 150, 540) for i in range(10)]
    assert _gutter(definitions) is None
    # Three columns: no gutter in the middle of the middle one.
    three = [line(100 + 12 * i, x0, x0 + 140) for i in range(10) for x0 in (72, 230, 390)]
    gutter = _gutter(three)
    assert gutter is None or not 230 < gutter < 370


@pytest.mark.parametrize("markup, reason", [
    ("<html><body><nav><a href='/'>Home</a> <a href='/a'>About</a></nav></body></html>", "no content"),
    ("<html><body><div class='sidebar'><p>Links</p></div>", "no content"),
])
def test_html_without_content_is_skipped_with_a_reason(tmp_path, markup, reason):
    path = tmp_path / "page.html"
    path.write_text(markup)
    with pytest.raises(IngestError, match=reason):
        read_document(path, path.name)


def test_malformed_html_keeps_its_text(tmp_path):
    path = tmp_path / "broken.html"
    path.write_text("<html><body><p>Unclosed paragraph about <b>hydropower in Sichuan<p>Second one</div></td>")
    doc = read_document(path, path.name)
    assert "Unclosed paragraph about hydropower in Sichuan" in doc.text and "Second one" in doc.text


def test_bad_pdfs_get_one_line_reasons(tmp_path):
    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    blank = FPDF()
    blank.add_page()
    blank.rect(10, 10, 50, 50)  # a drawing, no text layer (like a scan)
    blank_path = tmp_path / "scan.pdf"
    blank.output(str(blank_path))
    with pytest.raises(IngestError, match="no text layer"):
        read_document(blank_path, "scan.pdf")

    text = FPDF()
    text.add_page()
    text.set_font("Helvetica", size=12)
    text.cell(0, 10, "A secret plan for the mining farm.")
    plain = tmp_path / "plain.pdf"
    text.output(str(plain))
    writer = PdfWriter()
    writer.append(PdfReader(plain))
    writer.encrypt(user_password="secret", owner_password="owner")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(IngestError, match="encrypted") as caught:
        read_document(locked, "locked.pdf")
    assert "\n" not in str(caught.value)

    truncated = tmp_path / "cut.pdf"
    truncated.write_bytes(plain.read_bytes()[:300])
    with pytest.raises(IngestError) as caught:
        read_document(truncated, "cut.pdf")
    assert "\n" not in str(caught.value)


def test_markdown_headings_and_front_matter():
    source = "---\ntitle: Mining in Norway\ndate: 2021-09-01\n---\n# Hosting\n\nA firm in *Tromso* offers\nhydropower.\n\n```\nrate = 0.03\n```\n"
    extracted = extract(source.encode(), ".md")
    assert extracted.title == "Mining in Norway" and extracted.date == "2021-09-01"
    assert "#" not in extracted.text and "A firm in Tromso offers hydropower." in extracted.text
    kinds = [b.kind for b in extracted.blocks]
    assert kinds == [BlockKind.HEADING, BlockKind.PARAGRAPH, BlockKind.CODE]


def test_binary_and_unknown_input_is_refused():
    with pytest.raises(ExtractError, match="binary"):
        extract(b"\x00\x01\x02 text", ".txt")
    with pytest.raises(ExtractError, match="PDF"):
        extract(b"not a pdf", ".pdf")


def test_a_hard_wrapped_sentence_is_one_unit_whatever_starts_its_lines():
    text = ("The first memcache client for Postfix was written by Omar Kilani, and was based\n"
            "on the Postfix 2.3 code. Process limits above 1000 require Postfix version\n"
            "2.4 or later.\n\nLimitations\n* The client cannot be used for alias_maps (these may contain \"/file\"\n"
            "  destinations).\n")
    extracted = extract(text.encode(), ".txt")
    units = [extracted.text[u.start:u.end] for u in split_units(extracted.text, extracted.blocks)]
    assert units[0].endswith("based\non the Postfix 2.3 code.")
    assert units[1] == "Process limits above 1000 require Postfix version\n2.4 or later."
    assert units[2] == "Limitations"  # a short title line is not glued to the list under it
    assert units[3].endswith("destinations).")


def test_nroff_overstrike_is_read_as_the_characters_it_prints():
    text = "B\bBu\bui\bil\bld\bdi\bin\bng\bg _\bP_\bo_\bs_\bt_\bf_\bi_\bx\n\nRun make.\n"
    extracted = extract(text.encode(), ".txt")
    assert extracted.text.startswith("Building Postfix\n")
