#!/usr/bin/env bash
# Validate CITATION.cff with cffconvert, the Citation File Format's own validator, in a virtual environment of
# its own: cffconvert 2.0.0 pins jsonschema < 4, which the project's environment must not be downgraded to
# (Jupyter needs >= 4.18). Needs the package registry once; tests/test_citation.py checks the rest offline.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CFF_VENV:-${TMPDIR:-/tmp}/dimcurse-cffconvert}"
[ -x "$venv/bin/cffconvert" ] || { python -m venv "$venv" && "$venv/bin/pip" install -q cffconvert; }
"$venv/bin/cffconvert" --validate -i CITATION.cff
