"""The house rules run with the suite, so `make test` (and CI) fail on a lint or type error.

Both tools read their configuration from pyproject.toml: ruff's rule set, mypy's packages
(``[tool.mypy] files``: strict, the emulators with unannotated functions allowed). `make lint`
runs the same two commands.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINTED = ["services", "proto", "fixline", "emulators", "tests", "bench"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    result = _run("ruff", "check", "--no-cache", "--output-format", "concise", *LINTED)
    assert result.returncode == 0, f"ruff findings (fix them, or `# noqa: CODE - why`):\n{result.stdout}{result.stderr}"


def test_mypy_strict_packages_pass():
    result = _run("mypy", "--no-error-summary", "--cache-dir", str(ROOT / ".state" / "mypy"))
    assert result.returncode == 0, f"mypy errors in the strict packages:\n{result.stdout}{result.stderr}"
