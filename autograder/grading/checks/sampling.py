"""12.6d (``sample_from_model`` and the initial noise), 12.7c (``deterministic_sample_from_model``)
and 12.8e (``sample_from_model_conditional``).

Each property of a step is judged from that step's own inputs, so that one mistake costs one point.
The stand-in models are handed over dressed as the provided U-Net (``standins.presenting``).
One full run with ``EpsBank`` checks the loop: the return value, the time steps and the labels.
Then probes: the sampler runs on the schedule ``beta[:t+1]``, whose first step is t, from a
controlled x_t, and a ``StepProbe`` stops it at its third model call; that shows the results of
steps t and t-1. Each probe runs twice, from two x_t with two banks of step images but the same
random seed, so both runs draw the same z; the difference of the runs cancels σ_t·z, and fitting
it gives the student's a_t and b_t in x_{t-1} = a_t·x_t + b_t·ε_θ + σ_t·z exactly; what is left
of a run is σ_t·z. The controlled pixels are of two kinds: on the small ones, neither x nor the
predicted x_0 = (x_t - √(1-ᾱ_t)·ε_θ)/√ᾱ_t leaves [-1, 1], so they give a_t, b_t and σ_t·z whether
or not the student clamps; the others show whether a step is clamped.

Last, the consistency run (``autograder.grading.checks.notebook_run``): the sampler called as the
notebook calls it, in quick mode, with the provided U-Net and fixed random weights. Every step of that
run is checked against Algorithm 2. A sampler whose steps the probes found right but whose notebook run
is not Algorithm 2 behaves differently under grading: it gets the points that its notebook run earns
(each kind of mistake seen there counts once) and is flagged for a person, with both results.

Rubric decisions (the score sheet is silent): clamping the final sample to [-1, 1] is no mistake;
clamping inside the chain, of x_t or of the predicted x_0 (the paper's ``clip_denoised``), is one
deviation from Algorithm 2: -1. A sampler that raises with the provided model (a 0-dim time step never
expanded to the batch, float labels that the embedding refuses, ...) has a mistake in this item
(issue 24): -1 in 12.6d and 12.7c, 0 in 12.8e. This works whatever random generator the student used and in any
floating-point precision.
"""

import functools
import random
from typing import Any, NotRequired, TypedDict

import numpy as np
import torch

from autograder.grading import inputs, standins, stats, wire
from autograder.grading.checks import Check, Verdict, all_or_nothing, minus_per_mistake, notebook_run
from autograder.grading.namespace import QUICK_STEPS, quick_values, run_statements
from autograder.grading.submission import Submission
from autograder.grading.wire import CellRun
from autograder.limits import INITIAL_NOISE_STATEMENT_S

SEED = 1206
BANKS = (1261, 1262)  # seeds of the two banks of step images
N = 4  # images per sampling run
LABEL = 7  # the label given to the conditional sampler
NO_NOISE = 1e-6  # relative size of σ_t·z below which a step adds no noise (float32 rounding is ~1e-7)
PROBES = (0, 1, 2, 3, 5, 10, 20, 50, 100, 150, 200, 300, 400, 500, 600, 700, 800, 900, 950, 990, 998, 999)
LINEAR = 1e-4  # relative misfit, on the large pixels, above which a step is not linear in x_t and ε_θ
NAMES = {
    "sample": "sample_from_model",
    "deterministic": "deterministic_sample_from_model",
    "conditional": "sample_from_model_conditional",
}


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


@functools.cache
def small_pixels() -> torch.Tensor:
    """The pixels (a mask shaped ``(1, 1, 32, 32)``) where a probe's x and predicted x_0 stay in [-1, 1]."""
    return torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(SEED)) < 0.5


@functools.cache
def probe_bank(seed: int) -> torch.Tensor:
    """Step images G_t ``(STEPS, 1, 32, 32)``, scaled so that the predicted x_0 = -√((1-ᾱ_t)/ᾱ_t)·G_t
    is at most 0.6 in size on the small pixels and mostly beyond 1 on the others. Cached: do not modify."""
    alpha_bar = inputs.schedule()[2].view(-1, 1, 1, 1)
    n = torch.randn(inputs.STEPS, 1, 32, 32, generator=torch.Generator().manual_seed(seed)).clamp(-2, 2)
    return n * torch.where(small_pixels(), 0.3, 3.0) * torch.sqrt(alpha_bar / (1 - alpha_bar))


