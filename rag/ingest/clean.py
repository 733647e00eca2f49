"""Find the boilerplate in a news text without changing the text.

Cleaning returns *spans to skip* instead of a cleaned copy, so that every
chunk and citation keeps exact offsets into the original document. The rules
are general patterns of scraped news pages (date headers, "Read more"
fragments, publisher trailers, share buttons, previous/next links, repeated
title lines, and "Recommended" link farms of truncated teasers); none of them
names a particular site or file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Noise:
    start: int
    end: int
    reason: str


DATE_HEADER = re.compile(
    r"\A\s*(?:date|published|posted|updated)\s*:?\s*"
    r"(?P<date>\d{4}(?:[-/.]\d{1,2}){0,2})\b[ \t]*",
    re.IGNORECASE,
)

INLINE_FRAGMENTS = re.compile(
    r"\b(?:read more|read next|continue reading|click here(?: to [a-z ]{1,40})?|advertisement"
    r"|share this article|sign up for our newsletter|subscribe now)\b[:.]?",
    re.IGNORECASE,
)

TRAILER_LINE = re.compile(
    r"(?:our standards:.*trust principles\.?"
    r"|(?:©|\(c\)|copyright\b).{0,200}"
    r"|all rights reserved\.?"
    r"|reporting by .{0,200}editing by .{0,200})\s*$",
    re.IGNORECASE,
)

UI_WORD_LINE = re.compile(
    r"^[ \t]*(?:share|tweet|print|email|e-mail|comments?|advertisement|menu|subscribe|log ?in|sign ?up"
    r"|related|tags?|follow us)[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)

NAVIGATION_LINE = re.compile(
    r"^[ \t]*(?:<<|>>|«|»|previous(?: article| post)?|next(?: article| post)?)[ \t]*:.*$",
    re.IGNORECASE | re.MULTILINE,
)

LINK_FARM_MARKER = re.compile(
    r"^[ \t]*(?:recommend(?:ed)?(?: for you| articles| reading)?|related(?: articles| posts| stories| news)?"
    r"|you (?:may|might) also like|more from [^\n]{1,40}|read more|popular(?: posts| articles)?"
    r"|trending(?: now)?|most read|further reading|see also)[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)

TEASER_END = re.compile(r"(?:\.\.\.|…)\s*$")
SENTENCE_END = re.compile(r"[.!?。！？\"'”’)\]]\s*$")


def date_header(text: str) -> str | None:
    """The date given in a leading ``date 2021-05-26`` style header, if any."""
    match = DATE_HEADER.match(text)
    return match.group("date") if match else None


def find_noise(text: str) -> list[Noise]:
    """Spans of ``text`` that are page furniture rather than article content.

    The result is sorted and non-overlapping.
    """
    spans: list[Noise] = []
    header = DATE_HEADER.match(text)
    if header:
        spans.append(Noise(header.start(), header.end(), "date header"))
    spans += [Noise(m.start(), m.end(), "fragment") for m in INLINE_FRAGMENTS.finditer(text)]
    spans += [Noise(m.start(), m.end(), "share button") for m in UI_WORD_LINE.finditer(text)]
    spans += [Noise(m.start(), m.end(), "navigation") for m in NAVIGATION_LINE.finditer(text)]
    spans += _trailer_lines(text)
    spans += _repeated_lines(text)
    spans += _link_farm(text)
    return _merge(spans)


def _lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end, line) for every line, end excluding the newline."""
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, pos + len(line), line))
        pos += len(line) + 1
    return out


def _trailer_lines(text: str) -> list[Noise]:
    out = []
    for start, _end, line in _lines(text):
        match = TRAILER_LINE.search(line)
        if match and (match.start() == 0 or line[: match.start()].rstrip().endswith((".", "!", "?", "”", '"'))):
            out.append(Noise(start + match.start(), start + match.end(), "publisher trailer"))
    return out


def _repeated_lines(text: str) -> list[Noise]:
    """Second and later copies of a line, such as a title printed twice."""
    seen: set[str] = set()
    out = []
    for start, end, line in _lines(text):
        key = " ".join(line.split()).lower()
        if len(key) < 20:
            continue
        if key in seen:
            out.append(Noise(start, end, "repeated line"))
        seen.add(key)
    return out


def _link_farm(text: str) -> list[Noise]:
    """Blocks of truncated teasers ("Title\\n\\nFirst words of the story...").

    A teaser paragraph ends in an ellipsis and is short; the title line just
    before it belongs to it. A "Recommended"-style marker followed mostly by
    such teasers removes everything from the marker to the end of the text.
    """
    paragraphs = [(s, e, line) for s, e, line in _lines(text) if line.strip()]
    teaser_idx = {
        i for i, (_s, _e, line) in enumerate(paragraphs)
        if TEASER_END.search(line) and len(line.strip()) <= 200
    }
    out: list[Noise] = []
    for i in sorted(teaser_idx):
        s, e, _ = paragraphs[i]
        out.append(Noise(s, e, "teaser"))
        if i > 0 and i - 1 not in teaser_idx:
            ps, pe, prev = paragraphs[i - 1]
            # A headline: short, and either unpunctuated or a question.
            if len(prev.strip()) <= 160 and (prev.rstrip().endswith("?") or not SENTENCE_END.search(prev)):
                out.append(Noise(ps, pe, "teaser title"))
    for marker in LINK_FARM_MARKER.finditer(text):
        after = [i for i, p in enumerate(paragraphs) if p[0] > marker.end()]
        if not after:
            out.append(Noise(marker.start(), marker.end(), "link farm"))
            continue
        teasers = sum(1 for i in after if i in teaser_idx)
        if teasers * 2 >= len(after) * 0.8:  # at least ~40% teasers, the rest their titles
            out.append(Noise(marker.start(), len(text), "link farm"))
    return out


def _merge(spans: list[Noise]) -> list[Noise]:
    merged: list[Noise] = []
    for span in sorted(spans, key=lambda n: (n.start, -n.end)):
        if span.end <= span.start:
            continue
        if merged and span.start <= merged[-1].end:
            last = merged[-1]
            if span.end > last.end:
                merged[-1] = Noise(last.start, span.end, last.reason)
            continue
        merged.append(span)
    return merged


def clean_segments(text: str, noise: list[Noise]) -> list[tuple[int, int]]:
    """The spans of ``text`` between the noise, trimmed of surrounding white space."""
    segments, pos = [], 0
    for span in noise + [Noise(len(text), len(text), "end")]:
        start, end = pos, span.start
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            segments.append((start, end))
        pos = max(pos, span.end)
    return segments
