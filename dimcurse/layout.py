"""Tables that fit the terminal they are printed in, with no value cut.

A ``Grid`` is a table of already-formatted cells. ``fit`` lays it out for a width:
settings that are constant over the rows go to the caption, long text becomes numbered
footnotes, and a table still too wide splits into stacked panels (the key columns repeated
in each), or, when not even one measured column fits beside the keys, turns vertical (a block of
name and value lines per row). Cells are never wrapped or truncated: rich is told
``no_wrap`` and every column is given its natural width.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from rich.table import Table
from rich.text import Text

FOOTNOTE_AT = 28  # a text cell longer than this many characters becomes a footnote


@dataclass
class Cell:
    """One cell: its lines (a theory value goes on a second line) and a style per line."""

    lines: list[str]
    styles: list[str | None] = field(default_factory=list)

    @property
    def width(self) -> int:
        return max((len(line) for line in self.lines), default=0)

    def text(self) -> Text:
        out = Text()
        for i, line in enumerate(self.lines):
            style = self.styles[i] if i < len(self.styles) else None
            out.append(("\n" if i else "") + line, style=style or "")
        return out


@dataclass
class Grid:
    """Formatted cells, the key (setting) columns first; ``numeric`` columns are right-aligned."""

    title: str
    headers: list[str]
    rows: list[list[Cell]]
    n_keys: int = 0
    numeric: set[int] = field(default_factory=set)
    caption: list[str] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)


THEORY_STYLE = "cyan"  # a theory value's line under its measurement
THEORY_WORDS = {True: "in cyan", False: "in parentheses"}  # how the caption names them, with colour and without


def cell(value: str, theory: str | None = None) -> Cell:
    if theory:
        return Cell([value, theory], [None, THEORY_STYLE])
    return Cell([value])


def without_colour(grid: Grid) -> Grid:
    """The grid for a console without colour (a pipe, NO_COLOR): theory lines in parentheses, and the caption
    saying so, so they keep their meaning."""

    def plain(c: Cell) -> Cell:
        lines = [
            f"({line})" if i < len(c.styles) and c.styles[i] == THEORY_STYLE else line for i, line in enumerate(c.lines)
        ]
        return Cell(lines, [None if style == THEORY_STYLE else style for style in c.styles])

    caption = [line.replace(THEORY_WORDS[True], THEORY_WORDS[False]) for line in grid.caption]
    rows = [[plain(c) for c in row] for row in grid.rows]
    return Grid(grid.title, list(grid.headers), rows, grid.n_keys, set(grid.numeric), caption, list(grid.footnotes))


def lift_constants(grid: Grid, keep_one: bool = False) -> Grid:
    """Columns with one value in every row (and more than one row) move to the caption as ``name = value``."""
    if len(grid.rows) < 2:
        return grid
    constant = [
        j
        for j in range(len(grid.headers))
        if len({tuple(row[j].lines) for row in grid.rows}) == 1 and len(grid.rows[0][j].lines) == 1
    ]
    if keep_one and len(constant) == len(grid.headers):
        constant = constant[1:]
    if not constant:
        return grid
    said = [f"{grid.headers[j]} = {grid.rows[0][j].lines[0]}" for j in constant if grid.rows[0][j].lines[0]]
    keep = [j for j in range(len(grid.headers)) if j not in constant]
    return columns_of(grid, keep, grid.caption + ([", ".join(said)] if said else []))


def columns_of(grid: Grid, keep: list[int], caption: list[str] | None = None) -> Grid:
    """The grid with only the columns ``keep`` (in order), its key count and right-aligned columns following;
    ``caption``: a new caption (default: the grid's)."""
    return Grid(
        grid.title,
        [grid.headers[j] for j in keep],
        [[row[j] for j in keep] for row in grid.rows],
        n_keys=sum(1 for j in keep if j < grid.n_keys),
        numeric={keep.index(j) for j in grid.numeric if j in keep},
        caption=list(grid.caption if caption is None else caption),
        footnotes=list(grid.footnotes),
    )


def footnote_long_text(grid: Grid, columns: set[int] | None = None) -> Grid:
    """Text longer than FOOTNOTE_AT (in ``columns``, default all) becomes ``[n]`` in the cell and
    ``[n] text`` below; one number per distinct text."""
    notes = list(grid.footnotes)
    rows = []
    for row in grid.rows:
        new = []
        for j, c in enumerate(row):
            if (columns is None or j in columns) and len(c.lines) == 1 and len(c.lines[0]) > FOOTNOTE_AT:
                if c.lines[0] not in notes:
                    notes.append(c.lines[0])
                c = Cell([f"[{notes.index(c.lines[0]) + 1}]"])
            new.append(c)
        rows.append(new)
    return Grid(grid.title, grid.headers, rows, grid.n_keys, grid.numeric, grid.caption, notes)


def _widths(grid: Grid) -> list[int]:
    """Each column's natural width: its widest cell, or its header's longest word."""
    out = []
    for j, header in enumerate(grid.headers):
        words = max((len(w) for w in header.split()), default=1)
        out.append(max([words] + [row[j].width for row in grid.rows]))
    return out


def table_width(widths: list[int]) -> int:
    """What rich draws for these column widths: one space of padding each side and a rule between."""
    return sum(widths) + 3 * len(widths) + 1


def fit(grid: Grid, width: int) -> list:
    """Renderables for a console of ``width`` columns: caption lines, one or more tables, footnotes. Columns
    empty in every row are left out (files keep them); one row that would split into parts prints as a
    vertical list of name and value."""
    grid = without_empty_columns(grid)
    widths = _widths(grid)
    keys = list(range(grid.n_keys))
    panels = _panels(widths, keys, list(range(grid.n_keys, len(grid.headers))), width)
    parts: list = [Text(grid.title, style="italic")]
    parts += [Text(line) for line in grid.caption]
    if panels is None or (len(grid.rows) == 1 and len(panels) > 1):
        parts += _vertical(grid, widths, width)
    else:
        for i, columns in enumerate(panels):
            label = f" (part {i + 1} of {len(panels)})" if len(panels) > 1 else ""
            parts.append(_table(grid, keys + columns, widths, label))
    parts += [Text(f"[{i + 1}] {note}") for i, note in enumerate(grid.footnotes)]
    return parts


def without_empty_columns(grid: Grid) -> Grid:
    """The grid without the columns whose every cell is empty (a setting no row has, as teacher k beside a
    Barron target)."""
    keep = [j for j in range(len(grid.headers)) if any("".join(row[j].lines).strip() for row in grid.rows)]
    if len(keep) == len(grid.headers) or not grid.rows:
        return grid
    return columns_of(grid, keep)


def _panels(widths: list[int], keys: list[int], rest: list[int], width: int) -> list[list[int]] | None:
    """Measured columns packed greedily into panels that fit beside the keys; None if one does not."""
    panels: list[list[int]] = []
    current: list[int] = []
    for j in rest:
        if table_width([widths[k] for k in keys + current + [j]]) <= width:
            current.append(j)
            continue
        if not current:
            return None
        panels.append(current)
        current = [j]
        if table_width([widths[k] for k in keys + current]) > width:
            return None
    if current or not panels:
        panels.append(current)
    return panels


def _table(grid: Grid, columns: list[int], widths: list[int], label: str) -> Table:
    table = Table(title=label.strip() or None, title_justify="left", show_edge=True)
    for j in columns:
        header = "\n".join(textwrap.wrap(grid.headers[j], widths[j], break_long_words=False)) or grid.headers[j]
        table.add_column(
            header,
            justify="right" if j in grid.numeric else "left",
            no_wrap=True,
            min_width=widths[j],
            max_width=widths[j],
        )
    for row in grid.rows:
        table.add_row(*[row[j].text() for j in columns])
    return table


def _vertical(grid: Grid, widths: list[int], width: int) -> list:
    """Each row as a block of ``name`` / indented value lines, under its key values: for
    terminals narrower than the keys and one measured column."""
    out = []
    pad = max((len(grid.headers[j]) for j in range(grid.n_keys, len(grid.headers))), default=0)
    for row in grid.rows:
        title = ", ".join(f"{grid.headers[k]} = {row[k].lines[0]}" for k in range(grid.n_keys))
        out.append(Text(title or "-", style="bold"))
        for j in range(grid.n_keys, len(grid.headers)):
            first, *rest = row[j].lines or [""]
            if pad + 4 + len(first) <= width:  # name and value on one line, the values aligned
                out.append(Text(f"  {grid.headers[j]:<{pad}}  {first}"))
            else:
                out += [Text("  " + grid.headers[j]), Text("    " + first)]
            for i, line in enumerate(rest, 1):
                style = (row[j].styles[i] if i < len(row[j].styles) else None) or ""
                out.append(Text(" " * (pad + 4) + line, style=style))
    return out


def duration(seconds: float) -> str:
    """``38 s``, ``4 min 10 s``, ``2 h 05 min``: a wall time in words, to the precision it has (the batch log's
    ETA and the docs' stated times, tools/readme_examples.py)."""
    if seconds < 1:
        return "< 1 s"
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    seconds = round(seconds)
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
