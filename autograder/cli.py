"""``a12``: the instructor's command line for Assignment 12 (run it in the course directory)."""
import argparse
import sys
from pathlib import Path

from nbclient.exceptions import CellExecutionError

from . import NOTEBOOK, course, regrade, solution_run


def cmd_release(args: argparse.Namespace) -> int:
    """Generate the student release with nbgrader, and the solution notebook."""
    for path in course.release(course.find_root(args.course)):
        print(f"wrote {path}")
    return 0


def cmd_regrade(args: argparse.Namespace) -> int:
    """Re-grade the auto-graded items outside nbgrader and report differences from the gradebook."""
    root = course.find_root(args.course)
    config = course.course_config(root)
    db_url = config.CourseDirectory.get("db_url", f"sqlite:///{root / 'gradebook.db'}")
    reports, differences = regrade.regrade(root, db_url, args.student or None, write=args.apply,
                                           progress=lambda line: print(line, file=sys.stderr))
    for student, report in reports.items():
        if report.error:
            print(f"{student}: cannot be graded automatically: {report.error}")
    for d in differences:
        old = "missing" if d.gradebook is None else f"{d.gradebook:g}"
        print(f"{d.student} {d.item}: gradebook {old}, independent {d.independent:g}"
              + ("" if not d.reasons else f" ({'; '.join(d.reasons)})"))
    verb = "updated in the gradebook" if args.apply else "differ from the gradebook (--apply writes them)"
    print(f"{len(reports)} submissions re-graded; {len(differences)} item scores {verb}")
    return 0


def cmd_run_solution(args: argparse.Namespace) -> int:
    """Run the solution notebook and save it with its outputs; check the losses it reports."""
    notebook = course.find_root(args.course) / "solutions" / NOTEBOOK
    try:
        run = solution_run.run_solution(notebook, epochs=args.epochs, quick=args.quick, mnist_root=args.mnist_root)
    except CellExecutionError as error:
        raise course.CourseError(f"a cell of {notebook} failed; the notebook was not saved:\n{error}") from None
    print(f"wrote {notebook}: {run.mode} mode, {run.num_train} training images, {run.epochs} epochs")
    for grade_id, report in run.reports.items():
        print(f"  {grade_id}: training loss {report.train_loss:g}, validation loss {report.val_loss:g}, "
              f"{report.examples_per_s:g} examples/s on {report.device}")
    problems = solution_run.check(run) if run.mode == "full" else []
    for problem in problems:
        print(f"  out of bounds: {problem}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="a12", description=__doc__)
    parser.add_argument("--course", type=Path, default=None, help="course directory (default: this folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("release", help=cmd_release.__doc__).set_defaults(run=cmd_release)
    parser_regrade = commands.add_parser("regrade", help=cmd_regrade.__doc__)
    parser_regrade.add_argument("--student", action="append", help="only this student (repeatable)")
    parser_regrade.add_argument("--apply", action="store_true", help="write the independent scores into the gradebook")
    parser_regrade.set_defaults(run=cmd_regrade)
    solution = commands.add_parser("run-solution", help=cmd_run_solution.__doc__)
    solution.add_argument("--epochs", type=int, default=None, help="DDPM_EPOCHS: epochs of each training (default: 20 in full mode)")
    solution.add_argument("--quick", action="store_true", help="quick mode (DDPM_QUICK=1) instead of full mode")
    solution.add_argument("--mnist-root", type=Path, default=None, help="MNIST_ROOT: a folder that holds MNIST/raw/ "
                          "(default: solutions/data, where torchvision downloads it)")
    solution.set_defaults(run=cmd_run_solution)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except course.CourseError as error:
        print(f"a12 {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
