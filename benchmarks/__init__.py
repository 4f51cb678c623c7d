"""Benchmarks of Assignment 12: training speed and sample quality (commands: benchmarks/README.md).

Importing the package makes ``autograder.provided`` importable on a bare GPU machine (``headless``).
"""
from . import headless

headless.install()
