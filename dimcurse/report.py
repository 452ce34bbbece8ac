"""Reading results back: stores and result files as per-kernel tables, reports and comparisons."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dimcurse.errors import DimcurseError
from dimcurse.experiments import REGISTRY
from dimcurse.options import config_from_dict
from dimcurse.results import Result, renamed_columns, table_sidecar, unpack_table
from dimcurse.store import QUARANTINE, BadLine, is_store, read_store


@dataclass
class Source:
    """One kernel's rows from a store or a result file, with the provenance blocks behind them."""

    kernel: str
    rows: pd.DataFrame
    provenances: list[dict] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # figure tables (distance: histograms)


def load(path: str, option: str = "STORE", *, skip_bad: bool = True, notes: list | None = None) -> dict[str, Source]:
    """A store directory or a result file (.csv .json .jsonl .parquet, with its provenance) by kernel.

    A store's unreadable lines are never passed over in silence: with ``skip_bad`` the readable points are
    returned and one note (appended to ``notes``) names the lines and what recomputes them; without it they
    are an error. Lines that repeat a point get a note too."""
    target = Path(path).expanduser()
    if target.is_dir():
        if not is_store(target):
            raise DimcurseError(f"{path}: not a dimcurse store (no points.jsonl)", option)
        contents = read_store(target)
        sources, bad = _from_store(contents)
        said = [] if notes is None else notes
        if bad:
            words = f"{contents.describe_bad(bad)}: `dimcurse batch SWEEP --store {path}` moves them to {QUARANTINE}"
            words += " and recomputes their points"
            if not skip_bad:
                raise DimcurseError(f"{words}; --skip-bad reports the readable ones", option)
            said.append(f"{words}; reported: the {contents.lines - len(bad)} readable lines.")
        if contents.replaced:
            said.append(
                f"{contents.path}: {contents.replaced} line(s) repeat a point stored before (batch --force "
                "reruns a point); the latest of each is read."
            )
        return sources
    if not target.is_file():
        raise DimcurseError(f"{path}: no such store or result file", option)
    rows, prov = _read_file(target, option)
    kernel = (prov or {}).get("kernel")
    if kernel not in REGISTRY:
        raise DimcurseError(
            f"{path}: no provenance naming a kernel (expected {target.name}.provenance.json beside it)", option
        )
    rows = renamed(kernel, rows)
    rows["run_elapsed_s"] = prov.get("elapsed_s")
    return {kernel: Source(kernel, rows, [prov], _sidecar_tables(target, kernel))}


def renamed(kernel: str, rows: pd.DataFrame) -> pd.DataFrame:
    """Rows written under a column's older name, with its name now (the kernel's RENAMED: old -> new)."""
    return renamed_columns(rows, getattr(REGISTRY.get(kernel), "RENAMED", {}))


def _sidecar_tables(path: Path, kernel: str) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in getattr(REGISTRY[kernel], "TABLES", ()):
        sidecar = table_sidecar(path, name)
        if sidecar.is_file():
            tables[name] = pd.read_csv(sidecar)
    return tables


def _from_store(contents) -> tuple[dict[str, Source], list]:
    """The store's points by kernel, and the records no kernel here can read (store.BadLine): a kernel not
    installed, a version newer than the installed one, or rows of another kernel's columns."""
    sources: dict[str, Source] = {}
    bad = unreadable_lines(contents)
    skipped = {line.number for line in bad}
    for key, record in contents.latest.items():
        if contents.line_of[key] in skipped or not record.get("rows"):
            continue
        frame = renamed(record["kernel"], pd.DataFrame(record["rows"]))
        frame.insert(0, "experiment", record["experiment"])
        frame["run_elapsed_s"] = record.get("elapsed_s")  # wall time of the whole point
        source = sources.setdefault(record["kernel"], Source(record["kernel"], pd.DataFrame()))
        source.rows = pd.concat([source.rows, frame], ignore_index=True) if len(source.rows) else frame
        source.provenances.append(record["provenance"])
        for name, table in (record.get("tables") or {}).items():
            part = unpack_table(table)
            part.insert(0, "experiment", record["experiment"])
            source.tables[name] = (
                pd.concat([source.tables[name], part], ignore_index=True) if name in source.tables else part
            )
    return sources, bad


