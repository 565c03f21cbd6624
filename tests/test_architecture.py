"""The package's shape: imports point down the layers of ``.importlinter`` and no module grows too big."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: A module much over 400 lines holds several concerns: split it along them (see training/, inference/).
MAX_LINES = 450


@pytest.mark.skipif(importlib.util.find_spec("importlinter") is None,
                    reason="import-linter is not installed (pip install import-linter, or the test extra)")
def test_import_contracts_are_kept():
    # `lint-imports` through its Python API, in a subprocess at the root: it reads .importlinter there and
    # analyses this checkout's sources statically (nothing of sr_zoo is imported).
    script = ("import sys; from importlinter.cli import lint_imports; "
              "sys.exit(lint_imports(config_filename='.importlinter', no_cache=True, no_logo=True))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, "a contract of .importlinter is broken:\n" + (result.stdout + result.stderr)[-6000:]


def test_no_module_is_much_over_400_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in (ROOT / "sr_zoo").rglob("*.py")}
    big = {path: n for path, n in sizes.items() if n > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines (split them along their concerns): {big}"
