"""Refresh the outputs of the README's ``console`` examples by running them.

    python tools/readme_examples.py [README.md]

Each ```console block holds lines ``$ COMMAND`` followed by that command's output;
the outputs are replaced by what the command prints now (stdout and stderr), so the
README always shows real output. Run it from a scratch directory's point of view:
files an example writes land in a temporary folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def run(command: str, cwd: str) -> str:
    env = {**os.environ, "COLUMNS": "220", "TERM": "dumb"}
    done = subprocess.run(command, shell=True, capture_output=True, text=True, cwd=cwd, env=env)
    return (done.stdout + done.stderr).rstrip() + "\n"


def refresh(block: str, cwd: str) -> str:
    commands = [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    return "".join(f"$ {cmd}\n{run(cmd, cwd)}" for cmd in commands)


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    text = path.read_text()
    with tempfile.TemporaryDirectory() as cwd:
        text = BLOCK.sub(lambda m: "```console\n" + refresh(m.group(1), cwd) + "```", text)
    path.write_text(text)


if __name__ == "__main__":
    main()
