"""One source for options: every kernel option's default and help come from its Config field."""

import dataclasses

import pytest
import typer.main

from dimcurse import cli as dimcurse_cli
from dimcurse import configs

KERNELS = [
    ("distance", configs.DistanceConfig),
    ("approx", configs.ApproxConfig),
    ("overparam", configs.OverparamConfig),
]

SHARED = {"--width", "--features"}  # one width, and an alias of --widths: their own one-line help


def _command(name):
    return typer.main.get_command(dimcurse_cli.app).commands[name]


@pytest.mark.parametrize("name, config_class", KERNELS, ids=[k for k, _ in KERNELS])
def test_every_field_has_an_option_and_its_help_is_the_field_documentation(name, config_class):
    options = configs.field_options(config_class)
    fields = {f.name for f in dataclasses.fields(config_class)}
    assert set(options.values()) == fields  # every field documented with the option that sets it
    params = {opt: p for p in _command(name).params for opt in p.opts}
    assert set(options) <= set(params), set(options) - set(params)  # no option named in a field is missing
    for option, field in options.items():
        if option not in SHARED:
            assert params[option].help == configs.option_help(config_class, field), option
            assert "None" not in params[option].help  # users type options, not Python


@pytest.mark.parametrize("name, config_class", KERNELS, ids=[k for k, _ in KERNELS])
def test_a_command_without_options_runs_exactly_the_config_defaults(name, config_class, cli, monkeypatch):
    built = []
    monkeypatch.setattr(dimcurse_cli, "_execute", lambda kernel, config, *args, **kwargs: built.append(config))
    code, _, err = cli(name)
    assert code == 0, err
    assert built == [config_class()]


def test_defaults_are_shown_in_every_kernel_option_help():
    for name, config_class in KERNELS:
        for param in _command(name).params:
            option = param.opts[0]
            if option in configs.field_options(config_class) and not param.is_flag and option not in SHARED:
                shown = param.show_default if isinstance(param.show_default, str) else param.default
                assert shown is not None or "default: " in (param.help or ""), (name, param.opts[0])


def test_the_command_line_the_api_and_a_sweep_file_make_one_config(cli, monkeypatch, tmp_path):
    """One converter (dimcurse.options): the same settings typed three ways give the same Config."""
    from dimcurse.api import make_config
    from dimcurse.sweep import load_sweep

    built = []
    monkeypatch.setattr(dimcurse_cli, "_execute", lambda kernel, config, *args, **kwargs: built.append(config))
    code, _, err = cli(
        "overparam", "--model", "Linear", "--train-samples", "200", "--features", "10,20", "--seeds", "2"
    )
    assert code == 0, err
    api = make_config("overparam", dict(model="Linear", train_samples="200", features=(10, 20), seeds=2))
    sweep = tmp_path / "one.toml"
    sweep.write_text(
        "[[experiment]]\nkernel = 'overparam'\n[experiment.fixed]\n"
        "model = 'linear'\ntrain_samples = 200\nfeatures = '10,20'\nseeds = [0, 1]\n"
    )
    (point,) = load_sweep(sweep)
    assert built[0] == api == point.config
    assert api.model == "linear" and api.widths == (10, 20) and api.seeds == (0, 1)
