"""The independent grader's flags (code that behaves differently under grading) reach a person: the
report, the autograded notebook's record, the export's notes and ``a12 autograde``'s summary."""

import json

import nbformat

from autograder.course import autograde, scoresheet
from autograder.course.plugins.independent import flags_of
from autograder.grading.checks import Check
from autograder.report import Report, Result

FLAG = {"item": "12.6d", "reason": "sample_from_model behaves differently under grading: ..."}


def test_a_judges_flags_reach_the_result_and_survive_the_reports_json():
    check = Check("12.6d", "", lambda ns, sub, prepared: {}, lambda obs: (1, ["a mistake"], [FLAG["reason"]]))
    result = check.result({})
    assert (result.points, result.reasons, result.flags) == (1, ["a mistake"], [FLAG["reason"]])
    report = Report([result, Result("12.7c", 2, 2)])
    assert Report.from_json(report.to_json()).flags == [FLAG]
    assert Report.from_json(json.dumps({"results": [{"item": "12.7c", "points": 2, "max_points": 2}]})).flags == []


def test_flags_recorded_in_the_autograded_notebook_reach_the_notes_and_the_summary(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"a12": {"disagreements": [], "flags": [FLAG], "confined": True}})
    path = tmp_path / "autograded" / "eve" / scoresheet.ASSIGNMENT / scoresheet.NOTEBOOK
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    assert flags_of(nbformat.read(path, as_version=4)) == [FLAG]
    assert scoresheet.autograding_notes(tmp_path, "eve") == [f"12.6d: flagged: {FLAG['reason']}"]
    outcome = autograde.Outcome("eve", "graded", 12, 13, 1.0, flags=[FLAG])
    summary = autograde.summary_text([outcome, autograde.Outcome("ana", "graded", 13, 13, 1.0)])
    assert summary.splitlines() == [
        "1 of 2 submissions autograded without problems",
        f"  eve: flagged: 12.6d: {FLAG['reason']}",
    ]