def probe_start(t: int, run: int) -> torch.Tensor:
    """The controlled x_t of a probe ``(N, 1, 32, 32)``: below 0.2 in size on the small pixels, 1.5 to 3 on the others."""
    g = torch.Generator().manual_seed(SEED * 1000 + 2 * t + run)
    size = torch.where(
        small_pixels(), torch.rand(N, 1, 32, 32, generator=g) * 0.2, 1.5 + torch.rand(N, 1, 32, 32, generator=g) * 1.5
    )
    return size * torch.sign(torch.rand(N, 1, 32, 32, generator=g) - 0.5)


def _final(value) -> torch.Tensor | None:
    """The final x that a sampler returned with x_hist, or None."""
    return value[0] if isinstance(value, list) and len(value) == 2 and isinstance(value[0], torch.Tensor) else None


class SamplerObservations(TypedDict):
    """12.6d, 12.7c and 12.8e: one run of the sampler over the full schedule, and runs of a few steps
    from known states (probes); for 12.6d also the cell that draws the initial noise."""

    x_T: torch.Tensor
    chain: dict[str, Any]  # "calls" of the stand-in model, the returned "value", the "error" if it raised
    probes: list[dict[str, Any]]  # per probed step "t": per run the model's "states", its "t"s, an "error"
    initial_noise: NotRequired[CellRun]
    notebook: NotRequired[dict[str, Any]]  # the consistency run: a NotebookRun and its "x_T"


def observe_sampler(ns: dict, submission: Submission, kind: str) -> SamplerObservations:
    """Run the student's sampler once over the full schedule, then in probes of two steps."""
    name = NAMES[kind]
    submission.answer(name)
    fn = ns.get(name)
    beta, _, _ = inputs.schedule()
    label = [LABEL] if kind == "conditional" else []
    x_T = torch.randn(N, 1, 32, 32, generator=torch.Generator().manual_seed(SEED + 100))
    model = standins.EpsBank(BANKS[0], conditional=kind == "conditional")
    _seed(SEED)
    dressed = standins.presenting(model, conditional=kind == "conditional")
    value, error = inputs.call_quietly(fn, x_T.clone(), dressed, beta.clone(), *label)
    calls = [{key: v for key, v in call.items() if key != "x"} for call in model.calls]
    obs: SamplerObservations = {
        "x_T": x_T,
        "chain": {"calls": calls, "value": wire.plain(value), "error": error},
        "probes": [],
    }
    runs = [(0, SEED), (1, SEED)] + ([(0, SEED + 1)] if kind == "deterministic" else [])
    for t in PROBES if error is None else ():
        probe = []
        for run, seed in runs:
            model = standins.StepProbe(probe_bank(BANKS[run]), stop_at=3)
            _seed(seed * 1000 + t)
            dressed = standins.presenting(model, conditional=kind == "conditional")
            value, error = standins.run_probe(fn, probe_start(t, run), dressed, beta[: t + 1].clone(), *label)
            final = _final(wire.plain(value))
            probe.append(
                {
                    "states": [c["x"] for c in model.calls] + ([final] if final is not None else []),
                    "t": [c["t"] for c in model.calls],
                    "error": error,
                }
            )
        obs["probes"].append({"t": t, "runs": probe})
    if kind == "sample":
        obs["initial_noise"] = observe_initial_noise(ns, submission)
    if obs["chain"]["error"] is None:
        obs["notebook"] = observe_notebook_run(ns, kind)
    return obs


NOTEBOOK_N = 10  # images per sampling call in the notebook
NOTEBOOK_LABEL = 3  # the label of 12.8e's test and 12.8f


def observe_notebook_run(ns: dict, kind: str) -> dict[str, Any]:
    """The consistency run: the sampler called as the notebook calls it, with the provided model."""
    conditional = kind == "conditional"
    model = notebook_run.provided_model(conditional)
    name = "model_conditional" if conditional else "model"
    x_T = torch.randn(NOTEBOOK_N, 1, 32, 32, generator=torch.Generator().manual_seed(SEED + 200))
    label = f", label={NOTEBOOK_LABEL}" if conditional else ""
    source = f"x, x_hist = {NAMES[kind]}(x, {name}, beta{label})\n"
    run = notebook_run.run_as_notebook(ns, source, {"x": x_T.clone(), name: model}, keep=("x",), model=model)
    return dict(run, x_T=x_T)


