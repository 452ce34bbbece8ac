"""Default approx runs: how long each takes, and the time it said it would take (issue "`dimcurse approx` at the
dimensions of real data").

    python benchmarks/bench_approx_estimate.py [--cases d4,default,d16,d32,w512,surface] [--timeout 1200]
                                               [--before /path/to/an/older/checkout]

Each case is its command as a whole process, one thread (the default), timed from start to exit. The line the
run prints before it trains ("plan: ... estimated X (at most Y ...)") gives the estimate: the kernel's cost model
(dimcurse/experiments/approx/estimate.py) with this machine's rates, measured in the process. The table sets it
beside the wall time; the estimate holds to its target when estimate / actual lies within 0.5-2. With
``--before DIR`` each case also runs on the code in DIR first (PYTHONPATH=DIR), for before-and-after times
on the same machine in the same run; a run over ``--timeout`` is reported as "> timeout".
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time

from dimcurse.parsing import parse_duration

CASES = {
    "default": "dimcurse approx",
    "d4": "dimcurse approx --target teacher --teacher-k 2 --dims 4",
    "d16": "dimcurse approx --target teacher --teacher-k 2 --dims 16",
    "d32": "dimcurse approx --target teacher --teacher-k 2 --dims 32",
    "w512": "dimcurse approx --width 512",
    "barron32": "dimcurse approx --target barron --dims 32",
    "surface": "dimcurse approx --data examples/surface.npz",
}


def timed(command: str, timeout: float, path: str | None) -> tuple[float | None, str]:
    """(wall seconds or None past the timeout, stderr) of one whole process."""
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = path
    argv = [sys.executable, "-m", "dimcurse", *shlex.split(command)[1:]]
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None, ""
    if done.returncode:
        raise SystemExit(f"{command} failed: {done.stderr.strip()[-400:]}")
    return time.perf_counter() - started, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="default,d4,d16,d32,w512,surface")
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--before", default=None, help="an older checkout to time first (PYTHONPATH)")
    args = parser.parse_args()
    head = "| command | before | after | estimated | at the caps | estimated / after |"
    print(head if args.before else head.replace("| before ", ""))
    print("|---" * (head.count("|") - (1 if args.before else 2)) + "|")
    for name in args.cases.split(","):
        command = CASES[name]
        before = ""
        if args.before:
            took, _ = timed(command, args.timeout, args.before)
            before = f" {took:.1f} s |" if took is not None else f" > {args.timeout:.0f} s |"
        took, err = timed(command, args.timeout, None)
        line = next((row for row in err.splitlines() if row.startswith("plan: ")), "")
        said = re.search(r"estimated (.*?) \(at most (.*?) if", line)
        guess, caps = (parse_duration(t, "plan") for t in said.groups()) if said else (float("nan"),) * 2
        after = f"{took:.1f} s" if took is not None else f"> {args.timeout:.0f} s"
        ratio = f"{guess / took:.2f}" if took else "—"
        print(f"| `{command}` |{before} {after} | {guess:.0f} s | {caps:.0f} s | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
