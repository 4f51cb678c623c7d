"""12.5c (``train`` / ``evaluate``) and 12.8c (``train_conditional`` / ``evaluate_conditional``).

The student's functions run one short epoch on known batches with a small trainable model that
records its inputs and outputs, while ``generate_noisy_samples`` returns noisy batches made by the
reference (so a mistake in 12.2c costs no points here) and ``Metrics``/``Plotter`` record the losses. Every batch's loss must
equal the reference loss for the same noisy batch: F.mse_loss(model output, noise).
"""
import torch
from torch.nn import functional as F

from .. import inputs
from ..submission import Submission
from . import Check, all_or_nothing

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
    from ..reference import generate_noisy_samples
    beta, _, _ = inputs.schedule()
    torch.manual_seed(SEED)
    return [(x_0, *generate_noisy_samples(x_0, beta))
            for x_0, _ in _batches(TRAIN_SIZES, SEED) + _batches(VAL_SIZES, SEED + 10)]


def observe_training(ns: dict, submission: Submission, prepared: list, conditional: bool) -> dict:
    """One epoch of the student's training function, then its evaluation function on a fixed model."""
    submission.answer("train_conditional" if conditional else "train_and_evaluate")
    train_name, eval_name = ("train_conditional", "evaluate_conditional") if conditional else ("train", "evaluate")
    train_fn, eval_fn = ns.get(train_name), ns.get(eval_name)
    beta, _, _ = inputs.schedule()
    train_batches, val_batches = _batches(TRAIN_SIZES, SEED), _batches(VAL_SIZES, SEED + 10)
    obs: dict = {"train_batches": [list(b) for b in train_batches], "val_batches": [list(b) for b in val_batches]}
    for run in ("train", "evaluate"):
        spy, metrics_log, plot_log = inputs.NoisySamplesSpy(prepared), [], []
        ns.update(generate_noisy_samples=spy, Metrics=inputs.metrics_spy(metrics_log),
                  Plotter=inputs.plotter_spy(plot_log))
        torch.manual_seed(SEED)
        model = inputs.TinyNoiseModel(conditional)
        if run == "train":
            loaders = {"train": list(train_batches), "val": list(val_batches)}
            value, error = inputs.call_quietly(train_fn, model, loaders, beta.clone(), num_epochs=1, lr=1e-3)
        else:
            value, error = inputs.call_quietly(eval_fn, model, list(val_batches), beta.clone())
        obs[run] = {"noisy_samples": spy.calls, "model": model.calls, "metrics": metrics_log,
                    "plotted": plot_log, "value": inputs.plain(value), "error": error}
    return obs


def _close(a, b, rtol=1e-5, atol=1e-6) -> bool:
    return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
            and torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol))


def _implied_noise(x_0: torch.Tensor, call: dict, beta: torch.Tensor) -> torch.Tensor | None:
    """The noise that makes a model input a correct x_t of ``x_0``, or None if none does."""
    from ..reference import noisy_sample_coefficients
    x_t, t = call["x"], call["t"]
    if not (isinstance(x_t, torch.Tensor) and isinstance(t, torch.Tensor)) or x_t.shape != x_0.shape:
        return None
    if t.shape != (x_0.shape[0],) or not torch.equal(t.double(), t.double().round()):
        return None
    t = t.long()
    if t.min() < 0 or t.max() >= beta.shape[0] or (t == t[0]).all():
        return None
    a, s = noisy_sample_coefficients(t, beta)
    noise = (x_t.double() - a.view(-1, 1, 1, 1).double() * x_0.double()) / s.view(-1, 1, 1, 1).double()
    ok = abs(float(noise.mean())) < 0.15 and abs(float(noise.std()) - 1) < 0.15
    return noise if ok else None


