"""benchmarks.headless: the benchmarks import the notebook's code where IPython and matplotlib are
missing, and importing the ``benchmarks`` package alone changes nothing."""

import subprocess
import sys

from ..support.paths import ROOT

BARE = """
import sys
sys.modules['IPython'] = sys.modules['matplotlib'] = None  # as if not installed: import raises ImportError
import benchmarks.models
from autograder.provided import Plotter
plotter = Plotter(xlabel='epoch', xlim=[1, 2], legend=['train loss', 'validation loss'])
plotter.add(1, (0.5, 0.4))
print(sys.modules['IPython.display'].__doc__, '|', sys.modules['matplotlib.pyplot'].__doc__)
"""

PACKAGE_ONLY = """
import sys
before = set(sys.modules)
import benchmarks
print(sorted(set(sys.modules) - before - {'benchmarks'}))
"""


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_benchmarks_run_the_notebooks_plotter_without_ipython_and_matplotlib():
    assert run(BARE) == (
        "stand-in for IPython.display, which is not installed: shows nothing | "
        "stand-in for matplotlib.pyplot, which is not installed: shows nothing"
    )


def test_importing_the_package_imports_nothing_else():
    assert run(PACKAGE_ONLY) == "[]"
