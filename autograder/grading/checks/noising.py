"""12.2a (the closed-form x_t in a plotting loop) and 12.2c (``generate_noisy_samples``).

12.2a's cell gets a shuffling ``DataLoader`` like the notebook's ``train_loader``. 12.2c's function is
also called as the notebook calls it (``autograder.grading.checks.notebook_run``):
a batch of 128, the schedule of quick mode, from a cell. A function that is right in the checks' calls
but not in that one gets no point and is flagged for a person, with both results.
"""

from typing import Any, TypedDict

import torch

from autograder.grading import inputs, standins, stats, wire
from autograder.grading.checks import Check, Verdict, all_or_nothing, notebook_run
from autograder.grading.namespace import quick_values, run_statements
from autograder.grading.submission import Submission
from autograder.limits import CELL_STATEMENT_S

SEED = 1202


def _scale_problem(t: int, fitted: tuple[float, float], expected: tuple[float, float]) -> str | None:
    """Which scale of x_t = a·x_0 + s·ε is off at step t, in words, or None."""
    (a, s), (a_ref, s_ref) = fitted, expected
    wrong = []
    if abs(a - a_ref) > 0.01 + 0.02 * a_ref:
        wrong.append(f"x_0 is scaled by {a:.3g} instead of √ᾱ_t = {a_ref:.3g}")
    if abs(s - s_ref) > 0.02 * s_ref + 1e-4:
        wrong.append(f"the noise is scaled by {s:.3g} instead of √(1−ᾱ_t) = {s_ref:.3g}")
    if not wrong:
        return None
    return f"at t={t}, " + " and ".join(wrong) + " (use alpha_bar[t], and take square roots)"


# --- 12.2a: the closed-form solution inside the plotting loop ---------------------------------


class ClosedFormObservations(TypedDict):
    """12.2a: the batch the cell noised, and x_t and t at every image it plotted."""

    x_0: torch.Tensor
    snapshots: list[dict[str, Any]]  # {"t": ..., "x_t": ...} per imshow, plain
    problems: list[str]


# 12.2c: per run ("float32", "float64", and "cuda" where there is a GPU) the plain (x_t, noise, t) that
# generate_noisy_samples returned, or {"error": ...}; "x_0", the float32 batch; and "notebook", the
# consistency run: a NotebookRun with its "x_0".
NoisySamplesObservations = dict[str, Any]


def observe_closed_form(ns: dict, submission: Submission, prepared: None) -> ClosedFormObservations:
    """Run the 12.2a cell on a known batch; snapshot x_t at every plotted step."""
    source = submission.answer("closed_form_noisy_images")
    images, labels = inputs.digit_batch(128, seed=SEED)
    x_0, y = next(iter(_train_loader(images, labels)))  # the batch that the cell's next(iter(...)) gets
    snapshots: list[dict] = []
    cell_ns = dict(ns)
    cell_ns["train_loader"] = _train_loader(images, labels)
    cell_ns["plt"] = standins.PlotStub(
        on_imshow=lambda: snapshots.append({"t": wire.plain(cell_ns.get("t")), "x_t": wire.plain(cell_ns.get("x_t"))})
    )
    torch.manual_seed(SEED)
    problems = run_statements(source, cell_ns, budget_s=CELL_STATEMENT_S, skip_expressions=False)
    return {"x_0": x_0, "snapshots": snapshots, "problems": problems}


def _train_loader(images: torch.Tensor, labels: torch.Tensor) -> torch.utils.data.DataLoader:
    """A loader like the notebook's (batches of 128, shuffled), with a fixed order."""
    dataset = torch.utils.data.TensorDataset(images, labels)
    return torch.utils.data.DataLoader(
        dataset, batch_size=128, shuffle=True, generator=torch.Generator().manual_seed(SEED)
    )


def judge_closed_form(obs: ClosedFormObservations) -> tuple[float, list[str]]:
    from autograder.reference import noisy_sample_coefficients

    if obs["problems"] and not obs["snapshots"]:
        return 0, [f"the cell failed: {obs['problems'][0]}"]
    if not obs["snapshots"]:
        return 0, ["no image was plotted: keep the provided loop and its plt.imshow(x_t[0, 0]) call"]
    beta, _, _ = inputs.schedule()
    x_0 = obs["x_0"]
    mistakes = []
    for snap in obs["snapshots"]:
        t, x_t = snap["t"], snap["x_t"]
        if not isinstance(t, int) or not isinstance(x_t, torch.Tensor) or x_t.shape != x_0.shape:
            mistakes.append(f"x_t should be a tensor of shape {tuple(x_0.shape)}, like x_0; found {_shape(x_t)}")
            break
        ones = torch.ones_like(x_0).view(1, -1)
        coef, _, residual = stats.fit(x_t.view(1, -1), ones, x_0.view(1, -1))
        a_ref, s_ref = (float(v) for v in noisy_sample_coefficients(torch.tensor(t), beta))
        problem = _scale_problem(t, (float(coef[0, 1]), float(residual.std())), (a_ref, s_ref))
        if problem is None and t > 0:
            noise_problem = stats.standard_normal_problem((residual + coef[0, 0]) / s_ref)
            problem = noise_problem and f"at t={t}, the noise is not standard normal: {noise_problem} (use torch.randn)"
        if problem:
            mistakes.append(problem)
            break
    return all_or_nothing(1, mistakes)


CLOSED_FORM = Check("12.2a", "x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε in the plotting loop", observe_closed_form, judge_closed_form)


# --- 12.2c: generate_noisy_samples ----------------------------------------------------------


