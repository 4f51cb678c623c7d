"""One source of truth: the notebook's code equals autograder.provided and autograder.reference,
and the reference earns every auto-graded point."""

import ast
import inspect
import typing

import torch

from autograder import provided, reference
from autograder.grading.checks import all_checks, conditional_cells, noising, sampling, training
from autograder.grading.namespace import quick_values, student_namespace

from .conftest import SOLUTION, SOURCE, cell_source, nbgrader_cells

HELPERS = {"noisy_sample_coefficients", "reverse_step_coefficients"}  # used by the checks, not in the notebook


def notebook_definitions(path) -> dict[str, str]:
    """ast.dump of every top-level function and class of the notebook's code cells, by name."""
    definitions = {}
    for cell in nbgrader_cells(path):
        if cell["cell_type"] != "code":
            continue
        source = "\n".join(line for line in "".join(cell["source"]).splitlines() if not line.startswith("%"))
        for node in ast.parse(source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                assert node.name not in definitions, f"{node.name} is defined twice"
                definitions[node.name] = ast.dump(node)
    return definitions


def module_definitions(module) -> dict[str, str]:
    tree = ast.parse(inspect.getsource(module))
    return {n.name: ast.dump(n) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def test_notebook_code_equals_the_modules():
    notebook = notebook_definitions(SOURCE)
    modules = {**module_definitions(provided), **module_definitions(reference)}
    assert set(notebook) == set(modules) - HELPERS
    for name, dump in notebook.items():
        assert dump == modules[name], f"{name} differs between the notebook and autograder/"


def test_solution_code_equals_the_reference():
    solution = notebook_definitions(SOLUTION)
    for name, dump in module_definitions(reference).items():
        if name not in HELPERS:
            assert solution[name] == dump, name


# The observations each check declares (autograder/grading/checks); 12.2c's are a dict per run.
DECLARED = {
    "12.2a": noising.ClosedFormObservations,
    "12.5c": training.TrainingObservations,
    "12.6d": sampling.SamplerObservations,
    "12.7c": sampling.SamplerObservations,
    "12.8c": training.TrainingObservations,
    "12.8e": sampling.SamplerObservations,
    "12.8f": conditional_cells.LabelCellObservations,
    "12.8g": conditional_cells.LabelCellObservations,
}


def assert_declared(value: dict, declared: type, where: str) -> None:
    """``value`` has the keys of the TypedDict ``declared`` (its required ones, and no others), nested too."""
    keys = declared.__required_keys__ | declared.__optional_keys__
    assert declared.__required_keys__ <= value.keys() <= keys, f"{where}: {sorted(value)} against {sorted(keys)}"
    for key, hint in typing.get_type_hints(declared).items():
        inner = typing.get_args(hint)[0] if typing.get_origin(hint) is typing.NotRequired else hint
        if typing.is_typeddict(inner) and key in value:
            assert_declared(value[key], inner, f"{where}.{key}")


def test_reference_earns_every_point_and_its_observations_are_as_declared(reference):
    ns = student_namespace(reference)
    results = []
    for check in all_checks():
        observations = check.observe(ns, reference, check.prepare())
        if check.item in DECLARED:
            assert_declared(observations, DECLARED[check.item], check.item)
        results.append(check.result(observations))
    assert [(r.item, r.points, r.reasons) for r in results] == [(r.item, r.max_points, []) for r in results]
    assert sum(r.points for r in results) == 13
    assert set(DECLARED) | {"12.2c"} == {check.item for check in all_checks()}


def test_schedule_matches_the_score_sheet():
    assert provided.diffusion_steps == 1000
    assert torch.equal(provided.beta, torch.linspace(1e-4, 0.02, 1000))


def test_the_graders_quick_mode_is_the_notebooks(monkeypatch):
    """``namespace.quick_values`` (the globals the checks give a sampler run as nbgrader runs it) are what the
    notebook's mode and schedule cells set under nbgrader."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.delenv("DDPM_EPOCHS", raising=False)
    ns = {"device": torch.device("cpu"), "torch": torch}
    for grade_id in ("quick_mode", "noise_schedule"):
        exec(cell_source(SOURCE, grade_id), ns)
    for name, value in quick_values().items():
        assert torch.equal(ns[name], value) if isinstance(value, torch.Tensor) else ns[name] == value, name
