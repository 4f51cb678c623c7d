"""``a12``: the instructor's command line for Assignment 12 (run it in the course directory).

release -> collect -> autograde -> (grade the free-text answers in formgrader) -> feedback -> export;
``a12 demo`` runs them all on a temporary course.
"""

import argparse
import sys
from datetime import datetime
from pathlib import Path

from nbclient.exceptions import CellExecutionError

from autograder import NOTEBOOK
from autograder.course import (
    audit,
    autograde,
    budget,
    collect,
    coursedir,
    demo,
    feedback,
    late,
    lms,
    regrade,
    scoresheet,
    solution_run,
    summary,
)
from autograder.limits import SUBMISSION_S


def due_date(text: str) -> datetime:
    """argparse type of --due: an ISO 8601 time with its time zone, as naive UTC."""
    try:
        return late.parse_time(text, "due date")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def cmd_release(args: argparse.Namespace) -> int:
    """Generate the student release with nbgrader, and the solution notebook; store the due date."""
    root = coursedir.find_root(args.course)
    for path in coursedir.release(root, args.due):
        print(f"wrote {path}")
    if args.due is not None:
        print(f"due date: {late.timestamp_text(args.due)} (in {coursedir.db_url(root)})")
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    """Put the notebooks of a folder or LMS zip into submitted/<student>/assignment12/, with their times."""
    for line in collect.collect(
        coursedir.find_root(args.course), args.source, args.names, args.pattern, args.force, args.times
    ):
        print(line)
    return 0


def cmd_autograde(args: argparse.Namespace) -> int:
    """Autograde the submissions in parallel workers into nbgrader's gradebook."""
    if args.unconfined:
        print(
            "warning: --unconfined: student code runs with your rights, files and network; a hostile notebook "
            "can change grades. The export records these submissions as graded unconfined.",
            file=sys.stderr,
        )
    root = coursedir.find_root(args.course)
    outcomes = autograde.autograde(
        root,
        args.student,
        args.workers,
        args.timeout,
        args.force,
        threads=args.threads,
        confined=not args.unconfined,
        scheduler=args.scheduler,
        tries=args.tries,
        budget_of=budget.from_options(root, args),
    )
    if outcomes:
        print(autograde.summary_text(outcomes))
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    """Generate nbgrader's HTML feedback for the autograded students."""
    files, warnings = feedback.generate(coursedir.find_root(args.course), args.student)
    for path in files:
        print(f"wrote {path}")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the 42-point score sheet (CSV) and its HTML summary, and print it."""
    root = coursedir.find_root(args.course)
    sheet = scoresheet.read(coursedir.gradebook_url(root), late.plugin(coursedir.course_config(root)), root=root)
    out = args.out or root / "export"
    out.mkdir(parents=True, exist_ok=True)
    print(scoresheet.table(sheet))
    for row in sheet.rows:
        for note in row.notes:
            print(f"{row.student}: {note}")
    print(f"wrote {scoresheet.write_csv(sheet, out / 'assignment12-scores.csv')}")
    print(f"wrote {summary.write_html(sheet, out / 'assignment12-summary.html')}")
    if args.lms == "canvas":
        path, problems = lms.write_canvas_csv(sheet, out / "assignment12-canvas.csv", args.lms_assignment)
        print(f"wrote {path} (Canvas: Grades > Import)")
        for problem in problems:
            print(f"warning: {problem}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Build a temporary course, grade fictitious students in parallel, print the score sheet."""
    demo.run_demo(args.dir, args.workers, args.timeout, args.course, args.db_url)
    return 0


