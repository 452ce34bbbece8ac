"""The ``dimcurse`` command line: parse options, call the library, render. Nothing else.

Every user-fixable error (``DimcurseError`` or a click usage error) becomes one line on
stderr and exit code 2, in one place: ``main``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from contextlib import contextmanager
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

import dimcurse
from dimcurse import batch, plot, render
from dimcurse import report as reports
from dimcurse.errors import DimcurseError
from dimcurse.memory import OUT_OF_MEMORY, out_of_memory_message
from dimcurse.experiments import approx, distance, overparam
from dimcurse.parsing import parse_float, parse_float_list, parse_int_list, parse_name_list, parse_seeds
from dimcurse.results import Result, aggregate, check_writable, write_result
from dimcurse.runtime import resolve_device
from dimcurse.sweep import load_sweep

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Measure why neural networks escape the curse of dimensionality.",
)
stderr = Console(stderr=True)


def _version(value: bool):
    if value:
        print(f"dimcurse {dimcurse.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
):
    """Measure why neural networks escape the curse of dimensionality."""


# --------------------------------------------------------------------------- shared options

DEVICE = typer.Option("auto", "--device", help="auto (CUDA when present), cpu, cuda or cuda:N.")
DTYPE = typer.Option("float32", "--dtype", help="float32 or float64.")
SEEDS = typer.Option("3", "--seeds", help="A count (5 = seeds 0..4) or a list (0,3,7).")
OUT = typer.Option("-", "--out", "-o", help="File to write (.csv .json .jsonl .parquet .md), or - for stdout.")
FORMAT = typer.Option(None, "--format", help="json, jsonl, csv, markdown or table (default: from --out's suffix; table for -).")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar.")


@contextmanager
def _progress(quiet: bool, description: str):
    """A rich progress bar on stderr; yields a callback taking fractions of the whole run.

    Shown only when stderr is a terminal: a log file or pipe gets no bar (nor the blank
    line rich leaves behind).
    """
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=stderr, transient=True, disable=quiet or not stderr.is_terminal,
    )
    with bar:
        task = bar.add_task(description, total=1.0)
        yield lambda fraction: bar.advance(task, fraction)


SUMMARY_OUT = typer.Option(None, "--summary-out", help="Write the mean ± sd table (the summary) to this file.")
PLOT = typer.Option(None, "--plot", help="Also draw the figure to this file (.png .svg .pdf; needs matplotlib).")


def _execute(kernel, config, device: str, out: str, fmt: Optional[str], quiet: bool, fit_out: Optional[str] = None,
             fit_option: str = "--fit-out", plot_file: Optional[str] = None) -> Result:
    """The chain every kernel command follows: validate, check the outputs, run, then render or write."""
    kernel.validate(config)
    fmt_name = check_writable(out, fmt)
    if plot_file is not None:
        plot.check_plot_path(plot_file)
    if fit_out is not None:
        if fit_out == "-":
            raise DimcurseError("give a file name (stdout carries the rows)", fit_option)
        try:
            check_writable(fit_out, None)
        except DimcurseError as exc:
            raise DimcurseError(exc.message, fit_option) from None
    torch_device = resolve_device(device)
    with _progress(quiet, kernel.KERNEL) as tick:
        result = kernel.run(config, device=torch_device, progress=tick)
    # The terminal gets the table before any file is written: if a write then fails (a full
    # disk, a folder gone read-only), the numbers are still on screen and the error says which file.
    if out == "-" and fmt_name != "table":
        write_result(result, "-", fmt_name)
    else:
        render.print_result(result, render.console())
    if out != "-":
        write_result(result, out, fmt_name)
        if not quiet:
            stderr.print(f"wrote {out} (provenance: {out}.provenance.json)")
    if fit_out is not None:
        # the kernel's summary table (approx's fits, overparam's per-width summary), else the mean ± sd table
        summary = result.fits if result.fits is not None else aggregate(result)
        write_result(Result(result.kernel, summary, result.provenance, [], []), fit_out)
        if not quiet:
            stderr.print(f"wrote {fit_out}")
    if plot_file is not None:
        plot.save(plot.figure_for(result), plot_file)
        if not quiet:
            stderr.print(f"wrote {plot_file}")
    return result


# --------------------------------------------------------------------------- commands


@app.command()
def info():
    """Print the versions of dimcurse, Python, torch and numpy, the devices and the thread count."""
    render.console().print(render.info_table())


@app.command("distance")
def distance_cmd(
    dims: Optional[str] = typer.Option(None, "--dims", help="Dimensions, e.g. 2,10,100,1000 (not with --data)."),
    dist: Optional[str] = typer.Option(None, "--dist", help="uniform, gaussian, sphere, subspace:K, torus:K (comma list)."),
    metric: str = typer.Option("l2", "--metric", help="l2, l1, linf, lp:P (P > 0), cosine (comma list)."),
    points: int = typer.Option(distance.Config.n_points, "--points", help="Points per set (n)."),
    queries: int = typer.Option(distance.Config.n_queries, "--queries", help="Queries per set (q)."),
    k: int = typer.Option(distance.Config.k, "--k", help="Neighbours for hubness (k-occurrence skewness)."),
    mle_k: int = typer.Option(distance.Config.mle_k, "--mle-k", help="Neighbours for the Levina-Bickel dimension."),
    id_points: int = typer.Option(distance.Config.id_points, "--id-points", help="Points used for intrinsic dimension and hubness (0 = off)."),
    data: Optional[str] = typer.Option(None, "--data", help="Real data: digits, mnist1d, mnist:DIR, fashion-mnist:DIR."),
    download: bool = typer.Option(False, "--download", help="Let torchvision download mnist/fashion-mnist into DIR."),
    chunk: int = typer.Option(distance.Config.chunk_elems, "--chunk", help="Query x point elements held at once (memory bound); 0 = auto: 2^20 on the CPU, 2^26 on a GPU."),
    summary_out: Optional[str] = SUMMARY_OUT,
    seeds: str = SEEDS, device: str = DEVICE, dtype: str = DTYPE,
    out: str = OUT, format: Optional[str] = FORMAT, quiet: bool = QUIET, plot_file: Optional[str] = PLOT,
):
    """Distance concentration: nearest vs farthest neighbours as the dimension grows."""
    if data is not None and (dims is not None or dist is not None):
        raise DimcurseError("a real data set fixes the dimension and distribution; drop --dims/--dist", "--data")
    defaults = distance.Config()
    config = distance.Config(
        dims=parse_int_list(dims, "--dims") if dims is not None else defaults.dims,
        dists=parse_name_list(dist, "--dist") if dist is not None else defaults.dists,
        metrics=parse_name_list(metric, "--metric"),
        n_points=points, n_queries=queries, seeds=parse_seeds(seeds), k=k, mle_k=mle_k,
        id_points=id_points, data=data, download=download, dtype=dtype, chunk_elems=chunk,
    )
    _execute(distance, config, device, out, format, quiet, summary_out, "--summary-out", plot_file=plot_file)


@app.command("approx")
def approx_cmd(
    width: Optional[int] = typer.Option(None, "--width", help="One hidden width (per tree node for --arch tree)."),
    widths: Optional[str] = typer.Option(None, "--widths", help="Widths to sweep (default 4, 8, ... up to --lm-max-params)."),
    target: str = typer.Option("barron", "--target", help="Target function(s), comma list; see --list-targets."),
    dims: Optional[str] = typer.Option(None, "--dims", help="Dimensions for targets defined in any d (default 8)."),
    arch: str = typer.Option("shallow", "--arch", help="shallow, deep, tree (comma list to compare)."),
    depth: int = typer.Option(approx.Config.depth, "--depth", help="Hidden layers of the deep architecture."),
    activation: str = typer.Option("relu", "--activation", help="relu, tanh, softplus, silu, poly."),
    samples: Optional[int] = typer.Option(None, "--samples", help="Training samples per seed (default: per parameter)."),
    samples_per_param: Optional[str] = typer.Option(None, "--samples-per-param",
                                                    help="Samples per parameter without --samples (default 8)."),
    test_samples: int = typer.Option(approx.Config.n_test, "--test-samples", help="Test samples per seed."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Adam steps / LBFGS iterations (default 2000)."),
    lm_iters: Optional[int] = typer.Option(None, "--lm-iters", help="Levenberg–Marquardt iterations (default 200)."),
    lm_rows: Optional[str] = typer.Option(None, "--lm-rows", help="Samples per parameter in LM's matrix (default 1; 0 all)."),
    lm_max_params: int = typer.Option(approx.Config.lm_max_params, "--lm-max-params",
                                      help="Largest model --optimizer auto trains with LM."),
    optimizer: str = typer.Option("auto", "--optimizer", help="auto, lm, adam, adam+lm, lbfgs."),
    lr: Optional[str] = typer.Option(None, "--lr", help="Learning rate (default 3e-3 Adam, 1.0 LBFGS)."),
    baselines: Optional[str] = typer.Option(None, "--baselines", help="random-features,knn on the same data."),
    knn_k: int = typer.Option(approx.Config.knn_k, "--knn-k", help="Neighbours of the k-NN baseline."),
    teacher_k: int = typer.Option(approx.Config.teacher_k, "--teacher-k", help="Intrinsic dimension of the teacher target."),
    q_power_k: int = typer.Option(approx.Config.q_power_k, "--q-power-k", help="k of the q-power target Q^(2^k)."),
    fit_out: Optional[str] = typer.Option(None, "--fit-out", "--summary-out",
                                          help="Write the exponent fit table to this file (the summary)."),
    list_targets: bool = typer.Option(False, "--list-targets", help="Print the targets with their formulas and exit."),
    seeds: str = SEEDS, device: str = DEVICE, dtype: str = DTYPE,
    out: str = OUT, format: Optional[str] = FORMAT, quiet: bool = QUIET, plot_file: Optional[str] = PLOT,
):
    """Approximation error against width: shallow, deep and tree networks against the curse."""
    if list_targets:
        render.print_grid(render.targets_table(), render.console())
        return
    if width is not None and widths is not None:
        raise DimcurseError("give --width or --widths, not both", "--width")
    if width is not None and width < 1:
        raise DimcurseError(f"must be at least 1, got {width}", "--width")
    defaults = approx.Config()
    config = approx.Config(
        targets=parse_name_list(target, "--target"),
        dims=parse_int_list(dims, "--dims") if dims is not None else None,
        archs=parse_name_list(arch, "--arch"),
        widths=(width,) if width is not None else parse_int_list(widths, "--widths") if widths is not None else None,
        depth=depth, activation=activation.strip().lower(), n_samples=samples, n_test=test_samples, steps=steps,
        samples_per_param=(parse_float(samples_per_param, "--samples-per-param", positive=True)
                           if samples_per_param is not None else defaults.samples_per_param),
        lm_iters=lm_iters, lm_rows=parse_float(lm_rows, "--lm-rows") if lm_rows is not None else defaults.lm_rows,
        lm_max_params=lm_max_params,
        optimizer=optimizer.strip().lower(), lr=parse_float(lr, "--lr", positive=True) if lr is not None else None,
        seeds=parse_seeds(seeds), baselines=parse_name_list(baselines, "--baselines") if baselines else (),
        knn_k=knn_k, teacher_k=teacher_k, q_power_k=q_power_k, dtype=dtype,
    )
    _execute(approx, config, device, out, format, quiet, fit_out, plot_file=plot_file)


@app.command("overparam")
def overparam_cmd(
    model: str = typer.Option("random-features", "--model", help="linear, random-features or mlp."),
    data: Optional[str] = typer.Option(None, "--data", help="mnist1d (default), digits, teacher, mnist:DIR, fashion-mnist:DIR, cifar10:DIR."),
    widths: Optional[str] = typer.Option(None, "--widths", help="Hidden widths (mlp) or features to sweep; default: the model's sweep."),
    features: Optional[str] = typer.Option(None, "--features", help="Same as --widths (the word for linear and random-features)."),
    depth: int = typer.Option(overparam.Config.depth, "--depth", help="Hidden layers of the mlp."),
    train_samples: int = typer.Option(overparam.Config.n_train, "--train-samples", help="Training samples per seed (n)."),
    test_samples: int = typer.Option(overparam.Config.n_test, "--test-samples", help="Test samples (the same for every seed)."),
    label_noise: str = typer.Option("0", "--label-noise", help="Fraction(s) of training labels replaced at random, e.g. 0,0.2,1."),
    ridge: str = typer.Option("0", "--ridge", help="Ridge lambda(s) of the closed-form models (0 = min-norm), e.g. 0,1e-3,0.1."),
    weight_decay: str = typer.Option("0", "--weight-decay", help="Weight decay of the mlp's optimiser."),
    epochs: int = typer.Option(overparam.Config.epochs, "--epochs", help="Passes over the training set (mlp)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Optimiser steps instead of --epochs (mlp)."),
    optimizer: str = typer.Option("adam", "--optimizer", help="adam (AdamW) or sgd (momentum 0.9)."),
    lr: Optional[str] = typer.Option(None, "--lr", help="Learning rate (default 1e-3 adam, 0.05 sgd)."),
    batch_size: int = typer.Option(overparam.Config.batch_size, "--batch-size", help="Mini-batch size (0 = full batch)."),
    loss: str = typer.Option("ce", "--loss", help="mlp loss: ce or mse."),
    activation: str = typer.Option("relu", "--activation", help="mlp activation: relu, tanh, softplus, silu, poly."),
    record_every: int = typer.Option(0, "--record-every", help="Record test metrics every N epochs (mlp)."),
    signal_var: str = typer.Option("1", "--signal-var", help="linear: r^2 = ||beta||^2."),
    noise_var: str = typer.Option("0.25", "--noise-var", help="linear: noise variance sigma^2."),
    teacher_dim: int = typer.Option(overparam.Config.teacher_dim, "--teacher-dim", help="teacher data: input dimension."),
    download: bool = typer.Option(False, "--download", help="Let torchvision download mnist/fashion-mnist into DIR."),
    summary_out: Optional[str] = typer.Option(None, "--summary-out", help="Write the per-width summary table to this file."),
    seeds: str = SEEDS, device: str = DEVICE, dtype: str = DTYPE,
    out: str = OUT, format: Optional[str] = FORMAT, quiet: bool = QUIET, plot_file: Optional[str] = PLOT,
):
    """Overparameterisation: test error across the interpolation threshold (double descent)."""
    if widths is not None and features is not None:
        raise DimcurseError("give --widths or --features, not both", "--features")
    sizes = widths if widths is not None else features
    option = "--widths" if widths is not None else "--features"
    config = overparam.Config(
        model=model.strip().lower(), data=data.strip() if data is not None else None,
        widths=parse_int_list(sizes, option) if sizes is not None else None, depth=depth,
        n_train=train_samples, n_test=test_samples, label_noise=parse_float_list(label_noise, "--label-noise"),
        ridge=parse_float_list(ridge, "--ridge"), weight_decay=parse_float(weight_decay, "--weight-decay"),
        epochs=epochs, steps=steps, optimizer=optimizer.strip().lower(),
        lr=parse_float(lr, "--lr", positive=True) if lr is not None else None, batch_size=batch_size,
        loss=loss.strip().lower(), activation=activation.strip().lower(), record_every=record_every,
        signal_var=parse_float(signal_var, "--signal-var"), noise_var=parse_float(noise_var, "--noise-var"),
        teacher_dim=teacher_dim, seeds=parse_seeds(seeds), download=download, dtype=dtype,
    )
    _execute(overparam, config, device, out, format, quiet, summary_out, "--summary-out", plot_file)


# --------------------------------------------------------------------------- batch runs


@app.command("batch")
def batch_cmd(
    sweep_file: str = typer.Argument(..., metavar="SWEEP", help="A sweep file (TOML); see benchmarks/sweeps/."),
    store: Optional[str] = typer.Option(None, "--store", help="Result store directory (default: ./SWEEP-NAME.store)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the points and what is already done; run nothing."),
    force: bool = typer.Option(False, "--force", help="Rerun points that are already done."),
    retries: int = typer.Option(0, "--retries", help="Retry failed points this many times."),
    executor: str = typer.Option("serial", "--executor", help="serial, processes or dask."),
    workers: int = typer.Option(2, "--workers", help="Processes for --executor processes."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (or DASK_SCHEDULER_ADDRESS)."),
    device: str = DEVICE, quiet: bool = QUIET,
):
    """Run every point of a sweep file into a resumable store; failed points are recorded and listed."""
    points = load_sweep(sweep_file)
    folder = store or f"{Path(sweep_file).stem}.store"
    if dry_run:
        render.print_grid(render.points_table(points, batch.status(points, folder), folder), render.console())
        return
    with _batch_progress(quiet, len(points)) as update:
        outcome = batch.run_batch(points, folder, executor, device, workers, scheduler, force, retries, update)
    render.console().print(render.batch_summary(outcome, folder))
    if outcome.failed:
        sys.exit(1)


@contextmanager
def _batch_progress(quiet: bool, total: int):
    """Points done, failed and remaining, with the time left (terminal only)."""
    bar = Progress(
        TextColumn("batch"), BarColumn(), TextColumn("{task.fields[counts]}"), TimeElapsedColumn(),
        TimeRemainingColumn(), console=stderr, transient=True, disable=quiet or not stderr.is_terminal,
    )
    with bar:
        task = bar.add_task("batch", total=total, counts="")

        def update(report) -> None:
            finished = report.skipped + report.done + len(report.failed)
            counts = f"{report.done} done, {len(report.failed)} failed, {report.skipped} skipped, {total - finished} left"
            bar.update(task, completed=finished, counts=counts)

        yield update


WHERE = typer.Option(None, "--where", metavar="FILTERS",
                     help="Comma list of filters: dim=100, metric!=l1, dim>=100, 'metric in (l1, l2)'.")


def _where(text: Optional[str]) -> list[str]:
    return reports.split_filters(text) if text else []


@app.command("report")
def report_cmd(
    source: str = typer.Argument(..., metavar="STORE", help="A result store (or a result file)."),
    where: Optional[str] = WHERE,
    group_by: Optional[str] = typer.Option(None, "--group-by", metavar="COLUMNS",
                                           help="Columns to aggregate over seeds by (settings that vary stay keys)."),
    pool: Optional[str] = typer.Option(None, "--pool", metavar="COLUMNS",
                                       help="Settings to average over as well as seeds (comma list)."),
    kernel: Optional[str] = typer.Option(None, "--kernel", help="Only this kernel's results."),
    raw_rows: bool = typer.Option(False, "--rows", help="Export the store's raw rows (one per seed), not the means."),
    out: str = OUT, format: Optional[str] = FORMAT,
):
    """Aggregated tables (mean ± sd over seeds) of a store, with approx's exponent fits; to the terminal or a file."""
    fmt_name = check_writable(out, format)
    results = reports.report(source, _where(where), parse_name_list(group_by, "--group-by") if group_by else None,
                             kernel, parse_name_list(pool, "--pool") if pool else ())
    if raw_rows or out != "-" or fmt_name != "table":
        if len(results) != 1:
            raise DimcurseError(f"the store holds {len(results)} kernels; choose one with --kernel", "--kernel")
        result = results[0]
        table = result.rows if raw_rows else aggregate(result)
        write_result(Result(result.kernel, table, result.provenance, [], []), out, "csv" if fmt_name == "table" else fmt_name)
        if out != "-":
            stderr.print(f"wrote {out}")
        return
    for result in results:
        render.print_result(result, render.console())


