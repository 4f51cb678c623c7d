"""12.5c (``train`` / ``evaluate``) and 12.8c (``train_conditional`` / ``evaluate_conditional``).

The student's functions run one short epoch on known batches with a small trainable model that
records its inputs and outputs, while ``generate_noisy_samples`` returns noisy batches made by the
reference (so a mistake in 12.2c costs no points here) and ``Metrics``/``Plotter`` record the losses. Every batch's loss must
equal the reference loss for the same noisy batch: F.mse_loss(model output, noise).
"""

from typing import Any, TypedDict

import torch
from torch.nn import functional as F

from autograder.grading import inputs, standins, wire
from autograder.grading.checks import Check, all_or_nothing
from autograder.grading.submission import Submission

SEED = 1205
TRAIN_SIZES = (16, 16, 8)
VAL_SIZES = (16, 8)
ASPECTS = ("samples", "model", "loss", "labels")
ADVICE = {
    "samples": "generate a noisy minibatch with generate_noisy_samples(x, beta)",
    "model": "call the model on the noisy images and their time steps: model(x_t, t)",
    "loss": "compute F.mse_loss(estimated_noise, noise) between the estimated and the true noise",
    "labels": "pass the labels y to the model: model(x_t, t, y)",
}


def _batches(sizes: tuple[int, ...], seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [inputs.digit_batch(n, seed=seed + i) for i, n in enumerate(sizes)]


def prepare_noisy_batches() -> list[tuple[torch.Tensor, ...]]:
    """The reference's noisy version (x_0, x_t, noise, t) of every known batch."""
    from autograder.reference import generate_noisy_samples

    beta, _, _ = inputs.schedule()
    torch.manual_seed(SEED)
    return [
        (x_0, *generate_noisy_samples(x_0, beta))
        for x_0, _ in _batches(TRAIN_SIZES, SEED) + _batches(VAL_SIZES, SEED + 10)
    ]


class PhaseObservations(TypedDict):
    """One call of the student's train or evaluate function, seen by the spies."""

    noisy_samples: list[dict[str, Any]]  # calls of generate_noisy_samples
    model: list[dict[str, Any]]  # calls of the model
    metrics: list[dict[str, Any]]  # what Metrics recorded
    draws: list[dict[str, Any]]  # random draws, and how many model calls came before each
    plotted: list[Any]  # what Plotter was given
    value: Any  # what the function returned, plain
    error: str | None


class TrainingObservations(TypedDict):
    """12.5c and 12.8c: the known batches, then one epoch of training and one evaluation."""

    train_batches: list[list[torch.Tensor]]
    val_batches: list[list[torch.Tensor]]
    train: PhaseObservations
    evaluate: PhaseObservations


def observe_training(ns: dict, submission: Submission, prepared: list, conditional: bool) -> TrainingObservations:
    """One epoch of the student's training function, then its evaluation function on a fixed model."""
    submission.answer("train_conditional" if conditional else "train_and_evaluate")
    train_name, eval_name = ("train_conditional", "evaluate_conditional") if conditional else ("train", "evaluate")
    train_fn, eval_fn = ns.get(train_name), ns.get(eval_name)
    beta, _, _ = inputs.schedule()
    train_batches, val_batches = _batches(TRAIN_SIZES, SEED), _batches(VAL_SIZES, SEED + 10)
    obs: TrainingObservations = {
        "train_batches": [list(b) for b in train_batches],
        "val_batches": [list(b) for b in val_batches],
    }
    for run in ("train", "evaluate"):
        spy, metrics_log, plot_log, draws = standins.NoisySamplesSpy(prepared), [], [], []
        ns.update(
            generate_noisy_samples=spy,
            Metrics=standins.metrics_spy(metrics_log),
            Plotter=standins.plotter_spy(plot_log),
        )
        torch.manual_seed(SEED)
        model = standins.TinyNoiseModel(conditional)
        with standins.recording_random_draws(draws, model.calls):
            if run == "train":
                loaders = {"train": list(train_batches), "val": list(val_batches)}
                value, error = inputs.call_quietly(train_fn, model, loaders, beta.clone(), num_epochs=1, lr=1e-3)
            else:
                value, error = inputs.call_quietly(eval_fn, model, list(val_batches), beta.clone())
        obs[run] = {
            "noisy_samples": spy.calls,
            "model": model.calls,
            "metrics": metrics_log,
            "draws": draws,
            "plotted": plot_log,
            "value": wire.plain(value),
            "error": error,
        }
    return obs


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


def judge_phase(
    batches: list, spy_calls: list, model_calls: list, metrics: list, draws: list, conditional: bool
) -> tuple[dict[str, bool], list[float]]:
    """Which aspects one pass over ``batches`` got right, and the reference loss of every batch."""
    beta, _, _ = inputs.schedule()
    n = len(batches)
    ok = dict.fromkeys(ASPECTS, False)
    ok["labels"] = not conditional
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
    recorded = [entry["values"][0] if entry["values"] else None for entry in metrics]
    losses = []
    for k in range(n):
        out = model_calls[k].get("out") if len(model_calls) == n else None
        options = [
            float(F.mse_loss(out.double(), noise.double()))
            for noise in noises[k]
            if isinstance(out, torch.Tensor) and out.shape == noise.shape
        ]
        match = [
            loss
            for loss in options
            if len(recorded) == n
            and isinstance(recorded[k], float)
            and abs(recorded[k] - loss) <= 1e-4 * abs(loss) + 1e-7
        ]
        losses.append(match[0] if match else options[0] if options else float("nan"))
    ok["loss"] = len(recorded) == n and all(
        isinstance(r, float) and abs(r - loss) <= 1e-4 * abs(loss) + 1e-7 for r, loss in zip(recorded, losses)
    )
    return ok, losses


def _phase(observed: dict, batches: list, grad: bool, conditional: bool):
    pick = lambda calls: [c for c in calls if c.get("grad") == grad]  # noqa: E731
    return judge_phase(
        batches,
        pick(observed["noisy_samples"]),
        pick(observed["model"]),
        pick(observed["metrics"]),
        observed["draws"],
        conditional,
    )


def _feedback(name: str, run: dict, ok: dict[str, bool], aspects: tuple[str, ...]) -> list[str]:
    """One line per aspect missed; a single line if the function raised before calling the model."""
    if run["error"] and not run["model"]:
        return [f"{name} raised {run['error']}"]
    lines = [f"{name}: {ADVICE[a]}" for a in aspects if not ok[a]]
    return lines + ([f"{name} raised {run['error']}"] if lines and run["error"] else [])


def _evaluation(obs: dict, name: str, aspects: tuple[str, ...]) -> tuple[dict[str, bool], list[str]]:
    """The aspects the evaluation function gets right, and feedback on it (its return value included)."""
    run = obs["evaluate"]
    ok, losses = _phase(run, obs["val_batches"], grad=False, conditional="labels" in aspects)
    feedback = _feedback(name, run, ok, aspects)
    if not feedback:
        sizes = [len(b[0]) for b in obs["val_batches"]]
        expected = sum(s * loss for s, loss in zip(sizes, losses)) / sum(sizes)
        if not isinstance(run["value"], float) or abs(run["value"] - expected) > 1e-4 * expected + 1e-7:
            feedback.append(f"{name} returned {run['value']!r} instead of the mean loss {expected:.6g}")
    return ok, feedback


def judge_train(obs: TrainingObservations) -> tuple[float, list[str]]:
    """12.5c: 1 point each for samples, model call and loss in training; -1 for other mistakes in evaluate."""
    aspects = ("samples", "model", "loss")
    ok, _ = _phase(obs["train"], obs["train_batches"], grad=True, conditional=False)
    reasons = _feedback("train", obs["train"], ok, aspects)
    points = sum(ok[a] for a in aspects)
    eval_ok, eval_feedback = _evaluation(obs, "evaluate", aspects)
    different = [a for a in aspects if ok[a] and not eval_ok[a]]
    if different or (eval_feedback and all(eval_ok.values())):
        points -= 1
        reasons += eval_feedback + ["-1 point: evaluate makes a mistake that train does not make"]
    return points, reasons


def judge_train_conditional(obs: TrainingObservations) -> tuple[float, list[str]]:
    """12.8c: 1 point if train_conditional and evaluate_conditional are correct, labels included."""
    ok, _ = _phase(obs["train"], obs["train_batches"], grad=True, conditional=True)
    mistakes = _feedback("train_conditional", obs["train"], ok, ASPECTS)
    mistakes += _evaluation(obs, "evaluate_conditional", ASPECTS)[1]
    return all_or_nothing(1, mistakes)


TRAIN = Check(
    "12.5c",
    "train/evaluate: noisy minibatch, model(x_t, t), MSE against the true noise",
    lambda ns, sub, prepared: observe_training(ns, sub, prepared, conditional=False),
    judge_train,
    prepare_noisy_batches,
)
TRAIN_CONDITIONAL = Check(
    "12.8c",
    "train_conditional/evaluate_conditional pass the labels to the model",
    lambda ns, sub, prepared: observe_training(ns, sub, prepared, conditional=True),
    judge_train_conditional,
    prepare_noisy_batches,
)