def unreadable_lines(contents) -> list[BadLine]:
    """Every line of a store no reader here can use, in order: the log's own (``read_store``) and the records
    ``unreadable_record`` refuses."""
    refused = [(key, unreadable_record(record)) for key, record in contents.latest.items()]
    bad = [*contents.bad, *(BadLine(contents.line_of[key], why) for key, why in refused if why)]
    return sorted(bad, key=lambda line: line.number)


def unreadable_record(record: dict) -> str:
    """Why a well-formed store record cannot be read here, or "": its kernel not installed, a version newer
    than the installed one, or rows of another kernel's columns."""
    kernel = record["kernel"]
    if kernel not in REGISTRY:
        return f"kernel {kernel!r} is not installed (installed: {', '.join(REGISTRY)})"
    module = REGISTRY[kernel]
    known = set(module.COLUMNS) | set(getattr(module, "RENAMED", {}))
    for row in record["rows"][:1]:  # a point's rows share their columns
        if not isinstance(row, dict) or 2 * len(known & set(row)) < len(row):
            return f"its rows are not {kernel} rows (most of their columns are not {kernel}'s)"
    version = record.get("kernel_version")
    if isinstance(version, int) and version > module.VERSION:
        return f"{kernel} version {version}, written by a newer dimcurse (this one has {module.VERSION})"
    return ""


def _read_file(path: Path, option: str) -> tuple[pd.DataFrame, dict | None]:
    suffix = path.suffix.lower()
    sidecar = path.with_name(path.name + ".provenance.json")
    prov = json.loads(sidecar.read_text()) if sidecar.exists() else None
    try:
        if suffix == ".json":
            body = json.loads(path.read_text())
            return pd.DataFrame(body["rows"]), body.get("provenance", prov)
        if suffix == ".jsonl":
            return pd.read_json(path, lines=True), prov
        if suffix == ".csv":
            return pd.read_csv(path), prov
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            meta = (table.schema.metadata or {}).get(b"dimcurse")
            return table.to_pandas(), json.loads(meta) if meta else prov
    except (ValueError, KeyError, OSError, ImportError) as exc:
        raise DimcurseError(f"{path}: cannot read ({type(exc).__name__}: {exc})", option) from None
    raise DimcurseError(f"{path}: unknown result format (use .csv .json .jsonl .parquet or a store)", option)


def group_columns(
    kernel: str, rows: pd.DataFrame, chosen: tuple[str, ...] | None = None, pool: tuple[str, ...] = ()
) -> tuple[list[str], list[str]]:
    """The settings rows are aggregated over seeds by, and the ones kept because they vary.

    Chosen (``--group-by``) or the kernel's own keys; then every other setting of the kernel
    (``SETTINGS``) that takes more than one value within a group is added as a key, unless
    ``pool`` names it: only seeds are averaged unless the user asks for more.
    """
    module = REGISTRY[kernel]
    for option, names in (("--group-by", chosen or ()), ("--pool", pool)):
        missing = [c for c in names if c not in rows]
        if missing:
            raise DimcurseError(
                f"no column {missing[0]!r} in the {kernel} rows (columns: {', '.join(rows.columns)})", option
            )
    if chosen:
        keys = list(chosen)
    else:
        wanted = (["experiment"] if "experiment" in rows else []) + list(
            getattr(module, "REPORT_GROUP_BY", module.GROUP_BY)
        )
        keys = list(dict.fromkeys(c for c in wanted if c in rows and c != "seed" and c not in pool))
    added = []
    for column in ["experiment"] + list(getattr(module, "SETTINGS", [])):
        if column in rows and column not in keys and column not in pool and _varies_within(rows, keys, column):
            keys.append(column)
            added.append(column)
    return keys, added