@app.command("compare")
def compare_cmd(
    source_a: str = typer.Argument(..., metavar="A", help="A store or result file."),
    source_b: str = typer.Argument(..., metavar="B", help="Another store or result file."),
    kernel: Optional[str] = typer.Option(None, "--kernel", help="Only this kernel's results."),
    where: Optional[str] = WHERE,
    fail_if: Optional[str] = typer.Option(None, "--fail-if", metavar="RULE",
                                          help="Exit 1 when a row breaks it: 'ratio>1.1', 'diff<-0.01', 'QUANTITY:ratio>1.1'."),
    out: str = OUT, format: Optional[str] = FORMAT,
):
    """Line up the same settings of two runs: each quantity's mean ± sd and n, difference, ratio and noise flag."""
    fmt_name = check_writable(out, format)
    if fail_if is not None:
        reports.parse_fail_if(fail_if)  # a bad rule fails before any reading
    table, warnings = reports.compare(source_a, source_b, kernel, _where(where))
    broken = reports.failing(table, fail_if) if fail_if is not None else table.iloc[:0]
    for warning in warnings:
        stderr.print(f"warning: {warning}", highlight=False)
    if out != "-" or fmt_name != "table":
        write_result(Result("compare", table, {"a": source_a, "b": source_b, "warnings": warnings}, [], []), out, fmt_name)
        if out != "-":
            stderr.print(f"wrote {out}")
    else:
        for kind, part in table.groupby("kind", sort=False):
            title = f"compare ({kind}): B = {source_b} against A = {source_a}"
            shown = part.drop(columns=["kind"]).dropna(axis=1, how="all")
            render.print_grid(render.compare_grid(shown, title), render.console())
    if fail_if is not None and len(broken):
        names = ", ".join(dict.fromkeys(broken["quantity"]))
        _fail(f"fail-if {fail_if}: {len(broken)} of {len(table)} rows break it ({names})", 1)


