"""A PDF page's lines in reading order: one column or two, rows joined on their baseline.

Split from the extractor so that the geometry (where a gutter sits, which
lines share a baseline) reads apart from the text rules.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import groupby

import numpy as np

GUTTER_SPAN = (0.3, 0.7)  # where a column gutter may sit, as shares of the width the page's text spans
COLUMN_LINES = 6  # lines of prose each column of a two-column page has at least
COLUMN_WIDTH = 0.3  # a line of prose in a column spans at least this share of the text width
ACROSS_SHARE = 0.25  # lines across the gutter (a title, a wide caption) are at most this many per column line


@dataclass
class Row:
    page: int
    top: float  # distance from the top of the page
    bottom: float
    x0: float  # left edge of the row
    body_x0: float  # left edge of its last piece: where wrapped lines of a definition align
    text: str
    size: float
    bold: bool
    mono: bool
    page_height: float = 0.0
    column: int = 0  # 1 or 2 in a column of a two-column page, 0 for a line across the page

    @property
    def height(self) -> float:
        return max(1.0, self.bottom - self.top)


def reading_groups(lines: list[tuple[Row, float]]) -> list[list[Row]]:
    """A page's lines (each with its right edge) in groups to be read one after another: the whole page, or for
    a page in two columns, the lines across it and, between them, the left column, then the right one.

    A line beside one that crosses the gutter (on the same baseline) reads with it, not in a column, and so do
    the lines set off above or below the columns' prose (running heads, page numbers), which stay one row to be
    recognised as such.
    """
    rows = [row for row, _right in lines]
    gutter = _gutter(lines)
    if gutter is None:
        return [rows]

    def crosses(row: Row, right: float) -> bool:
        return row.x0 < gutter < right

    across = [row for row, right in lines if crosses(row, right)]
    _start, width = _text_span(lines)
    prose = [row for row, right in lines if not crosses(row, right) and right - row.x0 >= COLUMN_WIDTH * width]
    top, bottom = min(row.top for row in prose), max(row.bottom for row in prose)  # the columns' text block

    def side(row: Row, right: float) -> int:
        """0 for a line read across the page, 1 or 2 for the left or right column."""
        # A line set off above or below the columns' prose by more than its height: a running head, a page number.
        outside = row.bottom < top - row.height or row.top > bottom + row.height
        if crosses(row, right) or outside or any(_same_band(row, other) for other in across):
            return 0
        return 1 if right <= gutter else 2

    groups: list[list[Row]] = [[]]  # the last group is the lines across the page being read
    run: list[tuple[int, Row]] = []  # column lines since the last line across

    def close_run() -> None:
        if {column for column, _row in run} == {1, 2}:  # a band in two columns: left, then right
            groups.extend([replace(row, column=n) for column, row in run if column == n] for n in (1, 2))
            groups.append([])
        else:  # short lines on one side only (a paragraph's last lines): read across with the rest
            groups[-1].extend(row for _column, row in run)
        run.clear()

    for row, right in sorted(lines, key=lambda line: line[0].top):
        column = side(row, right)
        if column:
            run.append((column, row))
            continue
        close_run()
        groups[-1].append(row)
    close_run()
    return [group for group in groups if group]


def _text_span(lines: list[tuple[Row, float]]) -> tuple[float, float]:
    """Where a page's text starts on the left, and how wide it runs."""
    start = min(row.x0 for row, _right in lines)
    return start, max(right for _row, right in lines) - start


def _middle_of_widest_run(positions: np.ndarray, clear: np.ndarray) -> float:
    """The middle of the longest run of consecutive ``positions`` where ``clear`` holds (one strip, not the
    midpoint of two: a page in three columns has two gutters)."""
    runs = [list(run) for ok, run in groupby(range(len(clear)), key=lambda i: clear[i]) if ok]
    widest = max(runs, key=len)
    return float(positions[widest[(len(widest) - 1) // 2]])


def _same_band(row: Row, other: Row) -> bool:
    """Whether two lines share most of their height (one printed row)."""
    overlap = min(row.bottom, other.bottom) - max(row.top, other.top)
    return overlap > 0.5 * min(row.height, other.height)


def _gutter(lines: list[tuple[Row, float]]) -> float | None:
    """Where a two-column page's columns part (the middle of the widest strip the fewest lines cross), or None.

    Both sides need ``COLUMN_LINES`` lines that span ``COLUMN_WIDTH`` of the text width (prose, not a definition
    list's terms or a table's short cells), and few lines across the gutter (``ACROSS_SHARE``): a page
    with prose above a two-column index is read row by row, and a page in three columns as two.
    """
    if len(lines) < 2 * COLUMN_LINES:
        return None
    lefts = np.array([row.x0 for row, _right in lines])
    rights = np.array([right for _row, right in lines])
    start, width = _text_span(lines)
    if width <= 0:
        return None
    positions = np.arange(start + GUTTER_SPAN[0] * width, start + GUTTER_SPAN[1] * width, 1.0)
    crossing = ((lefts[None, :] < positions[:, None]) & (rights[None, :] > positions[:, None])).sum(axis=1)
    gutter = _middle_of_widest_run(positions, crossing == crossing.min())
    left, right = rights <= gutter, lefts >= gutter
    if crossing.min() > ACROSS_SHARE * (left.sum() + right.sum()):
        return None
    wide = rights - lefts >= COLUMN_WIDTH * width
    if min((left & wide).sum(), (right & wide).sum()) < COLUMN_LINES:
        return None
    return gutter


def same_baseline(lines: list[Row], page_height: float) -> list[Row]:
    """Lines of one page in reading order, those sharing a baseline joined into one row, left to right.

    Lines within 0.4 of a line's height of the first line of a band share its baseline; a term set a
    fraction of a point lower than its definition still leads it (rounding each baseline on its own put
    "\\xHH" after "the eight-bit character whose value …" when one rounded up and the other down).
    """
    bands: list[list[Row]] = []
    for line in sorted(lines, key=lambda r: r.bottom):
        if bands and abs(bands[-1][0].bottom - line.bottom) <= 0.4 * line.height:
            bands[-1].append(line)
        else:
            bands.append([line])
    rows: list[Row] = []
    for band in bands:
        band.sort(key=lambda r: r.x0)
        row = band[0]
        for line in band[1:]:
            if line.x0 <= row.x0 + 1:  # printed over the same place: a row of its own
                rows.append(row)
                row = line
                continue
            row = replace(row, top=min(row.top, line.top), bottom=max(row.bottom, line.bottom), body_x0=line.x0,
                          text=f"{row.text} {line.text}", mono=row.mono and line.mono)
        rows.append(row)
    return rows
