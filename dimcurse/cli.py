"""The ``dimcurse`` command line: parse options, call the library, render. Nothing else.

Every user-fixable error (``DimcurseError`` or a click usage error) becomes one line on
stderr and exit code 2, in one place: ``main``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer

from dimcurse.version import __version__
from dimcurse.configs import ApproxConfig, DistanceConfig, OverparamConfig, cli_default, field_options, option_help
from dimcurse.errors import DimcurseError, Interrupted
from dimcurse.parsing import parse_int, parse_name_list

# Only typer and the torch-free configs load at start-up: --help and --version answer at once
# (benchmarks/bench_startup.py). torch, pandas, rich tables and the kernels load when a command runs.

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help="""Measure why neural networks escape the curse of dimensionality.

New here? Run: dimcurse tour --quick (33 s on 2 cores, 2026-12-07; a report with three figures).

\b
Examples:
  dimcurse distance --dims 10,100,1000
  dimcurse approx --target barron --dims 4,32
  dimcurse overparam --model linear
  dimcurse batch benchmarks/sweeps/quick.toml""",
)


def _stderr():
    from rich.console import Console

    return Console(stderr=True)


def _version(value: bool):
    if value:
        print(f"dimcurse {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
):
    """Measure why neural networks escape the curse of dimensionality."""


# --------------------------------------------------------------------------- shared options

LIST = "A,B,..."  # the metavar of every comma-list option: a list takes commas, not spaces


def count(option: str, minimum: int = 1):
    """A parser for a whole-number option: ``1e4`` and ``10000`` alike, at least ``minimum``."""
    return lambda text: text if isinstance(text, int) else parse_int(text, option, minimum)


def int_option(default, name: str, help: str, minimum: int = 1, *aliases: str):
    return typer.Option(default, name, *aliases, help=help, parser=count(name, minimum), metavar="INT")


def config_option(config_class, name: str, *aliases: str, minimum: int | None = None, unset: bool = False, **kwargs):
    """An option whose default and help come from the ``Config`` field it sets (one source: the field's
    documentation in dimcurse/configs.py names its option in brackets). ``minimum``: a whole number of at
    least that (``1e4`` works). ``unset``: the command must tell "not given" from the default (as --dims
    with --data), so it receives None and the help shows the Config's default."""
    field = field_options(config_class)[name]
    default = cli_default(config_class, field)
    kind = {f.name: str(f.type) for f in dataclasses.fields(config_class)}[field].split("|")[0].strip()
    kwargs.setdefault("metavar", {"float": "FLOAT", "str": "NAME"}.get(kind))  # not typer's <str>
    if minimum is not None:
        kwargs.update(parser=count(name, minimum), metavar="INT")
    if unset:
        kwargs.setdefault("show_default", str(default) or "none")
        default = None
    help = option_help(config_class, field)
    if default is None and "default: " in help:
        kwargs.pop("show_default", None)  # the help says it already
    declared = f"{name}/--no-{name[2:]}" if default is True else name  # a flag on by default can be turned off
    return typer.Option(default, declared, *aliases, help=help, **kwargs)


DEVICE = typer.Option("auto", "--device", metavar="NAME", help="auto (CUDA when present), cpu, cuda or cuda:N.")
THREADS = typer.Option(
    None,
    "--threads",
    help="Torch threads on the CPU (recorded in the provenance). One by default: two threads stall on a "
    "machine where anything else runs (warned when the load leaves fewer cores free); give 2 on a quiet "
    "2-core machine for about 1.4x.",
    show_default="1",
    metavar="INT",
)


def _set_threads(threads: Optional[int]) -> int:
    """Check --threads (one line and exit 2 below 1; a warning above the cores) and set it for this process."""
    import torch

    from dimcurse.runtime import check_threads

    count, warning = check_threads(threads)
    if warning:
        _stderr().print(warning, highlight=False)
    torch.set_num_threads(count)
    return count


OUT = typer.Option(
    "-",
    "--out",
    "-o",
    metavar="FILE",
    help="File to write (.csv .json .jsonl .parquet .md), or - for stdout. A figure goes to --plot.",
)
FORMAT = typer.Option(
    None,
    "--format",
    metavar="NAME",
    help="json, jsonl, csv, markdown or table.",
    show_default="from --out's suffix; table for -",
)
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar.")
TF32 = typer.Option(
    False,
    "--tf32",
    help="Allow TF32 on CUDA (10-bit mantissas in float32 matmuls and convolutions: faster, less exact). Off by "
    "default, and recorded in the provenance either way; refused on the CPU, which has no TF32.",
)
LIST_DATA = typer.Option(False, "--list-data", help="Print the data sets --data takes (plugins' too) and exit.")
FIT_OUT = typer.Option(
    None,
    "--fit-out",
    "--summary-out",
    metavar="FILE",
    help="Also write the analysis table to this file: approx's exponent fits, overparam's per-width summary, "
    "distance's mean ± sd table (--summary-out: its older name, still taken).",
)
CURVES_OUT = typer.Option(
    None, "--curves-out", metavar="FILE", help="Write the training curves (--record-every) to this file."
)
TENSORBOARD = typer.Option(
    None,
    "--tensorboard",
    metavar="DIR",
    help="Write the training curves as TensorBoard event files under DIR (needs tensorboard).",
)
CHECKPOINT = typer.Option(
    None,
    "--checkpoint",
    metavar="DIR",
    help="Keep finished work in DIR (each trained width; overparam: its training state every 30 s) and, given "
    "the same command again, resume there after a kill. A folder of another run is refused.",
)
PLOT = typer.Option(
    None, "--plot", metavar="FIGURE", help="Also draw the figure to this file (.png .svg .pdf; needs matplotlib)."
)


