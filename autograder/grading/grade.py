"""Grade the auto-graded items of one notebook: ``python -m autograder.grading.grade NOTEBOOK [--json]``.

The student's code runs in isolated child processes (``autograder.grading.sandbox``); the verdicts are
computed here, on plain data, against the reference implementation.
"""

import argparse
import re
import sys
import tempfile
from pathlib import Path

from autograder.grading.checks import all_checks
from autograder.grading.sandbox import observe_isolated
from autograder.grading.submission import SubmissionError, read_submission
from autograder.grading.wire import describe_error
from autograder.limits import CHECK_CPU_S, CHECKS_S
from autograder.report import Report, Result

# Code that reaches for the grader's internals; it is reported for a person to look at.
SUSPICIOUS = re.compile(
    r"__globals__|__builtins__|__subclasses__|\bgc\b|sys\.modules|\bautograder\b|\bctypes\b"
    r"|\bsubprocess\b|os\.system|_getframe|\bimportlib\b|BEGIN HIDDEN|nbgrader"
)


def grade_notebook(path: str | Path, timeout_s: float = CHECKS_S, cpu_s: int = CHECK_CPU_S) -> Report:
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
            results.append(
                Result(
                    check.item,
                    0,
                    check.max_points,
                    [f"the results could not be judged ({describe_error(error)}); grade this item by hand"],
                )
            )
    return Report(results, notes=notes, seconds={item: round(o["seconds"], 3) for item, o in outcome.items()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path, help="the notebook file, or - to read it from standard input")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--timeout", type=float, default=CHECKS_S, help="wall-clock seconds for all checks together")
    parser.add_argument("--cpu-seconds", type=int, default=CHECK_CPU_S, help="CPU seconds for each item's checks")
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
    for flag in report.flags:
        print(f"flagged: {flag['item']}: {flag['reason']}")
    print(f"total  {report.points:g}/{report.max_points}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
