"""examples/tour.ipynb runs from top to bottom in a fresh Jupyter kernel (nbclient), in a scratch folder, and
is stored without outputs, so it shows what this version computes, not what an old one did."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")  # in the test extras; skipped only outside them
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "tour.ipynb"


def test_the_notebook_is_stored_without_outputs():
    book = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(book)
    code = [cell for cell in book.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.slow
def test_the_notebook_runs_and_shows_each_step(tmp_path, monkeypatch):
    monkeypatch.setenv("DIMCURSE_STRICT", "1")  # a Python warning in a run fails it, as in every test
    book = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        book, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    shown = [output for cell in book.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in shown if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in shown if "text/html" in o.get("data", {})]
    assert any("<h4>dimcurse distance</h4>" in page for page in html)  # the Result shows itself
    assert any("image/png" in o.get("data", {}) for o in shown) and (tmp_path / "teacher.png").stat().st_size
    text = "".join(o.get("text", "") for o in shown if o.output_type == "stream")
    assert "exponent fits" in text and "bridge, plane d = 12" in " ".join(text.split())  # print(bridge)
    assert (tmp_path / "plane.csv").exists()
