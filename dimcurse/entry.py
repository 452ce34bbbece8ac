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


def _interrupted_while_starting(signum, frame) -> None:
    os.write(2, b"interrupted\n")
    os._exit(130)


def run() -> None:
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:  # leave an ignored SIGINT (a background job) ignored
        signal.signal(signal.SIGINT, _interrupted_while_starting)
    try:
        from dimcurse.cli import main
    finally:
        signal.signal(signal.SIGINT, previous)
    main()
