"""The one exception type a user can fix; the CLI prints it as one line and exits 2."""

from __future__ import annotations


class DimcurseError(Exception):
    """Bad input or an unusable environment, described in a sentence a user understands.

    ``option`` names the CLI option (or config field) at fault, so the one-line
    message can point at it: ``error: --dims: 'abc' is not an integer``.
    """

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.message = message
        self.option = option

    def __str__(self) -> str:
        return f"{self.option}: {self.message}" if self.option else self.message


class Interrupted(Exception):
    """A Ctrl-C that has something to say (what was kept); the CLI prints it and exits 130."""
