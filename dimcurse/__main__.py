"""``python -m dimcurse`` is the same as the ``dimcurse`` console script."""

from dimcurse.entry import run

if __name__ == "__main__":
    run()
