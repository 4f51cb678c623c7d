"""Training speed of the unconditional model: the score sheet's data path against faster paths, in one run.

Paths (``--paths``, comma-separated), all with the same model (UNet), schedule (T = 1000), Adam lr 1e-3,
batches of 128 and validation batches of 1000:
  score-sheet     the notebook's ``train`` on the score sheet's loaders (a transform per image, every epoch)
  notebook        the notebook's ``train`` on the notebook's data cell (one tensor in memory)
  fast[:OPTIONS]  ``FastTrainer``: data on the device, losses summed there; OPTIONS joined by '+':
                  bf16, compile (or compile=MODE), graphs; 'plain' for none; default: bf16+compile+graphs
                  on CUDA, plain on a CPU
Each prints examples/s as the notebook's ``train`` counts them (examples × epochs / seconds, validation
included), and the final training and validation loss. Then the time of 1,000-step sampling of 10
images: the notebook's ``sample_from_model``, and the fast sampler (with CUDA graphs on CUDA).

  python -m benchmarks.train_speed                # reduced: 2,048 / 512 images, 1 epoch each (CPU: minutes)
  python -m benchmarks.train_speed --size full    # 55,000 / 5,000; 1 epoch of the notebook's paths, 20 of fast
"""

import argparse
import io
import json
import os
import statistics
import tempfile
import time
import traceback
import warnings
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from benchmarks import headless

headless.install()  # before the notebook's code: it imports IPython and matplotlib

from autograder import reference
from autograder.course.train_report import read_report

from . import data, fast_sample, models
from .fast_train import Examples, FastTrainer, Speedups, fast_cuda_settings, parse_speedups

GOAL_VAL_LOSS = 0.0195  # the goal for 20 epochs (the score sheet: 0.0191)
SIZES = {  # training images, validation images, epochs of the notebook's paths, epochs of fast, sampling steps timed
    "reduced": (2048, 512, 1, 1, 25),
    "full": (55000, 5000, 1, 20, 1000),
}


@dataclass
class Result:
    path: str
    how: str
    epochs: int
    examples_per_s: float = float("nan")
    train_loss: float = float("nan")
    val_loss: float = float("nan")
    seconds: float = float("nan")
    prepare_seconds: float = 0.0  # compiling and capturing, before the timed training
    data_seconds: float | None = None  # one pass over the notebook's loaders (training and validation), no model
    val_loss_10_draws: float | None = None
    load_average: float | None = None  # the machine's 1-minute load average when the path ended (CPU)
    history: list[dict] | None = None  # the fast path's losses after every epoch
    error: str | None = None


def notebook_path(name: str, loaders: dict, epochs: int, device: torch.device) -> Result:
    """The notebook's ``train`` on ``loaders``: what it prints, read back; and, apart, the time of the data alone."""
    start = time.perf_counter()
    for loader in loaders.values():
        for _ in loader:
            pass
    data_seconds = time.perf_counter() - start
    model = models.new_model(conditional=False).to(device)
    printed = io.StringIO()
    start = time.perf_counter()
    with redirect_stdout(printed), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # matplotlib's, about the plot's x range in 1 epoch
        reference.train(model, loaders, models.schedule(), num_epochs=epochs, lr=1e-3, device=device)
    seconds = time.perf_counter() - start
    report = read_report(printed.getvalue())
    how = "transform per image, DataLoader" if name == "score-sheet" else "one tensor in memory, DataLoader"
    return Result(
        name, how, epochs, report.examples_per_s, report.train_loss, report.val_loss, seconds, data_seconds=data_seconds
    )


def fast_path(
    name: str, speedups: Speedups, train: Examples, val: Examples, epochs: int, save_model: Path | None
) -> Result:
    model = models.new_model(conditional=False).to(train.x.device)
    trainer = FastTrainer(model, models.schedule(), train, val, speedups)
    print("  compiling and capturing ..." if speedups.compile or speedups.graphs else "  warming up ...")
    prepare = trainer.prepare()
    history = trainer.fit(epochs)
    seconds = history[-1].seconds
    result = Result(
        name,
        str(speedups),
        epochs,
        len(train) * epochs / seconds,
        history[-1].train_loss,
        history[-1].val_loss,
        seconds,
        prepare_seconds=prepare,
        val_loss_10_draws=trainer.evaluate(repeats=10),
        history=[asdict(epoch) for epoch in history],
    )
    if save_model:
        models.save(
            save_model,
            model,
            conditional=False,
            diffusion_steps=1000,
            epochs=epochs,
            train_loss=result.train_loss,
            val_loss=result.val_loss,
            speedups=str(speedups),
        )
        print(f"  saved the model in {save_model}")
    return result