def _varies_within(rows: pd.DataFrame, keys: list[str], column: str) -> bool:
    values = rows[column].astype(str)
    if not keys:
        return values.nunique() > 1
    return bool((values.groupby([rows[k].astype(str) for k in keys], sort=False).nunique() > 1).any())


OPERATORS = ("!=", "<=", ">=", "=", "<", ">")  # two-character operators first


def parse_filter(item: str) -> tuple[str, str, list[str]]:
    """``dim>=100``, ``metric!=l1``, ``metric in (l1, l2)`` or ``metric in l1|l2`` -> (column, op, values)."""
    text = item.strip()
    if " in " in text:
        column, _, rest = text.partition(" in ")
        rest = rest.strip().strip("()[]")
        values = [v.strip() for v in rest.replace("|", ",").split(",") if v.strip()]
        if column.strip() and values:
            return column.strip(), "in", values
    for op in OPERATORS:
        column, sep, value = text.partition(op)
        if sep and column.strip() and value.strip():
            return column.strip(), op, [value.strip()]
    raise DimcurseError(
        f"{item!r} is not a filter (use column=value, !=, <, <=, >, >= or 'column in (a, b)')", "--where"
    )


def split_filters(text: str) -> list[str]:
    """Comma-separated filters; commas inside (...) or [...] belong to an ``in`` list."""
    items, depth, current = [], 0, ""
    for char in text:
        depth += char in "(["
        depth -= char in ")]"
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    if any(not item.strip() for item in items):
        raise DimcurseError(f"{text!r} is not a comma-separated list (empty item)", "--where")
    return [item.strip() for item in items]


def filter_rows(rows: pd.DataFrame, where: list[str]) -> pd.DataFrame:
    """Keep rows matching every filter (numbers compared as numbers, everything else as text)."""
    mask = np.ones(len(rows), dtype=bool)
    for item in where:
        column, op, values = parse_filter(item)
        if column not in rows:
            raise DimcurseError(f"no column {column!r} (columns: {', '.join(rows.columns)})", "--where")
        mask &= _matches(rows[column], op, values, item)
    return rows[mask]


def _matches(series: pd.Series, op: str, values: list[str], item: str) -> np.ndarray:
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric:
        try:
            numbers = [float(v) for v in values]
        except ValueError:
            raise DimcurseError(f"{item!r}: {series.name} holds numbers", "--where") from None
        column = series.to_numpy(dtype=float)
    else:
        if op in ("<", "<=", ">", ">="):
            raise DimcurseError(f"{item!r}: {series.name} holds text; use = != or in", "--where")
        numbers, column = [v.strip() for v in values], series.astype(str).to_numpy()
    compare = {
        "=": np.equal,
        "!=": np.not_equal,
        "<": np.less,
        "<=": np.less_equal,
        ">": np.greater,
        ">=": np.greater_equal,
    }
    if op == "in":
        return np.isin(column, numbers)
    return compare[op](column, numbers[0])


def present_values(rows: pd.DataFrame, where: list[str]) -> str:
    """What the filtered columns hold, for an error when nothing matched."""
    parts = []
    for item in where:
        column = parse_filter(item)[0]
        if column in rows:
            values = sorted(rows[column].dropna().unique(), key=lambda v: (isinstance(v, str), v))
            shown = ", ".join(str(v) for v in values[:12]) + (" …" if len(values) > 12 else "")
            parts.append(f"{column} has {shown}")
    return "; ".join(parts)


