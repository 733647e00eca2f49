"""Word, OpenDocument and EPUB files, and files read by content rather than name.

The .docx/.odt/.epub files are real: written by pandoc (tests/data/formats,
see its README) or here by python-docx and ebooklib. Damaged and encrypted
variants are made from them; the end-to-end test ingests them with the real
encoder into a private home and checks that an answer cites each one with
an exact slice of its text.
"""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from pathlib import Path

import docx
import numpy as np
import pytest
from ebooklib import epub
from matplotlib import image as mpl_image

from rag import Assistant, Settings
from rag.ingest.extract import BlockKind, ExtractError, Extracted, extract
from rag.ingest.read import IngestError, read_document

DATA = Path(__file__).parent / "data" / "formats"
README_TEXT = (
    "Harbour Lantern\n\n"
    "The Harbour Lantern project measures fog density in Rotterdam harbour with cheap sensors on the quay lamps.\n\n"
    "Readings are published every ten minutes so that pilots can plan their approach.\n"
)
# Two paragraphs in Windows-1252: the accents are bytes no UTF-8 decoder accepts.
NOTES_TEXT = (
    "Café crème and crêpes are sold at the kiosk beside the Köln cathedral every morning.\n\n"
    "The owner says the façade was restored in 2019 and the terrace reopened in spring.\n"
)


def _png() -> bytes:
    out = io.BytesIO()
    mpl_image.imsave(out, np.zeros((4, 4, 3)), format="png")
    return out.getvalue()


def _slices(extracted: Extracted, kind: BlockKind | None = None) -> list[str]:
    """The text of each block, cut from the extracted text by its offsets."""
    return [extracted.text[b.start:b.end] for b in extracted.blocks if kind is None or b.kind is kind]


def _read(name: str, suffix: str | None = None) -> Extracted:
    path = DATA / name
    return extract(path.read_bytes(), path.suffix if suffix is None else suffix)


# -- structure -----------------------------------------------------------------------------------

STRUCTURE = [  # file, extractor, title, headings (level, text), table rows, one list run
    ("hydro.docx", "docx/1", "Hydropower mining in Sichuan",
     [(1, "The rainy season"), (2, "Who buys the power"), (1, "The dry season")],
     ["Dam: Ertan; Capacity: 3300 MW; River: Yalong", "Dam: Pubugou; Capacity: 3600 MW; River: Dadu"],
     "Small mining farms in Ya’an; Container sites along the Yalong river"),  # pandoc curls the quote
    ("geothermal.odt", "odt/1", "Geothermal mining in Iceland",
     [(1, "Power sources"), (2, "Sites"), (1, "Outlook")],
     ["Site: Reykjanes; Capacity: 100 MW; Operator: HS Orka", "Site: Hellisheidi; Capacity: 303 MW; Operator: ON Power"],
     "Reykjanes peninsula; Hellisheidi plant near Reykjavik"),
    ("wind.epub", "epub/1", "Wind and mining in Texas",  # pandoc's title page is a chapter of its own
     [(1, "Wind and mining in Texas"), (1, "West Texas"), (1, "The grid")],
     ["Month: July; Curtailment: 12 days", "Month: August; Curtailment: 9 days"],
     "Abilene; Sweetwater; Big Spring"),
]


@pytest.mark.parametrize("name, extractor, title, headings, rows, run", STRUCTURE)
def test_headings_lists_and_tables_are_blocks_at_exact_offsets(name, extractor, title, headings, rows, run):
    doc = _read(name)
    assert (doc.extractor, doc.title) == (extractor, title)
    assert [(b.level, doc.text[b.start:b.end]) for b in doc.blocks if b.kind is BlockKind.HEADING] == headings
    assert _slices(doc, BlockKind.ROW) == rows
    assert run in _slices(doc, BlockKind.ITEM)  # short list items read as one "a; b; c" line
    for block in doc.blocks:  # each block sits under the nearest heading before it, with that heading's parents
        above = [b for b in doc.blocks if b.kind is BlockKind.HEADING and b.start <= block.start]
        assert block.section[-1:] == ((doc.text[above[-1].start:above[-1].end],) if above else ())


