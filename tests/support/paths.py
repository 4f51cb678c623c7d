"""The repository's notebooks, for the tests and the benchmarks that reuse the tests' corpora."""

from pathlib import Path

from autograder import ASSIGNMENT, NOTEBOOK

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "source" / ASSIGNMENT / NOTEBOOK
RELEASE = ROOT / "release" / ASSIGNMENT / NOTEBOOK
SOLUTION = ROOT / "solutions" / NOTEBOOK