def report(
    path: str,
    where: list[str] = (),
    group_by: tuple[str, ...] | None = None,
    kernel: str | None = None,
    pool: tuple[str, ...] = (),
    option: str = "STORE",
    *,
    skip_bad: bool = False,
    store_notes: list | None = None,
) -> list[Result]:
    """One aggregated ``Result`` per kernel in the source (rows filtered by ``where``).

    A store can hold results of an older kernel version (its points have other keys);
    such a mix gets a note, and ``--where kernel_version=N`` picks one. Settings that vary
    within a group become keys (a note says which) unless ``pool`` names them. A store with
    unreadable lines is an error naming them, unless ``skip_bad`` (then a note names them); the notes on
    the store itself also go to ``store_notes``.
    """
    said: list[str] = [] if store_notes is None else store_notes
    sources = load(path, option, skip_bad=skip_bad, notes=said)
    if kernel is not None:
        if kernel not in sources:
            raise DimcurseError(
                f"{path} holds no {kernel} results (it has: {', '.join(sources) or 'none'})", "--kernel"
            )
        sources = {kernel: sources[kernel]}
    columns = {parse_filter(c)[0] for c in where}
    for column in columns:
        if not any(column in source.rows for source in sources.values()):
            known = sorted({c for source in sources.values() for c in source.rows})
            raise DimcurseError(f"no column {column!r} (columns: {', '.join(known)})", "--where")
    out = []
    for name, source in sources.items():
        if not columns <= set(source.rows):
            continue  # rows without a filtered column cannot match it
        rows = filter_rows(source.rows, list(where))
        if rows.empty:
            continue
        out.append(with_analysis(_result(name, path, rows.reset_index(drop=True), source, group_by, pool)))
    for result in out:
        result.notes[:0] = said
    if not out and said:
        raise DimcurseError(f"{said[0]} No point could be read.", option)
    if not out and where:
        held = "; ".join(present_values(s.rows, list(where)) for s in sources.values() if columns <= set(s.rows))
        raise DimcurseError(f"no rows of {path} match {', '.join(where)}" + (f" ({held})" if held else ""), "--where")
    return out