def test_docx_long_list_items_stay_whole_and_sections_nest():
    doc = _read("hydro.docx")
    assert any(p.startswith("Large operators who move thousands") for p in _slices(doc, BlockKind.ITEM))
    row = next(b for b in doc.blocks if b.kind is BlockKind.ROW)
    assert row.section == ("The rainy season", "Who buys the power")


def test_odt_preformatted_text_is_code():
    assert _slices(_read("geothermal.odt"), BlockKind.CODE) == ["rate_usd_per_kwh = 0.03"]


def test_odt_inline_markup_numbers_spaces_and_notes():
    """Outline numbers stay in their heading, ``text:s`` is spaces, a footnote's body is not running text."""
    source = (DATA / "geothermal.odt").read_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        content = archive.read("content.xml").decode()
    content = content.replace(">Power sources<", "><text:number>1.</text:number>Power sources<", 1)
    note = ('<text:note text:note-class="footnote"><text:note-citation>1</text:note-citation>'
            "<text:note-body><text:p>Footnote body.</text:p></text:note-body></text:note>")
    content = content.replace("geothermal steam", f"geothermal{note}<text:s text:c=\"2\"/>steam", 1)
    doc = extract(_rezip(source, {"content.xml": content.encode()}), ".odt")
    assert _slices(doc, BlockKind.HEADING)[0] == "1. Power sources"
    assert any(p.startswith("Miners in Reykjanes use geothermal steam to run") for p in _slices(doc))  # spaces collapse
    assert "Footnote" not in doc.text


def test_epub_chapters_in_spine_order_without_the_navigation():
    book = _read("wind.epub")
    assert book.date == "2022-03-15"
    assert book.text.index("Wind farms near Abilene") < book.text.index("The grid operator pays")
    assert book.text.count("West Texas") == 1, "the table of contents must not be read as text"


def test_a_docx_written_by_python_docx(tmp_path):
    """Word's own list styles, a table with no marked header row, a merged cell, a Title paragraph."""
    document = docx.Document()
    document.core_properties.title = ""
    document.add_paragraph("Tidal power at Sihwa", style="Title")
    document.add_heading("Turbines", level=1)
    document.add_paragraph("The Sihwa Lake station has ten bulb turbines of 25.4 MW each.")
    for item in ("Ten turbines", "Eight sluice gates"):
        document.add_paragraph(item, style="List Bullet")
    document.add_heading("Output", level=2)
    table = document.add_table(rows=3, cols=3)
    for r, cells in enumerate([["Year", "Output", "Note"], ["2012", "552 GWh", "first full year"], ["2013", "", ""]]):
        for c, text in enumerate(cells):
            table.cell(r, c).text = text
    table.cell(2, 1).merge(table.cell(2, 2)).text = "unknown"
    out = io.BytesIO()
    document.save(out)
    doc = extract(out.getvalue(), ".docx")
    assert doc.title == "Tidal power at Sihwa"
    assert [(b.level, doc.text[b.start:b.end]) for b in doc.blocks if b.kind is BlockKind.HEADING] == [
        (1, "Turbines"), (2, "Output")]
    assert "Ten turbines; Eight sluice gates" in _slices(doc, BlockKind.ITEM)
    assert _slices(doc, BlockKind.ROW) == ["Year: 2012; Output: 552 GWh; Note: first full year",
                                           "2013; unknown"]  # the merged cell once; the row no longer fits the header


def test_an_epub_written_by_ebooklib_follows_its_spine():
    book = epub.EpubBook()
    book.set_title("Solar mining in Chile")
    chapters = []
    for number, body in ((1, "<h1>Atacama</h1><p>Panels in the Atacama desert power miners by day.</p>"),
                         (2, "<h1>Batteries</h1><p>Lithium batteries carry the load through the night.</p>")):
        chapter = epub.EpubHtml(title=f"Chapter {number}", file_name=f"ch{number}.xhtml", lang="en")
        chapter.content = body
        chapters.append(chapter)
    for chapter in reversed(chapters):  # manifest order is not reading order
        book.add_item(chapter)
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *chapters]
    out = io.BytesIO()
    epub.write_epub(out, book)
    extracted = extract(out.getvalue(), ".epub")
    assert extracted.title == "Solar mining in Chile"
    assert _slices(extracted) == ["Atacama", "Panels in the Atacama desert power miners by day.",
                                  "Batteries", "Lithium batteries carry the load through the night."]


