"""Benchmarks of Assignment 12: grading speed, training speed and sample quality.

Run each as a module from the repository root, ``python -m benchmarks.NAME``; the commands and the
measured figures are in ``benchmarks/README.md``. Importing this package does nothing; the benchmarks
that run the notebook's code on a bare GPU machine install ``headless`` stand-ins first.
"""
