"""``a12``: the instructor's command line for Assignment 12 (run it in the course directory)."""
import argparse
import sys
from pathlib import Path

from . import course


def cmd_release(args: argparse.Namespace) -> int:
    """Generate the student release with nbgrader, and the solution notebook."""
    for path in course.release(course.find_root(args.course)):
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="a12", description=__doc__)
    parser.add_argument("--course", type=Path, default=None, help="course directory (default: this folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("release", help=cmd_release.__doc__).set_defaults(run=cmd_release)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except course.CourseError as error:
        print(f"a12 {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
