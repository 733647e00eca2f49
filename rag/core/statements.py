"""Render an answer's statements as text (or markup): the one place the [n] markers are written.

Pure and light (no models), so the CLI, exports and the chat render an answer
the same way from its ``Statement`` records. A ``translation`` statement is
a reading aid for the quote before it and is shown inside that quote's piece:
``original (machine translation from nl: ...) [1]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.core.records import Statement

UNVERIFIED = "(unverified)"


def _plain(text: str) -> str:
    return text


def _marker(n: int) -> str:
    return f"[{n}]"


def pieces(statements: Sequence[Statement], languages: dict[int, str],
           escape: Callable[[str], str] = _plain, marker: Callable[[int], str] = _marker) -> list[str]:
    """One piece per statement (a translation joins its quote's), each ending in its citation marker.

    ``languages`` maps a citation number to the language of its document;
    ``escape`` is applied to every text, ``marker`` renders a citation.
    """
    out: list[str] = []
    for i, statement in enumerate(statements):
        if statement.role == "translation":
            continue
        text = escape(statement.text)
        if not statement.verified:
            text += " " + escape(UNVERIFIED)
        following = statements[i + 1] if i + 1 < len(statements) else None
        if following is not None and following.role == "translation":
            source = languages.get(following.citation or 0, "")
            text += escape(f" (machine translation from {source}: {following.text})")
        if statement.citation is not None:
            text += " " + marker(statement.citation)
        out.append(text)
    return out


def render(statements: Sequence[Statement], languages: dict[int, str],
           escape: Callable[[str], str] = _plain, marker: Callable[[int], str] = _marker) -> str:
    """The whole answer text: the pieces joined by spaces."""
    return " ".join(pieces(statements, languages, escape, marker))


def titled(title: str, section: str = "") -> str:
    """A source's title with the section path of the quote, as ``rag check`` shows it: "Manual › Data Types"."""
    return f"{title} › {section}" if section else title


def quote_lines(citation, indent: str) -> list[str]:
    """A citation's exact quote, and its machine rendering if it has one, as plain-text lines."""
    lines = [f"{indent}“{' '.join(citation.quote.split())}”"]
    if citation.translation:
        lines.append(f"{indent}(machine translation) {citation.translation}")
    return lines
