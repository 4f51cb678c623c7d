"""``a12``: the instructor's command line for Assignment 12 (run it in the course directory).

release -> collect -> autograde -> (grade the free-text answers in formgrader) -> feedback -> export;
``a12 demo`` runs them all on a temporary course.
"""
import argparse
import sys
from pathlib import Path

from nbclient.exceptions import CellExecutionError

from . import NOTEBOOK, batch, collect, course, demo, feedback, regrade, scoresheet, solution_run, summary


def cmd_release(args: argparse.Namespace) -> int:
    """Generate the student release with nbgrader, and the solution notebook."""
    for path in course.release(course.find_root(args.course)):
        print(f"wrote {path}")
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    """Put the notebooks of a folder or LMS zip into submitted/<student>/assignment12/."""
    for line in collect.collect(course.find_root(args.course), args.source, args.names, args.pattern, args.force):
        print(line)
    return 0


def cmd_autograde(args: argparse.Namespace) -> int:
    """Autograde the submissions in parallel workers into nbgrader's gradebook."""
    if args.unconfined:
        print("warning: --unconfined: student code runs with your rights, files and network; a hostile notebook "
              "can change grades. The export records these submissions as graded unconfined.", file=sys.stderr)
    outcomes = batch.autograde(course.find_root(args.course), args.student, args.workers, args.timeout, args.force,
                               threads=args.threads, confined=not args.unconfined, scheduler=args.scheduler,
                               tries=args.tries)
    if outcomes:
        print(batch.summary_text(outcomes))
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    """Generate nbgrader's HTML feedback for the autograded students."""
    files, warnings = feedback.generate(course.find_root(args.course), args.student)
    for path in files:
        print(f"wrote {path}")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the 42-point score sheet (CSV) and its HTML summary, and print it."""
    root = course.find_root(args.course)
    out = args.out or root / "export"
    out.mkdir(parents=True, exist_ok=True)
    sheet = scoresheet.read(course.db_url(root), root=root)
    print(scoresheet.table(sheet))
    for row in sheet.rows:
        for note in row.notes:
            print(f"{row.student}: {note}")
    print(f"wrote {scoresheet.write_csv(sheet, out / 'assignment12-scores.csv')}")
    print(f"wrote {summary.write_html(sheet, out / 'assignment12-summary.html')}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Build a temporary course, grade fictitious students in parallel, print the score sheet."""
    demo.run_demo(args.dir, args.workers, args.timeout, args.course, args.db_url)
    return 0


def cmd_regrade(args: argparse.Namespace) -> int:
    """Re-grade the auto-graded items outside nbgrader and report differences from the gradebook."""
    root = course.find_root(args.course)
    reports, differences = regrade.regrade(root, course.db_url(root), args.student or None, write=args.apply,
                                           progress=lambda line: print(line, file=sys.stderr))
    for student, report in reports.items():
        if report.error:
            print(f"{student}: cannot be graded automatically: {report.error}")
    for d in differences:
        old = "missing" if d.gradebook is None else f"{d.gradebook:g}" + (" (a manual score: check who gave it in "
                                                                          "formgrader)" if d.manual else "")
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

    sub = commands.add_parser("collect", help=cmd_collect.__doc__)
    sub.add_argument("source", type=Path, help="a folder of notebooks, or the zip downloaded from the LMS")
    sub.add_argument("--names", default="plain", choices=sorted(collect.NAMES),
                     help="how file names say whose a notebook is: plain (<student>.ipynb or <student>/*.ipynb) "
                          "or canvas (<student>_<user id>_<submission id>_<file>.ipynb)")
    sub.add_argument("--pattern", help="a regular expression for the path instead, with a (?P<student>...) group")
    sub.add_argument("--force", action="store_true", help="replace submissions already collected")
    sub.set_defaults(run=cmd_collect)

    sub = commands.add_parser("autograde", help=cmd_autograde.__doc__)
    sub.add_argument("--student", action="append", help="only this student (repeat for more)")
    sub.add_argument("--workers", type=int, default=None, help="parallel workers (default: one per CPU core)")
    sub.add_argument("--timeout", type=float, default=600, help="seconds per submission (default: 600)")
    sub.add_argument("--threads", type=int, default=None,
                     help="CPU threads of each notebook (default: CPU cores / workers)")
    sub.add_argument("--force", action="store_true", help="grade again submissions already autograded")
    sub.add_argument("--unconfined", action="store_true",
                     help="grade without bubblewrap jails (where it is missing); not safe against hostile notebooks")
    sub.add_argument("--scheduler", default=None, help="grade on the workers of this Dask scheduler "
                     "(tcp://HOST:8786) instead of this machine's cores")
    sub.add_argument("--tries", type=int, default=3, help="with --scheduler: a submission whose grading ended "
                     "this many workers gets 0 (default: 3)")
    sub.set_defaults(run=cmd_autograde)

    sub = commands.add_parser("feedback", help=cmd_feedback.__doc__)
    sub.add_argument("--student", action="append", help="only this student (repeat for more)")
    sub.set_defaults(run=cmd_feedback)

    sub = commands.add_parser("export", help=cmd_export.__doc__)
    sub.add_argument("--out", type=Path, default=None, help="folder for the CSV and HTML (default: export/)")
    sub.set_defaults(run=cmd_export)

    sub = commands.add_parser("demo", help=cmd_demo.__doc__)
    sub.add_argument("--dir", type=Path, default=None, help="folder for the demo (default: a new temporary one)")
    sub.add_argument("--workers", type=int, default=None, help="parallel workers (default: one per CPU core)")
    sub.add_argument("--timeout", type=float, default=600, help="seconds per submission (default: 600)")
    sub.add_argument("--db-url", default=None, help="the demo course's gradebook, e.g. an empty PostgreSQL "
                     "database postgresql://USER@HOST/DB (default: SQLite in the course)")
    sub.set_defaults(run=cmd_demo)

    sub = commands.add_parser("regrade", help=cmd_regrade.__doc__)
    sub.add_argument("--student", action="append", help="only this student (repeat for more)")
    sub.add_argument("--apply", action="store_true", help="write the independent scores into the gradebook")
    sub.set_defaults(run=cmd_regrade)

    sub = commands.add_parser("run-solution", help=cmd_run_solution.__doc__)
    sub.add_argument("--epochs", type=int, default=None, help="DDPM_EPOCHS: epochs of each training (default: 20 in full mode)")
    sub.add_argument("--quick", action="store_true", help="quick mode (DDPM_QUICK=1) instead of full mode")
    sub.add_argument("--mnist-root", type=Path, default=None, help="MNIST_ROOT: a folder that holds MNIST/raw/ "
                          "(default: solutions/data, where torchvision downloads it)")
    sub.set_defaults(run=cmd_run_solution)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (course.CourseError, collect.CollectError) as error:
        print(f"a12 {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
