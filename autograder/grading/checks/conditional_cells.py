"""12.8f (ten samples of label 3) and 12.8g (ten samples of every digit).

The cells run with a spy in place of ``sample_from_model_conditional`` (graded in 12.8e) that
returns a traceable new image for every image it is given. The checks grade the result, not the
shape of the calls: which images were sampled, with which label and model, from which initial
noise, and (12.8g) whether ``x_per_class`` holds ten of them for every digit. Any call pattern
that produces them earns the point: one batch per digit, one image at a time, or one batch of
100 with a label per image when the student's own sampler passes such labels on to the model.
"""

from typing import Any

import torch

from autograder.grading import standins, stats, wire
from autograder.grading.checks import Check, all_or_nothing
from autograder.grading.namespace import run_statements
from autograder.grading.submission import Submission
from autograder.grading.wire import CellRun
from autograder.limits import CELL_STATEMENT_S

SEED = 1208
COUNT = 10  # samples per digit
TRACED = 0.99  # correlation above which a result image is a sampled one (any affine display scaling)


class LabelCellObservations(CellRun):
    """12.8f and 12.8g: the cell's calls of the conditional sampler, and the samples it kept."""

    beta: torch.Tensor
    x_per_class: Any  # 12.8g's list of samples per label, plain


def observe_cell(ns: dict, submission: Submission, grade_id: str) -> LabelCellObservations:
    """Run an answer cell with a spy sampler, stand-in models and no plotting."""
    source = submission.answer(grade_id)
    spy = standins.SamplerSpy(SEED, sampler=ns.get("sample_from_model_conditional"))
    cell_ns = dict(
        ns,
        sample_from_model_conditional=spy,
        sample_from_model=standins.SamplerSpy(SEED + 1),
        model=standins.Sentinel("model"),
        model_conditional=standins.Sentinel("model_conditional"),
        plot_x_hist=lambda x_hist: None,
        plt=standins.PlotStub(),
    )
    torch.manual_seed(SEED)
    problems = run_statements(source, cell_ns, budget_s=CELL_STATEMENT_S, skip_expressions=False)
    return {
        "calls": spy.calls,
        "problems": problems,
        "x_0": ns["x_0"],
        "beta": ns["beta"],
        "x_per_class": wire.plain(cell_ns.get("x_per_class")),
    }


def _label(value) -> int | None:
    """The label of a call as a whole number, if it is one (an int, or a tensor of equal integers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if (
        isinstance(value, torch.Tensor)
        and value.numel() > 0
        and not value.is_floating_point()
        and (value == value.flatten()[0]).all()
    ):
        return int(value.flatten()[0])
    return None


def _call_problem(call: dict, obs: dict) -> str | None:
    """What is wrong with a call's model, schedule, initial x or per-image labels, or None."""
    x = call["x"]
    if call["model"] != "model_conditional":
        return f"sample with the conditional model, model_conditional (not {call['model']})"
    if not (isinstance(call["beta"], torch.Tensor) and torch.equal(call["beta"], obs["beta"])):
        return "pass the noise schedule beta to the sampler"
    if not (isinstance(x, torch.Tensor) and x.dim() == 4 and x.shape[1:] == obs["x_0"].shape[1:]):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else x
        return f"the initial x should have shape [n, 1, 32, 32]; found {shape}"
    if "probe_error" in call and _label(call["label"]) is None:
        if call["probe_error"]:
            return (
                f"your sample_from_model_conditional does not take a tensor of labels "
                f"({call['probe_error']}): sample each digit with label=digit"
            )
        seen = call["model_label"]
        if not (isinstance(seen, torch.Tensor) and torch.equal(seen.flatten().long(), call["label"].flatten().long())):
            return "your sample_from_model_conditional does not pass a tensor of labels on to the model"
    return None


def _samples(obs: dict) -> tuple[list[dict], list[str]]:
    """Every image the spy sampled, with its label, initial x and result; and the calls' problems."""
    samples, problems = [], []
    for call in obs["calls"]:
        problem = _call_problem(call, obs)
        if problem:
            problems.append(problem)
            continue
        label = call["label"]
        n = call["x"].shape[0]
        per_image = (
            label.flatten().tolist()
            if isinstance(label, torch.Tensor) and label.numel() == n and not label.is_floating_point()
            else [_label(label)] * n
        )
        samples += [{"label": per_image[k], "init": call["x"][k], "out": call["out"][k]} for k in range(n)]
    return samples, sorted(set(problems))


