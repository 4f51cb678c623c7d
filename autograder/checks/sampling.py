"""12.6d (``sample_from_model`` and the initial noise), 12.7c (``deterministic_sample_from_model``)
and 12.8e (``sample_from_model_conditional``).

The model is ``EpsBank``, whose noise estimate ε_θ(x_t, t) is a known function (``eps_estimate``).
The sampler runs twice, from two x_T with two banks G but the same random seed, so both runs
draw the same z; the difference of the runs cancels σ_t·z, and fitting it step by step
gives the student's a_t and b_t in x_{t-1} = a_t·x_t + b_t·ε_θ + σ_t·z exactly. What is left of a
run is σ_t·z. Both are compared with the reference's, whatever random generator the student used
(``randn``, ``randn_like``, ``normal``) and in any floating-point precision.
"""
import random

import numpy as np
import torch

from .. import inputs, stats
from ..namespace import run_statements
from ..submission import Submission
from . import Check, all_or_nothing, minus_per_mistake

SEED = 1206
BANKS = (1261, 1262)  # seeds of the two EpsBanks
N = 4          # images per sampling run
LABEL = 7      # the label given to the conditional sampler
NO_NOISE = 1e-6  # relative size of σ_t·z below which a step adds no noise (float32 rounding is ~1e-7)


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def observe_sampler(ns: dict, submission: Submission, kind: str) -> dict:
    """Run the student's sampler from two known x_T, with two banks and one seed; then (for the
    deterministic sampler) once more like the first run but with another seed."""
    name = {"sample": "sample_from_model", "deterministic": "deterministic_sample_from_model",
            "conditional": "sample_from_model_conditional"}[kind]
    submission.answer(name)
    fn = ns.get(name)
    beta, _, _ = inputs.schedule()
    x_T = torch.randn(2, N, 1, 32, 32, generator=torch.Generator().manual_seed(SEED + 100))
    runs = [(0, BANKS[0], SEED), (1, BANKS[1], SEED)] + ([(0, BANKS[0], SEED + 1)] if kind == "deterministic" else [])
    obs: dict = {"x_T": x_T[0], "runs": []}
    for start, bank, seed in runs:
        model = inputs.EpsBank(bank, conditional=kind == "conditional")
        _seed(seed)
        kwargs = {"label": LABEL} if kind == "conditional" else {}
        value, error = inputs.call_quietly(fn, x_T[start].clone(), model, beta.clone(), **kwargs)
        obs["runs"].append({"bank": bank, "calls": model.calls, "value": inputs.plain(value), "error": error})
        if error:
            break
    obs["runs"][2:] = [dict(run, calls=[]) for run in obs["runs"][2:]]  # only its result is needed
    if kind == "sample":
        obs["initial_noise"] = observe_initial_noise(ns, submission)
    return obs


def observe_initial_noise(ns: dict, submission: Submission) -> dict:
    """Run the 12.6d cell that draws the initial noise, with a spy in place of the sampler."""
    source = submission.answer("initial_noise")
    spy = inputs.SamplerSpy()
    cell_ns = dict(ns, sample_from_model=spy, model=inputs.Sentinel("model"),
                   plot_x_hist=lambda x_hist: None, plt=inputs.PlotStub())
    torch.manual_seed(SEED)
    problems = run_statements(source, cell_ns, budget_s=10, skip_expressions=False)
    return {"calls": spy.calls, "problems": problems, "x_0": ns["x_0"]}


def initial_noise_problem(x, x_0: torch.Tensor, count: int = 10) -> str | None:
    """Why ``x`` is not ``count`` (or more) images of N(0, I) noise shaped like x_0, or None."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1:] != x_0.shape[1:] or x.shape[0] < count:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else x
        return f"the initial x should have shape [{count}, 1, 32, 32]; found {shape}"
    problem = stats.standard_normal_problem(x, tolerance=0.1)
    if problem:
        return f"the initial x should be drawn from N(0, I), but {problem} (use torch.randn_like)"
    if abs(stats.correlation(x[:count], x_0[:count])) > 0.1:
        return "the initial x should be pure noise, independent of x_0"
    return None


def _judge_initial_noise(obs: dict) -> list[str]:
    if not obs["calls"]:
        failure = obs["problems"][0] if obs["problems"] else "sample_from_model was never called"
        return [f"initial noise cell: {failure}"]
    call = obs["calls"][0]
    problem = initial_noise_problem(call["x"], obs["x_0"])
    return [f"initial noise cell: {problem}"] if problem else []


def _label_ok(label) -> bool:
    """An integer tensor with one label per image (or one for all), as the U-Net's embedding takes."""
    return isinstance(label, torch.Tensor) and label.numel() in (1, N) and label.dim() == 1 \
        and not label.is_floating_point()


