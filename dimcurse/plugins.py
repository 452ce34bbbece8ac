"""Extending dimcurse without editing it: your targets and data sets, by call or by entry point.

- ``register_target(name, fn, ...)`` (in ``dimcurse.experiments.approx.registered``, exported as
  ``dimcurse.register_target``): ``fn`` maps an (n, d) float tensor to (n,); the target then
  works in ``dimcurse.approx(target=name)``, in sweeps and in the fit table.
- ``register_dataset(name, loader)`` (in ``dimcurse.data``, beside the built-in sets):
  ``loader()`` returns ``(x, y)`` or ``(x, y, x_test, y_test)`` arrays; the name works as
  ``--data NAME`` in distance and overparam.
- An installed package adds names through the entry-point groups ``dimcurse.targets`` and
  ``dimcurse.datasets`` (public names, documented in docs/python.md): each entry point is a
  function called with no arguments that registers what it brings. The CLI loads them on
  first need; a broken plugin is named in one warning line on stderr and skipped.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

from dimcurse.errors import DimcurseError

GROUPS = ("dimcurse.targets", "dimcurse.datasets")
# a name some packages were built against between the move to experiments/ and its fix: still loaded, with a note
OLD_GROUPS = {"dimcurse.experiments.approx.targets": "dimcurse.targets"}
_loaded = False
SKIPPED: list[str] = []  # one line per plugin that failed to load


def plugin_name(name: str, what: str) -> str:
    """A registered name, lower-cased; spaces and commas are refused (they split option lists)."""
    key = str(name).strip().lower()
    if not key or any(c.isspace() or c == "," for c in key):
        raise DimcurseError(
            f"{name!r} is not a usable {what} name (no spaces or commas)", "--target" if what == "target" else "--data"
        )
    return key


def load_entry_points() -> None:
    """Run every installed plugin once (both groups); a failing one is skipped with one line on stderr."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for group in (*GROUPS, *OLD_GROUPS):
        for point in entry_points(group=group):
            if group in OLD_GROUPS:
                print(
                    f"note: plugin {point.name!r} uses the entry-point group {group!r}; "
                    f"its public name is {OLD_GROUPS[group]!r}",
                    file=sys.stderr,
                )
            try:
                point.load()()
            except Exception as exc:  # a broken plugin must not take the CLI down
                line = f"warning: plugin {point.name!r} ({point.value}) skipped: {type(exc).__name__}: {exc}"
                line = " ".join(line.split())
                SKIPPED.append(line)
                print(line, file=sys.stderr)