def _bar(quiet: bool, label: str, figures: str):
    """A rich progress bar on stderr, ``label``, the bar, ``figures``, the time spent and the time left; shown
    only when stderr is a terminal: a log file or pipe gets no bar (nor the blank line rich leaves behind)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    err = _stderr()
    columns = (TextColumn(label), BarColumn(), TextColumn(figures), TimeElapsedColumn(), TimeRemainingColumn())
    return Progress(*columns, console=err, transient=True, disable=quiet or not err.is_terminal)


@contextmanager
def _progress(quiet: bool, description: str):
    """A rich progress bar on stderr; yields a callback taking fractions of the whole run.

    Shown only when stderr is a terminal: a log file or pipe gets no bar (nor the blank
    line rich leaves behind).
    """
    bar = _bar(quiet, "{task.description}", "{task.percentage:>5.1f}%")
    with bar:
        task = bar.add_task(description, total=1.0)
        yield lambda fraction: bar.advance(task, fraction)


RUN_OPTIONS = (
    "device",
    "out",
    "format",
    "quiet",
    "fit_out",
    "plot_file",
    "curves_out",
    "tensorboard",
    "threads",
    "tf32",
    "checkpoint",
)


def _run_options(given: dict) -> dict:
    """The options every kernel command shares (where, how many threads, what to write), from its parameters
    (its ``locals()``): the keywords of ``_execute``. A command without curves has none to give."""
    return {name: given[name] for name in RUN_OPTIONS if name in given}


def _execute(
    kernel,
    config,
    *,
    device: str,
    out: str,
    format: Optional[str],
    quiet: bool,
    fit_out: Optional[str] = None,
    plot_file: Optional[str] = None,
    curves_out: Optional[str] = None,
    tensorboard: Optional[str] = None,
    threads: Optional[int] = None,
    tf32: bool = False,
    checkpoint: Optional[str] = None,
):
    """The chain every kernel command follows: validate, check the outputs, run, then render or write."""
    from dimcurse import plot, render
    from dimcurse.experiments import figure_for, run_kernel
    from dimcurse.results import Result, aggregate, check_writable, write_result
    from dimcurse.runtime import resolve_device

    kernel.validate(config)
    fmt_name = check_writable(out, format)
    _check_curve_outputs(config, curves_out, tensorboard)
    if plot_file is not None:
        plot.check_plot_path(plot_file)
    if fit_out is not None:
        _check_side_file(fit_out, "--fit-out")
    torch_device = resolve_device(device)
    count = _set_threads(threads)
    say = None if quiet else functools.partial(_stderr().print, soft_wrap=True, markup=False, highlight=False)
    try:
        with _progress(quiet, kernel.KERNEL) as tick:
            result = run_kernel(
                kernel, config, torch_device, tick, threads=count, tf32=tf32, say=say, checkpoint=checkpoint
            )
    except KeyboardInterrupt:
        if checkpoint is None:
            raise
        raise Interrupted(
            f"interrupted: finished work is kept in {checkpoint}; run the same command to resume"
        ) from None
    # The terminal gets the table before any file is written: if a write then fails (a full
    # disk, a folder gone read-only), the numbers are still on screen and the error says which file.
    if out == "-" and fmt_name != "table":
        write_result(result, "-", fmt_name)
    else:
        render.print_result(result, render.console())
    err = _stderr()
    if out != "-":
        write_result(result, out, fmt_name)
        if not quiet:
            err.print(f"wrote {out} (provenance: {out}.provenance.json)")
    if fit_out is not None:
        # the kernel's analysis table (approx's fits, overparam's per-width summary), else the mean ± sd table
        table = result.analysis if result.analysis is not None else aggregate(result)
        write_result(Result(kernel=result.kernel, rows=table, provenance=result.provenance), fit_out)
        if not quiet:
            err.print(f"wrote {fit_out}")
    if plot_file is not None:
        plot.save(figure_for(result), plot_file)
        if not quiet:
            err.print(f"wrote {plot_file}")
    _write_curves(result, curves_out, tensorboard, quiet)
    return result


def _check_side_file(path: str, option: str) -> None:
    """A second output file (a summary, the curves): a real file, writable, its errors naming ``option``."""
    from dimcurse.results import check_writable

    if path == "-":
        raise DimcurseError("give a file name (stdout carries the rows)", option)
    try:
        check_writable(path, None)
    except DimcurseError as exc:
        raise DimcurseError(exc.message, option) from None


def _check_curve_outputs(config, curves_out: Optional[str], tensorboard: Optional[str]) -> None:
    """Before any work: curves are asked for only with --record-every, to a writable place."""
    from dimcurse.curves import check_tensorboard

    for option, value in (("--curves-out", curves_out), ("--tensorboard", tensorboard)):
        if value is not None and not getattr(config, "record_every", 0):
            raise DimcurseError("no curves are recorded without --record-every N", option)
    if curves_out is not None:
        _check_side_file(curves_out, "--curves-out")
    if tensorboard is not None:
        check_tensorboard()
        folder = Path(tensorboard).expanduser()
        if folder.exists() and not folder.is_dir():
            raise DimcurseError(f"{tensorboard!r} is a file, not a folder", "--tensorboard")
        if not folder.parent.is_dir():
            raise DimcurseError(f"directory {str(folder.parent)!r} does not exist", "--tensorboard")


def _write_curves(result, curves_out: Optional[str], tensorboard: Optional[str], quiet: bool) -> None:
    from dimcurse.curves import curves_of, write_tensorboard
    from dimcurse.results import Result, write_result

    err = _stderr()
    if curves_out is not None:
        table = curves_of(result, "--curves-out")
        write_result(Result(kernel=result.kernel, rows=table, provenance=result.provenance), curves_out)
        if not quiet:
            err.print(f"wrote {curves_out}")
    if tensorboard is not None:
        runs = write_tensorboard(curves_of(result, "--tensorboard"), tensorboard)
        if not quiet:
            err.print(f"wrote {runs} TensorBoard runs under {tensorboard} (tensorboard --logdir {tensorboard})")


def _list_data() -> None:
    from dimcurse import render

    render.print_grid(render.datasets_table(), render.console())


# --------------------------------------------------------------------------- commands


@app.command(short_help="Versions, devices and threads; or what a result store holds.")
def info(
    store: Optional[str] = typer.Argument(
        None, metavar="[STORE]", help="A result store: its kernels, points, failures and unreadable lines."
    ),
):
    """Print the versions of dimcurse, Python, torch and numpy, the devices and the thread count; given a
    STORE, what it holds instead: per experiment and kernel the points done and failed, their rows, kernel
    versions and times, then every unreadable line, earlier quarantined lines and each failure's error.

    \b
    Examples:
      dimcurse info
      dimcurse info quick.store
    """
    from dimcurse import render

    if store is None:
        render.console().print(render.info_table())
        return
    from dimcurse import report as reports

    table, lines = reports.store_info(store)
    console = render.console()
    render.print_grid(render.frame_grid(table, f"dimcurse info {store}", keys=("experiment", "kernel")), console)
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def _config(kernel: str, given: dict):
    """The kernel's Config from a command's parameters (its ``locals()``): every option given, in the
    form typed, through the one converter the Python API and sweep files use (dimcurse.options).
    Options left unset (None) keep the Config's default; an empty value (``--dims ""``, as a script passing
    an empty variable gives) is refused by the converter, never read as unset."""
    from dimcurse.configs import CLI_NAMES
    from dimcurse.options import config_class, config_from

    keys = {f.name for f in dataclasses.fields(config_class(kernel))} | set(CLI_NAMES.get(kernel, {}))
    return config_from(kernel, {k: v for k, v in given.items() if k in keys and v is not None})


@app.command(
    "distance",
    short_help="Distance concentration: nearest and farthest neighbours become alike as the "
    "dimension grows; real data of low intrinsic dimension concentrates less.",
)
def distance_cmd(  # noqa: PLR0917  (typer: one parameter per option)
    dims: Optional[str] = config_option(DistanceConfig, "--dims", metavar=LIST, unset=True),
    dist: Optional[str] = config_option(DistanceConfig, "--dist", metavar=LIST, unset=True),
    metric: str = config_option(DistanceConfig, "--metric", metavar=LIST),
    points: int = config_option(DistanceConfig, "--points", minimum=1),
    queries: int = config_option(DistanceConfig, "--queries", minimum=1),
    k: int = config_option(DistanceConfig, "--k", minimum=1),
    mle_k: int = config_option(DistanceConfig, "--mle-k", minimum=1),
    id_points: int = config_option(DistanceConfig, "--id-points", minimum=0),
    data: Optional[str] = config_option(DistanceConfig, "--data", metavar="NAME|FILE"),
    download: bool = config_option(DistanceConfig, "--download"),
    chunk: int = config_option(DistanceConfig, "--chunk", minimum=0),
    fit_out: Optional[str] = FIT_OUT,
    list_data: bool = LIST_DATA,
    seeds: str = config_option(DistanceConfig, "--seeds", metavar="SEEDS"),
    device: str = DEVICE,
    threads: Optional[int] = THREADS,
    tf32: bool = TF32,
    dtype: str = config_option(DistanceConfig, "--dtype"),
    out: str = OUT,
    format: Optional[str] = FORMAT,
    quiet: bool = QUIET,
    plot_file: Optional[str] = PLOT,
):
    """Distance concentration: nearest and farthest neighbours become alike as the dimension grows.

    Each row is one (set, dimension, metric), mean ± sd over seeds, with the exact theory
    value under each measurement where a closed form exists.

    \b
    Examples:
      dimcurse distance --dims 10,100,1000
      dimcurse distance --dims 1000 --dist gaussian,subspace:5 --points 5000
      dimcurse distance --data digits --metric l2,cosine
      dimcurse distance --data my-embeddings.npy
    """
    from dimcurse.experiments.distance import kernel as distance

    if list_data:
        return _list_data()
    if data is not None and (dims is not None or dist is not None):
        raise DimcurseError("a real data set fixes the dimension and distribution; drop --dims/--dist", "--data")
    _execute(distance, _config("distance", locals()), **_run_options(locals()))


@app.command(
    "approx",
    short_help="Approximation error against width: shallow, deep and tree networks, with the "
    "fitted exponent beside the theory's.",
)
def approx_cmd(  # noqa: PLR0917  (typer: one parameter per option)
    width: Optional[int] = typer.Option(
        None,
        "--width",
        help="One hidden width (per tree node for --arch tree).",
        parser=count("--width"),
        metavar="INT",
    ),
    widths: Optional[str] = config_option(ApproxConfig, "--widths", metavar=LIST),
    target: Optional[str] = config_option(ApproxConfig, "--target", metavar=LIST, unset=True),
    data: Optional[str] = config_option(ApproxConfig, "--data", metavar="FILE"),
    target_column: Optional[str] = config_option(ApproxConfig, "--target-column", metavar="NAME"),
    test_fraction: str = config_option(ApproxConfig, "--test-fraction", metavar="FRACTION"),
    components: Optional[int] = config_option(ApproxConfig, "--components", minimum=0),
    dims: Optional[str] = config_option(ApproxConfig, "--dims", metavar=LIST),
    arch: str = config_option(ApproxConfig, "--arch", metavar=LIST),
    depth: int = config_option(ApproxConfig, "--depth", minimum=1),
    activation: str = config_option(ApproxConfig, "--activation"),
    samples: Optional[str] = config_option(ApproxConfig, "--samples", metavar=LIST),
    inputs: Optional[str] = config_option(ApproxConfig, "--inputs", metavar="NAME|FILE"),
    samples_per_param: Optional[str] = config_option(ApproxConfig, "--samples-per-param", unset=True),
    test_samples: int = config_option(ApproxConfig, "--test-samples", minimum=1),
    steps: Optional[int] = config_option(ApproxConfig, "--steps", minimum=1),
    lm_iters: Optional[int] = config_option(ApproxConfig, "--lm-iters", minimum=1),
    lm_rows: Optional[str] = config_option(ApproxConfig, "--lm-rows", unset=True),
    lm_max_params: int = config_option(ApproxConfig, "--lm-max-params", minimum=1),
    optimizer: str = config_option(ApproxConfig, "--optimizer"),
    lr: Optional[str] = config_option(ApproxConfig, "--lr"),
    baselines: Optional[str] = config_option(ApproxConfig, "--baselines", metavar=LIST, unset=True),
    knn_k: int = config_option(ApproxConfig, "--knn-k", minimum=1),
    teacher_k: str = config_option(ApproxConfig, "--teacher-k", metavar=LIST),
    teacher_draws: int = config_option(ApproxConfig, "--teacher-draws", minimum=1),
    gn_iters: Optional[int] = config_option(ApproxConfig, "--gn-iters", minimum=1),
    cg_iters: Optional[int] = config_option(ApproxConfig, "--cg-iters", minimum=1),
    q_power_k: int = config_option(ApproxConfig, "--q-power-k", minimum=1),
    verdict_tolerance: str = config_option(ApproxConfig, "--verdict-tolerance", metavar="FRACTION"),
    budget: Optional[str] = config_option(ApproxConfig, "--budget", metavar="DURATION"),
    fit_out: Optional[str] = FIT_OUT,
    record_every: int = config_option(ApproxConfig, "--record-every", minimum=0),
    curves_out: Optional[str] = CURVES_OUT,
    tensorboard: Optional[str] = TENSORBOARD,
    list_targets: bool = typer.Option(False, "--list-targets", help="Print the targets with their formulas and exit."),
    seeds: str = config_option(ApproxConfig, "--seeds", metavar="SEEDS"),
    device: str = DEVICE,
    threads: Optional[int] = THREADS,
    tf32: bool = TF32,
    checkpoint: Optional[str] = CHECKPOINT,
    dtype: str = config_option(ApproxConfig, "--dtype"),
    out: str = OUT,
    format: Optional[str] = FORMAT,
    quiet: bool = QUIET,
    plot_file: Optional[str] = PLOT,
):
    """Approximation error against width: rel_rmse ~ params^(-alpha), alpha fitted with a 95 % interval.

    Shallow networks train with Levenberg–Marquardt by default, and with matrix-free
    Gauss–Newton above --lm-max-params, each model until it converges or reaches its cap
    (--lm-iters, --gn-iters), so the exponent measures the function class, not the
    trainer; widths an optimiser, the samples or the float precision limited in most
    replicates are flagged and left out of the fit. The interval is a t interval over
    teacher draws x seeds, and a verdict (agrees, disagrees, inconclusive) sits beside
    the theory's exponent.

    \b
    Examples:
      dimcurse approx --target barron --dims 4,32
      dimcurse approx --target teacher --teacher-k 1,2,3,4,6 --dims 32 --budget 5m  # 3 min 09 s on 2 cores, 2026-12-07
      dimcurse approx --target teacher --teacher-k 2 --dims 32 --samples 500,1000,2000,4000 --baselines knn
      dimcurse approx --target teacher --inputs torus:2 --dims 32
      dimcurse approx --target product --dims 8 --arch shallow,tree --optimizer adam
      dimcurse approx --data my-regression.csv --target-column price
    """
    from dimcurse import render
    from dimcurse.experiments.approx import kernel as approx

    if list_targets:
        from dimcurse.experiments.approx.registered import targets_table

        render.print_grid(targets_table(), render.console())
        return
    if width is not None and widths is not None:
        raise DimcurseError("give --width or --widths, not both", "--width")
    if data is not None and (target is not None or dims is not None):
        raise DimcurseError("a data file fixes the target and the dimension; drop --target/--dims", "--data")
    _execute(approx, _config("approx", locals()), **_run_options(locals()))


@app.command(
    "overparam",
    short_help="Overparameterisation: test error across the interpolation threshold (double "
    "descent), for linear models, random features and MLPs.",
)
def overparam_cmd(  # noqa: PLR0917  (typer: one parameter per option)
    model: str = config_option(OverparamConfig, "--model"),
    data: Optional[str] = config_option(OverparamConfig, "--data", metavar="NAME|FILE"),
    target_column: Optional[str] = config_option(OverparamConfig, "--target-column", metavar="NAME"),
    test_fraction: str = config_option(OverparamConfig, "--test-fraction", metavar="FRACTION"),
    widths: Optional[str] = config_option(OverparamConfig, "--widths", metavar=LIST),
    features: Optional[str] = typer.Option(
        None, "--features", metavar=LIST, help="Same as --widths (linear, random-features)."
    ),
    depth: int = config_option(OverparamConfig, "--depth", minimum=1),
    feature_map: str = config_option(OverparamConfig, "--feature-map"),
    train_samples: Optional[str] = config_option(OverparamConfig, "--train-samples", metavar=LIST),
    test_samples: Optional[int] = config_option(OverparamConfig, "--test-samples", minimum=1),
    label_noise: str = config_option(OverparamConfig, "--label-noise", metavar=LIST),
    ridge: str = config_option(OverparamConfig, "--ridge", metavar=LIST),
    weight_decay: str = config_option(OverparamConfig, "--weight-decay"),
    epochs: int = config_option(OverparamConfig, "--epochs", minimum=1),
    steps: Optional[int] = config_option(OverparamConfig, "--steps", minimum=1),
    optimizer: str = config_option(OverparamConfig, "--optimizer"),
    lr: Optional[str] = config_option(OverparamConfig, "--lr"),
    batch_size: int = config_option(OverparamConfig, "--batch-size", minimum=0),
    loss: str = config_option(OverparamConfig, "--loss"),
    activation: str = config_option(OverparamConfig, "--activation"),
    record_every: int = config_option(OverparamConfig, "--record-every", minimum=0),
    curves_out: Optional[str] = CURVES_OUT,
    tensorboard: Optional[str] = TENSORBOARD,
    augment: bool = config_option(OverparamConfig, "--augment"),
    signal_var: str = config_option(OverparamConfig, "--signal-var"),
    noise_var: str = config_option(OverparamConfig, "--noise-var"),
    feature_scales: str = config_option(OverparamConfig, "--feature-scales", metavar=LIST),
    standardise: bool = config_option(OverparamConfig, "--standardise"),
    group_steps: str = config_option(OverparamConfig, "--group-steps", metavar=LIST),
    teacher_dim: int = config_option(OverparamConfig, "--teacher-dim", minimum=1),
    download: bool = config_option(OverparamConfig, "--download"),
    fit_out: Optional[str] = FIT_OUT,
    list_data: bool = LIST_DATA,
    seeds: str = config_option(OverparamConfig, "--seeds", metavar="SEEDS"),
    device: str = DEVICE,
    threads: Optional[int] = THREADS,
    tf32: bool = TF32,
    checkpoint: Optional[str] = CHECKPOINT,
    dtype: str = config_option(OverparamConfig, "--dtype"),
    out: str = OUT,
    format: Optional[str] = FORMAT,
    quiet: bool = QUIET,
    plot_file: Optional[str] = PLOT,
):
    """Overparameterisation: test error across the interpolation threshold (double descent).

    The summary names, per setting, the width where the model first fits the training set
    and the test-loss peak; the linear model shows Hastie et al.'s closed-form risk beside it.

    \b
    Examples:
      dimcurse overparam --model linear
      dimcurse overparam --model random-features --label-noise 0,0.2
      dimcurse overparam --model mlp --widths 4,16,64,256 --epochs 100
      dimcurse overparam --data my-labels.csv --train-samples 500
    """
    from dimcurse.experiments.overparam import kernel as overparam

    if list_data:
        return _list_data()
    if widths is not None and features is not None:
        raise DimcurseError("give --widths or --features, not both", "--features")
    _execute(overparam, _config("overparam", locals()), **_run_options(locals()))


# --------------------------------------------------------------------------- batch runs


@app.command(
    "batch",
    short_help="Run every point of a sweep file into a resumable store; failed points are recorded "
    "and listed, and the same command resumes.",
)
def batch_cmd(  # noqa: PLR0917  (typer: one parameter per option)
    sweep_file: str = typer.Argument(..., metavar="SWEEP", help="A sweep file (TOML); see benchmarks/sweeps/."),
    store: Optional[str] = typer.Option(
        None, "--store", metavar="DIR", help="Result store directory.", show_default="./SWEEP-NAME.store"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the points and what is already done; run nothing."),
    force: bool = typer.Option(False, "--force", help="Rerun points that are already done."),
    retries: int = int_option(0, "--retries", "Retry failed points this many times.", 0),
    executor: str = typer.Option("serial", "--executor", metavar="NAME", help="serial, processes or dask."),
    workers: int = int_option(2, "--workers", "Processes for --executor processes."),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", metavar="ADDRESS", help="Dask scheduler address (or DASK_SCHEDULER_ADDRESS)."
    ),
    device: str = DEVICE,
    threads: Optional[int] = THREADS,
    quiet: bool = QUIET,
):
    """Run every point of a sweep file into a resumable store; failed points are recorded and listed.

    \b
    Examples:
      dimcurse batch benchmarks/sweeps/quick.toml
      dimcurse batch benchmarks/sweeps/quick.toml --dry-run
      dimcurse batch sweep.toml --executor processes --workers 2
    """
    from dimcurse import batch, render
    from dimcurse import report as reports
    from dimcurse.sweep import load_sweep

    points = load_sweep(sweep_file)
    count = _set_threads(threads)
    folder = store or f"{Path(sweep_file).stem}.store"
    if dry_run:
        render.print_grid(render.points_table(points, batch.status(points, folder), folder), render.console())
        for line in reports.store_problems(folder) if Path(folder).is_dir() else []:
            _stderr().print(f"note: {line}", highlight=False, markup=False, soft_wrap=True)
        return
    try:
        with _batch_progress(quiet, len(points)) as update:
            outcome = batch.run_batch(
                points,
                folder,
                executor=executor,
                device=device,
                workers=workers,
                scheduler=scheduler,
                force=force,
                retries=retries,
                progress=update,
                threads=count if threads is not None else None,
            )
    except KeyboardInterrupt:
        saved = sum(1 for status in batch.status(points, folder).values() if status == "done")
        raise Interrupted(
            f"interrupted: {saved} of {len(points)} points saved in {folder}; run the same command to resume"
        ) from None
    if outcome.quarantined:
        _stderr().print(f"note: {outcome.quarantined}", highlight=False)
    render.console().print(render.batch_summary(outcome, folder))
    if outcome.failed:
        sys.exit(1)


@contextmanager
def _batch_progress(quiet: bool, total: int):
    """Points done, failed and remaining, with the time left, as a bar on a terminal; redirected (nohup,
    Slurm), one line per finished point, so that a log shows progress as it happens."""
    bar = _bar(quiet, "batch", "{task.fields[counts]}")
    err = bar.console
    started = time.monotonic()
    with bar:
        task = bar.add_task("batch", total=total, counts="")

        def update(report) -> None:
            finished = report.skipped + report.done + len(report.failed)
            counts = (
                f"{report.done} done, {len(report.failed)} failed, {report.skipped} skipped, {total - finished} left"
            )
            bar.update(task, completed=finished, counts=counts)
            if not quiet and not err.is_terminal and report.last is not None:
                computed = report.done + len(report.failed)  # points run here, not skipped as done before
                line = _log_line(report.last, finished, total, time.monotonic() - started, computed)
                print(line, file=sys.stderr, flush=True)

        yield update


def _log_line(last: tuple, finished: int, total: int, spent: float = 0.0, computed: int = 0) -> str:
    """``2026-12-07 08:01:02 batch 3/12 [widths: dim=8] done in 4.2 s, 9 left, ETA 08:01:40 (38 s)``: the local
    time, the point (in brackets, the sweep's label), its wall time and the points left; the ETA is the mean
    wall time of the points this batch ran (``spent`` over ``computed``: with --workers, their mean pace)
    times the points left."""
    from dimcurse.layout import duration

    label, status, elapsed = last
    took = "" if elapsed is None else f" in {elapsed:.1f} s" if elapsed >= 1 else f" in {elapsed:.2g} s"  # 0.012 s
    left = total - finished
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} batch {finished}/{total} [{label}] {status}{took}, {left} left"
    if left and computed:
        rest = spent / computed * left
        line += f", ETA {time.strftime('%H:%M:%S', time.localtime(time.time() + rest))} ({duration(rest)})"
    return line


WHERE = typer.Option(
    None,
    "--where",
    metavar="FILTERS",
    help="Comma list of filters: dim=100, metric!=l1, dim>=100, 'metric in (l1, l2)'.",
)
KERNEL = typer.Option(
    None, "--kernel", metavar="NAME", help="Only this kernel's results (distance, approx, overparam)."
)


def _where(text: Optional[str]) -> list[str]:
    from dimcurse.report import split_filters

    return split_filters(text) if text else []


@app.command(
    "report",
    short_help="Aggregated tables (mean ± sd over seeds) of a store or result file, with "
    "approx's exponent fits; to the terminal or a file.",
)
def report_cmd(  # noqa: PLR0917  (typer: one parameter per option)
    source: str = typer.Argument(..., metavar="STORE", help="A result store (or a result file)."),
    where: Optional[str] = WHERE,
    group_by: Optional[str] = typer.Option(
        None,
        "--group-by",
        metavar=LIST,
        help="Columns to aggregate over seeds by (settings that vary stay keys).",
        show_default="the kernel's settings",
    ),
    pool: Optional[str] = typer.Option(None, "--pool", metavar=LIST, help="Settings to average over as well as seeds."),
    kernel: Optional[str] = KERNEL,
    raw_rows: bool = typer.Option(False, "--rows", help="Export the store's raw rows (one per seed), not the means."),
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Report the readable points of a store with unreadable lines (named in a note)."
    ),
    out: str = OUT,
    format: Optional[str] = FORMAT,
):
    """Aggregated tables (mean ± sd over seeds) of a store, with approx's exponent fits.

    Only seeds are averaged: a setting that varies within a group stays a key (a note
    says so) unless --pool names it.

    \b
    Examples:
      dimcurse report quick.store
      dimcurse report quick.store --where 'dim>=100' --kernel distance
      dimcurse report quick.store --kernel overparam --rows --out rows.csv
    """
    from dimcurse import render
    from dimcurse import report as reports
    from dimcurse.results import Result, aggregate, check_writable, write_result

    fmt_name = check_writable(out, format)
    results = reports.report(
        source,
        _where(where),
        parse_name_list(group_by, "--group-by") if group_by else None,
        kernel,
        parse_name_list(pool, "--pool") if pool else (),
        skip_bad=skip_bad,
        store_notes=(said := []),
    )
    if raw_rows or out != "-" or fmt_name != "table":
        if len(results) != 1:
            raise DimcurseError(f"the store holds {len(results)} kernels; choose one with --kernel", "--kernel")
        result = results[0]
        table = result.rows if raw_rows else aggregate(result)
        write_result(
            Result(kernel=result.kernel, rows=table, provenance=result.provenance),
            out,
            "csv" if fmt_name == "table" else fmt_name,
        )
        for note in said:  # the store's own notes: what an export leaves out
            _stderr().print(f"note: {note}", highlight=False)
        if out != "-":
            _stderr().print(f"wrote {out}")
        return
    for result in results:
        render.print_result(result, render.console())


@app.command(
    "compare",
    short_help="Line up the same settings of two runs: mean ± sd and n of each, difference, "
    "ratio and whether it is beyond the seed noise.",
)
def compare_cmd(  # noqa: PLR0917  (typer: one parameter per option)
    source_a: str = typer.Argument(..., metavar="A", help="A store or result file."),
    source_b: str = typer.Argument(..., metavar="B", help="Another store or result file."),
    kernel: Optional[str] = KERNEL,
    where: Optional[str] = WHERE,
    fail_if: Optional[str] = typer.Option(
        None,
        "--fail-if",
        metavar="RULE",
        help="Exit 1 when a row breaks it: 'ratio>1.1', 'diff<-0.01', 'QUANTITY:ratio>1.1'.",
    ),
    all_rows: bool = typer.Option(
        False, "--all", help="Print every compared row, not only those that differ beyond the seed noise."
    ),
    out: str = OUT,
    format: Optional[str] = FORMAT,
):
    """Line up the same settings of two runs: each quantity's mean ± sd and n, difference, ratio and noise flag.

    One table per kernel of the rows that differ beyond the seed noise (--all: every row; a
    kernel whose rows are all equal, or all within the noise, gets one line); wall-time columns
    get one line each (the median ratio; --out FILE keeps every row). The warnings name the
    settings, versions and devices that differ.

    \b
    Examples:
      dimcurse compare before.store after.store
      dimcurse compare a.csv b.csv --fail-if 'relative_contrast:ratio>1.1'
    """
    from dimcurse import render
    from dimcurse import report as reports
    from dimcurse.results import Result, check_writable, write_result

    fmt_name = check_writable(out, format)
    if fail_if is not None:
        reports.parse_fail_if(fail_if)  # a bad rule fails before any reading
    table, warnings = reports.compare(source_a, source_b, kernel, _where(where))
    broken = reports.failing(table, fail_if) if fail_if is not None else table.iloc[:0]
    err = _stderr()
    for warning in warnings:
        err.print(f"warning: {warning}", highlight=False)
    if out != "-" or fmt_name != "table":
        write_result(
            Result(kernel="compare", rows=table, provenance={"a": source_a, "b": source_b, "warnings": warnings}),
            out,
            fmt_name,
        )
        if out != "-":
            err.print(f"wrote {out}")
    else:
        # one table per kernel (a store of two kernels would otherwise carry each one's settings as empty
        # columns of the other's rows), and the wall times as one line each
        measured = table[table["kind"] == "measured"]
        for name, part in measured.groupby("kernel", sort=False):
            beyond = part["beyond_noise"].fillna(False).astype(bool)
            if not all_rows and not beyond.any():
                render.console().print(reports.equal_line(name, part), highlight=False)
                continue
            title = f"compare {name}: B = {source_b} against A = {source_a}"
            if not all_rows:
                title += f" ({int(beyond.sum())} of {len(part)} rows beyond the seed noise; --all prints every row)"
                part = part[beyond]
            shown = part.drop(columns=["kernel", "kind"]).dropna(axis=1, how="all")
            render.print_grid(render.compare_grid(shown, title), render.console())
        for line in reports.timing_lines(table):
            render.console().print(line, highlight=False)
    if fail_if is not None and len(broken):
        names = ", ".join(dict.fromkeys(broken["quantity"]))
        _fail(f"fail-if {fail_if}: {len(broken)} of {len(table)} rows break it ({names})", 1)


@app.command(
    "tour",
    short_help="The whole argument in three steps, with this run's own numbers: a markdown report "
    "with figures (--quick: 33 s on 2 cores, 2026-12-07).",
)
def tour_cmd(
    quick: bool = typer.Option(False, "--quick", help="A short version (smaller sets, fewer steps)."),
    out: str = typer.Option(
        "dimcurse-tour", "--out", "-o", metavar="DIR", help="Folder for the report, figures and results."
    ),
    device: str = DEVICE,
    threads: Optional[int] = THREADS,
):
    """The whole argument in three steps, with this run's own numbers: a markdown report with figures.

    \b
    Examples:
      dimcurse tour --quick
      dimcurse tour --out my-tour
    """
    from dimcurse import render, tour
    from dimcurse.runtime import resolve_device

    torch_device = resolve_device(device)
    _set_threads(threads)
    report = tour.run(
        out, quick=quick, device=torch_device, say=lambda line: render.console().print(line, highlight=False)
    )
    render.console().print(f"wrote {report}", highlight=False)


@app.command(
    "plot", short_help="Draw the figure of a saved result file or store (every panel, theory beside the measurement)."
)
def plot_cmd(
    source: str = typer.Argument(..., metavar="RESULTS", help="A result file (.csv .json .jsonl .parquet) or a store."),
    out: str = typer.Option(..., "--out", "-o", metavar="FIGURE", help="Figure file: .png, .svg or .pdf."),
    kernel: Optional[str] = KERNEL,
    where: Optional[str] = WHERE,
):
    """Draw the figure of a saved result file or store.

    \b
    Examples:
      dimcurse plot curse.csv --out curse.png
      dimcurse plot quick.store --kernel overparam --out dd.svg
    """
    from dimcurse import plot
    from dimcurse import report as reports
    from dimcurse.experiments import figure_for

    plot.check_plot_path(out, "--out")
    results = reports.report(
        source, _where(where), None, kernel, option="RESULTS", skip_bad=True, store_notes=(said := [])
    )
    for note in said:  # the figure shows the readable points; the note says what it left out
        _stderr().print(f"note: {note}", highlight=False)
    if len(results) != 1:
        raise DimcurseError(f"{source} holds {len(results)} kernels; choose one with --kernel", "--kernel")
    plot.save(figure_for(results[0]), out)
    _stderr().print(f"wrote {out}")


# --------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None, command=None) -> None:
    """Run the CLI; user errors become ``error: ...`` on one line and exit code 2. ``command``: the
    click command already built from ``app`` (the entry point builds it inside its start-up window)."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = command or typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="dimcurse", standalone_mode=False)
        # typer >= 0.29 turns Ctrl-C (and typer.Exit) into a *returned* exit code in this mode;
        # our commands themselves return None.
        if code == 130:
            _fail("interrupted", 130)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except DimcurseError as exc:
        _fail(f"error: {exc}", 2)
    except Interrupted as exc:
        _fail(str(exc), 130)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except MemoryError:
        _fail("error: out of memory; use fewer points, a smaller --chunk or --dtype float32", 1)
    except Exception as exc:
        if "torch" in sys.modules:  # only a run that loaded torch can meet its out-of-memory errors
            from dimcurse.memory import OUT_OF_MEMORY, out_of_memory_message

            if isinstance(exc, OUT_OF_MEMORY):
                _fail(f"error: {out_of_memory_message(exc)}", 1)
        _cli_exception(exc, args)


def _cli_exception(exc: Exception, args: list[str]) -> None:
    """Map the command-line parser's own exceptions; anything else is a bug.

    Matched by class name because typer >= 0.29 vendors its own copy of click's
    exception classes (``typer._click``), while older releases use click's.
    """
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    if "NoArgsIsHelpError" in kinds:
        print(exc.ctx.get_help())
        sys.exit(0)
    if "ClickException" in kinds:
        _fail(f"error: {usage_message(exc, args)}", 2)
    if "Exit" in kinds:
        sys.exit(getattr(exc, "exit_code", 0))
    if "Abort" in kinds:
        _fail("interrupted", 130)
    if os.environ.get("DIMCURSE_DEBUG"):
        raise exc
    _fail(f"internal error: {type(exc).__name__}: {exc} (set DIMCURSE_DEBUG=1 for the traceback)", 1)


def usage_message(exc, args: list[str]) -> str:
    """A parser error in dimcurse's style, ``--option: what is wrong (the fix)``, naming what the user typed."""
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    message = exc.format_message()
    if "NoSuchOption" in kinds:
        close = [p for p in (exc.possibilities or [])]
        hint = f" (did you mean {' or '.join(close[:2])}?)" if close else ""
        return f"{exc.option_name}: no such option{hint}"
    param = getattr(exc, "param", None)
    if param is not None and getattr(param, "opts", None):
        typed = next((a.split("=")[0] for a in args if a.split("=")[0] in param.opts), param.opts[0])
        text = getattr(exc, "message", message)
        if "MissingParameter" in kinds:
            text = "missing; this command needs it"
        return f"{typed}: {text}"
    if message.startswith("Got unexpected extra argument"):
        return _extra_argument_hint(message, args)
    return message


def _extra_argument_hint(message: str, args: list[str]) -> str:
    """``--dims 10 100`` -> lists take commas: --dims 10,100."""
    for i, arg in enumerate(args):
        if i >= 2 and args[i - 2].startswith("--") and not args[i - 1].startswith("-") and arg in message:
            option, values = args[i - 2], [args[i - 1]]
            for more in args[i:]:  # every space-separated value that followed
                if more.startswith("-"):
                    break
                values.append(more)
            return f"{option}: lists take commas, not spaces: {option} {','.join(values)}"
    return message


def _fail(message: str, code: int) -> None:
    line = " ".join(str(message).split())  # exactly one line, whatever the message held
    print(line, file=sys.stderr)
    sys.exit(code)
