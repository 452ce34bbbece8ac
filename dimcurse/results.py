"""Results: tidy rows plus provenance, their aggregation over seeds, and small pluggable writers.

Output contract: one row per setting x seed with the kernel's documented snake_case
columns. Provenance travels embedded (json: ``{"provenance", "rows"}``; markdown: a
closing ``<details>`` block; parquet: schema metadata key ``dimcurse``) and, for every
file written, as a sidecar ``FILE.provenance.json``. Files are written atomically.
"""

from __future__ import annotations

import html
import io
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from dimcurse.errors import DimcurseError


@dataclass(kw_only=True)
class Result:
    """What a kernel's ``run`` returns (built with keywords only).

    ``group_by``: the setting columns rows are aggregated over seeds by. ``show``: the
    (measured, theory) column pairs the terminal table displays; theory may be None.
    ``analysis``: what the kernel derives from its rows beyond the means (approx: the
    exponent fits; overparam: the per-width threshold and peak summary), with its title
    and its key columns.
    """

    kernel: str
    rows: pd.DataFrame
    provenance: dict
    group_by: list[str] = field(default_factory=list)
    show: list[tuple[str, str | None]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    analysis: pd.DataFrame | None = None
    analysis_title: str = ""
    analysis_keys: tuple[str, ...] = ()
    analysis_hidden: tuple[str, ...] = ()  # analysis columns kept in files but not shown on screen
    tables: dict = field(default_factory=dict)  # tables for figures and curves (histograms, curves), written beside
    pooled: list[str] = field(default_factory=list)  # settings averaged over as well as seeds (report --pool)
    nullable: dict | None = None  # a kernel's NULLABLE: the columns that may be undefined, and why (checked)
    replicates: dict | None = (
        None  # a kernel's REPLICATES: the columns a mean is over besides the seed, and their words
    )

    def __post_init__(self) -> None:
        if self.nullable is not None:
            check_defined(self)

    @property
    def fits(self) -> pd.DataFrame | None:
        """The older name of ``analysis`` (approx's exponent fits)."""
        return self.analysis

    @fits.setter
    def fits(self, value: pd.DataFrame | None) -> None:
        self.analysis = value

    @property
    def summary(self) -> pd.DataFrame:
        """The mean ± sd table the terminal shows, as a DataFrame (``<col>_mean``, ``<col>_sd``, theory)."""
        return aggregate(self)

    def to(self, path: str, format: str | None = None) -> None:
        """Write the rows (with provenance) to ``path`` in any supported format (by suffix, or ``format``);
        ``"-"``: to stdout, the command line's tables by default (as ``--out -``), or ``format``'s text."""
        if format_for(path, format) == "table":
            self.display()
            return
        write_result(self, path, format)

    def display(self) -> None:
        """Print what the command line prints: the mean ± sd table with theory beside it, the analysis (approx's
        fits), and the notes (``print(result)`` does the same; ``show`` is the field of the displayed columns)."""
        if not _RENDERER:  # filled by dimcurse.render, which this module sits below
            raise DimcurseError("display() needs the renderer: import dimcurse.render first", "display")
        _RENDERER[0](self)

    def figure(self):
        """The kernel's figure of this result as a matplotlib Figure (needs the plot extra), as --plot draws it."""
        if not _FIGURES:  # filled by dimcurse.experiments, which this module sits below
            raise DimcurseError("figure() needs the kernels: import dimcurse first", "figure")
        return _FIGURES[0](self)

    def plot(self, path: str) -> str:
        """Draw the kernel's figure to ``path`` (.png .svg .pdf), as ``--plot PATH`` does; returns the path."""
        if not _FIGURES:
            raise DimcurseError("plot() needs the kernels: import dimcurse first", "plot")
        _FIGURES[1](path)  # the path checked before anything is drawn
        _FIGURES[2](self.figure(), path)
        return path

    def __str__(self) -> str:
        if not _RENDERER:
            return repr(self)
        return _RENDERER[1](self)

    def __repr__(self) -> str:
        seeds = self.rows["seed"].nunique() if "seed" in self.rows else 0
        parts = [f"{len(self.rows)} rows", f"{seeds} seed(s)"]
        if self.analysis is not None:
            parts.append(f"analysis: {len(self.analysis)} row(s)")
        parts.append(f"{len(self.notes)} note(s)")
        return f"<dimcurse Result {self.kernel}: {', '.join(parts)}; print() or .display() for the tables>"

    def _repr_html_(self) -> str:
        """The summary and analysis tables with the notes, for a notebook."""
        parts = [f"<h4>dimcurse {self.kernel}</h4>", self.summary.to_html(index=False, na_rep="", float_format="%.4g")]
        if self.analysis is not None and len(self.analysis):
            parts += [f"<h5>{html.escape(self.analysis_title)}</h5>", _shown(self.analysis).to_html(
                index=False, na_rep="", float_format="%.4g")]  # fmt: skip
        parts += [f"<p>note: {html.escape(note)}</p>" for note in self.notes]
        return "\n".join(parts)

    def _repr_markdown_(self) -> str:
        parts = [f"**dimcurse {self.kernel}**", "", markdown_table(self.summary)]
        if self.analysis is not None and len(self.analysis):
            parts += ["", f"*{self.analysis_title}*", "", markdown_table(_shown(self.analysis))]
        parts += [""] + [f"- note: {note}" for note in self.notes]
        return "\n".join(parts)


_RENDERER: list = []  # (print, as text) of a Result, put here by dimcurse.render (a layer above this module)


def set_renderer(show: Callable, text: Callable) -> None:
    """How ``Result.display`` prints and ``str(result)`` reads (called once by dimcurse.render)."""
    _RENDERER[:] = [show, text]


_FIGURES: list = []  # (draw, check, save) of a Result's figure, put here by dimcurse.experiments (a layer above)


def set_figure_maker(draw: Callable, check: Callable, save: Callable) -> None:
    """How ``Result.figure`` draws (the kernel's figure hook) and ``Result.plot`` checks a path and writes
    (called once by dimcurse.experiments)."""
    _FIGURES[:] = [draw, check, save]


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as a notebook shows it: without the columns empty in every row."""
    return frame.dropna(axis=1, how="all")


def markdown_table(frame: pd.DataFrame, digits: int = 4) -> str:
    """A DataFrame as a markdown table (numbers to ``digits`` significant figures, NaN blank)."""
    frame = _shown(frame)

    def cell(value) -> str:
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.{digits}g}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the nullable contract


class UndefinedValue(AssertionError):
    """A non-finite value in a column its kernel does not declare nullable: a bug (raised under DIMCURSE_STRICT)."""


def renamed_columns(rows: pd.DataFrame, renames: dict) -> pd.DataFrame:
    """Rows written under a column's older name (``renames``: old -> new), with its name now; a column already
    under its new name is left alone."""
    old = {a: b for a, b in renames.items() if a in rows and b not in rows}
    return rows.rename(columns=old) if old else rows


def undefined_cells(rows: pd.DataFrame, nullable: dict) -> dict[str, pd.Series]:
    """Per numeric column, a mask of its rows that break the contract: inf anywhere, NaN where ``nullable``
    does not allow it."""
    cells = {}
    for name in rows.select_dtypes("number").columns:
        values = rows[name].astype(float)
        bad = values.isin([math.inf, -math.inf]) | (values.isna() & ~_may_be_undefined(rows, nullable.get(name)))
        if bad.any():
            cells[name] = bad
    return cells


def _may_be_undefined(rows: pd.DataFrame, entry) -> pd.Series:
    """The rows where a column may be NaN: none (not in NULLABLE), all (a reason), or where the flag
    column of a (reason, flag) entry is set."""
    if isinstance(entry, str):
        return pd.Series(True, index=rows.index)
    if entry is None or entry[1] not in rows:
        return pd.Series(False, index=rows.index)
    return rows[entry[1]].astype(bool)


def check_defined(result: Result) -> None:
    """Every value a kernel's row shows is finite, or undefined (NaN) in a column it declares nullable.

    Anything else is a bug: under ``DIMCURSE_STRICT=1`` (the test suite) it raises; in use the
    value is blanked, the row flagged in an ``undefined`` column naming the columns, and a note
    says so, so no bare inf or NaN is shown or written."""
    cells = undefined_cells(result.rows, result.nullable)
    if not cells:
        return
    where = ", ".join(f"{name} ({int(mask.sum())} row(s))" for name, mask in cells.items())
    if os.environ.get("DIMCURSE_STRICT") == "1":
        raise UndefinedValue(f"{result.kernel}: non-finite values in non-nullable columns: {where}")
    rows = result.rows.copy()
    flagged = pd.Series("", index=rows.index)
    for name, mask in cells.items():
        rows.loc[mask, name] = math.nan
        flagged[mask] = flagged[mask].str.cat([name] * int(mask.sum()), sep=" ").str.strip()
    rows["undefined"] = flagged
    result.rows = rows
    result.notes.append(
        f"undefined values were blanked, not shown as inf/NaN: {where}; the rows are flagged in the "
        "undefined column. This is a dimcurse bug: please report it with the command."
    )


# --------------------------------------------------------------------------- aggregation


def aggregate(result: Result) -> pd.DataFrame:
    """Mean and sample sd over seeds of every shown column, per setting (``n_seeds`` counts the rows).

    Columns: the group columns, ``n_seeds``, then ``<col>_mean`` and ``<col>_sd`` for each
    measured column, and the theory column itself (constant within a group).
    """
    rows = result.rows
    flags = {m: float for m, _ in result.show if rows[m].dtype == bool}  # a flag's mean is the fraction of seeds
    rows = rows.astype(flags) if flags else rows
    groups = rows.groupby(result.group_by, sort=False, dropna=False)
    out = groups.size().rename("n_seeds").to_frame()
    for measured, theory in result.show:
        values = groups[measured]
        out[f"{measured}_mean"] = values.mean()
        # NaN for a single seed (no spread to show) and for flags, whose mean is already the fraction of seeds.
        out[f"{measured}_sd"] = _sd(rows, groups, measured, result.group_by) if measured not in flags else math.nan
        if theory is not None:
            # one value per group, or none: a pooled group mixes settings with different theory values
            out[theory] = groups[theory].first().where(groups[theory].nunique(dropna=False) <= 1)
            if f"{theory}_limit" in rows:  # the theory value is a limit, not exact (distance's lp cv)
                out[f"{theory}_limit"] = groups[f"{theory}_limit"].any()
    return out.reset_index()


def _sd(rows: pd.DataFrame, groups, column: str, keys: list[str]) -> pd.Series:
    """Sample sd per group, of the values over the group's largest |value| and then times it: values
    near 1e200 (a user's target in its own units) would overflow when squared."""
    if rows[column].dtype.kind not in "fiu":
        return groups[column].std(ddof=1)
    by = [rows[k] for k in keys]
    top = rows[column].abs().groupby(by, sort=False, dropna=False).transform("max")
    top = top.where(top > 0, 1.0)
    scaled = (rows[column] / top).groupby(by, sort=False, dropna=False).std(ddof=1)
    return scaled * top.groupby(by, sort=False, dropna=False).first()


def fmt(value: float, digits: int = 4) -> str:
    """A number for the terminal: 4 significant digits, blanks for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def mean_sd(mean: float, sd: float) -> str:
    """``1.234 ± 0.05``; just the mean when there is no spread (one seed)."""
    if isinstance(sd, float) and (math.isnan(sd) or sd == 0.0):
        return fmt(mean)  # one seed, or a value every seed shares (a parameter count)
    return f"{fmt(mean)} ± {fmt(sd, 2)}"


# --------------------------------------------------------------------------- writers


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _records(rows: pd.DataFrame) -> list[dict]:
    """Rows as plain dicts; NaN becomes null so the JSON is valid."""
    return json.loads(rows.to_json(orient="records", double_precision=15))


def to_csv(result: Result) -> str:
    return to_csv_frame(result.rows)


def to_json(result: Result) -> str:
    body = {"provenance": result.provenance, "rows": _records(result.rows)}
    return json.dumps(body, indent=1, default=_json_default) + "\n"


def to_jsonl(result: Result) -> str:
    return "".join(json.dumps(r, default=_json_default) + "\n" for r in _records(result.rows))


def to_markdown(result: Result) -> str:
    """The table shown on screen (mean ± sd over seeds, theory beside it), the fits and notes,
    then the provenance in a ``<details>`` block. A result without shown columns (a report's
    raw rows, a comparison) is written row by row."""
    lines = []
    if result.show:
        summary = aggregate(result)
        keys = result.group_by + (["n_seeds"] if summary["n_seeds"].nunique() > 1 else [])
        shown = [(m, t) for m, t in result.show if summary[f"{m}_mean"].notna().any()]
        spread = " (mean ± sd)" if summary["n_seeds"].max() > 1 else ""
        header = keys + [h for m, t in shown for h in [m + spread] + ([f"{m} theory"] if t else [])]
        body = [
            [fmt(row[k]) for k in keys]
            + [
                c
                for m, t in shown
                for c in [mean_sd(row[f"{m}_mean"], row[f"{m}_sd"])] + ([_md_theory(row, t)] if t else [])
            ]
            for _, row in summary.iterrows()
        ]
        lines += [
            f"**dimcurse {result.kernel}**: mean ± sd over seeds ({int(summary['n_seeds'].max())} per row)",
            "",
            *_md_table(header, body),
        ]
    else:
        cols = list(result.rows.columns)
        lines += _md_table(cols, [[fmt(row[c], 10) for c in cols] for _, row in result.rows.iterrows()])
    if result.analysis is not None and len(result.analysis):
        cols = [c for c in result.analysis.columns if c != "log_c"]
        lines += [
            "",
            f"**{result.analysis_title or 'analysis'}**",
            "",
            *_md_table(cols, [[fmt(row[c]) for c in cols] for _, row in result.analysis.iterrows()]),
        ]
    lines += [""] + [f"- note: {note}" for note in result.notes] if result.notes else []
    block = json.dumps(result.provenance, indent=1, default=_json_default)
    return "\n".join(lines) + f"\n\n<details><summary>provenance</summary>\n\n```json\n{block}\n```\n</details>\n"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    def escape(text):  # a | inside a cell would split it
        return str(text).replace("|", "\\|")

    out = ["| " + " | ".join(escape(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(escape(c) for c in row) + " |" for row in rows]


def _md_theory(row, theory: str) -> str:
    limit = f"{theory}_limit" in row.index and bool(row[f"{theory}_limit"])
    return ("≈ " if limit and fmt(row[theory]) else "") + fmt(row[theory])


def to_parquet(result: Result) -> bytes:
    pa = _pyarrow()
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(result.rows, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"dimcurse"] = json.dumps(result.provenance, default=_json_default).encode()
    buffer = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(meta), buffer)
    return buffer.getvalue()


def _pyarrow():
    try:
        import pyarrow

        return pyarrow
    except ImportError:
        raise DimcurseError("parquet output needs pyarrow: pip install 'dimcurse[parquet]'", "--out") from None


WRITERS: dict[str, Callable[[Result], str | bytes]] = {
    "csv": to_csv,
    "json": to_json,
    "jsonl": to_jsonl,
    "markdown": to_markdown,
    "parquet": to_parquet,
}
SUFFIXES = {
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".md": "markdown",
    ".markdown": "markdown",
    ".parquet": "parquet",
}
STDOUT_FORMATS = ("json", "jsonl", "csv", "markdown", "table")


def format_for(path: str, fmt_name: str | None) -> str:
    """The output format: ``--format`` when given, else the suffix of ``--out``."""
    if fmt_name is not None:
        name = fmt_name.strip().lower()
        if name not in STDOUT_FORMATS + ("parquet",) or (name == "parquet" and path == "-"):
            raise DimcurseError(f"unknown format {fmt_name!r} (use {', '.join(STDOUT_FORMATS)})", "--format")
        if name == "table" and path != "-":
            raise DimcurseError("'table' is for the terminal; give --out - or a file suffix", "--format")
        return name
    if path == "-":
        return "table"
    suffix = Path(path).suffix.lower()
    if suffix in (".png", ".svg", ".pdf", ".jpg", ".jpeg"):
        raise DimcurseError(
            f"{path!r} is a figure; for a figure use --plot {path} (--out takes the rows: {', '.join(SUFFIXES)})",
            "--out",
        )
    if suffix not in SUFFIXES:
        raise DimcurseError(f"cannot tell the format of {path!r} (use {', '.join(SUFFIXES)})", "--out")
    return SUFFIXES[suffix]


def check_writable(path: str, fmt_name: str | None) -> str:
    """Fail before any work if the output cannot be written; return the format."""
    name = format_for(path, fmt_name)
    if path == "-":
        return name
    if name == "parquet":
        _pyarrow()
    target = Path(path).expanduser()
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise DimcurseError(f"{path!r} is a directory", "--out")
    if not parent.is_dir():
        raise DimcurseError(f"directory {str(parent)!r} does not exist", "--out")
    if not os.access(parent, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise DimcurseError(f"{path!r} is not writable", "--out")
    probe_writable(parent, path)
    return name


def probe_writable(folder: Path, path: str, option: str = "--out") -> None:
    """Create and remove a file where the result will go: access() says yes to root on a
    read-only mount and in /proc, where the write after a long run would then fail."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".dimcurse-probe-", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DimcurseError(f"{path!r} is not writable ({exc.strerror})", option) from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: str | bytes, option: str = "--out") -> None:
    """Write to a temporary file beside ``path``, fsync, then rename: readers never see half a file."""
    write_atomic_many([(path, data)], option)


def write_atomic_many(files: list[tuple[Path, str | bytes]], option: str = "--out") -> None:
    """Write several files all or none: every one to a fsynced temporary first, then the renames.

    A full disk or a read-only folder fails in the first phase, which leaves every earlier
    file as it was (a result and its provenance sidecar never disagree) and no temporary behind.
    """
    staged = []
    try:
        for path, data in files:
            path = Path(path).expanduser()
            staged.append((_stage(path, data, option), path))
        for tmp, path in staged:
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise DimcurseError(f"cannot write {str(path)!r}: {exc.strerror}", option) from None
    finally:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)  # gone already unless a phase failed


def _stage(path: Path, data: str | bytes, option: str) -> str:
    """The payload in a fsynced temporary beside ``path`` (removed again if writing it fails)."""
    payload = data.encode() if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise DimcurseError(f"cannot write {str(path)!r}: {exc.strerror}", option) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a result file gets the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise DimcurseError(f"cannot write {str(path)!r}: {exc.strerror}", option) from None
    return tmp


def write_result(result: Result, path: str, fmt_name: str | None = None) -> None:
    """Write ``result`` to ``path`` (``-`` is stdout) in the chosen format, with its provenance sidecar."""
    name = format_for(path, fmt_name)
    data = WRITERS[name](result)
    if path == "-":
        sys.stdout.write(data)
        sys.stdout.flush()
        return
    target = Path(path).expanduser()
    sidecar = target.with_name(target.name + ".provenance.json")
    files = [(target, data), (sidecar, json.dumps(result.provenance, indent=1, default=_json_default) + "\n")]
    # Tables for figures (distance's histograms) go beside it, so `dimcurse plot FILE` redraws every panel.
    files += [(table_sidecar(target, name), to_csv_frame(table)) for name, table in result.tables.items()]
    write_atomic_many(files)


def pack_table(frame: pd.DataFrame) -> dict:
    """A figure table for a store record, by column: a column with one value is stored once."""
    out = {}
    for column in frame.columns:
        values = frame[column].tolist()
        out[column] = {"all": values[0], "n": len(values)} if len(set(map(str, values))) == 1 else values
    return out


def unpack_table(packed: dict) -> pd.DataFrame:
    n = max((len(v) if isinstance(v, list) else v["n"] for v in packed.values()), default=0)
    return pd.DataFrame({c: v if isinstance(v, list) else [v["all"]] * n for c, v in packed.items()})


def table_sidecar(path: Path, name: str) -> Path:
    """``results.csv`` -> ``results.csv.histograms.csv``."""
    return path.with_name(f"{path.name}.{name}.csv")


def to_csv_frame(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, float_format="%.10g", lineterminator="\n")
