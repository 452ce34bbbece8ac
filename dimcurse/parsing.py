"""Parsers for the comma-list options every command shares (``--dims 10,100``, ``--seeds 5``)."""

from __future__ import annotations

import difflib
import math
import re

from dimcurse.errors import DimcurseError


def split_list(text: str, option: str) -> list[str]:
    """Split ``"a, b,c"`` into items; an empty item is an error, not something to skip."""
    if not str(text).strip():
        raise DimcurseError("an empty value; give at least one (a script passing an empty variable?)", option)
    items = [item.strip() for item in str(text).split(",")]
    if any(item == "" for item in items):
        raise DimcurseError(f"{text!r} is not a comma-separated list (empty item)", option)
    return items


def parse_int(text: str, option: str, minimum: int | None = 1) -> int:
    """One integer, at least ``minimum`` (positive by default); ``1e4`` and ``10_000`` are 10000."""
    item = str(text).strip()
    try:
        value = int(item)
    except ValueError:
        value = _integral_float(item)
        if value is None:
            raise DimcurseError(f"{text!r} is not an integer", option) from None
    if minimum is not None and value < minimum:
        raise DimcurseError(f"{value} must be at least {minimum}", option)
    return value


def _integral_float(text: str) -> int | None:
    """``1e4`` -> 10000; None for anything that is not a whole number written as a float."""
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number) or number != int(number) or abs(number) > 2**53:
        return None
    return int(number)


def parse_int_list(text: str, option: str, minimum: int | None = 1) -> tuple[int, ...]:
    """``"10,100,1000"`` -> ``(10, 100, 1000)``; each item at least ``minimum``; no repeats."""
    values = tuple(parse_int(item, option, minimum) for item in split_list(text, option))
    if len(set(values)) != len(values):
        raise DimcurseError(f"{text!r} repeats a value", option)
    return values


def parse_float(text: str, option: str, positive: bool = False) -> float:
    """One finite float (strictly positive when ``positive``)."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise DimcurseError(f"{text!r} is not a number", option) from None
    if not math.isfinite(value):
        raise DimcurseError(f"{text!r} is not a finite number", option)
    if positive and value <= 0:
        raise DimcurseError(f"{value:g} must be positive", option)
    return value


# A duration's units, in seconds; a bare number is seconds.
DURATION_UNITS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "mins": 60,
                  "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hour": 3600, "hours": 3600}  # fmt: skip
_DURATION_PART = re.compile(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([a-z]*)", re.IGNORECASE)


def parse_duration(text, option: str) -> float:
    """A duration in seconds: ``300``, ``90s``, ``5m``, ``1.5h``, ``1h30m``, ``5 min`` (strictly positive)."""
    item = str(text).strip()
    example = "give a positive duration such as 90s, 5m or 1h30m"
    if item.startswith("-"):
        raise DimcurseError(f"{text!r} is negative; {example}", option)
    total, pos = 0.0, 0
    while pos < len(item):
        part = _DURATION_PART.match(item, pos)
        unit = part.group(2).lower() if part else None
        if part is None or (unit and unit not in DURATION_UNITS) or (not unit and part.end() < len(item)):
            raise DimcurseError(f"{text!r} is not a duration; {example}", option)
        total += float(part.group(1)) * DURATION_UNITS.get(unit or "s")
        pos = part.end()
    if not item or not math.isfinite(total) or total <= 0:
        raise DimcurseError(f"{text!r} is no time at all; {example}", option)
    return total


def format_duration(seconds: float) -> str:
    """``95`` -> ``1 min 35 s``; ``7.4`` -> ``7 s``; ``4000`` -> ``1 h 7 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def parse_float_list(text: str, option: str) -> tuple[float, ...]:
    """``"0,0.2,1"`` -> ``(0.0, 0.2, 1.0)``; each item a finite number (ranges are the kernel's to check)."""
    return tuple(parse_float(item, option) for item in split_list(text, option))


# One run's seeds are trained or drawn together; beyond this many a request is a typo (or
# belongs in a batch sweep, which runs and stores seeds one point at a time).
MAX_SEEDS = 1000


def parse_seeds(text: str, option: str = "--seeds") -> tuple[int, ...]:
    """``"5"`` means seeds 0..4; ``"0..4"`` the same; ``"0,3,7"`` exactly those seeds (non-negative, distinct)."""
    if ".." in str(text):
        first, _, last = str(text).partition("..")
        lo, hi = parse_int(first, option, minimum=0), parse_int(last, option, minimum=0)
        if hi < lo:
            raise DimcurseError(f"{text!r}: the range ends before it starts", option)
        check_seed_count(hi - lo + 1, option)
        return tuple(range(lo, hi + 1))
    items = split_list(text, option)
    if len(items) == 1:
        count = parse_int(items[0], option, minimum=1)
        check_seed_count(count, option)
        return tuple(range(count))
    return parse_int_list(text, option, minimum=0)


def check_seed_count(count: int, option: str = "--seeds") -> None:
    if count > MAX_SEEDS:
        raise DimcurseError(
            f"{count} seeds in one run; at most {MAX_SEEDS} (run more as a sweep: dimcurse batch)", option
        )


def parse_name_list(text: str, option: str) -> tuple[str, ...]:
    """A comma list of names, lower-cased, without repeats."""
    values = tuple(item.lower() for item in split_list(text, option))
    if len(set(values)) != len(values):
        raise DimcurseError(f"{text!r} repeats a value", option)
    return values


# Words users type for a name dimcurse spells differently.
SYNONYMS = {
    "normal": "gaussian",
    "gauss": "gaussian",
    "cos": "cosine",
    "euclidean": "l2",
    "manhattan": "l1",
    "chebyshev": "linf",
    "cube": "uniform",
    "mlp1d": "mnist1d",
    "rf": "random-features",
    "ridge": "linear",
    "rfm": "random-features",
    "levenberg-marquardt": "lm",
}


def did_you_mean(text: str, choices) -> str:
    """`` (did you mean cosine?)`` for a near miss or a known synonym; empty when nothing is close."""
    names = [str(c).split(":")[0] for c in choices]
    word = str(text).strip().lower().split(":")[0]
    if SYNONYMS.get(word) in names:
        return f" (did you mean {SYNONYMS[word]}?)"
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    prefix = [n for n in names if n.startswith(word)] if len(word) >= 2 else []
    guess = close[0] if close else (prefix[0] if len(prefix) == 1 else None)
    return f" (did you mean {guess}?)" if guess else ""
