"""The house keeps its shape: each room imports only rooms below it, and no module imports another
in a circle. Read from the source's own imports (also those inside functions and under
TYPE_CHECKING), as the package docstring describes them.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "redisqueue_tutor"
# The rooms from the bottom floor up; the small shared modules are below them all.
FLOORS: dict[str, float] = {
    "wording": 0,
    "jsonfile": 0,
    "collector": 0,
    "progress": 0.5,  # reads JSON files and words its warnings
    "keyspace": 1,
    "run": 2,
    "lessons": 3,
    "classroom": 3.5,  # a class's keys and events: the server (run) and the questions (lessons)
    "screens": 4,
    "modes": 5,
    "cli": 6,
    "launch": 7,  # the entry point: starts a trace's program early, then the command line
    "__main__": 8,
}
LARGEST = 530  # lines: a module a reader takes in at one sitting


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[str, int]]:
    """Every redisqueue_tutor module this file imports, with the line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "redisqueue_tutor":
                found += [(f"redisqueue_tutor.{a.name}", node.lineno) for a in node.names]
            elif node.module.startswith("redisqueue_tutor."):
                found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [
                (a.name, node.lineno) for a in node.names if a.name.startswith("redisqueue_tutor.")
            ]
    return found


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def room(module: str) -> str | None:
    """The room of a module of the package; None for the package itself or a name that is not a
    module (`from redisqueue_tutor import __version__`)."""
    parts = module.split(".")
    if len(parts) < 2 or (module not in MODULES and parts[1] not in FLOORS):
        return None
    return parts[1]


def test_every_module_is_in_a_room_the_rule_knows():
    for name in MODULES:
        if name != "redisqueue_tutor":
            assert room(name) in FLOORS, f"{name}: add its room to the package docstring and here"


def test_rooms_import_only_rooms_below_them():
    upward = []
    for name, path in MODULES.items():
        here = room(name)
        if here is None:
            continue
        for target, line in imports(path):
            there = room(target)
            if there is None or there == here:
                continue
            if FLOORS[there] >= FLOORS[here]:
                upward.append(f"{path.relative_to(ROOT)}:{line}: {here} imports {target}")
    assert not upward, "\n".join(upward)


def test_no_module_imports_another_in_a_circle():
    graph = {
        name: {t for t, _line in imports(path) if t in MODULES and t != name}
        for name, path in MODULES.items()
    }
    # A package's __init__ importing its own modules to re-export them is the package's face.
    for name, targets in graph.items():
        graph[name] = {
            t
            for t in targets
            if not (MODULES[name].name == "__init__" and t.startswith(name + "."))
        }
    circles = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not circles, "\n".join(circles)


def test_screens_never_talk_to_redis():
    for name, path in MODULES.items():
        if room(name) == "screens":
            for target, line in imports(path):
                assert not target.startswith(
                    (
                        "redisqueue_tutor.run.backend",
                        "redisqueue_tutor.run.connections",
                        "redisqueue_tutor.lessons.engine",
                    )
                ), f"{path.relative_to(ROOT)}:{line} imports {target}"
            source = path.read_text()
            assert "import redis" not in source and "import fakeredis" not in source, name


def test_modules_are_read_at_one_sitting():
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text().splitlines())) > LARGEST
    }
    assert not long, long