def run_path(
    path: str,
    folder: Path,
    cache: Path,
    train: Examples,
    val: Examples,
    epochs: int,
    fast_epochs: int,
    save_model: Path | None,
) -> Result:
    """Train along ``path`` (see the module's docstring) on ``train`` and ``val`` (or the same images
    through the notebook's loaders)."""
    kind, _, options = path.partition(":")
    device = train.x.device
    if kind in ("score-sheet", "notebook"):
        print(f"{path}: the notebook's train, {epochs} epoch(s) ...")
        make = data.score_sheet_loaders if kind == "score-sheet" else data.notebook_loaders
        return notebook_path(kind, make(data.torchvision_root(folder, cache), len(train), len(val)), epochs, device)
    if kind == "fast":
        speedups = parse_speedups(options, device)
        print(f"{path}: {speedups}, {fast_epochs} epoch(s) ...")
        with fast_cuda_settings():
            return fast_path(path, speedups, train, val, fast_epochs, save_model)
    raise ValueError(f"unknown path {kind!r}: use score-sheet, notebook or fast[:OPTIONS]")


def time_sampling(model: torch.nn.Module, steps: int, use_graphs: bool | None) -> float:
    """Seconds for 1,000 sampling steps of 10 images (measured over ``steps``, scaled to 1,000), after
    one untimed step: the notebook's ``sample_from_model`` if ``use_graphs`` is None, else the fast sampler.
    The model is in eval mode, as the notebook's is after ``train`` (its last call is ``evaluate``)."""
    device = next(model.parameters()).device
    model.eval()

    def run(beta: torch.Tensor) -> None:
        if use_graphs is None:
            reference.sample_from_model(torch.randn(10, 1, 32, 32, device=device), model, beta, device=device)
        else:
            fast_sample.sample(model, beta, 10, use_graphs=use_graphs, log=lambda line: None)
        if device.type == "cuda":
            torch.cuda.synchronize()

    run(models.schedule()[:1])
    start = time.perf_counter()
    run(models.schedule()[:steps])
    return (time.perf_counter() - start) * 1000 / steps


