"""The independent grader's report on one notebook, and the lines that explain an item's points.

Torch-free, and importing nothing else of the package: the student's kernel imports it (through
``autograder.notebook``), and so do the instructor's processes.
"""

import json
from dataclasses import asdict, dataclass, field


@dataclass
class Result:
    """Points for one rubric item, with a reason for each point lost."""

    item: str
    points: float
    max_points: int
    reasons: list[str] = field(default_factory=list)
    flags: list[str] = field(
        default_factory=list
    )  # why a person should look (code that behaves differently under grading)


@dataclass
class Report:
    """The auto-graded results of one notebook."""

    results: list[Result]
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per item: until its child process reported

    @property
    def points(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_points(self) -> int:
        return sum(r.max_points for r in self.results)

    @property
    def flags(self) -> list[dict[str, str]]:
        """Every item's flags, as ``{"item": ..., "reason": ...}``."""
        return [{"item": r.item, "reason": flag} for r in self.results for flag in r.flags]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def of_zeros(cls, items: dict[str, int], reason: str) -> "Report":
        """0 points for every item of ``items`` (item -> its points), with the reason."""
        return cls([Result(item, 0, points, [reason]) for item, points in items.items()], error=reason)

    @classmethod
    def from_json(cls, text: str) -> "Report":
        data = json.loads(text)
        return cls(
            [Result(**r) for r in data["results"]], data.get("error"), data.get("notes", []), data.get("seconds", {})
        )


def feedback(report: dict, item: str) -> tuple[float, list[str]]:
    """The points of one item in a report (``Report`` as JSON data) and the lines that explain them."""
    result = next(r for r in report["results"] if r["item"] == item)
    points, max_points = result["points"], result["max_points"]
    lines = [f"{item}: {points:g} of {max_points} point{'s' if max_points > 1 else ''}"]
    lines += [f"  - {reason}" for reason in result["reasons"]]
    lines += [f"  note: {note}" for note in report.get("notes", [])]
    return float(points), lines
