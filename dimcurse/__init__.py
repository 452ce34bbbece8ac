"""dimcurse: measure why neural networks escape the curse of dimensionality.

The library does the work (``dimcurse.experiments.<kernel>.run``); ``dimcurse.cli``
only parses, calls and renders.
"""

from dimcurse.version import __version__  # noqa: F401  (pyproject.toml reads it from there)

from dimcurse import allocator as _allocator

# Before torch allocates: every kernel's temporaries stay mapped between steps (allocator.py).
_allocator.tune()


# The Python API, loaded on first use so that `import dimcurse` (and the CLI's --help) stays light.
_API = ("distance", "approx", "overparam", "register_target", "register_dataset")


__all__ = ["__version__", *_API]


def __dir__() -> list[str]:
    """The public API (tab completion finds the kernels before they are loaded), and the module's dunders."""
    return sorted({name for name in globals() if not name.startswith("_") or name.startswith("__")} | set(_API))


def __getattr__(name: str):
    if name in _API:
        from dimcurse import api

        return getattr(api, name)
    raise AttributeError(f"module 'dimcurse' has no attribute {name!r}")
