"""Environments built from an allow-list, never the grader's shell.

Only what grading needs passes: the locale and time zone, CPU threads (and OpenBLAS's processor
settings, without which it may compute wrong results), where MNIST is, nbgrader's markers. Nothing
else does: not ``DDPM_QUICK`` or ``DDPM_EPOCHS`` (nbgrader always runs the notebook in quick
mode), not ``PYTHONPATH`` or ``PYTHONSTARTUP``, not tokens, keys or passwords.
"""

import os
import sys
from collections.abc import Mapping
from pathlib import Path

PASSED = {
    "LANG",
    "LANGUAGE",
    "TZ",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "MNIST_ROOT",
    "NBGRADER_EXECUTION",
    "NBGRADER_VALIDATING",
}
PASSED_PREFIXES = ("LC_",)
# The instructor's own processes (nbgrader) also keep who and where they are, and Jupyter's folders.
INSTRUCTOR = {
    "HOME",
    "USER",
    "LOGNAME",
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_DATA_DIR",
    "JUPYTER_RUNTIME_DIR",
    "JUPYTER_PATH",
}
# Set by nbgrader or jupyter_client for the kernel, or by the course's plugins.
KERNEL = {"JPY_PARENT_PID", "JPY_SESSION_NAME", "MPLBACKEND", "A12_REPORT"}


def search_path() -> str:
    """``PATH``: this Python's bin/ (nbgrader runs alembic from there), then the system's."""
    return os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])


def _allowed(env: Mapping[str, str], names: set[str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k in names or k.startswith(PASSED_PREFIXES)}


def clean(home: str | Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for a process that may run student code, from the allow-list of ``env``."""
    return dict(
        _allowed(os.environ if env is None else env, PASSED),
        PATH=search_path(),
        HOME=str(home),
        TMPDIR="/tmp",
        PYTHONWARNINGS="ignore",
        PYTHONDONTWRITEBYTECODE="1",
    )


def for_kernel(env: Mapping[str, str], home: str) -> dict[str, str]:
    """The kernel's environment: ``clean``, what Jupyter set for it, and its own IPython and Matplotlib folders."""
    return dict(
        clean(home, env), **_allowed(env, KERNEL), IPYTHONDIR=f"{home}/.ipython", MPLCONFIGDIR=f"{home}/.matplotlib"
    )


def for_instructor(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of nbgrader under ``a12``: ``clean``, with the instructor's home and Jupyter folders."""
    env = os.environ if env is None else env
    return dict(clean(env.get("HOME", "/"), env), **_allowed(env, INSTRUCTOR))
