"""The one path from options to a kernel's Config: the command line, the Python API and sweep files.

Keys are the command line's option names in snake_case (``points``, ``train_samples``) or the
Config's field names (``n_points``); :data:`dimcurse.configs.CLI_NAMES` maps the first to the
second. A value is either text in the command line's forms (``"10,100"``, ``"0..4"``,
``"lp:0.5"``), parsed by the CLI's own parsers, or a value of the field's type (a number, a
list, a tuple). A bad key or value raises ``DimcurseError`` naming the option (``--points``).

One difference is deliberate: a bare integer for ``seeds`` is a count where a person types it
(the command line, the Python API: ``seeds=3`` is seeds 0, 1, 2) and one seed in a sweep file,
whose TOML values are typed (``seeds = 3`` is seed 3; docs/batch.md).
"""

from __future__ import annotations

import dataclasses
import types
import typing

from dimcurse.configs import CLI_NAMES
from dimcurse.errors import DimcurseError
from dimcurse.parsing import (
    did_you_mean,
    parse_duration,
    parse_float,
    parse_float_list,
    parse_int,
    parse_int_list,
    parse_name_list,
    parse_seeds,
)

# Single-name fields compared in lower case (--model Linear is linear); paths and column names keep theirs.
KEEP_CASE = {"data", "target_column", "inputs"}


def config_class(kernel: str) -> type:
    """The registered kernel's Config class (a kernel added to the registry brings its own)."""
    from dimcurse.experiments import REGISTRY  # torch: the CLI's --help stays without it

    return REGISTRY[kernel].Config


def config_from(kernel: str, options: dict, *, seeds_count: bool = True):
    """The kernel's Config from ``options`` (see the module's docstring)."""
    return config_class(kernel)(**config_values(kernel, options, seeds_count=seeds_count))


def config_from_dict(kernel: str, values: dict):
    """A kernel's Config from a provenance's config block (JSON values back to the field types; keys the
    Config no longer has are dropped). Typed like a sweep file's values: a bare integer seed is one seed."""
    fields = {f.name for f in dataclasses.fields(config_class(kernel))}
    converted = {}
    for key, value in values.items():
        if key not in fields:
            continue
        converted.update({key: None} if value is None else typed_key(f"{kernel} provenance", kernel, key, value))
    return config_class(kernel)(**converted)


def typed_key(where: str, kernel: str, key: str, value) -> dict:
    """One typed value (a sweep file's TOML, a stored provenance's JSON) as its field's: {field: value}; a bare
    integer for seeds is one seed, not a count. An error names ``where`` and the key."""
    try:
        return config_values(kernel, {key: value}, seeds_count=False, what="key")
    except DimcurseError as exc:
        raise DimcurseError(f"{where}: key {key!r}: {exc.message}") from None


def field_names(kernel: str, keys, *, what: str = "option") -> list[str]:
    """The field each key sets, in order (the CLI's names mapped to the fields'); an unknown key, with a
    did-you-mean and the known names, or two keys setting one field, raise naming the option."""
    names = CLI_NAMES.get(kernel, {})
    fields = {f.name for f in dataclasses.fields(config_class(kernel))}
    out = []
    for name in keys:
        field, option = names.get(name, name), "--" + name.replace("_", "-")
        if field not in fields:
            known = sorted(fields | set(names))
            raise DimcurseError(
                f"unknown {what} {name!r}{did_you_mean(name, known)} (known: {', '.join(known)})", option
            )
        if field in out:
            raise DimcurseError(f"{name!r} and another {what} both set {field}", option)
        out.append(field)
    return out


def config_values(kernel: str, options: dict, *, seeds_count: bool = True, what: str = "option") -> dict:
    """``options`` as Config field values: names mapped, each value converted to its field's type.
    ``what`` names a key in the errors ("option", or "key" for a sweep file)."""
    hints = typing.get_type_hints(config_class(kernel))
    fields = field_names(kernel, options, what=what)
    return {
        field: convert(value, hints[field], "--" + name.replace("_", "-"), field, seeds_count=seeds_count)
        for field, (name, value) in zip(fields, options.items())
    }


def convert(value, hint, option: str, field: str, *, seeds_count: bool = True):
    """One value as its field's type: CLI text, a number, a list, or the type itself."""
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()  # a numpy scalar
    if field == "seeds":
        if isinstance(value, bool):
            raise DimcurseError(f"{value!r} is not a seed count or list", option)
        if isinstance(value, int) and seeds_count:
            return parse_seeds(str(value), option)  # seeds=3 is 0, 1, 2
        if isinstance(value, str):
            return parse_seeds(value, option)
    if field == "budget" and isinstance(value, str):
        return parse_duration(value, option)  # 5m, 90s, 1h30m
    if isinstance(value, str):
        return _from_text(value, hint, option, field)
    if isinstance(value, (list, tuple, range)):
        value = list(value)
    try:
        return as_type(value, hint)
    except TypeError:
        raise DimcurseError(f"{value!r} is not {describe(hint)}", option) from None


def _from_text(text: str, hint, option: str, field: str):
    """The CLI's parsers, chosen by the field's type."""
    base = _strip_optional(hint)
    origin, args = typing.get_origin(base), typing.get_args(base)
    if origin is tuple:
        parser = {int: parse_int_list, float: parse_float_list, str: parse_name_list}[args[0]]
        return parser(text, option)
    if base is int:
        return parse_int(text, option, minimum=None)
    if base is float:
        return parse_float(text, option)
    if base is bool:
        raise DimcurseError(f"{text!r} is not true or false", option)
    return text.strip() if field in KEEP_CASE else text.strip().lower()


def _strip_optional(hint):
    """``int | None`` -> ``int``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1 else hint


def as_type(value, hint):
    """A typed value (TOML, JSON, Python) as ``hint``: a scalar for a tuple field is its one element."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        for option in [a for a in args if a is not type(None)]:
            try:
                return as_type(value, option)
            except TypeError:
                continue
        raise TypeError
    if origin is tuple:
        items = value if isinstance(value, list) else [value]
        return tuple(as_type(v, args[0]) for v in items)
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is str and isinstance(value, str):
        return value
    raise TypeError


def describe(hint) -> str:
    """What a field takes, in words, for an error."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        return f"a {args[0].__name__} or a list of them"
    if args:
        return " or ".join(describe(a) for a in args if a is not type(None))
    return {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}.get(
        hint.__name__, hint.__name__
    )
