"""Late submissions, the nbgrader way: submission times, the due date, and the course's penalty.

- ``a12 collect`` writes each submission's time to nbgrader's ``timestamp.txt``; ``nbgrader autograde``
  stores it in the gradebook.
- ``a12 release --due`` stores the due date as the assignment's ``duedate`` in the gradebook; an
  extension is the submission's ``extension`` there (``SubmittedAssignment.duedate`` adds it).
- ``PerDayPenalty`` is the course's late-submission plugin (``c.AssignLatePenalties.plugin_class`` in
  ``nbgrader_config.py``). nbgrader calls it while autograding, with the points of that moment;
  ``a12 export`` calls the same configured plugin with the final total out of 42.
"""

import math
from datetime import UTC, datetime

from nbgrader.api import Gradebook
from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float
from traitlets.config import Config

from autograder import ASSIGNMENT

DAY_S = 24 * 3600


class PerDayPenalty(LateSubmissionPlugin):
    """A share of the points lost for every day, or part of a day, late (after a grace period)."""

    per_day = Float(0.1, help="share of the points lost per started day late (0.1: 10 %)").tag(config=True)
    grace_minutes = Float(0.0, help="minutes after the due date that cost nothing").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        late_s = total_seconds_late - 60 * self.grace_minutes
        if late_s <= 0:
            return 0.0
        return score * min(1.0, self.per_day * math.ceil(late_s / DAY_S))


def parse_time(text: str, what: str = "time") -> datetime:
    """An ISO 8601 time with its time zone (``2027-01-15T23:59+01:00``), as nbgrader stores it: naive UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a {what} like 2027-01-15T23:59+01:00") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: write it like 2027-01-15T23:59+01:00 (or Z for UTC)")
    return moment.astimezone(UTC).replace(tzinfo=None)


def timestamp_text(moment: datetime) -> str:
    """A naive UTC time as ``timestamp.txt`` holds it (nbgrader's ``parse_utc`` reads it back)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def set_due(db_url: str, due: datetime, assignment: str = ASSIGNMENT) -> None:
    """Store the assignment's due date (naive UTC) in the gradebook."""
    with Gradebook(db_url) as gb:
        gb.update_or_create_assignment(assignment, duedate=due)


def plugin(config: Config) -> LateSubmissionPlugin:
    """The course's late-submission plugin, configured as nbgrader configures it."""
    plugin_class = config.AssignLatePenalties.get("plugin_class", LateSubmissionPlugin)
    if isinstance(plugin_class, str):
        module, _, name = plugin_class.rpartition(".")
        plugin_class = getattr(__import__(module, fromlist=[name]), name)
    return plugin_class(config=config)


def late_text(seconds: float) -> str:
    """How late, for people: ``2 d 3 h``, ``45 min``, or empty when on time."""
    if seconds <= 0:
        return ""
    minutes = math.ceil(seconds / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = (
        [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * (bool(minutes) and not days)
    )
    return " ".join(parts)
