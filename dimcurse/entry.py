"""The console entry point, kept free of heavy imports.

Importing the CLI pulls in torch (seconds). A Ctrl-C then must end like a Ctrl-C later
(``interrupted``, exit code 130). Letting Python raise KeyboardInterrupt inside that import
does not do it: the exception can land in torch's C++ start-up (which aborts the process)
or inside code run by ``PyRun_String`` (after which the interpreter kills itself with
SIGINT at exit, whatever the handler did). So during the import a Ctrl-C ends the process
at once, before anything has been computed or written.
"""

import os
import signal
import sys


def _interrupted_while_starting(signum, frame) -> None:
    os.write(2, b"interrupted\n")
    os._exit(130)


def run() -> None:
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:  # leave an ignored SIGINT (a background job) ignored
        signal.signal(signal.SIGINT, _interrupted_while_starting)
    try:
        import typer

        from dimcurse.cli import app, main

        command = typer.main.get_command(app)  # evaluates every option's annotation (eval'd code)
        if _will_compute(sys.argv[1:]):
            # The CLI itself loads light (fast --help); a command that computes loads what it will
            # need here, inside the start-up window, so a Ctrl-C during those imports ends cleanly too.
            import dimcurse.batch  # noqa: F401  (torch, the kernels, the store)
            import dimcurse.render  # noqa: F401  (pandas, rich tables)
            import dimcurse.report  # noqa: F401
            import rich.progress  # noqa: F401
    finally:
        signal.signal(signal.SIGINT, previous)
    main(command=command)


def _will_compute(args: list[str]) -> bool:
    """False for help and version requests (and no arguments), which never need torch."""
    return bool(args) and not any(a in ("-h", "--help", "--version") for a in args)