# -- damaged and encrypted -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["hydro.docx", "geothermal.odt", "wind.epub"])
def test_a_truncated_file_is_skipped_with_a_reason(tmp_path, name):
    path = tmp_path / name
    path.write_bytes((DATA / name).read_bytes()[:2000])
    with pytest.raises(IngestError, match="damaged") as caught:
        read_document(path, name)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 300


@pytest.mark.parametrize("name", ["hydro.docx", "geothermal.odt", "wind.epub"])
def test_mangled_containers_give_a_document_or_one_line_reason(name):
    """Flipped, cut and inserted bytes, read by suffix and by content; zipfile alone raises a dozen kinds of error."""
    source = (DATA / name).read_bytes()
    for seed in range(80):
        rng = random.Random(seed)
        data = bytearray(source)
        for _ in range(1 + seed % 20):
            pos, choice = rng.randrange(len(data)), rng.random()
            if choice < 0.6:
                data[pos] = rng.randrange(256)
            elif choice < 0.8:
                del data[pos:pos + rng.randrange(1, 64)]
            else:
                data[pos:pos] = rng.randbytes(rng.randrange(1, 16))
        for suffix in (Path(name).suffix, ""):
            try:
                doc = extract(bytes(data), suffix)
            except ExtractError as exc:
                assert str(exc).strip() and "\n" not in str(exc) and len(str(exc)) < 300, str(exc)
                continue
            assert all(0 <= b.start < b.end <= len(doc.text) for b in doc.blocks)


@pytest.mark.parametrize("name", ["hydro.docx", "geothermal.odt", "wind.epub"])
def test_a_container_that_unpacks_to_gigabytes_is_refused_unread(name):
    """The archive's directory declares each member 2 GB, as a zip bomb's does; nothing is unpacked."""
    data = bytearray((DATA / name).read_bytes())
    header = data.find(b"PK\x01\x02")
    while header != -1:
        data[header + 24:header + 28] = (0x7FFFFFFF).to_bytes(4, "little")  # the uncompressed size
        header = data.find(b"PK\x01\x02", header + 4)
    with pytest.raises(ExtractError, match="zip bomb"):
        extract(bytes(data), Path(name).suffix)


def test_a_password_protected_docx_says_so():
    with pytest.raises(ExtractError, match="encrypted .docx"):
        _read("locked.docx")


