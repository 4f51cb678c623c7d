"""MNIST for the benchmarks: as tensors, and through the notebook's two data paths.

- ``load`` reads the IDX files (plain or ``.gz``) and ``normalise`` preprocesses all images at once
  with the arithmetic of the notebook's transform (ToTensor, Pad(2), Normalize(0.5, 0.5)): the
  values are the transform's, bit for bit. Images: ``(N, 1, 32, 32)`` in [-1, 1]; labels: ``(N,)``.
- ``score_sheet_loaders`` is the score sheet's path: the transform applied to every image, every epoch.
- ``notebook_loaders`` runs the notebook's own data cell (``load_mnist``: one tensor in memory).
Both split with ``random_split`` as the notebook does, so with the same seed they give the same batches.
"""

import gzip
import json
import os
import shutil
import struct
from contextlib import contextmanager
from pathlib import Path

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, Subset, random_split

from autograder.course.mnist import FILES, has_mnist, raw_folder

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FOLDERS = tuple(root / "data" / "mnist" for root in (REPO, REPO / "shared", REPO.parent / "shared"))
NOTEBOOK = REPO / "source" / "assignment12" / "assignment12.ipynb"
TRAIN_BATCH, VAL_BATCH = 128, 1000  # the notebook's DataLoader batch sizes


class MnistMissing(Exception):
    """The MNIST files are not where they were looked for; the message says where to put them."""


def _idx_file(folder: Path, name: str) -> Path | None:
    for place in (folder, raw_folder(folder)):
        for candidate in (place / name, place / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def find_mnist(folder: str | Path | None = None) -> Path:
    """The folder that holds MNIST's four IDX files (plain or .gz, directly or in MNIST/raw/).

    Without ``folder``, looks in the repository's ``data/mnist``, ``shared/data/mnist`` and ``../shared/data/mnist``.
    """
    candidates = [Path(folder)] if folder else list(DEFAULT_FOLDERS)
    for candidate in candidates:
        if all(_idx_file(candidate, name) for name in FILES):
            return candidate
    raise MnistMissing(
        f"MNIST's four IDX files ({', '.join(FILES)}, plain or .gz) are not in "
        f"{' or '.join(str(c) for c in candidates)}. Copy them there, or pass --mnist FOLDER "
        "(a folder with the files, or a torchvision root that holds MNIST/raw/)."
    )


def read_idx(path: Path) -> torch.Tensor:
    """An IDX file (MNIST's format, optionally gzipped) as a uint8 tensor of its shape."""
    data = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim :]), dtype=torch.uint8).reshape(shape)


def load(folder: Path, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images ``(N, 28, 28)`` and int64 labels ``(N,)`` of MNIST's training or test set."""
    prefix = "train" if train else "t10k"
    images = read_idx(_idx_file(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_idx_file(folder, f"{prefix}-labels-idx1-ubyte")).long()
    return images, labels


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, 28, 28)`` to float ``(N, 1, 32, 32)`` in [-1, 1], as the notebook's transform does."""
    return (F.pad(images, (2, 2, 2, 2)).unsqueeze(1).float() / 255 - 0.5) / 0.5


def notebook_split(num_train: int, num_val: int) -> tuple[list[int], list[int]]:
    """The notebook's ``random_split`` of the first ``num_train + num_val`` images (global RNG)."""
    train, val = random_split(range(num_train + num_val), [num_train, num_val])
    return list(train.indices), list(val.indices)


def torchvision_root(folder: Path, cache: Path) -> Path:
    """A root whose MNIST/raw/ holds the uncompressed files, as torchvision reads them without downloading:
    ``folder`` if it is one, else ``cache``, where the files are written once."""
    if has_mnist(folder) or has_mnist(cache):
        return folder if has_mnist(folder) else cache
    raw_folder(cache).mkdir(parents=True, exist_ok=True)
    for name in FILES:
        source = _idx_file(folder, name)
        with (
            (gzip.open if source.suffix == ".gz" else open)(source, "rb") as src,
            open(raw_folder(cache) / name, "wb") as dst,
        ):
            shutil.copyfileobj(src, dst)
    return cache


def score_sheet_loaders(root: Path, num_train: int, num_val: int) -> dict[str, DataLoader]:
    """The score sheet's data path: torchvision's MNIST with a transform per image, in DataLoaders."""
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Pad(2), transforms.Normalize(0.5, 0.5)])
    data = datasets.MNIST(str(root), train=True, download=False, transform=transform)
    if num_train + num_val < len(data):
        data = Subset(data, range(num_train + num_val))
    train, val = random_split(data, [num_train, num_val])
    return {
        "train": DataLoader(train, batch_size=TRAIN_BATCH, shuffle=True),
        "val": DataLoader(val, batch_size=VAL_BATCH),
    }


@contextmanager
def _environment(**values: str):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key)
            else:
                os.environ[key] = value


def notebook_cell(grade_id: str) -> str:
    """The source of a cell of the source notebook."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    return next("".join(c["source"]) for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def notebook_loaders(root: Path, num_train: int, num_val: int) -> dict[str, DataLoader]:
    """Run the notebook's data cell (``load_mnist``) with the notebook's globals; its loaders."""
    from torchvision import datasets, transforms

    namespace = dict(
        os=os,
        torch=torch,
        F=F,
        datasets=datasets,
        transforms=transforms,
        QUICK=num_train + num_val < 60000,
        num_train=num_train,
        num_val=num_val,
    )
    with _environment(MNIST_ROOT=str(root)):
        exec(compile(notebook_cell("load_mnist"), "load_mnist", "exec"), namespace)
    return namespace["data_loaders"]
