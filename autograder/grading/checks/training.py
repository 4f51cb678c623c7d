"""12.5c (``train`` / ``evaluate``) and 12.8c (``train_conditional`` / ``evaluate_conditional``).

The student's functions run one short epoch for each of several seeds (48 training batches in all,
so that a branch taken at random in 10 % of the batches is missed with probability 0.9^48 < 1 %)
with a small trainable model that records its inputs and outputs, while ``generate_noisy_samples``
returns noisy batches made by the reference (so a mistake in 12.2c costs no points here) and
``Metrics``/``Plotter`` record the losses. Every call is put down to the student's function that
made it (``standins.CallerOf``), so that feedback names the function where a mistake was seen.

The loss of every batch must be the same positive multiple of the reference loss
F.mse_loss(model output, noise): Algorithm 1's per-image sum averaged over the batch, or ½·MSE, trains
the same model with Adam. A multiple that changes from batch to batch (a sum that grows with the
batch, per-sample weights) is a mistake, and so are other targets, L1 and Huber.

Then the functions run once as the notebook runs them: the provided ``UNet``/``UNetConditional`` with
fixed random weights, the provided ``Metrics``, a batch of 2. A function that raises there, where the
stand-in accepted it (a float64 time step, labels of the wrong shape or type), makes a mistake in that
function; an evaluation that returns another loss there than with the stand-in is a mistake, and is
flagged for a person.
"""

import functools
import random
from typing import Any, TypedDict

import numpy as np
import torch
from torch.nn import functional as F

from autograder import provided
from autograder.grading import inputs, standins, wire
from autograder.grading.checks import Check, all_or_nothing
from autograder.grading.submission import Submission

SEED = 1205
SEEDS = (1205, 2205, 3205, 4205)  # one epoch each: 4 x 12 training batches
TRAIN_SIZES = (6,) * 11 + (3,)  # batch sizes differ, so that a loss that grows with the batch shows
VAL_SIZES = (6, 6, 2)
NOTEBOOK_SEED = 5205  # the run with the provided model
NOTEBOOK_TRAIN_SIZES = (2, 2)
NOTEBOOK_VAL_SIZES = (2,)
RTOL = 1e-4  # losses are float32: equal within this relative tolerance
ASPECTS = ("samples", "model", "loss", "labels")
ADVICE = {
    "samples": "generate a noisy minibatch with generate_noisy_samples(x, beta)",
    "model": "call the model on the noisy images and their time steps: model(x_t, t)",
    "loss": "compute F.mse_loss(estimated_noise, noise) between the estimated and the true noise"
    " (any positive constant multiple of it is right)",
    "labels": "pass the batch's labels y to the model on every batch: model(x_t, t, y)",
    "no_grad": "compute the validation loss under torch.no_grad(), as the given evaluate does",
}


