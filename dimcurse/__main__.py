"""``python -m dimcurse`` is the same as the ``dimcurse`` console script."""

from dimcurse.cli import main

if __name__ == "__main__":
    main()
