"""benchmarks.class_scale at a tiny size, and what it shows of `a12 autograde --scheduler`: an interrupted
run resumes without grading again the students it merged."""

import pytest

from autograder.course import autograde, collect, coursedir, gradebook
from benchmarks import class_scale


def test_the_rehearsal_times_every_stage(tmp_path, capsys):
    assert class_scale.main(["--students", "3", "--workers", "1", "--db", "sqlite"]) == 0
    out = capsys.readouterr().out
    assert "STAND-IN TASKS" in out and "progress: 4 lines; the last: [####################] 3/3" in out
    for stage in ("collect", "autograde (Dask, stand-in tasks)", "export", "regrade's reading of the gradebook"):
        assert f"  {stage}: " in out
    assert "merges/s in autograde: " in out


def test_an_interrupted_autograde_on_a_cluster_resumes_with_the_students_not_merged(tmp_path):
    root, template, download = class_scale.course(tmp_path, 6, None)
    collect.collect(root, download, names="canvas")
    students = [f"s{n:05d}" for n in range(1, 7)]

    def interrupt(line: str) -> None:
        if "/6 " in line:  # the first batch is merged
            raise KeyboardInterrupt

    with class_scale.stand_in_cluster(1, template, 0.2) as address:
        with pytest.raises(KeyboardInterrupt):
            autograde.autograde(root, scheduler=address, confined=False, progress=interrupt)
        with gradebook.Writer(coursedir.db_url(root)) as writer:
            merged = writer.submitted()
        assert 0 < len(merged) < 6
        again = autograde.autograde(root, scheduler=address, confined=False, progress=lambda line: None)
        assert sorted(o.student for o in again) == sorted(set(students) - merged)
        assert autograde.autograde(root, scheduler=address, confined=False, progress=lambda line: None) == []