def _rezip(source: bytes, changes: dict[str, bytes]) -> bytes:
    """The container with some members replaced or added, the rest copied as they are."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            if info.filename not in changes:
                new.writestr(info, old.read(info.filename))
        for name, data in changes.items():
            new.writestr(name, data)
    return out.getvalue()


def test_an_encrypted_odt_says_so():
    """What LibreOffice writes for a password: content.xml is ciphertext, the manifest says how it was made."""
    source = (DATA / "geothermal.odt").read_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        manifest = archive.read("META-INF/manifest.xml").decode()
    entry = 'manifest:full-path="content.xml" manifest:version="1.2" />'
    assert entry in manifest
    manifest = manifest.replace(entry, entry[:-2] + '><manifest:encryption-data manifest:checksum-type="SHA1/1K" '
                                'manifest:checksum="AAAA"/></manifest:file-entry>')
    locked = _rezip(source, {"META-INF/manifest.xml": manifest.encode(), "content.xml": random.Random(1).randbytes(4000)})
    with pytest.raises(ExtractError, match="encrypted .odt"):
        extract(locked, ".odt")


def test_a_drm_epub_says_so_but_obfuscated_fonts_do_not_matter():
    source = (DATA / "wind.epub").read_bytes()

    def encryption(uri: str) -> bytes:
        return ('<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
                'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:CipherData>'
                f'<enc:CipherReference URI="{uri}"/></enc:CipherData></enc:EncryptedData></encryption>').encode()

    locked = _rezip(source, {"META-INF/encryption.xml": encryption("EPUB/text/ch001.xhtml"),
                             "EPUB/text/ch001.xhtml": random.Random(2).randbytes(900)})
    with pytest.raises(ExtractError, match="encrypted .epub"):
        extract(locked, ".epub")
    fonts = _rezip(source, {"META-INF/encryption.xml": encryption("EPUB/fonts/serif.otf")})
    assert "Wind farms near Abilene" in extract(fonts, ".epub").text


# -- files by content ----------------------------------------------------------------------------

def test_a_readme_without_suffix_is_plain_text():
    doc = extract(README_TEXT.encode(), "")
    assert doc.text == README_TEXT and doc.title == "Harbour Lantern"
    assert _slices(doc)[1].startswith("The Harbour Lantern project measures")


def test_a_legacy_encoding_is_detected():
    for suffix in ("", ".txt"):
        assert extract(NOTES_TEXT.encode("cp1252"), suffix).text == NOTES_TEXT
    assert extract("Москва — столица России, крупнейший город страны.".encode("cp1251"), "").text.startswith("Москва")
    assert extract(README_TEXT.encode("utf-16"), "").text == README_TEXT  # NUL bytes, but a byte-order mark


def test_a_container_without_its_suffix_is_read_by_content():
    assert _read("hydro.docx", "").extractor == "docx/1"
    assert _read("geothermal.odt", ".bak").extractor == "odt/1"
    assert _read("wind.epub", ".download").extractor == "epub/1"


@pytest.mark.parametrize("data, reason", [
    (_png(), "binary file (PNG image), not text"),
    (gzip.compress(README_TEXT.encode()), "binary file (gzip archive), not text"),
    (b"PK\x03\x04\x14\x00" + random.Random(3).randbytes(300), "binary file (ZIP archive), not text"),
    (random.Random(4).randbytes(3000).replace(b"\x00", b"\x01"), "binary file, not text"),  # noise, no NUL
])
def test_a_binary_file_with_a_made_up_suffix_is_refused(data, reason):
    with pytest.raises(ExtractError) as caught:
        extract(data, ".qqq")
    assert str(caught.value).startswith(reason)


def test_control_characters_make_an_untyped_file_binary_but_not_a_named_one():
    data = b"ab\x01\x02cd\x03\x04 plain words follow here"
    with pytest.raises(ExtractError, match="control characters"):
        extract(data, "")
    assert "plain words" in extract(data, ".txt").text  # the name says text: taken at its word


def test_an_untyped_manual_page_in_nroff_overstrike_is_text():
    heading = "".join(f"{ch}\b{ch}" for ch in "Building Postfix")
    doc = extract(f"{heading}\n\nRun make in the top-level directory.\n".encode(), "")
    assert doc.text.startswith("Building Postfix\n")


# -- end to end ----------------------------------------------------------------------------------

QUESTIONS = [
    ("Which dam sells its surplus electricity to bitcoin miners?", "hydro.docx", "Ertan"),
    ("What do miners in Reykjanes use to run their machines?", "geothermal.odt", "geothermal"),
    ("When do wind farms near Abilene power mining rigs?", "wind.epub", "night"),
    ("What does the Harbour Lantern project measure?", "README", "fog density"),
]


@pytest.mark.slow
def test_each_format_is_answerable_with_exact_citations(tmp_path):
    """Ingest into a private home with the real encoder; every answer cites its document by an exact slice."""
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for name in ("hydro.docx", "geothermal.odt", "wind.epub"):
        (uploads / name).write_bytes((DATA / name).read_bytes())
    (uploads / "README").write_text(README_TEXT)
    (uploads / "photo.qqq").write_bytes(_png())
    (tmp_path / "home" / "library").mkdir(parents=True)
    assistant = Assistant(Settings(home=tmp_path / "home", translate=False, generator="none"))
    report = assistant.ingest(sorted(uploads.iterdir()))
    assert sorted(report.added) == ["README", "geothermal.odt", "hydro.docx", "wind.epub"], report.skipped
    assert [(Path(s.path).name, s.reason) for s in report.skipped] == [("photo.qqq", "binary file (PNG image), not text")]
    for question, doc_id, word in QUESTIONS:
        answer = assistant.ask(question)
        assert not answer.refused, (question, answer.reason)
        cited = [c for c in answer.citations if c.doc_id == doc_id]
        assert cited, (question, [c.doc_id for c in answer.citations])
        assert all(assistant.document(c.doc_id).text[c.start:c.end] == c.quote for c in answer.citations)
        assert any(word in c.quote for c in cited), (question, [c.quote for c in cited])
    assistant.close()
