"""Cited-answer export: real answers from the real pipeline, written in every format and checked.

Two questions of our own (not the dev set) plus one the articles cannot answer,
exported once as a conversation; then `rag verify` is run against a private
library whose cited article is edited and another removed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from rag import Answer, Assistant, Settings
from rag.cli.export import add_arguments, run
from rag.export.verify import verify_export
from rag.export.write import build_record, export_answers, export_to_file
from rag.ingest.read import read_document

QUESTIONS = (
    "Why are Chinese bitcoin miners looking to Kazakhstan?",
    "What did Inner Mongolia announce to crack down on virtual currency mining?",
    "Who won the football world cup in 1998?",  # nothing in the articles: a refusal
)
SCHEMA_DOC = Path(__file__).resolve().parents[1] / "docs" / "export-schema.md"


@pytest.fixture(scope="module")
def answers(assistant: Assistant) -> list[Answer]:
    return [assistant.ask(q) for q in QUESTIONS]


@pytest.fixture(scope="module")
def exported(answers, assistant, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("exports")
    return {fmt: export_answers(answers, folder / f"conversation.{fmt}", assistant) for fmt in ("md", "html", "json", "pdf")}


@pytest.fixture(scope="module")
def record(exported) -> dict:
    return json.loads(exported["json"].read_text(encoding="utf-8"))


def test_the_questions_give_cited_answers_and_a_refusal(answers):
    assert not answers[0].refused and answers[0].citations
    assert not answers[1].refused and answers[1].citations
    assert answers[2].refused and not answers[2].citations and answers[2].reason


def test_json_follows_the_documented_schema(record):
    schema = json.loads(re.search(r"```json\n(.*?)\n```", SCHEMA_DOC.read_text(), re.DOTALL).group(1))
    assert validate(record, schema, schema) == []
    assert record["schema_version"].startswith("1.")
    assert datetime.fromisoformat(record["exported_at"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0


def test_json_citations_are_numbered_as_in_the_answer_and_quote_the_source(record, answers, assistant):
    library = assistant.index.library()
    assert [t["question"] for t in record["turns"]] == list(QUESTIONS)
    for turn, answer in zip(record["turns"], answers):
        assert turn["answer"] == answer.answer and turn["refused"] == answer.refused
        numbers = [c["n"] for c in turn["citations"]]
        assert numbers == list(range(1, len(numbers) + 1))
        assert turn["statements"] == [s.to_dict() for s in answer.statements]
        assert {s["citation"] for s in turn["statements"] if s["citation"] is not None} == set(numbers)
        for c, original in zip(turn["citations"], answer.citations):
            assert (c["doc_id"], c["start"], c["end"], c["quote"]) == (original.doc_id, original.start, original.end,
                                                                       original.quote)
            source = read_document(library / c["doc_id"], c["doc_id"])  # as ingestion reads the file
            assert source.text[c["start"]:c["end"]] == c["quote"]
            assert c["sha256"] == source.sha256 == record["documents"][c["doc_id"]]["sha256"]
            assert c["title"] and c["title"] == record["documents"][c["doc_id"]]["title"]
    info = assistant.info()
    assert record["index"]["version"] == info["index_version"] == record["turns"][0]["index_version"]
    assert record["index"]["embedding_model"] == info["embedding_model"]
    assert record["index"]["library"] == str(library)
    assert record["settings"]["top_k"] == assistant.settings.top_k and "api_key" not in record["settings"]
    assert record["turns"][0]["model"] and record["turns"][0]["backend"]
    refusal = record["turns"][2]
    assert refusal["refused"] and refusal["reason"] and refusal["citations"] == []


def test_markdown_holds_every_citation_and_the_refusal(exported, record):
    text = exported["md"].read_text(encoding="utf-8")
    _check_reproduce_facts(text, record)
    for turn in record["turns"]:
        assert turn["question"] in text
        if turn["refused"]:
            assert f"**Refused:** {turn['answer']}" in text and turn["reason"] in text
            continue
        assert turn["answer"] in text
        for c in turn["citations"]:
            assert f"**[{c['n']}]** {c['title']}" in text
            assert f"{c['doc_id']} [{c['start']}:{c['end']}]" in text
            assert "\n".join("> " + line if line else ">" for line in c["quote"].split("\n")) in text
            if c["translation"]:
                assert c["translation"] in text


def test_html_is_self_contained_and_quotes_exactly(exported, record):
    markup = exported["html"].read_text(encoding="utf-8")
    page = Page()
    page.feed(markup)
    page.close()
    assert page.references, "the [n] markers should link to their citations"
    for tag, name, value in page.references:
        lowered = value.strip().lower()
        assert not any(bad in lowered for bad in ("http:", "https:", "//", "file:", "data:")), (tag, name, value)
        if name == "href":
            assert lowered.startswith("#") and lowered[1:] in page.ids, value
    assert not page.loading_tags, page.loading_tags
    for css in page.styles:
        assert "url(" not in css.lower() and "@import" not in css.lower()
        assert not re.search(r"https?:|//", css)
    quotes = [c["quote"] for t in record["turns"] for c in t["citations"]]
    assert page.blockquotes == quotes
    _check_reproduce_facts(page.text, record)
    assert "Refused:" in page.text and record["turns"][2]["reason"] in page.text


def test_html_escapes_what_it_shows(assistant):
    from rag.export.write import render

    hostile = Answer(question="<script>alert(1)</script> & <img src=http://x>", answer="no", refused=True,
                     reason="<b>bold</b>")
    markup = render(build_record([hostile], assistant), "html").decode()
    assert "<script>" not in markup and "<img" not in markup and "<b>bold" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=http://x&gt;" in markup


def test_pdf_opens_renders_and_holds_the_citations(exported, record, tmp_path):
    data = exported["pdf"].read_bytes()
    assert data.startswith(b"%PDF")
    text = " ".join(" ".join(page.extract_text() or "" for page in PdfReader(exported["pdf"]).pages).split())
    for turn in record["turns"]:
        assert " ".join(turn["question"].split()) in text
        for c in turn["citations"]:
            assert c["doc_id"] in text and f"[{c['start']}:{c['end']}]" in text
    assert "Refused" in text and record["index"]["version"] in text
    for doc in record["documents"].values():
        assert doc["sha256"] in text
    if not shutil.which("pdftoppm"):
        pytest.fail("pdftoppm is missing: install poppler-utils (`make browser`)")
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(exported["pdf"]), str(tmp_path / "page")],
                   check=True, timeout=60)
    from PIL import Image

    png = next(tmp_path.glob("page*.png"))
    with Image.open(png) as image:
        grey = image.convert("L")
        dark = sum(grey.histogram()[:128]) / (grey.width * grey.height)
    assert grey.height > grey.width and 0.005 < dark < 0.3, f"page 1 looks blank or solid ({dark:.3f} dark)"


def test_export_to_file_names_a_fresh_download(answers, assistant, tmp_path):
    first = export_to_file(answers[:1], "json", assistant, tmp_path / "downloads")
    second = export_to_file(answers[:1], "JSON", assistant, tmp_path / "downloads")
    assert first != second and first.suffix == second.suffix == ".json" and first.parent == tmp_path / "downloads"
    assert json.loads(first.read_text())["turns"][0]["question"] == QUESTIONS[0]
    with pytest.raises(ValueError):
        export_to_file(answers[:1], "docx", assistant, tmp_path)
    with pytest.raises(ValueError):
        export_answers(answers[:1], tmp_path / "answer.txt", assistant)


def test_verify_passes_then_catches_an_edited_and_a_removed_article(answers, fresh_assistant, tmp_path, capsys):
    path = export_answers(answers, tmp_path / "answer.json", fresh_assistant)
    assert rag_verify(path, fresh_assistant.settings) == 0
    assert capsys.readouterr().out == ""

    record = json.loads(path.read_text())
    library = fresh_assistant.index.library()
    edited, removed = record["turns"][0]["citations"][0], record["turns"][1]["citations"][0]
    assert edited["doc_id"] != removed["doc_id"], "pick citations from two different articles"
    source = library / edited["doc_id"]
    raw = source.read_text(encoding="utf-8")
    word = re.search(r"[A-Za-z]{4,}", edited["quote"]).group(0)
    assert edited["quote"] in raw
    source.write_text(raw.replace(edited["quote"], edited["quote"].replace(word, word.swapcase(), 1), 1),
                      encoding="utf-8")  # same length: only quotes covering that word break
    (library / removed["doc_id"]).unlink()

    assert rag_verify(path, fresh_assistant.settings) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(edited["doc_id"] in line and "no longer matches" in line for line in lines), lines
    assert any(removed["doc_id"] in line and "gone" in line for line in lines), lines
    now = read_document(source, edited["doc_id"]).text
    broken = [c for t in record["turns"] for c in t["citations"]
              if c["doc_id"] == removed["doc_id"] or (c["doc_id"] == edited["doc_id"] and now[c["start"]:c["end"]] != c["quote"])]
    assert len(lines) == len(broken)  # one line per broken quote, none for the untouched ones
    assert verify_export(record, fresh_assistant) == lines


def test_verify_rejects_what_is_not_an_export(assistant):
    assert verify_export({"schema_version": "9.0", "turns": []}, assistant)[0].startswith("unsupported schema_version")
    assert verify_export([], assistant) == ["not an export: the JSON is not an object"]
    outside = {"schema_version": "1.0", "turns": [{"n": 1, "citations": [
        {"n": 1, "doc_id": "../../etc/passwd", "start": 0, "end": 4, "quote": "root"}]}]}
    assert "outside the library" in verify_export(outside, assistant)[0]


def test_pdf_falls_back_to_a_core_font_without_dejavu(record, monkeypatch):
    import rag.export.pdf as export_pdf

    monkeypatch.setattr(export_pdf, "font_dir", lambda: None)
    data = export_pdf.to_pdf({**record, "turns": [{**record["turns"][0], "question": "Waarom “Kazachstan” — 中国?"}]})
    assert data.startswith(b"%PDF") and b"DejaVu" not in data


# -- helpers -------------------------------------------------------------------------


def rag_verify(path: Path, settings: Settings) -> int:
    """`rag verify PATH --home HOME`, through the command's own argument parser."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return run(parser.parse_args([str(path)]), settings)


