"""The course owner's score sheet as data: every graded item, its points, who grades it, and its cells.

This is the one place where an item and its points are written. The checks, the hidden tests'
mapping, the score sheet export and the tests derive theirs from here; ``tests/test_rubric.py``
checks it against the source notebook's nbgrader metadata. Torch-free: any process may import it.

Cells are named by their nbgrader ``grade_id``: an auto-graded item has a hidden test cell
(``test_12_6d_...``) and the answer cells the student writes code in; a manual item's answer cell is
its own grade cell (``answer_12_2b_...``). Every item's question is the markdown cell
``question_12_2b``, which states its letter and points.
"""

from dataclasses import dataclass

TOTAL = 42


@dataclass(frozen=True)
class Item:
    """One item of the score sheet."""

    item: str  # "12.6d"
    points: int
    auto: bool  # graded by the autograder (a hidden test cell), else by a person
    grade_cell: str  # the grade cell: the hidden test cell, or the manual item's answer cell
    function_cells: tuple[str, ...] = ()  # answer cells that define the functions the item grades
    statement_cells: tuple[str, ...] = ()  # answer cells of plain statements that the item grades

    @property
    def section(self) -> str:
        return self.item[:-1]

    @property
    def letter(self) -> str:
        return self.item[-1]

    @property
    def question(self) -> str:
        return "question_" + self.item.replace(".", "_")

    @property
    def answer_cells(self) -> tuple[str, ...]:
        return (self.function_cells + self.statement_cells) if self.auto else (self.grade_cell,)


def _auto(item: str, points: int, test: str, functions: tuple[str, ...] = (), statements: tuple[str, ...] = ()) -> Item:
    return Item(item, points, True, f"test_{item.replace('.', '_')}_{test}", functions, statements)


def _manual(item: str, points: int, answer: str) -> Item:
    return Item(item, points, False, f"answer_{item.replace('.', '_')}_{answer}")


ITEMS: tuple[Item, ...] = (
    _auto("12.2a", 1, "closed_form_noisy_images", statements=("closed_form_noisy_images",)),
    _manual("12.2b", 2, "interpret_noisy_images"),
    _auto("12.2c", 1, "generate_noisy_samples", functions=("generate_noisy_samples",)),
    _manual("12.4b", 2, "positional_encoding"),
    _manual("12.4c", 3, "model_use_inputs_outputs"),
    _manual("12.5a", 1, "obtain_x0"),
    _manual("12.5b", 1, "loss_compares"),
    _auto("12.5c", 3, "training_loss", functions=("train_and_evaluate",)),
    _manual("12.5d", 1, "training_time_vs_T"),
    _manual("12.5f", 1, "training_converged"),
    _manual("12.6a", 1, "effect_of_z_zero"),
    _manual("12.6b", 2, "step_4_ingredients"),
    _manual("12.6c", 1, "sampling_time_vs_T"),
    _auto("12.6d", 2, "sample_from_model", functions=("sample_from_model",), statements=("initial_noise",)),
    _manual("12.6e", 1, "figure_axes"),
    _manual("12.6f", 1, "latent_representation"),
    _manual("12.6g", 1, "all_steps_needed"),
    _manual("12.7b", 2, "same_initial_noise"),
    _auto("12.7c", 2, "deterministic_sample_from_model", functions=("deterministic_sample_from_model",)),
    _manual("12.7e", 1, "sampling_noise_important"),
    _manual("12.8b", 1, "encodings_in_every_layer"),
    _auto("12.8c", 1, "train_conditional", functions=("train_conditional",)),
    _auto("12.8e", 1, "sample_from_model_conditional", functions=("sample_from_model_conditional",)),
    _auto("12.8f", 1, "sample_label_3", statements=("sample_label_3",)),
    _auto("12.8g", 1, "sample_every_digit", statements=("sample_every_digit",)),
    _manual("12.8h", 1, "conditional_vs_unconditional"),
    _manual("12.9a", 1, "sources_of_randomness"),
    _manual("12.9b", 1, "classify_initial_input"),
    _manual("12.9c", 1, "input_range"),
    _manual("12.9d", 1, "increasing_beta"),
    _manual("12.9e", 1, "very_small_beta"),
    _manual("12.9f", 1, "very_large_beta"),
)
RUBRIC: dict[str, Item] = {item.item: item for item in ITEMS}
AUTO: dict[str, int] = {item.item: item.points for item in ITEMS if item.auto}
MANUAL: dict[str, int] = {item.item: item.points for item in ITEMS if not item.auto}
BY_GRADE_CELL: dict[str, Item] = {item.grade_cell: item for item in ITEMS}
TEST_CELLS: dict[str, str] = {item.grade_cell: item.item for item in ITEMS if item.auto}  # hidden test cell -> item
# Answer cells that define functions: the checks run only their definitions (autograder.grading.namespace).
FUNCTION_CELLS: tuple[str, ...] = tuple(cell for item in ITEMS for cell in item.function_cells)


def sections() -> dict[str, int]:
    """Points per section, like ``{"12.2": 4, ...}``."""
    totals: dict[str, int] = {}
    for item in ITEMS:
        totals[item.section] = totals.get(item.section, 0) + item.points
    return totals


def item_of(grade_id: str) -> str:
    """The rubric item of a grade cell: ``test_12_6d_sample_from_model`` -> ``12.6d``."""
    if grade_id not in BY_GRADE_CELL:
        raise ValueError(f"{grade_id!r} is not a grade cell of the score sheet (autograder/rubric.py)")
    return BY_GRADE_CELL[grade_id].item
