"""The allocator setting: applied once on import (glibc), skipped on request, recorded in provenance."""

import os
import subprocess
import sys

import pytest

PROBE = "import dimcurse, dimcurse.allocator as a; print(a.tune())"


def _probe(**env) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_importing_dimcurse_tunes_glibc_and_the_variable_turns_it_off():
    assert _probe() == "True"
    assert _probe(DIMCURSE_MALLOC="default") == "False"


def test_provenance_says_whether_the_allocator_was_tuned():
    from dimcurse import allocator
    from dimcurse.experiments.approx import kernel as approx
    from dimcurse.provenance import provenance

    assert (
        provenance("approx", approx.VERSION, approx.Config(), __import__("torch").device("cpu"))["malloc_tuned"]
        is allocator.tune()
    )
