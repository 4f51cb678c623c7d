"""Each submission's budget of memory, processes and files, enforced by the operating system's kernel.

``a12 autograde`` gives every submission a :class:`Budget` (``autograder/limits.py``; ``c.Budget`` in
``nbgrader_config.py``; its command-line options). Exceeding it costs only that submission:

- **cgroups** where this process may make them (root, with the ``memory`` and ``pids`` controllers of
  cgroup v2, or else the v1 hierarchies): one memory+pids cgroup per submission, made beneath this
  process's own, that the kernel and the grader join as they enter their jails (``join``). Its memory
  limit counts both processes, the sandbox's children and every page they write to their tmpfs
  folders; the kernel's out-of-memory killer then ends a process of that submission only. The
  sandbox's children share it (``sandbox.shared_budget_bytes``) instead of 2 GB each.
- **rlimits** otherwise (``RLIMIT_AS`` per process on top of what it started with, ``RLIMIT_NPROC``
  for the jail's user ``nobody``, ``RLIMIT_FSIZE``): weaker, as they count per process.

Files: the jail's working folder, ``/tmp`` and ``/var/tmp`` are tmpfs of ``files_bytes`` each
(``confine.Jail.size``), counted in the memory cgroup. After the submission, ``notes`` says which
budget it reached, for ``a12 autograde``'s report, and ``remove`` ends what is left and deletes the cgroup.
"""

import argparse
import json
import os
import re
import resource
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import psutil
from traitlets import Integer
from traitlets.config import Configurable

from autograder.course.confine import FILES_ENV
from autograder.course.coursedir import CourseError, course_config
from autograder.limits import FILES_BYTES, MEMORY_BYTES, NOTEBOOK_BYTES, PROCESSES, RESERVED_BYTES

CGROUP_ENV = "A12_CGROUP"  # the submission's cgroup.procs files (os.pathsep between them), for ``join``
NOTES = "a12_notes"  # notebook metadata: notes on the notebook for a12 autograde's report (plugins.slips)
RLIMITS_ENV = "A12_RLIMITS"  # "memory,files,processes" for ``join`` where there are no cgroups
CGROUPS = Path("/sys/fs/cgroup")
SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:([KMGT])(i?)B?)?", re.I)
# What a submission's outputs say when a write failed on a full tmpfs or past RLIMIT_FSIZE.
FILES_FULL = ("[Errno 28] No space left on device", "[Errno 27] File too large")


class Budget(Configurable):
    """One submission's budget (``c.Budget.memory_bytes = 3 * 2**30`` in ``nbgrader_config.py``)."""

    memory_bytes = Integer(MEMORY_BYTES, help="Memory of one submission's jails together, tmpfs included").tag(
        config=True
    )
    files_bytes = Integer(FILES_BYTES, help="Files one submission may write in each folder of its jails").tag(
        config=True
    )
    processes = Integer(PROCESSES, help="Processes and threads of one submission's jails together").tag(config=True)
    notebook_bytes = Integer(NOTEBOOK_BYTES, help="The autograded notebook; larger outputs are trimmed").tag(
        config=True
    )


OPTIONS = {  # a12 autograde's option: the Budget trait it sets, and its unit
    "memory": ("memory_bytes", "size"),
    "files": ("files_bytes", "size"),
    "processes": ("processes", "count"),
    "notebook_size": ("notebook_bytes", "size"),
}


def add_options(parser: argparse.ArgumentParser) -> None:
    """``a12 autograde``'s budget options (the default of each: ``c.Budget`` in ``nbgrader_config.py``)."""
    for option, (trait, unit) in OPTIONS.items():
        about = Budget.class_traits()[trait]
        default = size_text(about.default_value) if unit == "size" else about.default_value
        parser.add_argument(
            f"--{option.replace('_', '-')}",
            type=parse_size if unit == "size" else int,
            default=None,
            help=f"budget of each submission: {about.help.lower()} (default: c.Budget in nbgrader_config.py, "
            f"else {default})",
        )


