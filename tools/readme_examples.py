"""Refresh the outputs of the README's ``console`` examples by running them.

    python tools/readme_examples.py [README.md] [--only TEXT]

``--only TEXT`` refreshes only the blocks whose commands contain TEXT (say ``overparam``).

Each ```console block holds lines ``$ COMMAND`` followed by that command's output;
the outputs are replaced by what the command prints now (stdout and stderr), so the
README always shows real output. Run it from a scratch directory's point of view:
files an example writes land in a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def run(command: str, cwd: str) -> str:
    env = {**os.environ, "COLUMNS": "120", "TERM": "dumb"}  # tables fit 120 columns (stacked panels)
    done = subprocess.run(command, shell=True, capture_output=True, text=True, cwd=cwd, env=env)
    return (done.stdout + done.stderr).rstrip() + "\n"


def refresh(block: str, cwd: str, only: str | None = None) -> str:
    commands = [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    if only is not None and not any(only in cmd for cmd in commands):
        return block
    return "".join(f"$ {cmd}\n{run(cmd, cwd)}" for cmd in commands)


def main() -> None:
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        at = args.index("--only")
        only = args[at + 1]
        del args[at : at + 2]
    path = Path(args[0] if args else "README.md")
    text = path.read_text()
    with tempfile.TemporaryDirectory() as cwd:
        shutil.copytree(path.resolve().parent / "benchmarks" / "sweeps", Path(cwd) / "benchmarks" / "sweeps")
        shutil.copytree(path.resolve().parent / "examples", Path(cwd) / "examples")  # the "Your own data" files
        text = BLOCK.sub(lambda m: "```console\n" + refresh(m.group(1), cwd, only) + "```", text)
    path.write_text(text)


if __name__ == "__main__":
    main()
