"""English renderings of non-English sentences, made once at ingest.

The English-only encoder cannot match an English question to a Dutch
passage, so each non-English sentence is indexed with a machine translation
beside it. Citations always quote the original; the translation is only for
finding the passage and for showing readers what it says.
"""

from __future__ import annotations

import hashlib
import re

from rag import lang
from rag.models.generate import Generator, complete

# Languages without a worked example of their own borrow this one's (generic, not about any corpus).
FALLBACK_EXAMPLE = "nl"


def translation_key(text: str, code: str) -> str:
    return hashlib.sha256(f"{code}\0{text}".encode()).hexdigest()


def translate_sentence(generator: Generator, text: str, code: str) -> str:
    """An English rendering of one sentence (best effort: a small model may paraphrase).

    Long sentences go clause by clause: the small model drops the second half
    of a long sentence, names included, far more often than it garbles a clause.
    """
    return " ".join(_translate(generator, clause, code) for clause in clauses(text))


def clauses(text: str, longest: int = 120) -> list[str]:
    """``text`` cut after colons, semicolons and commas into pieces of a manageable length."""
    text = " ".join(text.split())
    if len(text) <= longest:
        return [text]
    pieces, current = [], ""
    for part in re.split(r"(?<=[:;,])\s+", text):
        if current and len(current) + len(part) > longest and len(current) >= 30:
            pieces.append(current)
            current = part
        else:
            current = f"{current} {part}".strip()
    if current:
        pieces.append(current)
    return pieces


def _translate(generator: Generator, text: str, code: str) -> str:
    name = lang.name(code)
    source, target = lang.get(code).translation_example or lang.get(FALLBACK_EXAMPLE).translation_example
    prompt = (
        f"Translate {name} to English.\n\n"
        f"{name}: {source}\nEnglish: {target}\n\n"
        f"{name}: {' '.join(text.split())}\nEnglish:"
    )
    budget = max(24, min(200, len(text) // 2))
    out = complete(generator, prompt, max_tokens=budget, temperature=0.0, stop=["\n"])
    out = re.sub(r"\s+", " ", out).strip()
    return out or text