def _batches(sizes: tuple[int, ...], seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [inputs.digit_batch(n, seed=seed + i) for i, n in enumerate(sizes)]


def _seed_batches(seed: int, notebook: bool = False) -> tuple[list, list]:
    """The training and validation batches of one run."""
    train_sizes, val_sizes = (NOTEBOOK_TRAIN_SIZES, NOTEBOOK_VAL_SIZES) if notebook else (TRAIN_SIZES, VAL_SIZES)
    return _batches(train_sizes, seed), _batches(val_sizes, seed + 100)


@functools.cache  # once for both checks
def prepare_noisy_batches() -> list[tuple[torch.Tensor, ...]]:
    """The reference's noisy version (x_0, x_t, noise, t) of every known batch."""
    from autograder.reference import generate_noisy_samples

    beta, _, _ = inputs.schedule()
    torch.manual_seed(SEED)
    known = [b for seed in SEEDS for part in _seed_batches(seed) for b in part]
    known += [b for part in _seed_batches(NOTEBOOK_SEED, notebook=True) for b in part]
    return [(x_0, *generate_noisy_samples(x_0, beta)) for x_0, _ in known]


class PhaseObservations(TypedDict):
    """One call of the student's train or evaluate function, seen by the spies; every record names
    the student's function that made it (``by``)."""

    noisy_samples: list[dict[str, Any]]  # calls of generate_noisy_samples
    model: list[dict[str, Any]]  # calls of the model
    metrics: list[dict[str, Any]]  # what Metrics recorded
    draws: list[dict[str, Any]]  # random draws, and how many model calls came before each
    plotted: list[Any]  # what Plotter was given
    value: Any  # what the function returned, plain
    error: str | None
    error_in: str | None  # the student's function in which the error arose


class SeedObservations(TypedDict):
    """One epoch of training and one evaluation, from one seed."""

    train_batches: list[list[torch.Tensor]]
    val_batches: list[list[torch.Tensor]]
    train: PhaseObservations
    evaluate: PhaseObservations


class NotebookRun(TypedDict):
    """The functions with the provided model, as the notebook runs them."""

    train_error: str | None
    train_error_in: str | None
    train_failed_call: str | None  # what the provided model was given in the call that raised
    evaluate_error: str | None
    evaluate_error_in: str | None
    evaluate_failed_call: str | None
    evaluate_value: Any
    val_batches: list[list[torch.Tensor]]
    val_noisy: list[list[torch.Tensor]]  # (x_t, noise, t) handed to the evaluation, per batch


class TrainingObservations(TypedDict):
    """12.5c and 12.8c: one epoch of training and one evaluation per seed, then the notebook's run."""

    seeds: list[SeedObservations]
    notebook: NotebookRun


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)


def _names(conditional: bool) -> tuple[str, str]:
    return ("train_conditional", "evaluate_conditional") if conditional else ("train", "evaluate")


def _call(who: standins.CallerOf, fn, *args, **kwargs) -> tuple[Any, str | None, str | None, str | None]:
    """The function's value, its error, the student's function where the error arose, and what the
    provided model was given if the error arose in it."""
    value, error = inputs.call_catching(fn, *args, **kwargs)
    if error is None or isinstance(error, str):
        return value, error, None, None
    return value, wire.describe_error(error), who.of_error(error), standins.failed_model_call(error)


def _observe_phase(ns: dict, fn, prepared: list, conditional: bool, who, seed: int, loaders) -> PhaseObservations:
    spy, metrics_log, plot_log, draws = standins.NoisySamplesSpy(prepared, who), [], [], []
    ns.update(
        generate_noisy_samples=spy,
        Metrics=standins.metrics_spy(metrics_log, who),
        Plotter=standins.plotter_spy(plot_log),
    )
    _seed_everything(seed)
    model = standins.TinyNoiseModel(conditional, who)
    beta, _, _ = inputs.schedule()
    with standins.recording_random_draws(draws, model.calls):
        if isinstance(loaders, dict):
            value, error, error_in, _ = _call(who, fn, model, loaders, beta, num_epochs=1, lr=1e-3)
        else:
            value, error, error_in, _ = _call(who, fn, model, loaders, beta)
    return {
        "noisy_samples": spy.calls,
        "model": model.calls,
        "metrics": metrics_log,
        "draws": draws,
        "plotted": plot_log,
        "value": wire.plain(value),
        "error": error,
        "error_in": error_in,
    }


def _observe_notebook(ns: dict, train_fn, eval_fn, prepared: list, conditional: bool, who) -> NotebookRun:
    """Train and evaluate with the provided model, Metrics and Plotter-like spy, batches of 2."""
    beta, _, _ = inputs.schedule()
    train_batches, val_batches = _seed_batches(NOTEBOOK_SEED, notebook=True)
    spy = standins.NoisySamplesSpy(prepared)
    ns.update(
        generate_noisy_samples=standins.noisy_samples_function(spy),
        Metrics=provided.Metrics,
        Plotter=standins.plotter_spy([]),
    )
    model_class = provided.UNetConditional if conditional else provided.UNet
    _seed_everything(NOTEBOOK_SEED)
    model = model_class()
    loaders = {"train": list(train_batches), "val": list(val_batches)}
    _, train_error, train_in, train_call = _call(who, train_fn, model, loaders, beta.clone(), num_epochs=1, lr=1e-3)
    _seed_everything(NOTEBOOK_SEED)
    model = model_class()  # the same weights again
    spy.calls.clear()
    value, eval_error, eval_in, eval_call = _call(who, eval_fn, model, list(val_batches), beta.clone())
    return {
        "train_error": train_error,
        "train_error_in": train_in,
        "train_failed_call": train_call,
        "evaluate_error": eval_error,
        "evaluate_error_in": eval_in,
        "evaluate_failed_call": eval_call,
        "evaluate_value": wire.plain(value),
        "val_batches": [list(b) for b in val_batches],
        "val_noisy": [[c["x_t"], c["noise"], c["t"]] for c in spy.calls],
    }


