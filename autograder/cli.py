"""``a12``: the instructor's command line for Assignment 12 (run it in the course directory)."""
import argparse
import sys
from pathlib import Path

from . import course, regrade


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="a12", description=__doc__)
    parser.add_argument("--course", type=Path, default=None, help="course directory (default: this folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("release", help=cmd_release.__doc__).set_defaults(run=cmd_release)
    parser_regrade = commands.add_parser("regrade", help=cmd_regrade.__doc__)
    parser_regrade.add_argument("--student", action="append", help="only this student (repeatable)")
    parser_regrade.add_argument("--apply", action="store_true", help="write the independent scores into the gradebook")
    parser_regrade.set_defaults(run=cmd_regrade)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except course.CourseError as error:
        print(f"a12 {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
