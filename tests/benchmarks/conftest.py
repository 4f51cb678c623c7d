"""The benchmarks' own tests, marked ``benchmark`` (``pytest -m "not benchmark"`` leaves them out)."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/benchmarks/" in item.nodeid:
            item.add_marker(pytest.mark.benchmark)