def observe_training(ns: dict, submission: Submission, prepared: list, conditional: bool) -> TrainingObservations:
    """One epoch of the student's training function per seed, its evaluation function on a fixed model,
    then both with the provided model."""
    submission.answer("train_conditional" if conditional else "train_and_evaluate")
    train_name, eval_name = _names(conditional)
    train_fn, eval_fn = ns.get(train_name), ns.get(eval_name)
    who = standins.CallerOf({train_name: train_fn, eval_name: eval_fn})
    seeds: list[SeedObservations] = []
    for seed in SEEDS:
        train_batches, val_batches = _seed_batches(seed)
        loaders = {"train": list(train_batches), "val": list(val_batches)}
        seeds.append(
            {
                "train_batches": [list(b) for b in train_batches],
                "val_batches": [list(b) for b in val_batches],
                "train": _observe_phase(ns, train_fn, prepared, conditional, who, seed, loaders),
                "evaluate": _observe_phase(ns, eval_fn, prepared, conditional, who, seed, list(val_batches)),
            }
        )
    return {"seeds": seeds, "notebook": _observe_notebook(ns, train_fn, eval_fn, prepared, conditional, who)}


def _close(a, b, rtol=1e-5, atol=1e-6) -> bool:
    return (
        isinstance(a, torch.Tensor)
        and isinstance(b, torch.Tensor)
        and a.shape == b.shape
        and torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol)
    )


def _valid_steps(t, n: int, steps: int) -> bool:
    """Whether ``t`` holds one whole time step in [0, steps) per sample, not all the same."""
    return (
        isinstance(t, torch.Tensor)
        and t.shape == (n,)
        and torch.equal(t.double(), t.double().round())
        and bool((t >= 0).all() and (t < steps).all())
        and not bool((t == t[0]).all())
    )


def _judge_inline(x_0: torch.Tensor, call: dict, candidates: list[torch.Tensor], beta: torch.Tensor):
    """Aspects of a batch noised without ``generate_noisy_samples``: (samples, model, noise used or None).

    ``candidates`` are the random tensors drawn just before the model call. The model point needs
    a noisy image (neither the clean batch nor the noise itself) and valid time steps.
    """
    from autograder.reference import noisy_sample_coefficients

    x_t, t = call["x"], call["t"]
    candidates = [c for c in candidates if c.shape == x_0.shape]
    if not (isinstance(x_t, torch.Tensor) and x_t.shape == x_0.shape and _valid_steps(t, len(x_0), beta.shape[0])):
        return False, False, None
    model_ok = not _close(x_t, x_0) and not any(_close(x_t, c) for c in candidates)
    a, s = (v.view(-1, 1, 1, 1).double() for v in noisy_sample_coefficients(t.long(), beta))
    for noise in candidates:
        if _close(x_t, a * x_0.double() + s * noise.double(), rtol=1e-4, atol=1e-5) and noise.std() > 0.5:
            return True, model_ok, noise
    return False, model_ok, None


class Phase(TypedDict):
    """What one pass over a run's batches got right."""

    ok: dict[str, bool]  # samples, model, labels (the loss is judged over all runs: ``_scale``)
    options: list[list[float]]  # per batch: the reference loss for each noise the batch may have used
    recorded: list[Any] | None  # per batch: the loss the function recorded (None: not one per batch)