def from_options(root: Path, args: argparse.Namespace) -> "Budget":
    """The budget of ``nbgrader_config.py``, with what ``a12 autograde``'s options change."""
    budget = Budget(config=course_config(root))
    for option, (trait, _) in OPTIONS.items():
        if getattr(args, option) is not None:
            setattr(budget, trait, getattr(args, option))
    return budget


def parse_size(text: str) -> int:
    """``3GiB``, ``600M``, ``1.5G`` or a number of bytes, as bytes; ValueError says why not."""
    match = SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a size: write it like 3GiB, 600M or 1000000")
    if not match[2]:
        return int(float(match[1]))
    power = "KMGT".index(match[2].upper()) + 1
    return int(float(match[1]) * (1024 if match[3] else 1000) ** power)


def size_text(size: int) -> str:
    """``3 GiB``, ``600 MiB``, ``20 MB``: a budget as people write it."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if size >= scale and size % (scale // 4) == 0:
            return f"{size / scale:g} {unit}"
    return f"{size / 1e6:.3g} MB"


def fitting_workers(budget: Budget, wanted: int | None, cores: int) -> tuple[int, str]:
    """How many submissions may run at once on this machine's memory, and the sentence that says so;
    ValueError when ``wanted`` cannot fit."""
    available = psutil.virtual_memory().available
    fit = max(0, (available - RESERVED_BYTES) // budget.memory_bytes)
    found = f"{available / 2**30:.1f} GiB of memory available, {size_text(budget.memory_bytes)} per submission"
    if wanted is not None:
        if wanted > fit:
            raise ValueError(
                f"--workers {wanted} cannot fit: {found} and {size_text(RESERVED_BYTES)} kept for the server leave "
                f"room for {fit}; pass --workers {max(fit, 1)} or a smaller --memory budget"
            )
        return wanted, found
    if fit < 1:
        raise ValueError(f"not even one submission fits: {found}; free memory, or pass a smaller --memory budget")
    return min(cores, fit), found


def plan(
    budget: Budget, wanted: int | None, cores: int, submissions: int, progress: Callable[[str], None]
) -> tuple["Limits", int]:
    """The batch's limits and its number of workers (``wanted``, or as many as fit, one per core), never
    more than ``submissions``, said through ``progress``; CourseError when ``wanted`` cannot fit."""
    try:
        workers, found = fitting_workers(budget, wanted and min(wanted, submissions), min(cores, submissions))
    except ValueError as error:
        raise CourseError(str(error)) from None
    kind = mechanism()
    if kind != "rlimits":
        sweep(kind)
    progress(f"{found}: {workers} worker{'s' * (workers > 1)}; {mechanism_text(kind)}")
    return Limits(budget, kind), max(1, workers)


# --- the mechanism -------------------------------------------------------------------------------------


def _own(controller: str | None) -> Path | None:
    """The folder of this process's cgroup in a v1 hierarchy (``controller``) or the v2 one (None)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if (controller is None and number == "0") or (controller and controller in controllers.split(",")):
            for mount in [CGROUPS, CGROUPS / "unified"] if controller is None else [CGROUPS / controller]:
                kind_ok = (mount / "cgroup.controllers").exists() == (controller is None)
                if kind_ok and mount.is_dir():
                    return mount / path.lstrip("/")
    return None


def _v2_parent() -> Path | None:
    """A v2 cgroup under which this process may make children with memory and pids limits."""
    own = _own(None)
    if own is None or not (own / "cgroup.subtree_control").exists():
        return None
    wanted = {"memory", "pids"}
    if wanted <= set((own / "cgroup.subtree_control").read_text().split()):
        return own
    try:  # a cgroup with processes may not delegate controllers, but for the root one
        (own / "cgroup.subtree_control").write_text("+memory +pids")
        return own
    except OSError:
        return None


