"""The suite's own rules, proven on small test files run by a child pytest with this conftest.

- A missing test dependency (pexpect...) is a skip with its reason, and under CI=true a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

INI = """\
[pytest]
markers =
    real: needs a redis-server binary
    terminal: drives the installed tutor in a pseudo-terminal
"""

DEPENDENCY_IN_A_TEST = """\
from conftest import required_module


def test_needs_a_module():
    required_module("no_such_module_for_tutor_tests")
"""

DEPENDENCY_AT_THE_TOP = """\
from conftest import required_module

gone = required_module("no_such_module_for_tutor_tests")


def test_needs_a_module():
    pass
"""


def child_pytest(folder: Path, *args: str, ci: bool = False) -> subprocess.CompletedProcess[str]:
    """Run pytest on `folder` with a copy of this suite's conftest, as CI would or would not."""
    shutil.copy(ROOT / "tests" / "conftest.py", folder / "conftest.py")
    (folder / "pytest.ini").write_text(INI)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    if ci:
        env["CI"] = "true"
    env["COLUMNS"] = "1000"  # whole lines in the short summary
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", *args]
        + ["-c", str(folder / "pytest.ini"), "--rootdir", str(folder), str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    "source", [DEPENDENCY_IN_A_TEST, DEPENDENCY_AT_THE_TOP], ids=["test", "top"]
)
def test_a_missing_test_dependency_skips_with_its_reason_and_fails_under_ci(tmp_path: Path, source):
    (tmp_path / "test_dependency.py").write_text(source)
    (tmp_path / "test_other.py").write_text("def test_other():\n    pass\n")
    local = child_pytest(tmp_path)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "1 passed, 1 skipped" in local.stdout
    assert "no_such_module_for_tutor_tests is not installed" in local.stdout

    ci = child_pytest(tmp_path, ci=True)
    assert ci.returncode != 0, ci.stdout + ci.stderr
    assert "skipped" not in ci.stdout
    assert "no_such_module_for_tutor_tests is not installed" in ci.stdout
    assert "CI must run every test" in ci.stdout


def test_no_test_skips_itself_silently_for_lack_of_a_module():
    # pytest.importorskip skips under CI too: required_module fails there instead.
    for path in sorted((ROOT / "tests").glob("*.py")):
        if path.name != "test_harness.py":
            assert "importorskip" not in path.read_text(), f"{path.name}: use required_module"