def judge_phase(
    batches: list, spy_calls: list, model_calls: list, metrics: list, draws: list, conditional: bool
) -> Phase:
    """Which aspects one pass over ``batches`` got right, with the reference losses and the recorded ones."""
    beta, _, _ = inputs.schedule()
    n = len(batches)
    ok = {"samples": False, "model": False, "labels": not conditional}
    noises: list[list] = [[] for _ in range(n)]
    if len(spy_calls) == n and all(
        _close(c["x_0"], b[0]) and _close(c["beta"], beta) for c, b in zip(spy_calls, batches)
    ):
        ok["samples"] = True
    if len(model_calls) == n:
        if spy_calls:
            ok["model"] = len(spy_calls) == n and all(
                _close(m["x"], c["x_t"]) and _close(m["t"], c["t"], atol=1e-4) for m, c in zip(model_calls, spy_calls)
            )
            noises = [[c["noise"]] for c in spy_calls] if len(spy_calls) == n else noises
        else:  # noise added inline instead of with generate_noisy_samples
            judged = [
                _judge_inline(b[0], m, [d["value"] for d in draws if d["before"] == m["index"]], beta)
                for b, m in zip(batches, model_calls)
            ]
            ok["samples"] = all(j[0] for j in judged)
            ok["model"] = all(j[1] for j in judged)
            noises = [
                [j[2]]
                if j[2] is not None
                else [d["value"] for d in draws if d["before"] == m["index"] and d["value"].shape == b[0].shape]
                for j, m, b in zip(judged, model_calls, batches)
            ]
        if conditional:
            ok["labels"] = all(
                isinstance(m.get("label"), torch.Tensor) and torch.equal(m["label"].long(), b[1])
                for m, b in zip(model_calls, batches)
            )
    options = []
    for k in range(n):
        out = model_calls[k].get("out") if len(model_calls) == n else None
        options.append(
            [
                float(F.mse_loss(out.double(), noise.double()))
                for noise in noises[k]
                if isinstance(out, torch.Tensor) and out.shape == noise.shape
            ]
        )
    recorded = [entry["values"][0] if entry["values"] else None for entry in metrics]
    return {"ok": ok, "options": options, "recorded": recorded if len(recorded) == n else None}


def _scale(phases: list[Phase]) -> float | None:
    """The positive constant c such that every recorded loss is c times the reference loss, or None."""
    pairs = [(r, opts) for p in phases for r, opts in zip(p["recorded"] or [], p["options"])]
    if not pairs or any(p["recorded"] is None for p in phases):
        return None
    if not all(isinstance(r, float) for r, _ in pairs):
        return None
    first, first_options = pairs[0]
    for c in [first / o for o in first_options if o > 0]:
        if c > 0 and all(any(abs(r - c * o) <= RTOL * abs(c * o) + 1e-7 for o in opts) for r, opts in pairs):
            return c
    return None


def _ratios(phases: list[Phase]) -> str:
    """The spread of recorded / reference loss, for feedback on a loss that is no constant multiple."""
    ratios = [
        r / opts[0]
        for p in phases
        for r, opts in zip(p["recorded"] or [], p["options"])
        if isinstance(r, float) and opts and opts[0] > 0
    ]
    if not ratios or max(ratios) - min(ratios) <= RTOL * abs(max(ratios)):
        return ""
    return f" (its ratio to F.mse_loss goes from {min(ratios):.4g} to {max(ratios):.4g} across batches)"


def _matched(phase: Phase, scale: float) -> list[float]:
    """Per batch, the reference loss (times ``scale``) that the recorded loss matches."""
    return [
        next((scale * o for o in opts if abs(r - scale * o) <= RTOL * abs(scale * o) + 1e-7), float("nan"))
        for r, opts in zip(phase["recorded"] or [], phase["options"])
    ]


def _by(calls: list, name: str) -> list:
    return [c for c in calls if c.get("by") == name]


