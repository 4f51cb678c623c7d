"""Run the observing half of checks in isolated child processes.

The children are forked before this process loads the reference answers (``python -m
autograder.grading.grade`` starts fresh for every notebook), so no student code can reach them in memory;
the data they need from the reference comes through a pipe afterwards. Each child gets a CPU-time
limit (robust to a busy machine) under an overall wall-clock limit, a memory limit, no terminal output, a private working folder, and an audit hook that refuses
subprocesses, sockets, ctypes, walking the garbage collector, writing files outside its folder and
reading files outside Python's installation. It sends its observations back as bytes that the
parent loads with ``torch.load(weights_only=True)``: tensors, numbers, strings and containers only.
"""

import multiprocessing
import multiprocessing.connection
import os
import resource
import shutil
import signal
import sys
import tempfile
import time

import torch

from autograder import PACKAGE, PACKAGE_DIR
from autograder.grading.checks import Check, all_checks
from autograder.grading.namespace import student_namespace
from autograder.grading.submission import Submission
from autograder.grading.wire import Outcome, describe_error, dump, load
from autograder.limits import CHECK_CPU_S, CHECK_MEMORY_BYTES, CHECKS_S

MAX_PAYLOAD = 256_000_000
# The memory budget that the children share with their jail (a cgroup; ``autograder.course.budget.join`` sets
# it): each may then add up to all of it to what it started with, instead of ``memory_bytes``; the cgroup
# bounds them together.
shared_budget_bytes: int | None = None
CHECKS = {check.item: check for check in all_checks()}  # imported here, before any student code runs
torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # its first use imports for a second: do it once, here
# --- the child -------------------------------------------------------------------------------

_BLOCKED_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "os.kill",
        "os.killpg",
        "signal.pthread_kill",
        "resource.setrlimit",
        "resource.prlimit",
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "ctypes.dlopen",
        "ctypes.dlsym",
        "ctypes.cdata",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys._current_frames",
        "sys.settrace",
        "sys.setprofile",
        "os.remove",
        "os.rmdir",
        "os.rename",
        "os.truncate",
        "os.chmod",
        "os.link",
        "os.symlink",
        "shutil.rmtree",
    }
)
_PATH_EVENTS = frozenset({"open", "os.listdir", "os.scandir"})


def _audit_hook(work_dir: str):
    """An audit hook that confines file access; see the module docstring."""
    package = str(PACKAGE_DIR)
    readable = tuple(
        {
            os.path.realpath(p)
            for p in (
                sys.prefix,
                sys.base_prefix,
                sys.exec_prefix,
                "/usr",
                "/lib",
                "/lib64",
                "/etc",
                "/proc",
                "/sys",
                "/dev",
            )
            if p
        }
    )
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def hook(event: str, args: tuple) -> None:
        if event in _BLOCKED_EVENTS:
            raise PermissionError(f"not allowed while grading: {event}")
        if event not in _PATH_EVENTS or not args or not isinstance(args[0], (str, bytes)):
            return
        path = os.path.realpath(os.fsdecode(args[0]))
        if path.startswith(work_dir):
            return
        writing = event == "open" and (
            (isinstance(args[1], str) and any(c in args[1] for c in "wax+"))
            or (isinstance(args[2], int) and args[2] & write_flags)
        )
        if writing or path.startswith(package) or not path.startswith(readable):
            raise PermissionError(f"not allowed while grading: {event} {os.fsdecode(args[0])}")

    return hook


def _confine(memory_bytes: int, cpu_s: int, work_dir: str) -> None:
    """Limits for the child: its own process group, CPU time, memory, file size, no output, a private folder."""
    os.setpgid(0, 0)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    page = os.sysconf("SC_PAGE_SIZE")
    with open("/proc/self/statm") as statm:
        in_use = int(statm.read().split()[0]) * page
    limit = in_use + (memory_bytes if shared_budget_bytes is None else shared_budget_bytes)
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]  # the jail's own (rlimits instead of a cgroup)
    limit = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (16_000_000, 16_000_000))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    torch.set_num_threads(1)
    os.chdir(work_dir)
    sys.addaudithook(_audit_hook(work_dir))


class _NoReference:
    """An import hook that refuses to load the reference answers."""

    def find_spec(self, name, path=None, target=None):
        if name == f"{PACKAGE}.reference" or name.startswith(f"{PACKAGE}.reference."):
            raise ImportError("the reference answers cannot be imported while grading")
        return None


