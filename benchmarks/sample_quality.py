"""Sample quality of the diffusion models, measured by a small MNIST classifier trained here.

Prints the classifier's accuracy on the 10,000 test images; its accuracy on conditional samples, for
every label; and the Fréchet distance between its features on samples and on test images, beside its
floor: the same distance between training and test images, with as many images.
The diffusion models are trained here with the fast path (``FastTrainer``), loaded from ``--models``,
or taken from the last checkpoints of a solution run (``a12 run-solution --checkpoints DIR``): ``--run``.

  python -m benchmarks.sample_quality                          # reduced (CPU: a few minutes), see SIZES
  python -m benchmarks.sample_quality --size full --models DIR  # GPU; trains and saves what DIR lacks
  python -m benchmarks.sample_quality --size full --run DIR     # the solution run's models
"""

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from . import data, fast_sample, models
from .fast_train import Examples, FastTrainer, Speedups, fast_cuda_settings, parse_speedups
from .quality import accuracy_per_label, frechet_distance, predict, train_classifier


@dataclass(frozen=True)
class Size:
    classifier_images: int
    classifier_epochs: int
    train: int  # the diffusion models' training and validation images, epochs and diffusion steps
    val: int
    epochs: int
    steps: int
    per_label: int  # conditional samples of every label
    unconditional: int  # unconditional samples (0: none)


SIZES = {
    "reduced": Size(10000, 2, 4096, 512, 1, 100, 10, 0),  # T = 100: sampling stays within minutes on a CPU
    "full": Size(60000, 3, 55000, 5000, 20, 1000, 100, 1000),
}


def diffusion_model(
    conditional: bool,
    size: Size,
    train: Examples,
    val: Examples,
    speedups: Speedups,
    folder: Path | None,
    run: Path | None = None,
) -> nn.Module:
    """The model of the solution run in ``run``, the one saved in ``folder``, or one trained now (and
    saved there if ``folder`` is given)."""
    kind = "conditional" if conditional else "unconditional"
    path = folder / f"{kind}.pt" if folder else None
    if run or (path and path.exists()):
        model, facts = (
            models.load_from_run(run, conditional, train.x.device) if run else models.load(path, train.x.device)
        )
        if facts.get("diffusion_steps") != size.steps:
            raise ValueError(
                f"{path} was trained with {facts.get('diffusion_steps')} diffusion steps, not {size.steps}"
            )
        print(f"{kind} model from {run or path}: {facts}")
        return model
    print(f"training the {kind} model: {len(train)} images, {size.epochs} epoch(s), T = {size.steps}, {speedups} ...")
    model = models.new_model(conditional).to(train.x.device)
    trainer = FastTrainer(model, models.schedule(size.steps), train, val, speedups, conditional=conditional)
    last = trainer.fit(size.epochs)[-1]
    print(
        f"  {kind}: training loss {last.train_loss:.4f}, validation loss {last.val_loss:.4f}, "
        f"{last.seconds:.1f} s (+{trainer.prepare_seconds:.1f} s preparing)"
    )
    if path:
        models.save(
            path,
            model,
            conditional,
            diffusion_steps=size.steps,
            epochs=size.epochs,
            train_loss=last.train_loss,
            val_loss=last.val_loss,
            speedups=str(speedups),
        )
    return model


def samples(
    size: Size,
    train: Examples,
    val: Examples,
    speedups: Speedups,
    folder: Path | None,
    labels: torch.Tensor,
    run: Path | None = None,
) -> dict[str, torch.Tensor]:
    """Conditional samples of ``labels``, and ``size.unconditional`` unconditional ones (if any)."""
    beta, use_graphs = models.schedule(size.steps), train.x.device.type == "cuda"
    model = diffusion_model(True, size, train, val, speedups, folder, run)
    drawn = {"conditional": fast_sample.sample(model, beta, len(labels), labels=labels, use_graphs=use_graphs)}
    if size.unconditional:
        model = diffusion_model(False, size, train, val, speedups, folder, run)
        drawn["unconditional"] = fast_sample.sample(model, beta, size.unconditional, use_graphs=use_graphs)
    return drawn