def observe_noisy_samples(ns: dict, submission: Submission, prepared: None) -> NoisySamplesObservations:
    """Call generate_noisy_samples on a float32 and a float64 batch (and on the GPU, where there is one)."""
    submission.answer("generate_noisy_samples")
    fn = ns.get("generate_noisy_samples")
    beta, _, _ = inputs.schedule()
    x_0, _ = inputs.digit_batch(256, seed=SEED)
    obs: NoisySamplesObservations = {"x_0": x_0}
    runs = {"float32": (x_0, beta), "float64": (x_0.double(), beta)}
    if torch.cuda.is_available():
        runs["cuda"] = (x_0.cuda(), beta.cuda())
    for name, (x, b) in runs.items():
        torch.manual_seed(SEED)
        try:
            obs[name] = wire.plain(fn(x.clone(), b.clone()))
        except Exception as error:
            obs[name] = {"error": wire.describe_error(error)}
    x_0, _ = inputs.digit_batch(NOTEBOOK_N, seed=SEED + 1)
    run = notebook_run.run_as_notebook(ns, NOTEBOOK_CALL, {"x_0": x_0.clone()}, keep=("x_t", "noise", "sampled_t"))
    obs["notebook"] = dict(run, x_0=x_0)
    return obs


NOTEBOOK_N = 128  # the notebook's batch
NOTEBOOK_CALL = "x_t, noise, sampled_t = generate_noisy_samples(x_0, beta)\n"


def _shape(value) -> str:
    return f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else str(value)


def _noisy_samples_problem(x_0: torch.Tensor, out, beta: torch.Tensor) -> str | None:
    """What is wrong with one call's (x_t, noise, t), or None."""
    from autograder.reference import noisy_sample_coefficients

    if isinstance(out, dict):
        return f"it raised {out['error']}"
    if not isinstance(out, list) or len(out) != 3 or not all(isinstance(v, torch.Tensor) for v in out):
        return "it should return three tensors: x_t, noise, t"
    x_t, noise, t = out
    n = x_0.shape[0]
    if x_t.shape != x_0.shape or noise.shape != x_0.shape:
        return (
            f"x_t and noise should have the shape of x_0, {tuple(x_0.shape)}; found {_shape(x_t)} and {_shape(noise)}"
        )
    if t.shape != (n,):
        return f"t should hold one time step per sample, shape ({n},); found {_shape(t)}"
    if t.is_floating_point() and not torch.equal(t, t.round()):
        return "t should hold whole time steps"
    t = t.long()
    if t.min() < 0 or t.max() >= beta.shape[0]:
        return f"t should lie in [0, {beta.shape[0]}); found {int(t.min())} to {int(t.max())}"
    if (t == t[0]).all():
        return "every sample got the same t: each sample needs its own random time step"
    a, s = noisy_sample_coefficients(t, beta)
    expected = a.view(-1, 1, 1, 1).double() * x_0.double() + s.view(-1, 1, 1, 1).double() * noise.double()
    if not torch.allclose(x_t.double(), expected, rtol=1e-4, atol=1e-5):
        coef, _, _ = stats.fit(x_t.view(n, -1), x_0.view(n, -1), noise.view(n, -1))
        worst = int((coef[:, 0] - a).abs().add((coef[:, 1] - s).abs()).argmax())
        return (
            _scale_problem(
                int(t[worst]), (float(coef[worst, 0]), float(coef[worst, 1])), (float(a[worst]), float(s[worst]))
            )
            or "x_t does not equal √ᾱ_t·x_0 + √(1−ᾱ_t)·noise with the noise and t it returns"
        )
    problem = stats.standard_normal_problem(noise)
    if problem:
        return f"the noise is not standard normal: {problem} (use torch.randn_like)"
    if float(noise.double().std(dim=0).mean()) < 0.9:
        return "the samples share the same noise: draw independent noise for every sample"
    if abs(stats.correlation(noise, x_0)) > 0.05:
        return "the noise depends on x_0: it should be independent random noise"
    return None


def judge_noisy_samples(obs: NoisySamplesObservations) -> Verdict:
    beta, _, _ = inputs.schedule()
    mistakes = []
    for name, x_0 in (("float32", obs["x_0"]), ("float64", obs["x_0"].double()), ("cuda", obs["x_0"])):
        if name not in obs:
            continue
        problem = _noisy_samples_problem(x_0, obs[name], beta)
        if problem:
            where = {"float32": "", "float64": " on a float64 batch", "cuda": " on a GPU batch"}[name]
            mistakes.append(f"generate_noisy_samples{where}: {problem}")
            break
    run = obs.get("notebook")
    if mistakes or run is None:
        return all_or_nothing(1, mistakes)
    values = run["values"]
    out = {"error": run["error"]} if run["error"] else [values["x_t"], values["noise"], values["sampled_t"]]
    problem = _noisy_samples_problem(run["x_0"], out, quick_values()["beta"])
    if problem is None:
        return all_or_nothing(1, [])
    problem = f"called as the notebook calls it (a batch of {NOTEBOOK_N}, T = {len(quick_values()['beta'])}): {problem}"
    flag = f"generate_noisy_samples behaves differently under grading: right in the checks' calls, but {problem}"
    return (*all_or_nothing(1, [f"generate_noisy_samples: {problem}"]), [flag])


NOISY_SAMPLES = Check(
    "12.2c",
    "generate_noisy_samples: shapes, one t per sample, the closed form, N(0, I) noise, dtype",
    observe_noisy_samples,
    judge_noisy_samples,
)