def _judge_runs(obs: TrainingObservations, run: str, name: str, conditional: bool) -> tuple[dict, list[Phase]]:
    """The aspects that ``name`` gets right in every seed's ``run`` (its own calls only), and the phases."""
    phases = []
    for seed in obs["seeds"]:
        observed = seed[run]
        batches = seed["train_batches" if run == "train" else "val_batches"]
        phases.append(
            judge_phase(
                batches,
                _by(observed["noisy_samples"], name),
                _by(observed["model"], name),
                _by(observed["metrics"], name),
                observed["draws"],
                conditional,
            )
        )
    ok = {aspect: all(p["ok"][aspect] for p in phases) for aspect in ("samples", "model", "labels")}
    return ok, phases


def _errors(obs: TrainingObservations, run: str, name: str) -> list[str]:
    """The distinct errors that arose in ``name`` (or outside any of the student's functions) in ``run``."""
    errors = []
    for seed in obs["seeds"]:
        observed = seed[run]
        if observed["error"] and observed["error_in"] in (name, None) and observed["error"] not in errors:
            errors.append(observed["error"])
    return errors


class Verdict(TypedDict):
    """One function's aspects, its loss's constant, and the feedback on it."""

    ok: dict[str, bool]
    scale: float | None
    feedback: list[str]
    flags: list[str]


def _notebook_feedback(obs: TrainingObservations, name: str, key: str, model: str) -> str | None:
    """A reason if ``name`` raised with the provided model (and nowhere in the stand-in runs)."""
    run = obs["notebook"]
    if not run[f"{key}_error"] or run[f"{key}_error_in"] not in (name, None):
        return None
    given = run[f"{key}_failed_call"]
    what = (
        f"the provided {model} raised {run[f'{key}_error']} when {name} called it with {given}"
        if given
        else (f"{name} raised {run[f'{key}_error']} with the provided {model}")
    )
    return f"{name}: {what}; the notebook's model needs images as float32 (N, 1, 32, 32), time steps of shape (N,)" + (
        " and integer labels of shape (N,)" if model == "UNetConditional" else ""
    )


def _verdict(obs: TrainingObservations, run: str, name: str, conditional: bool) -> Verdict:
    """How ``name`` (the training function if ``run`` is "train", else the evaluation) did in every run."""
    ok, phases = _judge_runs(obs, run, name, conditional)
    scale = _scale(phases)
    ok["loss"] = scale is not None
    feedback, flags = [], []
    errors = _errors(obs, run, name)
    if run == "evaluate":
        ok["no_grad"] = not any(c.get("grad") for s in obs["seeds"] for c in _by(s["evaluate"]["model"], name))
    no_model_calls = not any(_by(s[run]["model"], name) for s in obs["seeds"])
    if errors and no_model_calls:
        return {"ok": dict.fromkeys(ok, False), "scale": None, "feedback": [f"{name} raised {errors[0]}"], "flags": []}
    model = "UNetConditional" if conditional else "UNet"
    slip = None if errors else _notebook_feedback(obs, name, run, model)
    if slip:
        ok["model"] = False
    feedback += [f"{name} raised {error}" for error in errors]  # first: it explains what follows
    for aspect, right in ok.items():
        if not right and not (slip and aspect == "model"):
            extra = _ratios(phases) if aspect == "loss" else ""
            feedback.append(f"{name}: {ADVICE[aspect]}{extra}")
    if slip:
        feedback.append(slip)
    if run == "evaluate" and not feedback:
        feedback, flags = _evaluation_values(obs, name, phases, scale, conditional)
    return {"ok": ok, "scale": scale, "feedback": feedback, "flags": flags}


def _evaluation_values(obs: TrainingObservations, name: str, phases: list[Phase], scale: float, conditional: bool):
    """Feedback on the values an evaluation returned: with the stand-in, and with the provided model."""
    for seed, phase in zip(obs["seeds"], phases):
        sizes = [len(b[0]) for b in seed["val_batches"]]
        losses = _matched(phase, scale)
        expected = sum(s * loss for s, loss in zip(sizes, losses)) / sum(sizes)
        value = seed["evaluate"]["value"]
        if not isinstance(value, float) or abs(value - expected) > RTOL * abs(expected) + 1e-7:
            return [f"{name} returned {value!r} instead of the mean loss {expected:.6g}"], []
    run = obs["notebook"]
    expected = scale * _notebook_loss(run, conditional)
    value = run["evaluate_value"]
    if isinstance(value, float) and abs(value - expected) <= 1e-3 * abs(expected) + 1e-6:
        return [], []
    why = (
        f"{name} returned {value!r} with the provided model, where the same code returned the right loss with the"
        f" grader's stand-in model; the right value is {expected:.6g}"
    )
    return [why], [why]