def _trajectory(run: dict, x_T: torch.Tensor, steps: int) -> tuple[list[str], dict | None]:
    """Check one run's loop over time steps and its interface; return its states and noise estimates."""
    calls, value = run["calls"], run["value"]
    mistakes = []
    final = value[0] if isinstance(value, list) and len(value) == 2 and isinstance(value[0], torch.Tensor) else None
    if final is None or final.shape != x_T.shape:
        mistakes.append("it should return the final x (shaped like the input) and x_hist, as sample_from_model does")
    ts = [c["t"] for c in calls]
    valid_t = all(isinstance(t, torch.Tensor) and t.numel() in (1, N) and bool((t == t.flatten()[0]).all())
                  for t in ts)
    order = [int(t.flatten()[0]) for t in ts] if valid_t else []
    if not valid_t:
        mistakes.append("at every step, call the model with the time step as a tensor, one per image")
    elif order != list(range(steps - 1, -1, -1)):
        first = f"t={order[0]} to t={order[-1]}" if order else "never"
        mistakes.append(f"the model should be called once per step for t = {steps - 1} down to 0 "
                        f"({steps} calls); it was called {len(order)} times, {first}")
    states = [c["x"] for c in calls] + ([final] if final is not None else [])
    if not (calls and order and len(states) == len(calls) + 1 and all(0 <= t < steps for t in order)
            and all(isinstance(s, torch.Tensor) and s.shape == x_T.shape for s in states)):
        return mistakes, None
    per_step, per_label = inputs.eps_bank(run["bank"], conditional="label" in calls[0])
    labels = [c.get("label") for c in calls]
    if per_label is not None:
        labels = ([l.flatten().long().expand(N) for l in labels] if all(_label_ok(l) for l in labels)
                  else [torch.full((N,), LABEL) for _ in calls])  # judged separately; fit the steps as if right
    x = torch.stack(states).double()
    eps = inputs.eps_estimate(x[:-1].flatten(0, 1), torch.tensor(order).repeat_interleave(N),
                              torch.cat(labels) if per_label is not None else None, per_step, per_label,
                              inputs.schedule()[2])
    return mistakes, {"t": order, "x": x.flatten(1), "eps": eps.reshape(len(order), -1)}


def _steps(runs: list[dict], x_T: torch.Tensor, beta: torch.Tensor) -> tuple[list[str], dict | None]:
    """Check the loop and interface; fit a_t and b_t on the difference of the two runs, and
    return them with σ_t·z of the first run, next to the reference's values."""
    from ..reference import reverse_step_coefficients
    mistakes, first = _trajectory(runs[0], x_T, beta.shape[0])
    second = _trajectory(runs[1], x_T, beta.shape[0])[1] if len(runs) > 1 else None
    if first is None or second is None or first["t"] != second["t"]:
        return mistakes, None
    dx, deps = first["x"] - second["x"], first["eps"] - second["eps"]
    coef, stderr, _ = stats.fit(dx[1:], dx[:-1], deps)
    noise = first["x"][1:] - coef[:, :1] * first["x"][:-1] - coef[:, 1:] * first["eps"]
    t = torch.tensor(first["t"])
    a, b, sigma = (v.double() for v in reverse_step_coefficients(t, beta))
    return mistakes, {"t": t, "coef": coef, "stderr": stderr, "noise": noise, "a": a, "b": b, "sigma": sigma,
                      "size": noise.pow(2).mean(dim=1).sqrt(), "scale": first["x"][1:].pow(2).mean(dim=1).sqrt()}


def _mean_mistake(fit: dict) -> str | None:
    ref = torch.stack([fit["a"], fit["b"]], dim=1)
    tolerance = 8 * fit["stderr"] + 1e-3 * ref.abs() + 1e-6
    bad = ((fit["coef"] - ref).abs() > tolerance).any(dim=1)
    if not bad.any():
        return None
    k = int(bad.nonzero()[0])
    (a, b), (a_ref, b_ref) = fit["coef"][k].tolist(), ref[k].tolist()
    return (f"step 4 of Algorithm 2 is off: at t={int(fit['t'][k])}, x_t is scaled by {a:.4g} and ε_θ by {b:.4g} "
            f"instead of 1/√α_t = {a_ref:.4g} and −(1−α_t)/(√α_t·√(1−ᾱ_t)) = {b_ref:.4g}")


