"""The layers and the kernels' independence hold: pyproject.toml's import-linter contracts, which read imports
made inside functions too (.ci/run runs the same check)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = shutil.which("lint-imports")
pytestmark = pytest.mark.skipif(LINT is None, reason="import-linter is in the test extra")


def _lint(root: Path) -> subprocess.CompletedProcess:
    # the checkout at `root` first on the path: its own package is the one analysed
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "PYTHONPATH": str(root)}
    return subprocess.run([LINT, "--no-cache"], cwd=root, capture_output=True, text=True, env=env)


def test_the_package_keeps_its_contracts():
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def test_an_upward_import_inside_a_function_breaks_the_layers(tmp_path):
    shutil.copytree(ROOT / "dimcurse", tmp_path / "dimcurse", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    configs = tmp_path / "dimcurse" / "configs.py"
    upward = ["def _of(kernel, options):", "    from dimcurse.api import make_config", "    return 0"]
    configs.write_text(configs.read_text() + "\n\n" + "\n".join(upward) + "\n")
    done = _lint(tmp_path)
    assert done.returncode == 1 and "layers: from the command line down to errors BROKEN" in done.stdout
    assert "dimcurse.configs -> dimcurse.api" in done.stdout


def test_no_module_imports_itself_through_others():
    # The layers forbid upward imports; a cycle inside one layer (a kernel's modules, the sibling shared
    # modules) would still pass them. tools/import_cycles.py lists the cycles grimp sees: none.
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import import_cycles
    finally:
        sys.path.remove(str(ROOT / "tools"))
    grimp = pytest.importorskip("grimp")
    assert import_cycles.components(grimp.build_graph("dimcurse", include_external_packages=False)) == []
