"""LICENSE and CITATION.cff: a licence a researcher may reuse under, and a citation that cannot drift from
the package (its version, licence and the papers README.md says to cite).

cffconvert, the Citation File Format's own validator, pins jsonschema < 4 (its release 2.0.0, the newest),
and Jupyter's jupyter_events needs jsonschema >= 4.18: in the test extras it would downgrade a user's
notebook install. So the schema's rules the file relies on are checked here, offline, and
tools/check_citation.sh runs `cffconvert --validate` in a virtual environment of its own."""

from __future__ import annotations

import datetime
import re
import tomllib
from pathlib import Path

import yaml

import dimcurse

ROOT = Path(__file__).resolve().parent.parent
CFF = yaml.safe_load((ROOT / "CITATION.cff").read_text())
REFERENCE_TYPES = {"article", "conference-paper", "book", "report", "thesis", "software"}


def test_the_licence_is_one_file_and_the_package_declares_the_same():
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License\n") and 'THE SOFTWARE IS PROVIDED "AS IS"' in licence
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "MIT"} and CFF["license"] == "MIT"


def test_citation_has_the_fields_cff_1_2_requires_with_their_types():
    assert CFF["cff-version"] == "1.2.0"
    for field in ("message", "title", "abstract"):
        assert isinstance(CFF[field], str) and CFF[field].strip()
    assert CFF["type"] == "software"
    assert CFF["authors"] and all(isinstance(a, dict) and ("name" in a or "family-names" in a) for a in CFF["authors"])
    datetime.date.fromisoformat(CFF["date-released"])  # the schema's date: YYYY-MM-DD
    for ref in CFF["references"]:
        assert ref["type"] in REFERENCE_TYPES and ref["title"] and ref["authors"], ref
        assert all("family-names" in a and "given-names" in a for a in ref["authors"]), ref
        assert isinstance(ref["year"], int) and 1900 < ref["year"] <= datetime.date.today().year, ref
        assert "doi" not in ref or re.fullmatch(r"10\.\d{4,9}/\S+", ref["doi"]), ref  # the schema's DOI pattern


def test_citation_version_is_the_package_version():
    assert str(CFF["version"]) == dimcurse.__version__


def test_the_readme_lists_exactly_the_papers_of_the_citation_file():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## How to cite", 1)[1]
    listed = re.findall(r"\"(.+?)\"", " ".join(section.split()))  # quoted titles, lines joined
    assert sorted(listed) == sorted(" ".join(ref["title"].split()) for ref in CFF["references"])
    for ref in CFF["references"]:  # each with its first author and year as the file has them
        first = ref["authors"][0]["family-names"]
        assert f"{first} " in section and str(ref["year"]) in section, ref["title"]