def _notebook_run_problems(run: dict, kind: str) -> tuple[list[str], list[str], list[str]]:
    """What the consistency run shows: slips that make the provided model raise; problems with the
    loop (the call, the time steps, the shapes); steps that are not Algorithm 2's, each kind once."""
    from autograder.reference import reverse_step_coefficients

    conditional = kind == "conditional"
    model_name = "UNetConditional" if conditional else "UNet"
    calls, n = run["calls"], NOTEBOOK_N
    if run["error"] is not None:
        if not calls or calls[-1]["out"] is not None:  # it raised outside the model
            return [], [f"called as the notebook calls it, it raised {run['error']}"], []
        return (
            [
                f"with the provided {model_name}, as in the notebook, the model raised {run['error']} when called "
                f"with {notebook_run.describe_args(calls[-1]['args'])}: pass x of shape ({n}, 1, 32, 32), t as a "
                f"tensor of one time step per image, shape ({n},)"
                + (", and the labels as an integer tensor of the same shape" if conditional else "")
            ],
            [],
            [],
        )
    ts = [c["args"][1] if len(c["args"]) > 1 else None for c in calls]
    if not all(isinstance(t, torch.Tensor) and t.numel() in (1, n) and bool((t == t.flatten()[0]).all()) for t in ts):
        return [], ["called as the notebook calls it, the time steps it gave the model were not one per image"], []
    order = [int(t.flatten()[0]) for t in ts]
    if order != list(range(QUICK_STEPS - 1, -1, -1)):
        return (
            [],
            [
                f"called as the notebook calls it (T = {QUICK_STEPS}), it called the model {len(order)} times "
                f"({order[:3]}...), not once for every t from {QUICK_STEPS - 1} down to 0"
            ],
            [],
        )
    final = run["values"]["x"]
    states = [c["args"][0] for c in calls] + [final]
    outs = [c["out"] for c in calls]
    if not all(isinstance(v, torch.Tensor) and v.shape == (n, 1, 32, 32) for v in states + outs):
        return [], [f"called as the notebook calls it, x did not keep the shape ({n}, 1, 32, 32)"], []
    if not all(bool(torch.isfinite(v).all()) for v in states):
        return [], [], ["called as the notebook calls it, x became NaN or infinite"]
    model = notebook_run.provided_model(conditional)
    with torch.no_grad():
        for k in (0, len(calls) // 2, len(calls) - 1):
            again = model(*calls[k]["args"][: 3 if conditional else 2])
            if not torch.allclose(again, outs[k], rtol=1e-4, atol=1e-5):
                return [], ["called as the notebook calls it, the model's outputs were not the provided model's"], []
    beta = quick_values()["beta"]
    t = torch.tensor(order)
    a, b, sigma = (v.double() for v in reverse_step_coefficients(t, beta))
    x, y, eps = (torch.stack([v.double().flatten() for v in vs]) for vs in (states[:-1], states[1:], outs))
    problems = []
    last = t == 0
    ref_last = a[last, None] * x[last] + b[last, None] * eps[last]
    tol = 1e-5 * (1 + ref_last.abs().amax())
    if not (((y[last] - ref_last).abs() <= tol).all() or ((y[last] - ref_last.clamp(-1, 1)).abs() <= tol).all()):
        problems.append(
            "called as the notebook calls it, the last step is not x_0 = (x_1 − (1−α_1)/√(1−ᾱ_1)·ε_θ)/√α_1 "
            "(no noise when t = 0; at most clamped to [-1, 1])"
        )
    noisy = ~last
    coef, stderr, residual = stats.fit(y[noisy], x[noisy], eps[noisy])
    ref = torch.stack([a[noisy], b[noisy]], dim=1)
    bad = ((coef - ref).abs() > 8 * stderr + 1e-3 * ref.abs() + 1e-6).any(dim=1)
    if bad.any():
        k = int(bad.nonzero()[0])
        problems.append(
            f"called as the notebook calls it, at t={int(t[noisy][k])} x_t is scaled by {float(coef[k, 0]):.4g} and "
            f"ε_θ by {float(coef[k, 1]):.4g} instead of {float(ref[k, 0]):.4g} and {float(ref[k, 1]):.4g}"
        )
    size = residual.pow(2).mean(dim=1).sqrt()
    scale = y[noisy].pow(2).mean(dim=1).sqrt()
    if kind == "deterministic":
        if (size > NO_NOISE * (1 + scale)).any():
            problems.append("called as the notebook calls it, it adds noise: the steps should leave out σ_t·z")
        return [], [], problems
    ratio = size / sigma[noisy]
    off = (ratio - 1).abs() > 0.1
    if off.any():
        k = int(off.nonzero()[0])
        problems.append(
            f"called as the notebook calls it, at t={int(t[noisy][k])} the added noise has standard deviation "
            f"{float(size[k]):.3g}, not σ_t = √β_t = {float(sigma[noisy][k]):.3g}"
        )
    return [], [], problems


def _consistency(obs: SamplerObservations, kind: str, loop_ok: bool, steps_ok: bool) -> tuple[list[str], list[str]]:
    """Mistakes and flags from the consistency run. A slip that makes the provided model raise is a
    mistake (issue 24). Where the probes found the loop (``loop_ok``) or the steps (``steps_ok``) right
    and the notebook's run shows them wrong, each kind of mistake seen there counts, and the submission
    is flagged for a person with both results."""
    if "notebook" not in obs:
        return [], []
    slips, loop, steps = _notebook_run_problems(obs["notebook"], kind)
    problems = (loop if loop_ok else []) + (steps if steps_ok else [])
    name = NAMES[kind]
    mistakes = [f"{name}: {m}" for m in slips + problems]
    if not problems:
        return mistakes, []
    flag = (
        f"{name} behaves differently under grading: with stand-in models, the schedule of T = {inputs.STEPS} "
        f"and batches of {N} it was right, but called as the notebook calls it (the provided model, "
        f"T = {QUICK_STEPS}, a batch of {NOTEBOOK_N}): " + "; ".join(problems)
    )
    return mistakes, [flag]


def observe_initial_noise(ns: dict, submission: Submission) -> CellRun:
    """Run the 12.6d cell that draws the initial noise, with a spy in place of the sampler."""
    source = submission.answer("initial_noise")
    spy = standins.SamplerSpy(SEED)
    cell_ns = dict(
        ns,
        sample_from_model=spy,
        model=standins.Sentinel("model"),
        plot_x_hist=lambda x_hist: None,
        plt=standins.PlotStub(),
    )
    torch.manual_seed(SEED)
    problems = run_statements(source, cell_ns, budget_s=INITIAL_NOISE_STATEMENT_S, skip_expressions=False)
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
    return (
        isinstance(label, torch.Tensor)
        and label.numel() in (1, N)
        and label.dim() == 1
        and not label.is_floating_point()
    )


def _loop_mistakes(chain: dict, x_T: torch.Tensor, steps: int) -> list[str]:
    """Mistakes in the full run's interface: its return value and the time steps of its model calls."""
    calls, final = chain["calls"], _final(chain["value"])
    mistakes = []
    if final is None or final.shape != x_T.shape:
        mistakes.append("it should return the final x (shaped like the input) and x_hist, as sample_from_model does")
    ts = [c["t"] for c in calls]
    if not all(_time_ok(t) for t in ts):
        mistakes.append("at every step, call the model with the time step as a tensor, one per image")
        return mistakes
    order = [int(t.flatten()[0]) for t in ts]
    if order != list(range(steps - 1, -1, -1)):
        first = f"t={order[0]} to t={order[-1]}" if order else "never"
        mistakes.append(
            f"the model should be called once per step for t = {steps - 1} down to 0 "
            f"({steps} calls); it was called {len(order)} times, {first}"
        )
    return mistakes


def _time_ok(t) -> bool:
    return isinstance(t, torch.Tensor) and t.numel() in (1, N) and bool((t == t.flatten()[0]).all())


def _probe_steps(probe: dict) -> list[dict]:
    """The steps that a probe shows: for each, t, and the inputs and results of the runs."""
    t0, runs = probe["t"], probe["runs"]
    if any(run["error"] for run in runs):
        return []
    count = min(len(run["states"]) for run in runs) - 1
    expected = list(range(t0, t0 - count - 1, -1))
    if count < 1 or any(
        not all(_time_ok(t) for t in run["t"]) or [int(t.flatten()[0]) for t in run["t"]] != expected[: len(run["t"])]
        for run in runs
    ):
        return []
    steps = []
    for k in range(count):
        states = [(run["states"][k], run["states"][k + 1]) for run in runs]
        if not all(isinstance(s, torch.Tensor) and s.shape == (N, 1, 32, 32) for pair in states for s in pair):
            break
        steps.append({"t": t0 - k, "final": k + 1 == len(runs[0]["t"]), "states": states})
    return steps


def _judge_steps(probes: list[dict], kind: str) -> list[str] | None:
    """The mistakes that the probes show, each counted once; None if no step could be checked."""
    from autograder.reference import reverse_step_coefficients

    steps = [dict(step, probe=p) for p, probe in enumerate(probes) for step in _probe_steps(probe)]
    if not steps:
        return None
    alpha_bar = inputs.schedule()[2]
    small = small_pixels().expand(N, 1, 32, 32)
    banks = [probe_bank(seed) for seed in BANKS]
    t = torch.tensor([s["t"] for s in steps])
    x = torch.stack([torch.stack([pair[0].double() for pair in s["states"][:2]]) for s in steps])  # (K, 2, N, ...)
    y = torch.stack([torch.stack([pair[1].double() for pair in s["states"][:2]]) for s in steps])
    eps = torch.stack(
        [
            torch.stack(
                [
                    standins.eps_estimate(x[k, r], t[k].expand(N), None, banks[r].double(), None, alpha_bar.double())
                    for r in range(2)
                ]
            )
            for k in range(len(steps))
        ]
    )
    xs, ys, es = (v[..., small] for v in (x, y, eps))  # (K, 2, M): the small pixels of both runs
    dy, dx, deps = (v[:, 0] - v[:, 1] for v in (ys, xs, es))
    coef, stderr, _ = stats.fit(dy, dx, deps)
    a, b, sigma = (v.double() for v in reverse_step_coefficients(t, inputs.schedule()[0]))
    fit = {"t": t, "coef": coef, "stderr": stderr, "a": a, "b": b}
    mistakes = [m for m in [_mean_mistake(fit), _clamp_mistake(steps, coef, x, y, eps, ~small)] if m]
    noise = ys[:, 0] - coef[:, :1] * xs[:, 0] - coef[:, 1:] * es[:, 0]
    size = noise.pow(2).mean(dim=1).sqrt()
    scale = ys[:, 0].pow(2).mean(dim=1).sqrt()
    if kind == "deterministic":
        repeatable = all(
            torch.equal(a_, b_)
            for probe in probes
            for a_, b_ in zip(probe["runs"][0]["states"], probe["runs"][2]["states"])
            if len(probe["runs"]) > 2
        )
        if (size > NO_NOISE * (1 + scale)).any() or not repeatable:
            mistakes.append("leave out σ_t·z: the result should be the same every time for the same input")
        return mistakes
    same_probe = [k for k in range(1, len(steps)) if steps[k]["probe"] == steps[k - 1]["probe"]]
    return mistakes + _noise_mistakes(t, noise, size, scale, sigma, same_probe)


def _mean_mistake(fit: dict) -> str | None:
    ref = torch.stack([fit["a"], fit["b"]], dim=1)
    tolerance = 8 * fit["stderr"] + 1e-3 * ref.abs() + 1e-6
    bad = ((fit["coef"] - ref).abs() > tolerance).any(dim=1)
    if not bad.any():
        return None
    k = int(bad.nonzero()[0])
    (a, b), (a_ref, b_ref) = fit["coef"][k].tolist(), ref[k].tolist()
    return (
        f"step 4 of Algorithm 2 is off: at t={int(fit['t'][k])}, x_t is scaled by {a:.4g} and ε_θ by {b:.4g} "
        f"instead of 1/√α_t = {a_ref:.4g} and −(1−α_t)/(√α_t·√(1−ᾱ_t)) = {b_ref:.4g}"
    )


def _clamp_mistake(
    steps: list[dict], coef: torch.Tensor, x: torch.Tensor, y: torch.Tensor, eps: torch.Tensor, large: torch.Tensor
) -> str | None:
    """A step that is not linear in x_t and ε_θ on the pixels where a clamp would bite; only the
    final sample may be clamped to [-1, 1] (a rubric decision)."""
    dy, dx, deps = (v[..., large][:, 0] - v[..., large][:, 1] for v in (y, x, eps))
    misfit = (dy - coef[:, :1] * dx - coef[:, 1:] * deps).abs().amax(dim=1)
    nonlinear = misfit > LINEAR * (1 + dy.abs().amax(dim=1))
    for k in nonlinear.nonzero().flatten().tolist():
        if steps[k]["final"] and steps[k]["t"] == 0 and bool((y[k].abs() <= 1 + 1e-6).all()):
            continue  # the final sample clamped to [-1, 1]
        return (
            f"at t={steps[k]['t']} the step is not Algorithm 2's: is x, or the predicted x_0, clamped inside "
            "the loop? Only the final sample may be clamped"
        )
    return None


def _noise_mistakes(
    t: torch.Tensor,
    noise: torch.Tensor,
    size: torch.Tensor,
    scale: torch.Tensor,
    sigma: torch.Tensor,
    consecutive: list[int],
) -> list[str]:
    """Mistakes in σ_t·z: its size σ_t = √β_t, its distribution, and z = 0 on the last step."""
    mistakes = []
    noisy, last = t > 0, t == 0
    if last.any() and (size[last] > NO_NOISE * (1 + scale[last])).any():
        mistakes.append("noise is added on the last step: z should be 0 when t = 0")
    if not noisy.any():
        return mistakes
    ratio = size[noisy] / sigma[noisy]
    bad = (ratio - 1).abs() > 0.1
    if bad.any():
        k = int(bad.nonzero()[0])
        mistakes.append(
            f"at t={int(t[noisy][k])} the added noise has standard deviation {float(size[noisy][k]):.3g}; "
            f"it should be σ_t = √β_t = {float(sigma[noisy][k]):.3g}, times z ~ N(0, I)"
        )
        return mistakes
    z = noise / sigma.clamp_min(1e-12).unsqueeze(1)
    problem = stats.standard_normal_problem(z[noisy])
    pairs = [k for k in consecutive if t[k] > 0]
    if problem is None and pairs and abs(stats.correlation(z[pairs], z[[k - 1 for k in pairs]])) > 0.05:
        problem = "the same z is reused from step to step"
    if problem:
        mistakes.append(f"z should be fresh N(0, I) noise at every step, but {problem}")
    return mistakes


def judge_sampler(obs: SamplerObservations, kind: str) -> Verdict:
    name = NAMES[kind]
    chain = obs["chain"]
    if chain["error"] is not None:
        failure = [f"{name} raised {chain['error']}"]
        return 0, failure + (_judge_initial_noise(obs["initial_noise"]) if kind == "sample" else [])
    mistakes = _loop_mistakes(chain, obs["x_T"], inputs.STEPS)
    step_mistakes = _judge_steps(obs["probes"], kind)
    if step_mistakes is None:  # nothing to check the update against: no point for the sampler itself
        return 0, [
            f"{name}: {m}" for m in mistakes + ["its steps could not be checked, so none of its points can be given"]
        ]
    extra, flags = _consistency(obs, kind, loop_ok=not mistakes, steps_ok=not step_mistakes)
    mistakes = [f"{name}: {m}" for m in mistakes + step_mistakes] + extra
    if kind == "conditional":
        labels = [c.get("label") for c in chain["calls"]]
        if not labels or not all(_label_ok(label) and bool((label == LABEL).all()) for label in labels):
            mistakes.append(
                f"{name}: pass the label to the model at every step, as a tensor of one integer "
                "label per image: model(x, t, c)"
            )
        return (*all_or_nothing(1, mistakes), flags)
    if kind == "sample":
        mistakes += _judge_initial_noise(obs["initial_noise"])
    return (*minus_per_mistake(2, mistakes), flags)


SAMPLE = Check(
    "12.6d",
    "sample_from_model follows Algorithm 2 with σ_t = √β_t, z = 0 on the last step; x_T ~ N(0, I)",
    lambda ns, sub, _: observe_sampler(ns, sub, "sample"),
    lambda obs: judge_sampler(obs, "sample"),
)
DETERMINISTIC = Check(
    "12.7c",
    "deterministic_sample_from_model: Algorithm 2 without σ_t·z",
    lambda ns, sub, _: observe_sampler(ns, sub, "deterministic"),
    lambda obs: judge_sampler(obs, "deterministic"),
)
SAMPLE_CONDITIONAL = Check(
    "12.8e",
    "sample_from_model_conditional: Algorithm 2 with the label at every step",
    lambda ns, sub, _: observe_sampler(ns, sub, "conditional"),
    lambda obs: judge_sampler(obs, "conditional"),
)
