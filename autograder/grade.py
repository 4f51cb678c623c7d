"""Grade the auto-graded items of one notebook: ``python -m autograder.grade NOTEBOOK [--json]``.

The student's code runs in isolated child processes (``autograder.sandbox``); the verdicts are
computed here, on plain data, against the reference implementation.
"""
import argparse
import json
import re
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .checks import Result, all_checks
from .inputs import describe_error
from .sandbox import observe_isolated
from .submission import SubmissionError, read_submission

# Code that reaches for the grader's internals; it is reported for a person to look at.
SUSPICIOUS = re.compile(r"__globals__|__builtins__|__subclasses__|\bgc\b|sys\.modules|\bautograder\b|\bctypes\b"
                        r"|\bsubprocess\b|os\.system|_getframe|\bimportlib\b|BEGIN HIDDEN|nbgrader")


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

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Report":
        data = json.loads(text)
        return cls([Result(**r) for r in data["results"]], data.get("error"), data.get("notes", []),
                   data.get("seconds", {}))


def grade_notebook(path: str | Path, timeout_s: float = 240, cpu_s: int = 30) -> Report:
    """Grade every auto-graded item of the notebook at ``path``; never raises for a bad notebook."""
    checks = all_checks()
    try:
        submission = read_submission(path)
    except SubmissionError as error:
        return Report([Result(c.item, 0, c.max_points, [str(error)]) for c in checks], error=str(error))
    notes = list(submission.notes)
    flagged = sorted({m.group(0) for _, source in submission.code_cells for m in SUSPICIOUS.finditer(source)})
    if flagged:
        notes.append("flagged for a person to review: the code mentions " + ", ".join(flagged))
    outcome = observe_isolated(checks, submission, timeout_s=timeout_s, cpu_s=cpu_s)
    results = []
    for check in checks:
        observed = outcome[check.item]
        if "error" in observed:
            results.append(Result(check.item, 0, check.max_points, [observed["error"]]))
            continue
        try:
            results.append(check.result(observed["observations"]))
        except SubmissionError as error:
            results.append(Result(check.item, 0, check.max_points, [str(error)]))
        except Exception as error:
            results.append(Result(check.item, 0, check.max_points,
                                  [f"the results could not be judged ({describe_error(error)}); grade this item by hand"]))
    return Report(results, notes=notes, seconds={item: round(o["seconds"], 3) for item, o in outcome.items()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path, help="the notebook file, or - to read it from standard input")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--timeout", type=float, default=240, help="wall-clock seconds for all checks together")
    parser.add_argument("--cpu-seconds", type=int, default=30, help="CPU seconds for each item's checks")
    args = parser.parse_args(argv)
    if str(args.notebook) == "-":
        with tempfile.TemporaryDirectory(prefix="a12-grade-") as folder:
            notebook = Path(folder) / "submission.ipynb"
            notebook.write_bytes(sys.stdin.buffer.read())
            report = grade_notebook(notebook, timeout_s=args.timeout, cpu_s=args.cpu_seconds)
    else:
        report = grade_notebook(args.notebook, timeout_s=args.timeout, cpu_s=args.cpu_seconds)
    if args.json:
        print(report.to_json())
        return 0
    for result in report.results:
        print(f"{result.item:6} {result.points:g}/{result.max_points}")
        for reason in result.reasons:
            print(f"       - {reason}")
    for note in report.notes:
        print(f"note: {note}")
    print(f"total  {report.points:g}/{report.max_points}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