def _v1_parents() -> dict[str, Path] | None:
    parents = {name: _own(name) for name in ("memory", "pids")}
    if all(p is not None and os.access(p, os.W_OK) for p in parents.values()):
        return parents
    return None


def mechanism() -> str:
    """How budgets are enforced here: "cgroup v2", "cgroup v1" or "rlimits"."""
    if os.geteuid() != 0 or not CGROUPS.is_dir():
        return "rlimits"
    if _v2_parent() is not None:
        return "cgroup v2"
    return "cgroup v1" if _v1_parents() is not None else "rlimits"


def mechanism_text(kind: str) -> str:
    """What ``a12 autograde`` says about the mechanism."""
    if kind == "rlimits":
        return "budgets by rlimits per process (no writable memory and pids cgroups here: run as root for them)"
    return f"budgets by {kind} (memory and pids), one cgroup per submission"


# --- a submission's cgroup -----------------------------------------------------------------------------


@dataclass
class Cgroup:
    """One submission's cgroup: its folder per hierarchy (v2: one)."""

    version: int
    folders: dict[str, Path]

    @classmethod
    def make(cls, name: str, budget: Budget, kind: str) -> "Cgroup":
        """A new cgroup ``name`` with the budget's memory and process limits."""
        if kind == "cgroup v2":
            folder = _v2_parent() / name
            folder.mkdir()
            group = cls(2, {"memory": folder, "pids": folder})
            group._write("memory", "memory.max", budget.memory_bytes)
            group._write("memory", "memory.swap.max", 0, optional=True)
        else:
            group = cls(1, {})
            for controller, parent in _v1_parents().items():
                (parent / name).mkdir()
                group.folders[controller] = parent / name
            group._write("memory", "memory.limit_in_bytes", budget.memory_bytes)
            group._write("memory", "memory.memsw.limit_in_bytes", budget.memory_bytes, optional=True)
        group._write("pids", "pids.max", budget.processes)
        return group

    def _write(self, controller: str, name: str, value: int, optional: bool = False) -> None:
        try:
            (self.folders[controller] / name).write_text(str(value))
        except OSError:
            if not optional:
                raise

    def _read(self, controller: str, name: str) -> str:
        try:
            return (self.folders[controller] / name).read_text()
        except OSError:
            return ""

    def procs_files(self) -> list[str]:
        return sorted({str(folder / "cgroup.procs") for folder in self.folders.values()})

    def peak_bytes(self) -> int:
        """The most memory the submission held at once."""
        text = self._read("memory", "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes")
        return int(text or 0)

    def _count(self, controller: str, name: str, key: str) -> int:
        for line in self._read(controller, name).splitlines():
            if line.split()[:1] == [key]:
                return int(line.split()[1])
        return 0

    def notes(self, budget: Budget) -> list[str]:
        """Which budgets the submission reached, in the words of its report."""
        memory_file = "memory.events" if self.version == 2 else "memory.oom_control"
        notes = []
        if self._count("memory", memory_file, "oom_kill"):
            notes.append(
                f"the notebook used more than {size_text(budget.memory_bytes)} of memory: "
                "a process of its kernel or of its checks was ended"
            )
        if self._count("pids", "pids.events", "max"):
            notes.append(f"the notebook tried to run more than {budget.processes} processes and threads at once")
        return notes

    def remove(self) -> None:
        """End every process left in the cgroup and delete it."""
        deadline = time.monotonic() + 10
        for folder in self.folders.values():
            while folder.exists():
                for pid in self._read_pids(folder):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    folder.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

    @staticmethod
    def _read_pids(folder: Path) -> list[int]:
        try:
            return [int(pid) for pid in (folder / "cgroup.procs").read_text().split()]
        except OSError:
            return []


