"""Ingestion on real documents: sentence shape, ingest cost beside a plain pipeline, index size.

The plain pipeline is what a minimal RAG tutorial does: text from
BeautifulSoup (pypdf for PDFs), ~600-character chunks, one
sentence-transformers pass. ``rag ingest`` with default settings runs beside
it on the same files, in the same process state, so the ratio holds even on
a busy machine.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.common import REPO

SHARED = REPO.parent / "shared" / "eval"
CORPORA = {
    "general HTML (16 pages)": SHARED / "general" / "corpus",
    "bundled news articles": REPO / "data" / "articles",
    # the shared Bash PDFs plus tests/data/pdf
    "PDF manuals and a two-column article (Bash, flex, GNU maintainers, Elsevier specimen)": None,
}


def pdf_files() -> list[Path]:
    return sorted((SHARED / "pdf" / "corpus").glob("*.pdf")) + sorted((REPO / "tests" / "data" / "pdf").glob("*.pdf"))


def files_of(name: str) -> list[Path]:
    folder = CORPORA[name]
    return pdf_files() if folder is None else sorted(p for p in folder.iterdir() if p.is_file())


def plain_pipeline(files: list[Path]) -> dict:
    """BeautifulSoup / pypdf text, 600-character chunks, one encoder pass."""
    import io

    from bs4 import BeautifulSoup
    from pypdf import PdfReader

    from embeddings import load_encoder

    started = time.perf_counter()
    texts = []
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".pdf":
            texts.append("\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages))
        elif path.suffix in (".html", ".htm"):
            texts.append(BeautifulSoup(data, "html.parser").get_text(" "))
        else:
            texts.append(data.decode("utf-8"))
    chunks = [t[i:i + 600] for t in texts for i in range(0, len(t), 600)]
    load_encoder("default").encode(chunks)
    return {"seconds": round(time.perf_counter() - started, 2), "chunks": len(chunks),
            "chars": sum(len(t) for t in texts)}


def full_ingest(files: list[Path]) -> dict:
    """`rag ingest` with default settings into a fresh home; seconds, stages, sizes, sentence shape."""
    from rag import Assistant, Settings
    from rag.ingest.chunk import split_units
    from rag.ingest.read import read_document

    with tempfile.TemporaryDirectory() as tmp:
        library = Path(tmp) / "library"
        library.mkdir()
        for path in files:
            (library / path.name).write_bytes(path.read_bytes())
        assistant = Assistant(Settings(home=Path(tmp) / "home", corpus_dir=library))
        started = time.perf_counter()
        report = assistant.ingest()
        seconds = time.perf_counter() - started
        index_bytes = sum(p.stat().st_size for p in assistant.index.dir.glob("*") if p.is_file())
        text_chars = sum(d["chars"] for d in assistant.documents())
        stages = {k: round(v, 2) for k, v in assistant.index.profile.seconds.items()}
        assistant.close()
    lengths, headings, code = [], 0, 0
    for path in files:
        doc = read_document(path, path.name)
        for unit in split_units(doc.text, doc.blocks, doc.lang):
            if unit.kind in ("sentence", "row"):
                lengths.append(unit.end - unit.start)
            headings += unit.kind == "heading"
            code += unit.kind == "code"
    return {
        "seconds": round(seconds, 2), "documents": len(report.added), "chunks": report.chunks,
        "skipped": [f"{s.path}: {s.reason}" for s in report.skipped], "stages": stages,
        "index_bytes": index_bytes, "text_chars": text_chars,
        "index_over_text": round(index_bytes / max(1, text_chars), 1),
        "sentences": len(lengths), "median_sentence_chars": statistics.median(lengths) if lengths else None,
        "share_under_20": round(sum(n < 20 for n in lengths) / max(1, len(lengths)), 4),
        "headings": headings, "code_blocks": code,
    }


def language_cost() -> dict:
    """Ingest seconds per 1,000 characters for the German pages against English pages of similar size."""
    general = CORPORA["general HTML (16 pages)"]
    german = sorted(general.glob("debian-reference-de-*.html"))
    english = sorted(p for p in general.glob("*.html") if not p.name.startswith("debian-reference-de-"))
    out = {}
    for label, files in (("de", german), ("en", english)):
        result = full_ingest(files)
        out[label] = {"seconds": result["seconds"], "text_chars": result["text_chars"],
                      "seconds_per_1000_chars": round(1000 * result["seconds"] / max(1, result["text_chars"]), 4)}
    out["de_over_en"] = round(out["de"]["seconds_per_1000_chars"] / out["en"]["seconds_per_1000_chars"], 2)
    return out


def run() -> dict:
    results: dict = {"corpora": {}}
    for name in CORPORA:
        files = files_of(name)
        plain = plain_pipeline(files)
        full = full_ingest(files)
        full["over_plain"] = round(full["seconds"] / max(0.01, plain["seconds"]), 2)
        results["corpora"][name] = {"files": len(files), "plain": plain, "rag_ingest": full}
    results["language_cost"] = language_cost()
    return results


def render(section: dict) -> list[str]:
    """Markdown lines for docs/benchmarks.md."""
    lines = ["", "## Extraction and ingest cost", "",
             "`rag ingest` (default settings) beside a plain pipeline (BeautifulSoup/pypdf text, 600-character "
             "chunks, one sentence-transformers pass) on the same files, one after the other in one run. "
             "Sentences: units of kind sentence or table row (headings and code blocks counted apart).", "",
             "| corpus | files | plain s | rag ingest s | × plain | index MB | index ÷ text | sentences | median chars | < 20 chars | headings | code |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in section["corpora"].items():
        f = r["rag_ingest"]
        lines.append(f"| {name} | {r['files']} | {r['plain']['seconds']} | {f['seconds']} | {f['over_plain']} | "
                     f"{f['index_bytes'] / 1e6:.1f} | {f['index_over_text']} | {f['sentences']} | "
                     f"{f['median_sentence_chars']} | {f['share_under_20']:.1%} | {f['headings']} | {f['code_blocks']} |")
    lines += ["", "Seconds per stage of `rag ingest` (also `rag ingest --profile`):", ""]
    for name, r in section["corpora"].items():
        stages = ", ".join(f"{k} {v}" for k, v in sorted(r["rag_ingest"]["stages"].items(), key=lambda kv: -kv[1]))
        lines.append(f"- {name}: {stages}")
    cost = section["language_cost"]
    lines += ["", f"German pages cost {cost['de']['seconds_per_1000_chars']} s per 1,000 characters against "
              f"{cost['en']['seconds_per_1000_chars']} s for the English pages: {cost['de_over_en']}× "
              "(multilingual sentence vectors and the word lexicon of `rag/retrieval/lexicon.py`, encoded at the end of the "
              "ingest, instead of translating every sentence)."]
    return lines
