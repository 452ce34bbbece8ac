"""Reading results back: stores and result files as per-kernel tables, reports and comparisons."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dimcurse.errors import DimcurseError
from dimcurse.experiments import REGISTRY
from dimcurse.results import Result
from dimcurse.store import is_store, read_records


@dataclass
class Source:
    """One kernel's rows from a store or a result file, with the provenance blocks behind them."""

    kernel: str
    rows: pd.DataFrame
    provenances: list[dict] = field(default_factory=list)


def load(path: str, option: str = "SOURCE") -> dict[str, Source]:
    """A store directory or a result file (.csv .json .jsonl .parquet, with its provenance) by kernel."""
    target = Path(path).expanduser()
    if target.is_dir():
        if not is_store(target):
            raise DimcurseError(f"{path}: not a dimcurse store (no points.jsonl)", option)
        return _from_store(target)
    if not target.is_file():
        raise DimcurseError(f"{path}: no such store or result file", option)
    rows, prov = _read_file(target, option)
    kernel = (prov or {}).get("kernel")
    if kernel not in REGISTRY:
        raise DimcurseError(f"{path}: no provenance naming a kernel (expected {target.name}.provenance.json beside it)", option)
    rows["run_elapsed_s"] = prov.get("elapsed_s")
    return {kernel: Source(kernel, rows, [prov])}


def _from_store(folder: Path) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    for record in read_records(folder).values():
        if not record.get("rows"):
            continue
        frame = pd.DataFrame(record["rows"])
        frame.insert(0, "experiment", record["experiment"])
        frame["run_elapsed_s"] = record.get("elapsed_s")  # wall time of the whole point
        source = sources.setdefault(record["kernel"], Source(record["kernel"], pd.DataFrame()))
        source.rows = pd.concat([source.rows, frame], ignore_index=True) if len(source.rows) else frame
        source.provenances.append(record["provenance"])
    return sources


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


def group_columns(kernel: str, rows: pd.DataFrame, chosen: tuple[str, ...] | None = None) -> list[str]:
    """The settings rows are aggregated over seeds by: chosen, or the kernel's own (and experiment)."""
    module = REGISTRY[kernel]
    if chosen:
        missing = [c for c in chosen if c not in rows]
        if missing:
            raise DimcurseError(f"no column {missing[0]!r} in the {kernel} rows (columns: {', '.join(rows.columns)})", "--group-by")
        return list(chosen)
    wanted = (["experiment"] if "experiment" in rows else []) + list(module.GROUP_BY) + list(getattr(module, "GROUP_BY_MLP", []))
    return list(dict.fromkeys(c for c in wanted if c in rows and c != "seed"))


def filter_rows(rows: pd.DataFrame, where: list[str]) -> pd.DataFrame:
    """Keep rows matching every ``column=value`` (numbers compared as numbers)."""
    mask = np.ones(len(rows), dtype=bool)
    for item in where:
        column, sep, value = item.partition("=")
        column = column.strip()
        if not sep or not column:
            raise DimcurseError(f"{item!r} is not column=value", "--where")
        if column not in rows:
            raise DimcurseError(f"no column {column!r} (columns: {', '.join(rows.columns)})", "--where")
        values = rows[column]
        try:
            number = float(value)
            numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        except ValueError:
            numeric = False
        mask &= (values.to_numpy(dtype=float) == number) if numeric else (values.astype(str) == value.strip()).to_numpy()
    return rows[mask]


def report(path: str, where: list[str] = (), group_by: tuple[str, ...] | None = None,
           kernel: str | None = None) -> list[Result]:
    """One aggregated ``Result`` per kernel in the source (rows filtered by ``where``).

    A store can hold results of an older kernel version (its points have other keys);
    such a mix gets a note, and ``--where kernel_version=N`` picks one.
    """
    sources = load(path)
    if kernel is not None:
        if kernel not in sources:
            raise DimcurseError(f"{path} holds no {kernel} results (it has: {', '.join(sources) or 'none'})", "--kernel")
        sources = {kernel: sources[kernel]}
    columns = {c.partition("=")[0].strip() for c in where}
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
        module = REGISTRY[name]
        show = [(m, t) for m, t in module.SHOW if m in rows and (t is None or t in rows)]
        prov = {"kernel": name, "source": str(path), "points": len(source.provenances),
                "kernel_versions": sorted({p["kernel_version"] for p in source.provenances if p}),
                "configs": [{"config": p.get("config")} for p in source.provenances if p]}
        result = Result(name, rows.reset_index(drop=True), prov, group_columns(name, rows, group_by), show)
        if "kernel_version" in rows and rows["kernel_version"].nunique() > 1:
            versions = ", ".join(str(v) for v in sorted(rows["kernel_version"].unique()))
            result.notes.append(f"these rows mix kernel versions {versions}; filter with --where kernel_version=N")
        out.append(result)
    if not out and where:
        raise DimcurseError(f"no rows of {path} match {', '.join(where)}", "--where")
    return out


