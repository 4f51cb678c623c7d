"""benchmarks.headless: the benchmarks import the notebook's code where IPython and matplotlib are missing."""
import subprocess
import sys

from .conftest import ROOT

BARE = """
import sys
sys.modules['IPython'] = sys.modules['matplotlib'] = None  # as if not installed: import raises ImportError
import benchmarks
from autograder.provided import Plotter
plotter = Plotter(xlabel='epoch', xlim=[1, 2], legend=['train loss', 'validation loss'])
plotter.add(1, (0.5, 0.4))
print(sys.modules['IPython.display'].__doc__, '|', sys.modules['matplotlib.pyplot'].__doc__)
"""


def test_benchmarks_run_the_notebooks_plotter_without_ipython_and_matplotlib():
    done = subprocess.run([sys.executable, "-c", BARE], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == (
        "stand-in for IPython.display, which is not installed: shows nothing | "
        "stand-in for matplotlib.pyplot, which is not installed: shows nothing")