def _child(
    item: str, submission: Submission, data_receiver, sender, memory_bytes: int, cpu_s: int, work_dir: str
) -> None:
    try:
        _confine(memory_bytes, cpu_s, work_dir)
        sys.meta_path.insert(0, _NoReference())
        check = CHECKS[item]
        data = load(data_receiver.recv_bytes())
        for name in [m for m in sys.modules if m.partition(".")[0] == PACKAGE]:
            del sys.modules[name]  # what runs here keeps its references; student code cannot look them up
        ns = student_namespace(submission)
        payload = dump({"observations": check.observe(ns, submission, data)})
    except BaseException as error:  # the student's code may raise anything, SystemExit included
        try:
            payload = dump({"error": describe_error(error)})
        except BaseException:
            payload = b""
    try:
        sender.send_bytes(payload)
    finally:
        os._exit(0)


# --- the parent ------------------------------------------------------------------------------


def _stop(process) -> None:
    if process.is_alive():
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
    process.join()


def _ended(exitcode: int | None, cpu_s: int) -> str:
    """Why a child ended without sending its observations, for the student."""
    if exitcode == -signal.SIGXCPU:
        return f"the student's code used more than {cpu_s} s of CPU time (an endless loop?)"
    if exitcode == -signal.SIGKILL and shared_budget_bytes is not None:
        return (
            "the student's code was ended: with the notebook's other processes it used more than the "
            f"submission's memory budget of {shared_budget_bytes / 2**30:.3g} GiB"
        )
    if exitcode == -signal.SIGKILL:
        return "the student's code was killed (out of memory?)"
    return f"the student's code ended the process (exit code {exitcode})"


def observe_isolated(
    checks: list[Check],
    submission: Submission,
    timeout_s: float = CHECKS_S,
    cpu_s: int = CHECK_CPU_S,
    memory_bytes: int = CHECK_MEMORY_BYTES,
) -> dict[str, Outcome]:
    """Observe every check in its own child process, all at once, each within ``cpu_s`` of CPU time;
    all must end within ``timeout_s``.

    Returns, per item, ``{"observations": ...}`` or ``{"error": "why there are none"}``, with the
    ``"seconds"`` from the start until that child reported.
    """
    work_dirs = [os.path.realpath(tempfile.mkdtemp(prefix="a12-check-")) for _ in checks]
    try:
        return _observe(checks, submission, timeout_s, cpu_s, memory_bytes, work_dirs)
    finally:
        for work_dir in work_dirs:  # what the children left there goes with them
            shutil.rmtree(work_dir, ignore_errors=True)


def _observe(
    checks: list[Check], submission: Submission, timeout_s: float, cpu_s: int, memory_bytes: int, work_dirs: list[str]
) -> dict[str, Outcome]:
    context = multiprocessing.get_context("fork")
    running, data_senders = {}, []
    for check, work_dir in zip(checks, work_dirs):
        receiver, sender = context.Pipe(duplex=False)
        data_receiver, data_sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_child,
            daemon=True,
            args=(check.item, submission, data_receiver, sender, memory_bytes, cpu_s, work_dir),
        )
        process.start()
        sender.close()
        data_receiver.close()
        running[receiver] = (check.item, process)
        data_senders.append(data_sender)
    for check, data_sender in zip(checks, data_senders):  # only now may this process load the reference
        try:
            data_sender.send_bytes(dump(check.prepare()))
        except OSError:
            pass  # that child has already ended; its outcome says why
        data_sender.close()
    outcome: dict[str, Outcome] = {}
    started = time.monotonic()
    deadline = started + timeout_s
    while running:
        ready = multiprocessing.connection.wait(list(running), timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        for receiver in ready:
            item, process = running.pop(receiver)
            try:
                payload = receiver.recv_bytes(MAX_PAYLOAD)
                outcome[item] = load(payload) if payload else {"error": "the checks could not record anything"}
            except (EOFError, OSError):
                process.join(5)
                outcome[item] = {"error": _ended(process.exitcode, cpu_s)}
            except Exception as error:
                outcome[item] = {"error": f"the observations could not be read back ({describe_error(error)})"}
            outcome[item]["seconds"] = time.monotonic() - started
            _stop(process)
    for item, process in running.values():
        _stop(process)
        outcome[item] = {"error": f"the student's code did not finish within {timeout_s:g} s", "seconds": timeout_s}
    return outcome