def cmd_regrade(args: argparse.Namespace) -> int:
    """Re-grade the auto-graded items outside nbgrader and report differences from the gradebook."""
    root = coursedir.find_root(args.course)
    reports, differences = regrade.regrade(
        root,
        coursedir.db_url(root),
        args.student or None,
        write=args.apply,
        progress=lambda line: print(line, file=sys.stderr),
    )
    for student, report in reports.items():
        if report.error:
            print(f"{student}: cannot be graded automatically: {report.error}")
    for d in differences:
        old = (
            "missing"
            if d.gradebook is None
            else f"{d.gradebook:g}" + (" (a manual score: check who gave it in formgrader)" if d.manual else "")
        )
        print(
            f"{d.student} {d.item}: gradebook {old}, independent {d.independent:g}"
            + ("" if not d.reasons else f" ({'; '.join(d.reasons)})")
        )
    verb = "updated in the gradebook" if args.apply else "differ from the gradebook (--apply writes them)"
    print(f"{len(reports)} submissions re-graded; {len(differences)} item scores {verb}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """List the changes of manual scores, extra credit and comments made outside formgrader."""
    recorded = audit.changes(coursedir.gradebook_url(coursedir.find_root(args.course)))
    shown = recorded if args.all else audit.suspicious(recorded)
    for c in shown:
        print(
            f"{c.changed_at} {c.path} ({c.actor or 'no claim: a direct write'}) {c.student} {c.item} "
            f"{c.field}: {c.old} -> {c.new}"
        )
    outside = len(audit.suspicious(recorded))
    print(f"{len(recorded)} changes recorded; {outside} made outside formgrader (with no grader logged in)")
    return 0


def cmd_run_solution(args: argparse.Namespace) -> int:
    """Run the solution notebook and save it with its outputs; check the losses it reports."""
    root = coursedir.find_root(args.course)
    notebook = root / "solutions" / NOTEBOOK
    if args.checkpoints is not None and args.checkpoints.resolve().is_relative_to(root):
        raise coursedir.UsageError(f"--checkpoints {args.checkpoints}: give a folder outside the course {root}")
    if args.background:
        if args.checkpoints is None:
            raise coursedir.UsageError("--background needs --checkpoints DIR (its log goes there)")
        pid, output = solution_run.start_in_background(sys.argv[1:], args.checkpoints)
        print(f"started in the background (pid {pid}); progress: {args.checkpoints / 'run.log'}; errors: {output}")
        print("after an interruption, the same command resumes it from its last checkpoints")
        return 0
    try:
        run = solution_run.run_solution(
            notebook,
            epochs=args.epochs,
            quick=args.quick,
            mnist_root=args.mnist_root,
            checkpoints=args.checkpoints,
            checkpoint_minutes=args.checkpoint_minutes,
        )
    except CellExecutionError as error:
        raise coursedir.CourseError(f"a cell of {notebook} failed; the notebook was not saved:\n{error}") from None
    print(f"wrote {notebook}: {run.mode} mode, {run.num_train} training images, {run.epochs} epochs")
    for grade_id, report in run.reports.items():
        print(
            f"  {grade_id}: training loss {report.train_loss:g}, validation loss {report.val_loss:g}, "
            f"{report.examples_per_s:g} examples/s on {report.device}"
        )
    problems = solution_run.check(run) if run.mode == "full" else []
    for problem in problems:
        print(f"  out of bounds: {problem}")
    return 1 if problems else 0


def parser() -> argparse.ArgumentParser:
    """The ``a12`` command line."""
    # --course before or after the command: the command's copy keeps the main one unless given
    course_option = argparse.ArgumentParser(add_help=False)
    course_option.add_argument(
        "--course", type=Path, default=argparse.SUPPRESS, help="course directory (default: this folder)"
    )
    main_parser = argparse.ArgumentParser(prog="a12", description=__doc__)
    main_parser.add_argument("--course", type=Path, default=None, help="course directory (default: this folder)")
    commands = main_parser.add_subparsers(dest="command", required=True)

    def command(name: str, run) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=run.__doc__, parents=[course_option])
        sub.set_defaults(run=run)
        return sub

    sub = command("release", cmd_release)
    sub.add_argument(
        "--due",
        type=due_date,
        default=None,
        help="due date with its time zone, e.g. 2027-01-15T23:59+01:00 (stored in the gradebook)",
    )

    sub = command("collect", cmd_collect)
    sub.add_argument("source", type=Path, help="a folder of notebooks, or the zip downloaded from the LMS")
    sub.add_argument(
        "--names",
        default="plain",
        choices=sorted(collect.NAMES),
        help="how file names say whose a notebook is: plain (<student>.ipynb or <student>/*.ipynb) "
        "or canvas (<student>_<user id>_<submission id>_<file>.ipynb)",
    )
    sub.add_argument("--pattern", help="a regular expression for the path instead, with a (?P<student>...) group")
    sub.add_argument("--force", action="store_true", help="replace submissions already collected")
    sub.add_argument(
        "--times",
        type=Path,
        default=None,
        help="a CSV of student,submission time (ISO 8601 with time zone) for nbgrader's timestamp.txt",
    )

    sub = command("autograde", cmd_autograde)
    sub.add_argument("--student", action="append", help="only this student (repeat for more)")
    sub.add_argument("--workers", type=int, default=None, help="parallel workers (default: one per CPU core)")
    sub.add_argument(
        "--timeout", type=float, default=SUBMISSION_S, help=f"seconds per submission (default: {SUBMISSION_S})"
    )
    sub.add_argument(
        "--threads", type=int, default=None, help="CPU threads of each notebook (default: CPU cores / workers)"
    )
    sub.add_argument("--force", action="store_true", help="grade again submissions already autograded")
    sub.add_argument(
        "--unconfined",
        action="store_true",
        help="grade without bubblewrap jails (where it is missing); not safe against hostile notebooks",
    )
    sub.add_argument(
        "--scheduler",
        default=None,
        help="grade on the workers of this Dask scheduler (tcp://HOST:8786) instead of this machine's cores",
    )
    sub.add_argument(
        "--tries",
        type=int,
        default=3,
        help="with --scheduler: a submission whose grading ended this many workers gets 0 (default: 3)",
    )
    budget.add_options(sub)

    sub = command("feedback", cmd_feedback)
    sub.add_argument("--student", action="append", help="only this student (repeat for more)")

    sub = command("export", cmd_export)
    sub.add_argument("--out", type=Path, default=None, help="folder for the CSV and HTML (default: export/)")
    sub.add_argument(
        "--lms",
        choices=lms.LMS,
        default=None,
        help="also a CSV that the LMS's gradebook import takes (the total after the late penalty)",
    )
    sub.add_argument(
        "--lms-assignment",
        default="Assignment 12",
        help="the assignment's column in the LMS, as its gradebook export names it, "
        "e.g. 'Assignment 12 (123456)' (default: 'Assignment 12', a new assignment)",
    )

    sub = command("demo", cmd_demo)
    sub.add_argument("--dir", type=Path, default=None, help="folder for the demo (default: a new temporary one)")
    sub.add_argument("--workers", type=int, default=None, help="parallel workers (default: one per CPU core)")
    sub.add_argument(
        "--timeout", type=float, default=SUBMISSION_S, help=f"seconds per submission (default: {SUBMISSION_S})"
    )
    sub.add_argument(
        "--db-url",
        default=None,
        help="the demo course's gradebook, e.g. an empty PostgreSQL "
        "database postgresql://USER@HOST/DB (default: SQLite in the course)",
    )

    sub = command("regrade", cmd_regrade)
    sub.add_argument("--student", action="append", help="only this student (repeat for more)")
    sub.add_argument("--apply", action="store_true", help="write the independent scores into the gradebook")

    sub = command("audit", cmd_audit)
    sub.add_argument("--all", action="store_true", help="every recorded change, formgrader's too")

    sub = command("run-solution", cmd_run_solution)
    sub.add_argument(
        "--epochs", type=int, default=None, help="DDPM_EPOCHS: epochs of each training (default: 20 in full mode)"
    )
    sub.add_argument("--quick", action="store_true", help="quick mode (DDPM_QUICK=1) instead of full mode")
    sub.add_argument(
        "--mnist-root",
        type=Path,
        default=None,
        help="MNIST_ROOT: a folder that holds MNIST/raw/ (default: solutions/data, where torchvision downloads it)",
    )
    sub.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="a folder outside the course: checkpoint every epoch there, log to run.log there, and resume "
        "from what it holds (the same command again after an interruption)",
    )
    sub.add_argument(
        "--checkpoint-minutes",
        type=float,
        default=10,
        help="with --checkpoints: also checkpoint within an epoch, at most this often (default: 10)",
    )
    sub.add_argument("--background", action="store_true", help="run detached from this terminal (needs --checkpoints)")
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    audit.claim("a12")
    try:
        return args.run(args)
    except (coursedir.CourseError, collect.CollectError) as error:
        print(f"a12 {args.command}: {error}", file=sys.stderr)
        return 2 if isinstance(error, coursedir.UsageError) else 1


if __name__ == "__main__":
    sys.exit(main())
