"""12.8f (ten samples of label 3) and 12.8g (ten samples of every digit).

The cells run with a spy in place of ``sample_from_model_conditional`` (graded in 12.8e), so
these items check only how the cells use it: the model, the labels and the initial noise.
"""
import torch

from .. import inputs
from ..namespace import run_statements
from ..submission import Submission
from . import Check, all_or_nothing
from .sampling import initial_noise_problem

SEED = 1208


def observe_cell(ns: dict, submission: Submission, grade_id: str) -> dict:
    """Run an answer cell with a spy sampler, placeholder models and no plotting."""
    source = submission.answer(grade_id)
    spy = inputs.SamplerSpy()
    cell_ns = dict(ns, sample_from_model_conditional=spy, sample_from_model=inputs.SamplerSpy(),
                   model=inputs.Sentinel("model"), model_conditional=inputs.Sentinel("model_conditional"),
                   plot_x_hist=lambda x_hist: None, plt=inputs.PlotStub())
    torch.manual_seed(SEED)
    problems = run_statements(source, cell_ns, budget_s=20, skip_expressions=False)
    return {"calls": spy.calls, "problems": problems, "x_0": ns["x_0"], "beta": ns["beta"]}


def _label(value) -> int | None:
    """The label of a call as a whole number, if it is one (an int, or a tensor of equal integers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, torch.Tensor) and value.numel() > 0 and not value.is_floating_point() and (value == value.flatten()[0]).all():
        return int(value.flatten()[0])
    return None


def _call_problem(call: dict, obs: dict) -> str | None:
    if call["model"] != "model_conditional":
        return f"sample with the conditional model, model_conditional (not {call['model']})"
    if not (isinstance(call["beta"], torch.Tensor) and torch.equal(call["beta"], obs["beta"])):
        return "pass the noise schedule beta to the sampler"
    return initial_noise_problem(call["x"], obs["x_0"])


def _no_calls(obs: dict) -> list[str]:
    failure = obs["problems"][0] if obs["problems"] else "sample_from_model_conditional was never called"
    return [f"the cell does not sample: {failure}"]


def judge_label_3(obs: dict) -> tuple[float, list[str]]:
    if not obs["calls"]:
        return all_or_nothing(1, _no_calls(obs))
    call = obs["calls"][-1]
    mistakes = []
    if _label(call["label"]) != 3:
        mistakes.append(f"sample with label=3 (found {call['label']!r})")
    problem = _call_problem(call, obs)
    if problem:
        mistakes.append(problem)
    return all_or_nothing(1, mistakes)


def judge_every_digit(obs: dict) -> tuple[float, list[str]]:
    if not obs["calls"]:
        return all_or_nothing(1, _no_calls(obs))
    mistakes = []
    labels = [_label(c["label"]) for c in obs["calls"]]
    if sorted(label for label in labels if label is not None) != list(range(10)):
        mistakes.append(f"sample once for every digit 0 to 9, with label=label (found labels {labels})")
    problems = {p for p in (_call_problem(c, obs) for c in obs["calls"]) if p}
    mistakes += sorted(problems)
    return all_or_nothing(1, mistakes)


LABEL_3 = Check("12.8f", 1, "test_12_8f_sample_label_3", "ten N(0, I) samples of label 3 from model_conditional",
                lambda ns, sub, _: observe_cell(ns, sub, "sample_label_3"), judge_label_3)
EVERY_DIGIT = Check("12.8g", 1, "test_12_8g_sample_every_digit",
                    "ten N(0, I) samples of every label from model_conditional",
                    lambda ns, sub, _: observe_cell(ns, sub, "sample_every_digit"), judge_every_digit)
