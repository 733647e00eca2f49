"""Render an export record as a PDF report (fpdf2).

Quotes can hold any script, so a Unicode TrueType font is embedded: DejaVu
Sans, which matplotlib (a project dependency) ships in ``mpl-data``; Debian's
``fonts-dejavu-core`` is the second choice. Without either the report still
renders in a core PDF font, with the characters it lacks replaced by "?".
Characters the embedded font lacks (e.g. Chinese) become "?" too, rather
than invisible boxes. The JSON export always holds the exact text.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from rag.core.statements import titled
from rag.export.text import heading, reproduce_rows

SYSTEM_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
STYLES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
MONO = "DejaVuSansMono.ttf"
ASCII_FALLBACK = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "–": "-", "—": "-",
                                "…": "...", "•": "*", "\u00a0": " ", "·": "-", "›": ">"})
INK, MUTED, ACCENT = (29, 35, 48), (91, 100, 120), (31, 95, 191)
QUOTE_FILL, REFUSED_FILL, REFUSED_INK = (243, 246, 251), (252, 241, 240), (192, 57, 43)


def font_dir() -> Path | None:
    """A folder holding the DejaVu TTF files: matplotlib's copy first, then Debian's."""
    spec = importlib.util.find_spec("matplotlib")  # found without importing matplotlib itself
    candidates = [Path(p) / "mpl-data" / "fonts" / "ttf" for p in (spec.submodule_search_locations or [])] if spec else []
    candidates.append(SYSTEM_DEJAVU)
    for folder in candidates:
        if all((folder / name).is_file() for name in [*STYLES.values(), MONO]):
            return folder
    return None


class Report(FPDF):
    """An A4 page with a footer; ``clean`` makes any text printable in the fonts at hand."""

    def __init__(self, fonts: Path | None, footer_text: str):
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(True, margin=16)
        if fonts is not None:
            for style, name in STYLES.items():
                self.add_font("Body", style, fonts / name)
            self.add_font("Mono", "", fonts / MONO)
            self.body_font, self.mono_font = "Body", "Mono"
            self.glyphs: set[int] | None = set(self.fonts["body"].cmap) & set(self.fonts["mono"].cmap)
        else:
            self.body_font, self.mono_font, self.glyphs = "Helvetica", "Courier", None

    def clean(self, text: str) -> str:
        if self.glyphs is None:
            return text.translate(ASCII_FALLBACK).encode("latin-1", "replace").decode("latin-1")
        return "".join(ch if ord(ch) in self.glyphs or ch in "\n\t" else "?" for ch in text)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font(self.body_font, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4, self.clean(f"{self.footer_text}   ·   page {self.page_no()}/{{nb}}"), align="C")

    def para(self, text: str, size: float = 10.5, style: str = "", color: tuple[int, int, int] = INK,
             height: float | None = None, font: str | None = None, **options: Any) -> None:
        """A wrapped paragraph across the full text width."""
        self.set_font(font or self.body_font, style, size)
        self.set_text_color(*color)
        self.multi_cell(0, height or size * 0.5, self.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L",
                        **options)

    def keep(self, height: float) -> None:
        """Start a new page unless ``height`` mm still fit, so a heading never ends a page alone."""
        if self.will_page_break(height):
            self.add_page()


def to_pdf(record: dict[str, Any]) -> bytes:
    pdf = Report(font_dir(), f"Exported {record['exported_at']} · index {record['index'].get('version')}")
    pdf.set_title(heading(record))
    pdf.set_creator("cited-rag export")
    pdf.add_page()
    pdf.para(heading(record), size=18, style="B")
    pdf.para(f"Exported {record['exported_at']} (UTC) · index {record['index'].get('version')} · "
             f"{len(record['documents'])} cited document(s)", size=8.5, color=MUTED)
    for turn in record["turns"]:
        _turn(pdf, turn)
    _reproduce(pdf, record)
    return bytes(pdf.output())


def _turn(pdf: Report, turn: dict[str, Any]) -> None:
    pdf.ln(5)
    pdf.keep(40)
    pdf.para(f"QUESTION {turn['n']}", size=8, style="B", color=ACCENT)
    pdf.para(turn["question"], size=13, style="B", height=6.2)
    if turn.get("resolved_question") and turn["resolved_question"] != turn["question"]:
        pdf.para(f"Understood as: {turn['resolved_question']}", size=9, style="I", color=MUTED)
    pdf.ln(2)
    if turn["refused"]:
        pdf.set_fill_color(*REFUSED_FILL)
        pdf.set_draw_color(*REFUSED_INK)
        pdf.set_line_width(0.8)
        pdf.para(f"Refused: {turn['answer']}\nReason: {turn.get('reason') or 'not given'}", size=10.5,
                 color=REFUSED_INK, height=5.4, fill=True, border="L", padding=(2, 3))
        return
    pdf.para(turn["answer"], size=11, height=5.6)
    if turn.get("reason"):
        pdf.para(f"Note: {turn['reason']}", size=9, style="I", color=MUTED)
    if turn["citations"]:
        pdf.ln(2)
        pdf.para("Sources", size=10, style="B", color=MUTED)
    for citation in turn["citations"]:
        _citation(pdf, citation)


def _citation(pdf: Report, c: dict[str, Any]) -> None:
    pdf.ln(1.5)
    pdf.keep(28)
    pdf.para(f"[{c['n']}] {titled(c.get('title') or '(untitled)', c.get('section') or '')}", size=10, style="B",
             height=5)
    sha = (c.get("sha256") or "unknown")[:16]
    pdf.para(f"{c.get('date') or 'undated'} · {c['doc_id']} · characters [{c['start']}:{c['end']}] · sha256 {sha}…",
             size=8, color=MUTED, height=4)
    pdf.ln(0.8)
    pdf.set_fill_color(*QUOTE_FILL)
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.8)
    pdf.para(c["quote"], size=10, height=5, fill=True, border="L", padding=(1.5, 3))
    if c.get("translation"):
        pdf.ln(0.5)
        pdf.para(f"Machine translation: {c['translation']}", size=9, style="I", color=MUTED, height=4.6)


def _reproduce(pdf: Report, record: dict[str, Any]) -> None:
    pdf.ln(6)
    pdf.keep(60)
    pdf.para("Reproduce", size=12, style="B")
    pdf.ln(1)
    width = pdf.epw
    for label, value in reproduce_rows(record):
        pdf.set_font(pdf.body_font, "B", 8.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(38, 4.3, pdf.clean(label))
        pdf.set_font(pdf.body_font, "", 8.5)
        pdf.set_text_color(*INK)
        pdf.multi_cell(width - 38, 4.3, pdf.clean(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.ln(3)
    if record["documents"]:  # a refused answer cites nothing: no empty heading
        pdf.para("Cited documents", size=10, style="B")
    for doc_id, doc in record["documents"].items():
        pdf.ln(1)
        pdf.para(f"{doc_id} — {doc.get('title') or '(untitled)'}", size=8.5, height=4.3)
        pdf.para(f"sha256 {doc.get('sha256') or 'unknown (document no longer indexed)'}", size=7.5, color=MUTED,
                 height=4, font=pdf.mono_font)

