"""English renderings of the non-English evidence an answer shows, made when first shown.

Nothing is translated at ingest (a whole library would take hours with a
local model); the few sentences an answer quotes are translated by the
answering model, once, and cached in the index. The rendering is a reading
aid shown after the original quote, never the statement itself.
"""

from __future__ import annotations

from dataclasses import replace

from rag.answer.evidence import Evidence
from rag.models.generate import Generator, GeneratorError
from rag.models.translate import translate_sentence
from rag.retrieval.index import Index


def translator(generator: Generator):
    """``translate(text, lang)`` with ``generator``; a generator error leaves the text as it is."""
    def translate(text: str, lang: str) -> str:
        try:
            return translate_sentence(generator, text, lang)
        except GeneratorError:
            return text
    return translate


def with_translations(index: Index, generator: Generator, evidence: list[Evidence]) -> list[Evidence]:
    """``evidence`` with ``text_en`` filled in for the pieces from non-English documents."""
    out = []
    for piece in evidence:
        if piece.text_en or piece.hit.lang == "en":
            out.append(piece)
            continue
        try:
            english = index.translation(piece.text, piece.hit.lang,
                                        lambda text, lang: translate_sentence(generator, text, lang))
        except GeneratorError:
            english = None
        out.append(replace(piece, text_en=english) if english and english != piece.text else piece)
    return out