def _notebook_loss(run: NotebookRun, conditional: bool) -> float:
    """The mean reference loss of the provided model (fixed random weights) on the notebook run's batches."""
    model_class = provided.UNetConditional if conditional else provided.UNet
    with torch.random.fork_rng():
        _seed_everything(NOTEBOOK_SEED)
        model = model_class()
    losses, sizes = [], []
    with torch.no_grad():
        for (_, y), (x_t, noise, t) in zip(run["val_batches"], run["val_noisy"]):
            out = model(x_t, t.float(), y) if conditional else model(x_t, t.float())
            losses.append(float(F.mse_loss(out.double(), noise.double())))
            sizes.append(len(y))
    return sum(s * loss for s, loss in zip(sizes, losses)) / max(1, sum(sizes))


def judge_train(obs: TrainingObservations) -> tuple[float, list[str]]:
    """12.5c: 1 point each for samples, model call and loss in training; -1 for other mistakes in evaluate."""
    aspects = ("samples", "model", "loss")
    train = _verdict(obs, "train", "train", conditional=False)
    evaluation = _verdict(obs, "evaluate", "evaluate", conditional=False)
    points = sum(train["ok"][a] for a in aspects)
    reasons = list(train["feedback"])
    ok, eval_ok = train["ok"], evaluation["ok"]
    if ok["loss"] and eval_ok["loss"] and abs(evaluation["scale"] - train["scale"]) > RTOL * train["scale"]:
        eval_ok["loss"] = False
        evaluation["feedback"].append(
            f"evaluate: compute the same loss as train (its losses are {evaluation['scale']:.4g} times F.mse_loss,"
            f" train's {train['scale']:.4g} times), so that the validation loss compares with the training loss"
        )
    different = [a for a in aspects if ok[a] and not eval_ok[a]] + [a for a in ("no_grad",) if not eval_ok[a]]
    if different or (evaluation["feedback"] and all(eval_ok.values())):
        points -= 1
        reasons += evaluation["feedback"] + ["-1 point: evaluate makes a mistake that train does not make"]
    return points, reasons


def judge_train_conditional(obs: TrainingObservations) -> tuple[float, list[str]]:
    """12.8c: 1 point if train_conditional and evaluate_conditional are correct, labels on every batch."""
    train = _verdict(obs, "train", "train_conditional", conditional=True)
    evaluation = _verdict(obs, "evaluate", "evaluate_conditional", conditional=True)
    mistakes = train["feedback"] + evaluation["feedback"]
    if (
        train["ok"]["loss"]
        and evaluation["ok"]["loss"]
        and abs(evaluation["scale"] - train["scale"]) > RTOL * train["scale"]
    ):
        mistakes.append("evaluate_conditional: compute the same loss as train_conditional")
    return all_or_nothing(1, mistakes)


def flags(obs: TrainingObservations, conditional: bool) -> list[str]:
    """Where the evaluation gave another loss with the provided model than with the stand-in."""
    return _verdict(obs, "evaluate", _names(conditional)[1], conditional)["flags"]


TRAIN = Check(
    "12.5c",
    "train/evaluate: noisy minibatch, model(x_t, t), MSE (up to a constant) against the true noise",
    lambda ns, sub, prepared: observe_training(ns, sub, prepared, conditional=False),
    lambda obs: (*judge_train(obs), flags(obs, conditional=False)),
    prepare_noisy_batches,
)
TRAIN_CONDITIONAL = Check(
    "12.8c",
    "train_conditional/evaluate_conditional pass the labels to the model on every batch",
    lambda ns, sub, prepared: observe_training(ns, sub, prepared, conditional=True),
    lambda obs: (*judge_train_conditional(obs), flags(obs, conditional=True)),
    prepare_noisy_batches,
)