def _load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="reduced")
    parser.add_argument("--paths", default="score-sheet,notebook,fast", help="comma-separated (see above)")
    parser.add_argument("--train", type=int, help="training images (default: by --size)")
    parser.add_argument("--val", type=int, help="validation images (default: by --size)")
    parser.add_argument("--epochs", type=int, help="epochs of the notebook's paths (default: by --size)")
    parser.add_argument("--fast-epochs", type=int, help="epochs of the fast paths (default: by --size)")
    parser.add_argument("--sample-steps", type=int, help="sampling steps timed (scaled to 1,000; 0: none)")
    parser.add_argument(
        "--mnist", help="folder with MNIST's IDX files (default: data/mnist, shared/data/mnist or ../shared/data/mnist)"
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=12345, help="the notebook's seed (the same split)")
    parser.add_argument("--repeats", type=int, default=1, help="run the paths this many times, in alternating order")
    parser.add_argument("--save-model", type=Path, help="save the model of the last fast path here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    num_train, num_val, epochs, fast_epochs, steps = SIZES[args.size]
    num_train, num_val = args.train or num_train, args.val or num_val
    epochs, fast_epochs = args.epochs or epochs, args.fast_epochs or fast_epochs
    steps = steps if args.sample_steps is None else args.sample_steps
    device = torch.device(args.device)
    folder = data.find_mnist(args.mnist)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(
        f"device: {name}; torch {torch.__version__}; {num_train} training / {num_val} validation images; "
        f"MNIST from {folder}"
    )

    torch.manual_seed(args.seed)
    train_index, val_index = data.notebook_split(num_train, num_val)
    images, labels = data.load(folder)
    x, y = data.normalise(images).to(device), labels.to(device)
    train, val = Examples(x[train_index], y[train_index]), Examples(x[val_index], y[val_index])

    paths = args.paths.split(",")
    results, sampling = [], {}
    with tempfile.TemporaryDirectory() as cache:
        for repeat in range(args.repeats):
            for path in paths if repeat % 2 == 0 else paths[::-1]:  # alternate the order against drifting load
                torch.manual_seed(args.seed)
                try:
                    result = run_path(path, folder, Path(cache), train, val, epochs, fast_epochs, args.save_model)
                except Exception as error:  # keep the figures of the other paths
                    traceback.print_exc()
                    result = Result(path, "", 0, error=f"{type(error).__name__}: {error}")
                result.load_average = _load_average() if device.type == "cpu" else None
                results.append(result)
                print(
                    f"  {result.path}: "
                    + (
                        result.error
                        or f"{result.examples_per_s:.1f} examples/s, training loss "
                        f"{result.train_loss:.4f}, validation loss {result.val_loss:.4f}"
                    )
                )

        if steps:
            model = models.new_model(conditional=False).to(device)
            print(f"sampling 10 images, timed over {steps} steps ...")
            sampling["notebook sample_from_model"] = time_sampling(model, steps, use_graphs=None)
            graphs = device.type == "cuda"
            sampling[f"fast sampler{' (CUDA graphs)' if graphs else ''}"] = time_sampling(
                model, steps, use_graphs=graphs
            )

    print_table(results, sampling, steps)
    figures = {
        "device": name,
        "torch": torch.__version__,
        "size": args.size,
        "train": num_train,
        "val": num_val,
        "results": [asdict(r) for r in results],
        "sampling_seconds_per_1000_steps": sampling,
        "sampling_steps_timed": steps,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1))
    return figures


def print_table(results: list[Result], sampling: dict[str, float], steps: int) -> None:
    print(f"\n{'path':<28} {'epochs':>6} {'examples/s':>11} {'train loss':>10} {'val loss':>9} {'seconds':>8}  how")
    for r in results:
        if r.error:
            print(f"{r.path:<28} failed: {r.error}")
            continue
        notes = [r.how, f"20 x 55,000 images: {20 * 55000 / r.examples_per_s / 60:.1f} min"]
        if r.prepare_seconds >= 1:
            notes.append(f"+{r.prepare_seconds:.0f} s compiling, capturing")
        if r.data_seconds is not None:
            notes.append(f"the data alone: {r.data_seconds:.1f} s an epoch")
        print(
            f"{r.path:<28} {r.epochs:>6} {r.examples_per_s:>11.1f} {r.train_loss:>10.4f} {r.val_loss:>9.4f} "
            f"{r.seconds:>8.1f}  {'; '.join(notes)}"
        )
    speeds = {}
    for r in results:
        if not r.error:
            speeds.setdefault(r.path, []).append(r.examples_per_s)
    if "score-sheet" in speeds:
        many = " (medians)" if max(len(v) for v in speeds.values()) > 1 else ""
        for path, values in speeds.items():
            if path != "score-sheet":
                print(
                    f"{path} / score-sheet: {statistics.median(values) / statistics.median(speeds['score-sheet']):.2f}x "
                    f"examples/s{many}"
                )
    for r in results:
        if r.history:
            reached = [e for e in r.history if e["val_loss"] <= GOAL_VAL_LOSS]
            when = f"epoch {reached[0]['number']}, {reached[0]['seconds']:.1f} s" if reached else "not reached"
            print(
                f"{r.path}: validation loss over 10 noise draws {r.val_loss_10_draws:.4f}; "
                f"validation loss <= {GOAL_VAL_LOSS} first after: {when}"
            )
    scaled = "" if steps == 1000 else f" (timed over {steps} steps, scaled)"
    for name, seconds in sampling.items():
        print(f"1,000-step sampling of 10 images, {name}: {seconds:.1f} s{scaled}")


if __name__ == "__main__":
    main()
