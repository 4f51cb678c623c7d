"""The package's layers, read from its import statements: what may run next to student code never
reaches the instructor's side, and the student's kernel imports only what its jail shows."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import autograder
from autograder.course import confine

PACKAGE = autograder.PACKAGE_DIR


def imports(path: Path) -> list[tuple[str, bool]]:
    """Every module that ``path`` imports, absolute, and whether the import is at module level."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1]  # the package that holds the module (an __init__.py's own package)
    top_level = set(map(id, tree.body))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found += [(f"{module}.{alias.name}", id(node) in top_level) for alias in node.names]
            found.append((module, id(node) in top_level))
    return found


def modules_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_the_walk_sees_relative_and_nested_imports():
    """The checker itself: it resolves relative imports and tells module level from function level."""
    assert dict(imports(PACKAGE / "reference.py"))["autograder.provided"] is True  # from .provided import ...
    assert dict(imports(PACKAGE / "grading" / "checks" / "__init__.py"))["autograder.grading.submission"] is True
    late = [name for name, top in imports(PACKAGE / "grading" / "checks" / "noising.py") if not top]
    assert "autograder.reference" in late


def test_grading_never_imports_the_course():
    for path in modules_under(PACKAGE / "grading"):
        reached = [
            name for name, _ in imports(path) if name == "autograder.course" or name.startswith("autograder.course.")
        ]
        assert not reached, f"{path.relative_to(PACKAGE)} imports {reached}"


def test_checks_import_the_reference_only_inside_functions():
    """The sandbox forks before the reference is loaded: a check module that imported it at module
    level would put the reference answers into the memory of every child that runs student code."""
    for path in modules_under(PACKAGE / "grading"):
        at_top = [name for name, top in imports(path) if top and name.startswith("autograder.reference")]
        assert not at_top, f"{path.relative_to(PACKAGE)} imports the reference at module level"


@pytest.mark.parametrize(
    "module", ["autograder.notebook", "autograder.report", "autograder.rubric", "autograder.limits"]
)
def test_light_modules_import_nothing_heavy(module):
    code = f"import sys, json; import {module}; print(json.dumps(sorted(sys.modules)))"
    loaded = set(
        json.loads(
            subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
        )
    )
    assert not {"torch", "numpy", "nbgrader", "IPython"} & loaded
    if module == "autograder.notebook":  # what the kernel imports is what its jail shows of the package
        assert {m for m in loaded if m.partition(".")[0] == "autograder"} == set(confine.KERNEL_MODULES)


def test_the_course_modules_import_no_circle():
    """The command (``course/autograde.py``) picks an engine (``course/pool.py``, ``course/cluster.py``);
    the engines run the per-student job (``course/job.py``) below them: no module of ``autograder.course``
    reaches itself again through imports, at module level or inside functions."""
    modules = {
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): path
        for path in modules_under(PACKAGE / "course")
    }
    graph = {
        name: {found for found, _ in imports(path) if found in modules and found != name}
        for name, path in modules.items()
    }
    assert "autograder.course.job" in graph["autograder.course.cluster"]  # the walk sees the engines' imports
    assert "autograder.course.cluster" in graph["autograder.course.autograde"]  # (inside a function)

    def circle_from(start: str, name: str, path: list[str]) -> list[str] | None:
        for following in sorted(graph[name]):
            if following == start:
                return [*path, start]
            if following not in path and (found := circle_from(start, following, [*path, following])):
                return found
        return None

    circles = [found for name in graph if (found := circle_from(name, name, [name]))]
    assert not circles, f"import circle: {' -> '.join(circles[0])}"