def with_secondary(result: Result) -> Result:
    """Recompute a kernel's secondary table from stored rows (approx: the exponent fits) for its figure."""
    if result.kernel == "approx" and len(result.rows):
        from dimcurse.experiments import approx
        from dimcurse.sweep import config_from_dict

        configs = [p["config"] for p in result.provenance.get("configs", []) if p]
        config = config_from_dict("approx", configs[0]) if configs else approx.Config()
        result.fits = approx.fit_table(result.rows, config)
    return result


# --------------------------------------------------------------------------- compare


def compare(path_a: str, path_b: str, kernel: str | None = None, where: list[str] = ()) -> tuple[pd.DataFrame, list[str]]:
    """Means over seeds of each metric (and timing column) in A and B for the settings both hold: a, b, b - a, b / a."""
    a, b = load(path_a, "A"), load(path_b, "B")
    common = [k for k in a if k in b and (kernel is None or k == kernel)]
    if not common:
        raise DimcurseError(f"{path_a} and {path_b} share no kernel to compare", "--kernel" if kernel else "B")
    frames, warnings = [], []
    for name in common:
        module = REGISTRY[name]
        rows_a, rows_b = filter_rows(a[name].rows, list(where)), filter_rows(b[name].rows, list(where))
        keys = [c for c in group_columns(name, rows_a) if c != "experiment" and c in rows_b]
        metrics = [m for m, _ in module.SHOW if m in rows_a and m in rows_b]
        metrics += [c for c in rows_a if c.endswith("_s") and c in rows_b]
        mean_a = _means(rows_a, keys, metrics)
        mean_b = _means(rows_b, keys, metrics)
        merged = mean_a.merge(mean_b, on=keys, suffixes=("_a", "_b"))
        if merged.empty:
            warnings.append(f"{name}: no setting appears in both")
            continue
        for metric in metrics:
            if merged[[f"{metric}_a", f"{metric}_b"]].isna().all().all():
                continue  # a metric this kernel's rows leave empty (not applicable)
            part = merged[keys].copy()
            part.insert(0, "kernel", name)
            part["metric"] = metric
            part["a"], part["b"] = merged[f"{metric}_a"], merged[f"{metric}_b"]
            part["diff"] = part["b"] - part["a"]
            with np.errstate(divide="ignore", invalid="ignore"):
                part["ratio"] = part["b"] / part["a"]
            frames.append(part)
        warnings += _differences(name, a[name].provenances, b[name].provenances)
    if not frames:
        # Nothing lined up: an empty table would look like a comparison that found no differences.
        raise DimcurseError(f"{path_a} and {path_b} hold no setting in common{' matching the filters' if where else ''} "
                            "(compare runs of the same grid, or narrow them with --where)", "B")
    return pd.concat(frames, ignore_index=True), warnings


def _means(rows: pd.DataFrame, keys: list[str], metrics: list[str]) -> pd.DataFrame:
    values = rows[keys + metrics].copy()
    for metric in metrics:
        values[metric] = pd.to_numeric(values[metric].astype(float) if values[metric].dtype == bool else values[metric],
                                       errors="coerce")
    return values.groupby(keys, dropna=False, sort=False)[metrics].mean().reset_index()


def _differences(kernel: str, prov_a: list[dict], prov_b: list[dict]) -> list[str]:
    """Warnings where the two runs differ in kernel version, device or library versions."""
    def collect(provs, get):
        return sorted({json.dumps(get(p), sort_keys=True) for p in provs if p})

    warnings = []
    checks = {"kernel version": lambda p: p.get("kernel_version"), "device": lambda p: p.get("device"),
              "library versions": lambda p: p.get("versions")}
    for what, get in checks.items():
        va, vb = collect(prov_a, get), collect(prov_b, get)
        if va != vb:
            warnings.append(f"{kernel}: {what} differ: A {', '.join(va)} vs B {', '.join(vb)}")
    return warnings