@app.command("tour")
def tour_cmd(
    quick: bool = typer.Option(False, "--quick", help="A sub-minute version (smaller sets, fewer steps)."),
    out: str = typer.Option("dimcurse-tour", "--out", "-o", help="Folder for the report, figures and results."),
    device: str = DEVICE,
):
    """The whole argument in three steps, with this run's own numbers: a markdown report with figures."""
    from dimcurse import tour

    torch_device = resolve_device(device)
    report = tour.run(out, quick=quick, device=torch_device, say=lambda line: render.console().print(line, highlight=False))
    render.console().print(f"wrote {report}", highlight=False)


@app.command("plot")
def plot_cmd(
    source: str = typer.Argument(..., metavar="RESULTS", help="A result file (.csv .json .jsonl .parquet) or a store."),
    out: str = typer.Option(..., "--out", "-o", help="Figure file: .png, .svg or .pdf."),
    kernel: Optional[str] = typer.Option(None, "--kernel", help="Which kernel's results, when a store holds several."),
    where: Optional[str] = WHERE,
):
    """Draw the figure of a saved result file or store."""
    plot.check_plot_path(out)
    results = reports.report(source, _where(where), None, kernel)
    if len(results) != 1:
        raise DimcurseError(f"{source} holds {len(results)} kernels; choose one with --kernel", "--kernel")
    plot.save(plot.figure_for(results[0]), out)
    stderr.print(f"wrote {out}")


