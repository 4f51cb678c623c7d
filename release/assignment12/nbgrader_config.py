"""nbgrader's settings for the Validate button in your own JupyterLab.

Start JupyterLab in this folder (`jupyter lab`): Validate reads nbgrader_config.py from the folder
where JupyterLab was started. Validate runs the whole notebook in quick mode.
"""
import os

c = get_config()  # noqa: F821 (nbgrader provides get_config)

# Seconds per cell (nbgrader's default is 30). In quick mode the slowest cells take seconds, but on a busy
# laptop a cell can take many times longer; grading allows the same.
c.Execute.timeout = 300

# Validate counts anything on stderr, such as a library's warning, as a failure: keep warnings out of the kernel.
os.environ.setdefault("PYTHONWARNINGS", "ignore")
# PyTorch's CPU threads wait for each other by sleeping, not by spinning: on a busy machine (other programs
# using every core), spinning threads made the sampling cells many times slower and Validate failed.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