def _check_reproduce_facts(text: str, record: dict) -> None:
    facts = [record["exported_at"], record["index"]["version"], record["index"]["embedding_model"],
             record["index"]["library"], record["turns"][0]["model"], record["turns"][0]["backend"],
             f"top_k={record['settings']['top_k']}"]
    facts += [doc["sha256"] for doc in record["documents"].values()]
    missing = [fact for fact in facts if fact not in text]
    assert not missing, missing


class Page(HTMLParser):
    """Collects what an HTML export could load or link, its styles, ids, quotes and text."""

    LOADING = {"script", "link", "img", "iframe", "object", "embed", "video", "audio", "source", "base", "form"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.references: list[tuple[str, str, str]] = []
        self.loading_tags: list[str] = []
        self.styles: list[str] = []
        self.ids: set[str] = set()
        self.blockquotes: list[str] = []
        self.text = ""
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self._open.append(tag)
        if tag in self.LOADING:
            self.loading_tags.append(tag)
        if tag == "blockquote":
            self.blockquotes.append("")
        for name, value in attrs:
            if name in {"src", "href", "action", "srcset", "poster", "data", "background", "xlink:href"}:
                self.references.append((tag, name, value or ""))
            if name == "style":
                self.styles.append(value or "")
            if name == "id":
                self.ids.add(value or "")

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        if self._open and self._open[-1] == "style":
            self.styles.append(data)
        elif self._open and self._open[-1] == "blockquote":
            self.blockquotes[-1] += data
        self.text += data


def validate(value, schema: dict, root: dict, where: str = "$") -> list[str]:
    """A small JSON Schema check (type, required, properties, items, additionalProperties, $ref, pattern, bounds)."""
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].split("/")[-1]]
    kinds = schema.get("type")
    if kinds:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        python = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
                  "integer": int, "number": (int, float)}
        ok = any(isinstance(value, python[k]) and not (k in {"integer", "number"} and isinstance(value, bool))
                 for k in kinds)
        if not ok:
            return [f"{where}: {value!r} is not {kinds}"]
    problems = []
    if isinstance(value, dict):
        problems += [f"{where}: missing {key}" for key in schema.get("required", []) if key not in value]
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
            if isinstance(sub, dict):
                problems += validate(item, sub, root, f"{where}.{key}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{where}: fewer than {schema['minItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                problems += validate(item, schema["items"], root, f"{where}[{i}]")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            problems.append(f"{where}: {value} out of bounds")
    return problems