def judge_phase(batches: list, spy_calls: list, model_calls: list, metrics: list,
                conditional: bool) -> tuple[dict[str, bool], list[float]]:
    """Which aspects one pass over ``batches`` got right, and the reference loss of every batch."""
    beta, _, _ = inputs.schedule()
    n = len(batches)
    ok = dict.fromkeys(ASPECTS, False)
    ok["labels"] = not conditional
    noises: list = [None] * n
    if len(spy_calls) == n and all(_close(c["x_0"], b[0]) and _close(c["beta"], beta) for c, b in zip(spy_calls, batches)):
        ok["samples"] = True
        noises = [c["noise"] for c in spy_calls]
    if len(model_calls) == n:
        if ok["samples"]:
            ok["model"] = all(_close(m["x"], c["x_t"]) and _close(m["t"], c["t"], atol=1e-4)
                              for m, c in zip(model_calls, spy_calls))
        elif not spy_calls:  # noise added inline instead of with generate_noisy_samples
            implied = [_implied_noise(b[0], m, beta) for b, m in zip(batches, model_calls)]
            if all(noise is not None for noise in implied):
                ok["samples"] = ok["model"] = True
                noises = implied
        if conditional:
            ok["labels"] = all(isinstance(m.get("label"), torch.Tensor) and torch.equal(m["label"].long(), b[1])
                               for m, b in zip(model_calls, batches))
    losses = [float(F.mse_loss(m["out"].double(), noise.double()))
              if noise is not None and isinstance(m.get("out"), torch.Tensor) and m["out"].shape == noise.shape
              else float("nan")
              for m, noise in zip(model_calls, noises)] if len(model_calls) == n else [float("nan")] * n
    recorded = [entry["values"][0] if entry["values"] else None for entry in metrics]
    ok["loss"] = (len(recorded) == n and all(isinstance(r, float) for r in recorded)
                  and all(abs(r - ref) <= 1e-4 * abs(ref) + 1e-7 for r, ref in zip(recorded, losses)))
    return ok, losses


def _phase(observed: dict, batches: list, grad: bool, conditional: bool):
    pick = lambda calls: [c for c in calls if c.get("grad") == grad]  # noqa: E731
    return judge_phase(batches, pick(observed["noisy_samples"]), pick(observed["model"]),
                       pick(observed["metrics"]), conditional)


def _evaluation_problems(obs: dict, conditional: bool) -> tuple[dict[str, bool], list[str]]:
    """The aspects the evaluation function gets right, and problems with the value it returns."""
    run = obs["evaluate"]
    ok, losses = _phase(run, obs["val_batches"], grad=False, conditional=conditional)
    problems = []
    if run["error"]:
        problems.append(f"it raised {run['error']}")
    elif all(ok.values()):
        sizes = [len(b[0]) for b in obs["val_batches"]]
        expected = sum(s * loss for s, loss in zip(sizes, losses)) / sum(sizes)
        if not isinstance(run["value"], float) or abs(run["value"] - expected) > 1e-4 * expected + 1e-7:
            problems.append(f"it returned {run['value']!r} instead of the mean loss {expected:.6g}")
    return ok, problems


def judge_train(obs: dict) -> tuple[float, list[str]]:
    """12.5c: 1 point each for samples, model call and loss in training; -1 for other mistakes in evaluate."""
    run = obs["train"]
    ok, _ = _phase(run, obs["train_batches"], grad=True, conditional=False)
    reasons = [f"train: {ADVICE[a]}" for a in ("samples", "model", "loss") if not ok[a]]
    if reasons and run["error"]:
        reasons.append(f"train raised {run['error']}")
    points = sum(ok[a] for a in ("samples", "model", "loss"))
    eval_ok, eval_problems = _evaluation_problems(obs, conditional=False)
    different = [a for a in ("samples", "model", "loss") if ok[a] and not eval_ok[a]]
    if different or (eval_problems and not reasons):
        points -= 1
        reasons.append("evaluate makes a mistake that train does not (-1): "
                       + "; ".join([ADVICE[a] for a in different] + eval_problems))
    return points, reasons


def judge_train_conditional(obs: dict) -> tuple[float, list[str]]:
    """12.8c: 1 point if train_conditional and evaluate_conditional are correct, labels included."""
    run = obs["train"]
    ok, _ = _phase(run, obs["train_batches"], grad=True, conditional=True)
    mistakes = [f"train_conditional: {ADVICE[a]}" for a in ASPECTS if not ok[a]]
    if mistakes and run["error"]:
        mistakes.append(f"train_conditional raised {run['error']}")
    eval_ok, eval_problems = _evaluation_problems(obs, conditional=True)
    mistakes += [f"evaluate_conditional: {ADVICE[a]}" for a in ASPECTS if not eval_ok[a]]
    mistakes += [f"evaluate_conditional: {p}" for p in eval_problems]
    return all_or_nothing(1, mistakes)


TRAIN = Check("12.5c", 3, "test_12_5c_training_loss",
              "train/evaluate: noisy minibatch, model(x_t, t), MSE against the true noise",
              lambda ns, sub, prepared: observe_training(ns, sub, prepared, conditional=False), judge_train,
              prepare_noisy_batches)
TRAIN_CONDITIONAL = Check("12.8c", 1, "test_12_8c_train_conditional",
                          "train_conditional/evaluate_conditional pass the labels to the model",
                          lambda ns, sub, prepared: observe_training(ns, sub, prepared, conditional=True),
                          judge_train_conditional, prepare_noisy_batches)