def _noise_mistakes(fit: dict) -> list[str]:
    """Mistakes in σ_t·z: its size σ_t = √β_t, its distribution, and z = 0 on the last step."""
    mistakes = []
    size = fit["size"]
    noisy = fit["t"] > 0
    last = fit["t"] == 0
    if last.any() and (size[last] > NO_NOISE * (1 + fit["scale"][last])).any():
        mistakes.append("noise is added on the last step: z should be 0 when t = 0")
    if noisy.any():
        ratio = size[noisy] / fit["sigma"][noisy]
        bad = (ratio - 1).abs() > 0.1
        if bad.any():
            k = int(bad.nonzero()[0])
            t = int(fit["t"][noisy][k])
            mistakes.append(f"at t={t} the added noise has standard deviation {float(size[noisy][k]):.3g}; "
                            f"it should be σ_t = √β_t = {float(fit['sigma'][noisy][k]):.3g}, times z ~ N(0, I)")
        else:
            z = fit["noise"][noisy] / fit["sigma"][noisy].unsqueeze(1)
            problem = stats.standard_normal_problem(z)
            if problem is None and len(z) > 1 and abs(stats.correlation(z[1:], z[:-1])) > 0.02:
                problem = "the same z is reused from step to step"
            if problem:
                mistakes.append(f"z should be fresh N(0, I) noise at every step, but {problem}")
    return mistakes


def judge_sampler(obs: dict, kind: str) -> tuple[float, list[str]]:
    beta, _, _ = inputs.schedule()
    runs = obs["runs"]
    name = {"sample": "sample_from_model", "deterministic": "deterministic_sample_from_model",
            "conditional": "sample_from_model_conditional"}[kind]
    failed = [run["error"] for run in runs if run["error"] is not None]
    if failed:
        failure = [f"{name} raised {failed[0]}"]
        return 0, failure + (_judge_initial_noise(obs["initial_noise"]) if kind == "sample" else [])
    mistakes, fit = _steps(runs, obs["x_T"], beta)
    mistakes = [f"{name}: {m}" for m in mistakes]
    if fit is not None:
        mean = _mean_mistake(fit)
        if mean:
            mistakes.append(f"{name}: {mean}")
        if kind == "deterministic":
            again = runs[2]["value"] if len(runs) > 2 else None
            repeatable = (isinstance(again, list) and again and isinstance(again[0], torch.Tensor)
                          and torch.equal(again[0], runs[0]["value"][0]))
            if (fit["size"] > NO_NOISE * (1 + fit["scale"])).any() or not repeatable:
                mistakes.append(f"{name}: leave out σ_t·z: the result should be the same every time for the same input")
        else:
            mistakes += [f"{name}: {m}" for m in _noise_mistakes(fit)]
    else:  # nothing to check the update against: no point for the sampler itself
        return 0, mistakes + [f"{name}: its steps could not be checked, so none of its points can be given"]
    if kind == "conditional":
        labels = [c.get("label") for c in runs[0]["calls"]]
        if not labels or not all(_label_ok(l) and bool((l == LABEL).all()) for l in labels):
            mistakes.append(f"{name}: pass the label to the model at every step, as a tensor of one integer "
                            "label per image: model(x, t, c)")
        return all_or_nothing(1, mistakes)
    if kind == "sample":
        mistakes += _judge_initial_noise(obs["initial_noise"])
    return minus_per_mistake(2, mistakes)


SAMPLE = Check("12.6d", 2, "test_12_6d_sample_from_model",
               "sample_from_model follows Algorithm 2 with σ_t = √β_t, z = 0 on the last step; x_T ~ N(0, I)",
               lambda ns, sub, _: observe_sampler(ns, sub, "sample"), lambda obs: judge_sampler(obs, "sample"))
DETERMINISTIC = Check("12.7c", 2, "test_12_7c_deterministic_sample_from_model",
                      "deterministic_sample_from_model: Algorithm 2 without σ_t·z",
                      lambda ns, sub, _: observe_sampler(ns, sub, "deterministic"),
                      lambda obs: judge_sampler(obs, "deterministic"))
SAMPLE_CONDITIONAL = Check("12.8e", 1, "test_12_8e_sample_from_model_conditional",
                           "sample_from_model_conditional: Algorithm 2 with the label at every step",
                           lambda ns, sub, _: observe_sampler(ns, sub, "conditional"),
                           lambda obs: judge_sampler(obs, "conditional"))