def measure(
    size: Size,
    folder: Path,
    speedups: Speedups,
    models_folder: Path | None,
    seed: int,
    device: torch.device,
    run: Path | None = None,
) -> tuple[dict, torch.Tensor]:
    """The figures, and the conditional samples ``(10 × per_label, 1, 32, 32)``, label by label."""
    images, labels = data.load(folder)
    x, y = data.normalise(images).to(device), labels.to(device)
    test_images, test_labels = data.load(folder, train=False)
    x_test, y_test = data.normalise(test_images).to(device), test_labels.to(device)

    torch.manual_seed(seed)
    pick = torch.randperm(len(x), device=device)[: size.classifier_images]
    print(f"training the classifier: {len(pick)} images, {size.classifier_epochs} epoch(s) ...")
    classifier = train_classifier(x[pick], y[pick], epochs=size.classifier_epochs)
    test_predicted, test_features = predict(classifier, x_test)
    figures = {"classifier_test_accuracy": (test_predicted == y_test).double().mean().item()}
    print(f"classifier: {figures['classifier_test_accuracy']:.2%} right on the {len(x_test)} test images")

    torch.manual_seed(seed)
    train_index, val_index = data.notebook_split(size.train, size.val)
    wanted = torch.arange(10, device=device).repeat_interleave(size.per_label)
    drawn = samples(
        size,
        Examples(x[train_index], y[train_index]),
        Examples(x[val_index], y[val_index]),
        speedups,
        models_folder,
        wanted,
        run,
    )
    classified = {kind: predict(classifier, images) for kind, images in drawn.items()}
    predicted = classified["conditional"][0]
    figures["conditional_accuracy"] = (predicted == wanted).double().mean().item()
    figures["conditional_accuracy_per_label"] = accuracy_per_label(predicted, wanted).tolist()
    figures["frechet_distance"] = {}
    for kind, (_, features) in classified.items():
        n = len(features)
        test_subset = test_features[torch.randperm(len(x_test), device=device)[:n]]
        train_subset = predict(classifier, x[torch.randperm(len(x), device=device)[:n]])[1]
        figures["frechet_distance"][kind] = {
            "images": n,
            "samples_vs_test": frechet_distance(features, test_subset),
            "floor_train_vs_test": frechet_distance(train_subset, test_subset),
        }
    return figures, drawn["conditional"]


def print_summary(figures: dict) -> None:
    print(
        f"\nconditional samples recognised as their label: {figures['conditional_accuracy']:.1%} "
        f"({figures['size']['per_label']} per label)"
    )
    print("label    " + " ".join(f"{label:>5}" for label in range(10)))
    print("right    " + " ".join(f"{a:>5.0%}" for a in figures["conditional_accuracy_per_label"]))
    for kind, fd in figures["frechet_distance"].items():
        print(
            f"Fréchet distance of the classifier's features, {kind} samples vs test images: "
            f"{fd['samples_vs_test']:.2f}; floor (training vs test images): {fd['floor_train_vs_test']:.2f} "
            f"({fd['images']} images each)"
        )
    print(f"({figures['seconds']:.0f} s in all)")


def save(out: Path, figures: dict, conditional: torch.Tensor) -> None:
    """``sample_quality.json``, and ``conditional_samples.png``: a column for every label, up to 10 rows."""
    from torchvision.utils import save_image

    out.mkdir(parents=True, exist_ok=True)
    (out / "sample_quality.json").write_text(json.dumps(figures, indent=1))
    per_label = figures["size"]["per_label"]
    grid = conditional.view(10, per_label, 1, 32, 32)[:, :10].transpose(0, 1).reshape(-1, 1, 32, 32)
    save_image(grid.clamp(-1, 1) * 0.5 + 0.5, out / "conditional_samples.png", nrow=10)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="reduced")
    parser.add_argument(
        "--models", type=Path, help="folder of conditional.pt / unconditional.pt (train_speed's --save-model)"
    )
    parser.add_argument(
        "--run", type=Path, help="the --checkpoints folder of a finished `a12 run-solution`: its trained models"
    )
    parser.add_argument("--fast", default="", help="the fast path's options for training here (see train_speed)")
    parser.add_argument(
        "--mnist", help="folder with MNIST's IDX files (default: data/mnist, shared/data/mnist or ../shared/data/mnist)"
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--out", type=Path, help="write sample_quality.json and conditional_samples.png here")
    args = parser.parse_args(argv)
    size, device = SIZES[args.size], torch.device(args.device)
    speedups, folder = parse_speedups(args.fast, device), data.find_mnist(args.mnist)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; {size}")
    start = time.perf_counter()
    with fast_cuda_settings():
        figures, conditional = measure(size, folder, speedups, args.models, args.seed, device, args.run)
    figures.update(device=name, torch=torch.__version__, size=asdict(size), seconds=time.perf_counter() - start)
    if args.run:
        figures["run"] = str(args.run)
    print_summary(figures)
    if args.out:
        save(args.out, figures, conditional)
    return figures


if __name__ == "__main__":
    main()