def _noise_problem(samples: list[dict], x_0: torch.Tensor) -> str | None:
    """Why the initial x of these samples is not fresh N(0, I) noise, one draw per image, or None."""
    init = torch.stack([s["init"] for s in samples]).double()
    problem = stats.standard_normal_problem(init, tolerance=0.1)
    if problem:
        return f"the initial x should be drawn from N(0, I), but {problem} (use torch.randn_like)"
    if abs(stats.correlation(init[:COUNT], x_0[: len(init[:COUNT])])) > 0.1:
        return "the initial x should be pure noise, independent of x_0"
    if len(torch.unique(init.flatten(1), dim=0)) < len(init):
        return "start every sample from its own fresh noise (some samples share their initial x)"
    return None


def _no_samples(obs: dict) -> list[str]:
    failure = obs["problems"][0] if obs["problems"] else "sample_from_model_conditional was never called"
    return [f"the cell does not sample: {failure}"]


def judge_label_3(obs: LabelCellObservations) -> tuple[float, list[str]]:
    if not obs["calls"]:
        return all_or_nothing(1, _no_samples(obs))
    samples, mistakes = _samples(obs)
    threes = [s for s in samples if s["label"] == 3]
    if len(threes) < COUNT:
        labels = sorted({s["label"] for s in samples}, key=str)
        mistakes.append(f"sample ten images with label=3 (found {len(threes)}; labels sampled: {labels})")
    elif problem := _noise_problem(threes, obs["x_0"]):
        mistakes.append(problem)
    return all_or_nothing(1, mistakes)


def _unit_rows(m: torch.Tensor) -> torch.Tensor:
    """Rows centred and scaled to length 1, so that their products are correlations."""
    m = m - m.mean(dim=1, keepdim=True)
    return m / m.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _traced_labels(entry, samples: list[dict]) -> list[int | None] | None:
    """The labels of the sampled images that a result entry holds, or None if it holds other images."""
    tensors = entry if isinstance(entry, list) else [entry]
    if not tensors or not all(isinstance(t, torch.Tensor) and t.numel() % 1024 == 0 and t.numel() for t in tensors):
        return None
    images = torch.cat([t.double().reshape(-1, 1024) for t in tensors])
    bank = torch.stack([s["out"].double().reshape(1024) for s in samples])
    best, index = (_unit_rows(images) @ _unit_rows(bank).T).max(dim=1)
    return [samples[int(k)]["label"] for k in index] if bool((best > TRACED).all()) else None


def judge_every_digit(obs: LabelCellObservations) -> tuple[float, list[str]]:
    if not obs["calls"]:
        return all_or_nothing(1, _no_samples(obs))
    samples, mistakes = _samples(obs)
    counts = [sum(s["label"] == digit for s in samples) for digit in range(10)]
    if min(counts) < COUNT:
        mistakes.append(f"sample ten images of every digit 0 to 9 (found {counts} of the digits 0 to 9)")
    elif problem := _noise_problem(samples, obs["x_0"]):
        mistakes.append(problem)
    result = obs["x_per_class"]
    result = list(result) if isinstance(result, torch.Tensor) and result.dim() > 0 else result
    groups = [_traced_labels(entry, samples) for entry in result] if isinstance(result, list) and samples else []
    if not mistakes and not (
        len(groups) == 10
        and all(g and len(g) == COUNT and len(set(g)) == 1 for g in groups)
        and sorted(g[0] for g in groups) == list(range(10))
    ):
        mistakes.append("x_per_class should hold, for every digit, its ten samples from sample_from_model_conditional")
    return all_or_nothing(1, mistakes)


LABEL_3 = Check(
    "12.8f",
    "ten N(0, I) samples of label 3 from model_conditional",
    lambda ns, sub, _: observe_cell(ns, sub, "sample_label_3"),
    judge_label_3,
)
EVERY_DIGIT = Check(
    "12.8g",
    "ten N(0, I) samples of every label from model_conditional",
    lambda ns, sub, _: observe_cell(ns, sub, "sample_every_digit"),
    judge_every_digit,
)
