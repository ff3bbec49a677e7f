"""The suite's own rules, proven on small test files run by a child pytest with this conftest.

- `-m "not real"` starts no redis-server: a test that starts or uses one without the `real` marker
  fails, a test marked `real` that used none fails, and the real case of `backend_spec` is marked.
- A missing test dependency (pexpect...) is a skip with its reason, and under CI=true a failure.

None of these child tests ever starts a redis-server: the guard stops them first (the binary they
name does not exist, so a guard that let one through would fail differently).
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

SERVERS = """\
import fakeredis
import pytest

from conftest import RedisServer


def test_unmarked_starts_a_server():
    RedisServer("/nonexistent/redis-server")


def test_unmarked_uses_the_session_server(redis_server):
    pass


@pytest.mark.real
def test_marked_but_on_fakeredis_alone():
    assert fakeredis.FakeRedis().ping()


def test_on_both_backends(backend_spec):
    assert backend_spec == "fake"
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
    env["PATH"] = ""  # no redis-server to be found: the guard must stop every start before it
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


def summary(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """Each test's short summary line (`-rA`), by the test's name."""
    lines: dict[str, str] = {}
    for line in result.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "ERROR", "SKIPPED") and "::" in rest:
            name = rest.split("::", 1)[1].split(" ", 1)[0]
            lines[name] = line
    return lines


def test_a_server_outside_a_real_test_and_a_real_test_without_one_both_fail(tmp_path: Path):
    (tmp_path / "test_servers.py").write_text(SERVERS)
    result = child_pytest(tmp_path, "-m", "not real")
    seen = summary(result)
    assert result.returncode == 1, result.stdout + result.stderr
    assert seen["test_unmarked_starts_a_server"].startswith("FAILED")
    assert "is not marked `real`" in seen["test_unmarked_starts_a_server"]
    assert seen["test_unmarked_uses_the_session_server"].startswith("ERROR")  # in its setup
    assert "is not marked `real`" in seen["test_unmarked_uses_the_session_server"]
    assert seen["test_on_both_backends[fake]"].startswith("PASSED")
    assert "test_on_both_backends[real]" not in result.stdout  # deselected: it is `real`
    assert "test_marked_but_on_fakeredis_alone" not in result.stdout

    marked = child_pytest(tmp_path, "-m", "real", "-k", "fakeredis_alone")
    assert marked.returncode == 1, marked.stdout + marked.stderr
    line = summary(marked)["test_marked_but_on_fakeredis_alone"]
    assert (
        line.startswith("FAILED") and "is marked `real` but started or used no redis-server" in line
    )


def test_the_real_case_of_backend_spec_carries_the_marker(tmp_path: Path):
    (tmp_path / "test_servers.py").write_text(SERVERS)
    result = child_pytest(tmp_path, "--collect-only", "-m", "real")
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    assert collected == [
        "test_servers.py::test_marked_but_on_fakeredis_alone",
        "test_servers.py::test_on_both_backends[real]",
    ], result.stdout


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