# --------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user errors become ``error: ...`` on one line and exit code 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="dimcurse", standalone_mode=False)
        # typer >= 0.29 turns Ctrl-C (and typer.Exit) into a *returned* exit code in this mode;
        # our commands themselves return None.
        if code == 130:
            _fail("interrupted", 130)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except DimcurseError as exc:
        _fail(f"error: {exc}", 2)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except MemoryError:
        _fail("error: out of memory; use fewer points, a smaller --chunk or --dtype float32", 1)
    except OUT_OF_MEMORY as exc:
        _fail(f"error: {out_of_memory_message(exc)}", 1)
    except Exception as exc:
        _cli_exception(exc)


def _cli_exception(exc: Exception) -> None:
    """Map the command-line parser's own exceptions; anything else is a bug.

    Matched by class name because typer >= 0.29 vendors its own copy of click's
    exception classes (``typer._click``), while older releases use click's.
    """
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    if "NoArgsIsHelpError" in kinds:
        print(exc.ctx.get_help())
        sys.exit(0)
    if "ClickException" in kinds:
        _fail(f"error: {exc.format_message()}", 2)
    if "Exit" in kinds:
        sys.exit(getattr(exc, "exit_code", 0))
    if "Abort" in kinds:
        _fail("interrupted", 130)
    if os.environ.get("DIMCURSE_DEBUG"):
        raise exc
    _fail(f"internal error: {type(exc).__name__}: {exc} (set DIMCURSE_DEBUG=1 for the traceback)", 1)


def _fail(message: str, code: int) -> None:
    line = " ".join(str(message).split())  # exactly one line, whatever the message held
    print(line, file=sys.stderr)
    sys.exit(code)