def sweep(kind: str) -> None:
    """Remove the cgroups that an ``a12 autograde`` which no longer runs left behind (it was killed)."""
    parents = [_v2_parent()] if kind == "cgroup v2" else list((_v1_parents() or {}).values())
    for parent in filter(None, parents):
        for folder in parent.glob("a12-*"):
            owner = folder.name.rsplit("-", 2)[-2]
            if owner.isdigit() and not psutil.pid_exists(int(owner)):
                Cgroup(2 if kind == "cgroup v2" else 1, {"left": folder}).remove()


class Graded(Protocol):
    """What ``Limits.graded`` needs of a grading's result (``job.Attempt``; not imported: ``job`` is above
    this module, through ``warm``)."""

    problem: str
    log: Path


A = TypeVar("A", bound=Graded)


@dataclass(frozen=True)
class Limits:
    """A batch's budget per submission, and how it is enforced (``mechanism``)."""

    budget: Budget
    kind: str

    def graded(self, root: Path, student: str, env: dict[str, str], grade: Callable[..., A]) -> A:
        """``grade(env=...)`` within the student's budget; the notes of the budgets it reached are added to
        the attempt's problem, and the cgroup is removed."""
        env = dict(env, **{FILES_ENV: str(self.budget.files_bytes)})
        group = None
        if self.kind == "rlimits":
            env[RLIMITS_ENV] = f"{self.budget.memory_bytes},{self.budget.files_bytes},{self.budget.processes}"
        else:
            group = Cgroup.make(f"a12-{student}-{os.getpid()}-{time.monotonic_ns()}", self.budget, self.kind)
            env[CGROUP_ENV] = os.pathsep.join(group.procs_files())
        try:
            attempt = grade(env=env)
            if group:
                with open(attempt.log, "a") as log:
                    log.write(
                        f"a12: the submission's jails held at most {group.peak_bytes() / 2**20:.0f} MiB at once\n"
                    )
            notes = (group.notes(self.budget) if group else []) + notebook_notes(root, student, self.budget)
            if notes:
                attempt.problem = "; ".join(([attempt.problem] if attempt.problem else []) + notes)
            return attempt
        finally:
            if group:
                group.remove()


def notebook_notes(root: Path, student: str, budget: Budget) -> list[str]:
    """The notes that the autograded notebook holds (``plugins.slips``), and one when a write of the
    submission failed on a full folder (its outputs say so)."""
    notes = []
    for path in (root / "autograded" / student).glob("*/*.ipynb"):
        with open(path, errors="replace") as notebook:
            text = notebook.read()
        try:
            notes += json.loads(text).get("metadata", {}).get(NOTES, [])
        except ValueError:
            pass
        if any(message in text for message in FILES_FULL):
            notes.append(f"the notebook wrote more than {size_text(budget.files_bytes)} of files in one folder")
    return notes


# --- in the jailed processes ------------------------------------------------------------------------------


def join() -> None:
    """In a process about to enter a jail (still root, where cgroups are used): join the submission's
    cgroup, or take its rlimits. The sandbox's children (preloaded in a warm grader) then share the
    grader's budget."""
    procs = os.environ.pop(CGROUP_ENV, "")
    memory = None
    for path in filter(None, procs.split(os.pathsep)):
        with open(path, "w") as f:
            f.write(str(os.getpid()))
        for name in ("memory.max", "memory.limit_in_bytes"):
            if os.path.exists(limit := os.path.join(os.path.dirname(path), name)):
                text = Path(limit).read_text().strip()
                memory = int(text) if text.isdigit() else None  # v2 writes "max" for no limit
    if memory and (sandbox := sys.modules.get("autograder.grading.sandbox")):
        sandbox.shared_budget_bytes = memory
    if limits := os.environ.pop(RLIMITS_ENV, ""):
        memory, files, processes = map(int, limits.split(","))
        in_use = psutil.Process().memory_info().vms  # address space already mapped (the warm server's imports)
        resource.setrlimit(resource.RLIMIT_AS, (in_use + memory, in_use + memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (files, files))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails instead of ending the process
        if os.geteuid() == 0:  # the jail's user is nobody, whose processes this counts
            resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