def _same_rows(table: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """A figure table cut to the settings the filtered rows hold (by the columns both have)."""
    shared = [c for c in ("experiment", "dist", "dim", "metric", "seed") if c in table and c in rows]
    if not shared:
        return table
    keys = rows[shared].drop_duplicates()
    return table.merge(keys, on=shared, how="inner")


def _result(name: str, path: str, rows: pd.DataFrame, source: Source, group_by, pool) -> Result:
    module = REGISTRY[name]
    show = [(m, t) for m, t in module.SHOW if m in rows and (t is None or t in rows)]
    prov = {
        "kernel": name,
        "source": str(path),
        "points": len(source.provenances),
        "kernel_versions": sorted({p["kernel_version"] for p in source.provenances if p}),
        "configs": [{"config": p.get("config")} for p in source.provenances if p],
    }
    keys, added = group_columns(name, rows, group_by, tuple(pool))
    result = Result(
        kernel=name,
        rows=rows,
        provenance=prov,
        group_by=keys,
        show=show,
        pooled=[c for c in pool if c in rows],
        analysis_keys=tuple(getattr(module, "ANALYSIS_KEYS", ())),
        analysis_hidden=tuple(getattr(module, "ANALYSIS_HIDDEN", ())),
        replicates=getattr(module, "REPLICATES", None),
    )
    result.tables = {n: _same_rows(t, rows) for n, t in source.tables.items()}
    if added:
        result.notes.append(
            f"kept {', '.join(added)} as group keys: {'they vary' if len(added) > 1 else 'it varies'} "
            "within the groups asked for (average over one with --pool NAME)"
        )
    if "kernel_version" in rows and rows["kernel_version"].nunique() > 1:
        versions = ", ".join(str(v) for v in sorted(rows["kernel_version"].unique()))
        result.notes.append(f"these rows mix kernel versions {versions}; filter with --where kernel_version=N")
    return result


def with_analysis(result: Result) -> Result:
    """The kernel's own analysis of stored rows (approx's fits, overparam's summary), through its
    ``analysis(result, config)`` hook, with the config of the first point behind the rows."""
    module = REGISTRY[result.kernel]
    hook = getattr(module, "analysis", None)
    if hook is None or not len(result.rows):
        return result
    configs = [p["config"] for p in result.provenance.get("configs", []) if p]
    config = config_from_dict(result.kernel, configs[0]) if configs else module.Config()
    return hook(result, config)


# --------------------------------------------------------------------------- compare


NOISE_Z = 2.0  # a difference beyond 2 standard errors of the two means is flagged (about 5 % by chance)


def compare(
    path_a: str, path_b: str, kernel: str | None = None, where: list[str] = ()
) -> tuple[pd.DataFrame, list[str]]:
    """Each measured quantity (and timing column) of A and B for the settings both hold.

    Columns: the kernel, the group keys, ``quantity``, ``kind`` (measured or timing),
    ``a_mean``, ``a_sd``, ``a_n``, the same for b, ``diff`` = b - a, ``ratio`` = b / a, and
    ``beyond_noise``: |diff| > 2 standard errors of the difference (NaN with one seed a side).
    The warnings say which settings and versions differ between A and B.
    """
    warnings: list[str] = []
    a, b = load(path_a, "A", notes=warnings), load(path_b, "B", notes=warnings)
    common = [k for k in a if k in b and (kernel is None or k == kernel)]
    if not common:
        raise DimcurseError(f"{path_a} and {path_b} share no kernel to compare", "--kernel" if kernel else "B")
    frames = []
    for name in common:
        rows_a, rows_b = filter_rows(a[name].rows, list(where)), filter_rows(b[name].rows, list(where))
        part = _compare_kernel(name, rows_a, rows_b)
        if part is None:
            warnings.append(f"{name}: no setting appears in both")
            continue
        frames.append(part)
        warnings += _differences(name, a[name].provenances, b[name].provenances)
    if not frames:
        # Nothing lined up: an empty table would look like a comparison that found no differences.
        raise DimcurseError(
            f"{path_a} and {path_b} hold no setting in common{' matching the filters' if where else ''} "
            "(compare runs of the same grid, or narrow them with --where)",
            "B",
        )
    return pd.concat(frames, ignore_index=True), warnings


def _compare_kernel(name: str, rows_a: pd.DataFrame, rows_b: pd.DataFrame) -> pd.DataFrame | None:
    module = REGISTRY[name]
    keys = [c for c in group_columns(name, rows_a)[0] if c != "experiment" and c in rows_b]
    quantities = [m for m, _ in module.SHOW if m in rows_a and m in rows_b]
    timings = [c for c in rows_a if c.endswith("_s") and c in rows_b]
    stats_a, stats_b = _stats(rows_a, keys, quantities + timings), _stats(rows_b, keys, quantities + timings)
    merged = stats_a.merge(stats_b, on=keys, suffixes=("_a", "_b"))
    if merged.empty:
        return None
    parts = []
    for quantity in quantities + timings:
        if merged[[f"{quantity}_mean_a", f"{quantity}_mean_b"]].isna().all().all():
            continue  # a quantity this kernel's rows leave empty (not applicable)
        part = merged[keys].copy()
        part.insert(0, "kernel", name)
        part["quantity"] = quantity
        part["kind"] = "timing" if quantity in timings else "measured"
        for side in ("a", "b"):
            for stat in ("mean", "sd", "n"):
                part[f"{side}_{stat}"] = merged[f"{quantity}_{stat}_{side}"]
        part["diff"] = part["b_mean"] - part["a_mean"]
        with np.errstate(divide="ignore", invalid="ignore"):
            part["ratio"] = part["b_mean"] / part["a_mean"]
            error = np.sqrt(part["a_sd"] ** 2 / part["a_n"] + part["b_sd"] ** 2 / part["b_n"])
        part["beyond_noise"] = (part["diff"].abs() > NOISE_Z * error).where(error.notna())
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else None


def equal_line(kernel: str, part: pd.DataFrame) -> str:
    """One line for a kernel whose compared rows show no difference beyond the seed noise (how many are equal
    to the last bit is left to --all: runs on other thread counts may differ in the last digits)."""
    unknown = int(part["beyond_noise"].isna().sum())
    words = f"{kernel}: {len(part)} quantities compared"
    if len(part) - unknown:
        words += "; none beyond the seed noise"
    if unknown:
        words += f"; {unknown} with one seed a side (no noise estimate)"
    return words + " (--all prints them)"


def timing_lines(table: pd.DataFrame) -> list[str]:
    """One line per kernel and timing column of a compare table: the median ratio B / A over settings.

    Wall times depend on the machine's load more than on the setting, so the terminal gets
    their summary; the full rows stay in the table (``--out``).
    """
    lines = []
    timing = table[table["kind"] == "timing"]
    for (name, quantity), part in timing.groupby(["kernel", "quantity"], sort=False):
        ratio = part["ratio"].replace([np.inf, -np.inf], np.nan).dropna()
        if ratio.empty:
            continue
        beyond = int(part["beyond_noise"].fillna(False).astype(bool).sum())
        lines.append(
            f"timing {name} {quantity}: B / A = {ratio.median():.3g} (median of {len(ratio)} settings, "
            f"{ratio.min():.3g} to {ratio.max():.3g}; beyond noise in {beyond})"
        )
    return lines


def _stats(rows: pd.DataFrame, keys: list[str], quantities: list[str]) -> pd.DataFrame:
    """Mean, sample sd and count of each quantity per setting."""
    values = rows[keys + quantities].copy()
    for q in quantities:
        values[q] = pd.to_numeric(values[q].astype(float) if values[q].dtype == bool else values[q], errors="coerce")
    groups = values.groupby(keys, dropna=False, sort=False)[quantities]
    mean, sd, n = groups.mean(), groups.std(ddof=1), groups.count()
    out = pd.concat([mean.add_suffix("_mean"), sd.add_suffix("_sd"), n.add_suffix("_n")], axis=1)
    return out.reset_index()


FAIL_FIELDS = ("ratio", "diff")


def parse_fail_if(text: str) -> tuple[str | None, str, str, float]:
    """``ratio>1.1``, ``diff<-0.05`` or ``QUANTITY:ratio>1.1`` -> (quantity, field, op, threshold)."""
    quantity, _, rule = text.strip().rpartition(":")
    for op in (">=", "<=", ">", "<"):
        field, sep, number = rule.partition(op)
        if sep and field.strip() in FAIL_FIELDS:
            try:
                return quantity.strip() or None, field.strip(), op, float(number)
            except ValueError:
                break
    raise DimcurseError(f"{text!r} is not a rule like 'ratio>1.1', 'diff<-0.01' or 'QUANTITY:ratio>1.1'", "--fail-if")


def failing(table: pd.DataFrame, rule: str) -> pd.DataFrame:
    """The rows of a comparison that break ``--fail-if`` (a missing quantity is an error, not a pass)."""
    quantity, field, op, threshold = parse_fail_if(rule)
    rows = table
    if quantity is not None:
        if quantity not in set(table["quantity"]):
            raise DimcurseError(
                f"no quantity {quantity!r} in the comparison (has: {', '.join(dict.fromkeys(table['quantity']))})",
                "--fail-if",
            )
        rows = table[table["quantity"] == quantity]
    values = rows[field].to_numpy(dtype=float)
    test = {">": np.greater, "<": np.less, ">=": np.greater_equal, "<=": np.less_equal}[op]
    with np.errstate(invalid="ignore"):
        return rows[test(values, threshold) & np.isfinite(values)]


def _config_differences(kernel: str, prov_a: list[dict], prov_b: list[dict]) -> list[str]:
    """The config fields whose values differ between the two runs (seeds aside)."""

    def values(provs, key):
        return sorted({json.dumps((p.get("config") or {}).get(key), sort_keys=True) for p in provs if p})

    fields = sorted({k for p in prov_a + prov_b if p for k in (p.get("config") or {})} - {"seeds"})
    out = []
    for key in fields:
        va, vb = values(prov_a, key), values(prov_b, key)
        if va != vb:
            out.append(f"{kernel}: setting {key} differs: A {', '.join(va)} vs B {', '.join(vb)}")
    return out


def _differences(kernel: str, prov_a: list[dict], prov_b: list[dict]) -> list[str]:
    """Warnings where the two runs differ in kernel version, device or library versions."""

    def collect(provs, get):
        return sorted({json.dumps(get(p), sort_keys=True) for p in provs if p})

    warnings = []
    checks = {
        "kernel version": lambda p: p.get("kernel_version"),
        "device": lambda p: p.get("device"),
        "library versions": lambda p: p.get("versions"),
    }
    for what, get in checks.items():
        va, vb = collect(prov_a, get), collect(prov_b, get)
        if va != vb:
            warnings.append(f"{kernel}: {what} differ: A {', '.join(va)} vs B {', '.join(vb)}")
    return warnings + _config_differences(kernel, prov_a, prov_b)


# --------------------------------------------------------------------------- what a store holds


def store_info(path: str, option: str = "STORE") -> tuple[pd.DataFrame, list[str]]:
    """What ``dimcurse info STORE`` prints: per experiment and kernel, the points done and failed, their rows,
    kernel versions and the times their provenance records (first, last); and lines naming every unreadable
    line, the lines a batch moved aside earlier, repeated points and the failures' errors."""
    folder = Path(path).expanduser()
    if not folder.is_dir() or not is_store(folder):
        raise DimcurseError(f"{path}: not a dimcurse store (a folder with points.jsonl)", option)
    contents = read_store(folder)
    bad = unreadable_lines(contents)
    unreadable = {line.number for line in bad}
    table, failures = [], []
    records = [r for key, r in contents.latest.items() if contents.line_of[key] not in unreadable]
    for (experiment, kernel), group in _grouped(records):
        done = [r for r in group if r["status"] == "done"]
        times = sorted(str((r.get("provenance") or {}).get("timestamp", "")) for r in done)
        times = [t.replace("T", " ").replace("+00:00", " UTC") for t in times if t]  # provenance: UTC ISO
        versions = sorted({int(r["kernel_version"]) for r in group if isinstance(r.get("kernel_version"), int)})
        table.append({
            "experiment": experiment, "kernel": kernel, "version": ", ".join(map(str, versions)),
            "done": len(done), "failed": len(group) - len(done), "rows": sum(len(r["rows"]) for r in done),
            "first": times[0] if times else "", "last": times[-1] if times else "",
        })  # fmt: skip
        failures += [f"failed: {experiment} {_axes(r)}: {r.get('error') or 'no error recorded'}" for r in group
                     if r["status"] == "failed"]  # fmt: skip
    lines = [f"{contents.path}: {contents.lines} line(s), {len(contents.latest)} point(s)"]
    lines += [f"unreadable: {contents.path} line {b.number}: {b.why}" for b in bad]
    if bad:
        lines.append(f"`dimcurse batch SWEEP --store {path}` moves them to {QUARANTINE} and recomputes their points")
    if contents.replaced:
        lines.append(f"{contents.replaced} line(s) repeat a point stored before; the latest of each is read")
    moved = _quarantined(folder)
    if moved:
        lines.append(f"{folder / QUARANTINE}: {moved} line(s) moved aside by an earlier batch, kept as they were")
    return pd.DataFrame(table, columns=INFO_COLUMNS), lines + failures


INFO_COLUMNS = ["experiment", "kernel", "version", "done", "failed", "rows", "first", "last"]


def _grouped(records: list[dict]) -> list[tuple[tuple[str, str], list[dict]]]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        groups.setdefault((str(record.get("experiment", "")), record["kernel"]), []).append(record)
    return sorted(groups.items())


def _axes(record: dict) -> str:
    axes = record.get("axes") or {}
    return ", ".join(f"{k}={v}" for k, v in axes.items()) if isinstance(axes, dict) and axes else record["key"]


def _quarantined(folder: Path) -> int:
    """Lines a batch moved to the quarantine: each entry is a line saying which and why, then the line."""
    path = folder / QUARANTINE
    if not path.exists():
        return 0
    with open(path, "rb") as handle:
        return sum(1 for _ in handle) // 2


def store_problems(path: str) -> list[str]:
    """The unreadable lines of a store in one note (none: every line reads), for readers that go on."""
    contents = read_store(path)
    bad = unreadable_lines(contents)
    if not bad:
        return []
    return [f"{contents.describe_bad(bad)}: a batch into this store moves them to {QUARANTINE} and reruns them"]
