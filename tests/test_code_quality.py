"""Lint, formatting and types run with the tests, so CI and people share one command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def tool(name: str) -> str:
    """The tool installed beside this Python (the test extras), else one on PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install '.[test]'")
    return found


@pytest.mark.parametrize(
    "args",
    [["check", "redisqueue_tutor", "tests", "benchmarks"], ["format", "--check", "."]],
    ids=["ruff-check", "ruff-format"],
)
def test_ruff(args):
    result = subprocess.run(
        [tool("ruff"), *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy():
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
