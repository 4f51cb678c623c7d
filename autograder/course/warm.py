"""Warm processes for ``a12 autograde``: the slow imports are paid once per batch, not per submission.

Autograding one student runs three Python programs: nbgrader, the notebook's kernel, and the
independent grader that nbgrader's ``GradeIndependently`` plugin asks for. Each spends seconds importing nbgrader,
PyTorch or torchvision before it does any work. Here a server process (``Server``: ``python -m
autograder.course.warm``) imports them once (``PRELOAD``) and forks a worker for each student, which runs
nbgrader in itself. The worker first forks, while it is still one thread that has run nobody's code:

- the kernel to be, which waits until nbgrader's kernel manager asks for a kernel
  (``WarmProvisioner``, a jupyter_client kernel provisioner, the default in the worker) and then
  becomes that kernel, with the command line, environment and folder it was given, in a session of
  its own, as a started kernel would; the random generators are seeded afresh, as in a new process;
- the grader, which waits on a Unix socket (named by ``A12_GRADER`` in nbgrader's environment) for
  the notebook that ``plugins.GradeIndependently`` sends before the kernel runs, grades it
  (``autograder.grading.grade``) and exits. Like ``python -m autograder.grading.grade``, it has never run student
  code nor loaded the reference answers.

Both enter a jail (``autograder.course.confine``) made for them when their work arrives, unless grading is
unconfined. Plain ``nbgrader autograde`` starts every process fresh, in a jail too: the same
provisioner starts the kernel under ``bwrap``, and the plugin starts ``python -m autograder.grading.grade``.
"""

import gc
import importlib
import json
import os
import pickle
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from importlib.metadata import entry_points
from pathlib import Path

import psutil
from jupyter_client.provisioning import LocalProvisioner

from autograder import GRADER_ENV
from autograder.course import budget, confine, environment
from autograder.course.coursedir import CourseError
from autograder.course.plugins.execute import CONFINE_ENV, PROVISIONER

PRELOAD = [
    "nbgrader.apps.nbgraderapp",
    "autograder.course.plugins",
    "autograder.grading.grade",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "torch",
    "torchvision",
    "matplotlib.font_manager",
]

_kernel_to_be: tuple[int, int] | None = None  # (pid, the pipe to send it its command line), in a worker
_imported_env: dict[str, str] = {}  # what those imports set in the server's environment


class Server:
    """The warm server: ``run`` has it fork a worker that runs nbgrader. Use it as a context manager."""

    def __init__(self, folder: Path, env: dict[str, str]):
        """A server in ``env``: the workers' environment (its ``PYTHONWARNINGS`` makes the kernels' warning filters)."""
        if not entry_points(group="jupyter_client.kernel_provisioners", name=PROVISIONER):
            raise CourseError(
                f"the kernel provisioner {PROVISIONER} is not installed: run `pip install -e .` "
                "in the course package again"
            )
        self.address = str(folder / "warm.sock")
        with socket.socket(socket.AF_UNIX) as listener:  # requests wait here while the server imports
            listener.bind(self.address)
            listener.listen(64)
            # -P -s: nothing in the working folder or the user's site-packages shadows a module
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-s", "-m", "autograder.course.warm", str(listener.fileno())],
                stdin=subprocess.PIPE,
                pass_fds=[listener.fileno()],
                env=env,
                cwd=folder,
            )

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self._process.stdin.close()  # the server's signal to end
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def run(self, root: Path, argv: list[str], env: dict[str, str], log: Path, limit_s: float) -> int | None:
        """``nbgrader <argv>`` in ``root`` with ``env``, its output appended to ``log``: its exit status,
        or None if it was killed, with everything it started, ``limit_s`` seconds after it started."""
        with socket.socket(socket.AF_UNIX) as connection:
            connection.connect(self.address)
            connection.sendall(pickle.dumps((str(root), argv, env, str(log), os.path.dirname(self.address))))
            connection.shutdown(socket.SHUT_WR)
            reader = connection.makefile("rb")
            started = reader.readline()  # the worker's process id, once the server has forked it
            if not started:
                raise RuntimeError(f"the warm server failed (exit status {self._process.poll()}); see its output")
            connection.settimeout(limit_s)
            try:
                ended = reader.readline()
            except TimeoutError:
                kill_tree(int(started))
                return None
            if ended:
                return int(ended)
            kill_tree(int(started))  # what the worker started, if it died
            return -1


def kill_tree(pid: int) -> None:
    """Kill a process and all its descendants (a kernel runs in a session of its own)."""
    try:
        parent = psutil.Process(pid)
        processes = parent.children(recursive=True) + [parent]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=10)


# --- the server ----------------------------------------------------------------------------------


def serve(listener_fd: int) -> None:
    """Import ``PRELOAD``, then fork a worker for each connection, until standard input closes."""
    before = dict(os.environ)
    for name in PRELOAD:
        importlib.import_module(name)
    _imported_env.update({k: v for k, v in os.environ.items() if before.get(k) != v})
    if confine.unavailable() is None:
        confine.can_enter()  # tried once here, for every worker
    gc.collect()
    gc.freeze()  # the collector of every process forked from here leaves these objects (and their pages) alone
    listener = socket.socket(fileno=listener_fd)
    while True:
        ready = select.select([listener, sys.stdin], [], [], 1.0)[0]
        while _reap():
            pass
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1):
            return
        if listener in ready:
            connection, _ = listener.accept()
            if os.fork() == 0:
                listener.close()
                _exit_after(_report_on, connection)
            connection.close()


def _reap() -> int:
    try:
        return os.waitpid(-1, os.WNOHANG)[0]
    except ChildProcessError:
        return 0


def _report_on(connection: socket.socket) -> int:
    """In a worker: read the request, report this process's id, run nbgrader, report its exit status."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    request = pickle.loads(_receive_all(connection.recv))
    connection.sendall(f"{os.getpid()}\n".encode())
    code = _worker(*request, report_fd=connection.fileno())
    connection.sendall(f"{code}\n".encode())
    return code


def _exit_after(function, *args) -> None:
    """End this forked process when ``function(*args)`` returns, with its exit status."""
    code = 1
    try:
        code = function(*args) or 0
    except SystemExit as done:
        code = _exit_status(done)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


# --- the worker: nbgrader ------------------------------------------------------------------------


def _worker(root: str, argv: list[str], env: dict[str, str], log: str, folder: str, report_fd: int) -> int:
    global _kernel_to_be
    out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.chdir(root)
    _take_environment(env)
    address = os.path.join(folder, f"grader-{os.getpid()}.sock")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(address)
        listener.listen(1)
        grader = _fork(_grade_one, listener, close=report_fd)
    receiver, sender = os.pipe()
    kernel = _fork(_become_kernel, receiver, sender, close=report_fd)
    os.close(receiver)
    _kernel_to_be = (kernel, sender)
    os.environ[GRADER_ENV] = address
    os.environ["JUPYTER_DEFAULT_PROVISIONER_NAME"] = PROVISIONER
    try:
        from nbgrader.apps.nbgraderapp import NbGraderApp

        NbGraderApp.launch_instance(argv=argv)
        return 0
    except SystemExit as done:
        return _exit_status(done)
    finally:
        if _kernel_to_be:  # never asked for
            os.close(_kernel_to_be[1])
        for pid in (grader, kernel):
            _end(pid)
        os.unlink(address)


def _exit_status(done: SystemExit) -> int:
    return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)


def _end(pid: int) -> None:
    """Stop a child process and its descendants, unless it has ended and been waited for."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
    except ChildProcessError:
        return  # the kernel's provisioner has waited for it
    kill_tree(pid)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _fork(target, *args, close: int) -> int:
    """Run ``target(*args)`` in a child process, without the file ``close``; return the child's pid."""
    pid = os.fork()
    if pid:
        return pid
    os.close(close)
    _exit_after(target, *args)


def _take_environment(env: dict[str, str]) -> None:
    """Use ``env``, with what the preloaded modules set when they were imported (as they would now)."""
    os.environ.clear()
    os.environ.update(_imported_env)
    os.environ.update(env)


def _as_a_new_process() -> None:
    """Seed the random generators and take the number of threads from the environment, as a Python
    process started with this environment would. (The warning filters are the server's, made from
    the same ``PYTHONWARNINGS``: ``WarmProvisioner`` sees to it.)"""
    import numpy
    import torch

    random.seed()
    numpy.random.seed()
    torch.seed()
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        torch.set_num_threads(max(1, int(os.environ["OMP_NUM_THREADS"])))


# --- the grader ----------------------------------------------------------------------------------


def _grade_one(listener: socket.socket) -> None:
    """Answer one request: a jail to enter (or none) and a notebook in, ``autograder.grading.grade``'s JSON
    report out. Give up if the worker ends first."""
    worker = os.getppid()
    listener.settimeout(1.0)
    while True:
        try:
            connection, _ = listener.accept()
            break
        except TimeoutError:
            if os.getppid() != worker:
                return
    listener.close()
    connection.settimeout(None)
    with connection:
        header, _, notebook = _receive_all(connection.recv).partition(b"\n")
        jail = json.loads(header)["jail"]
        budget.join()  # the submission's cgroup, or its rlimits
        if jail is not None:
            confine.enter(jail, keep_fds=(connection.fileno(),))
        os.chdir(tempfile.mkdtemp(prefix="a12-grader-"))
        Path("submission.ipynb").write_bytes(notebook)
        _as_a_new_process()
        warnings.simplefilter("ignore")
        from autograder.grading.grade import grade_notebook

        start = time.monotonic()
        connection.sendall(grade_notebook("submission.ipynb").to_json().encode())
    print(f"a12: the warm grader graded the notebook in {time.monotonic() - start:.1f} s", file=sys.stderr)


def _receive_all(receive) -> bytes:
    chunks = []
    while chunk := receive(65536):
        chunks.append(chunk)
    return b"".join(chunks)


# --- the kernel ----------------------------------------------------------------------------------


def _become_kernel(receiver: int, sender: int) -> None:
    """Wait for a kernel's command line, environment, folder and jail; then be that kernel."""
    os.setsid()
    os.close(sender)
    payload = _receive_all(lambda size: os.read(receiver, size))
    if not payload:
        return
    request = pickle.loads(payload)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # nothing of the kernel's reaches the worker's log
        os.dup2(null, fd)
    os.close(null)
    budget.join()  # the submission's cgroup, or its rlimits
    if request["jail"] is not None:
        confine.enter(request["jail"])
        os.setsid()  # a new process inside the jail: a session of its own, as a started kernel has
    for name in [m for m in sys.modules if m.startswith("autograder.") and m not in confine.KERNEL_MODULES]:
        del sys.modules[name]  # the kernel imports only what its jail shows of the package
    os.chdir(request["cwd"])
    _take_environment(request["env"])
    _as_a_new_process()
    sys.argv = [request["cmd"][2]] + request["cmd"][3:]
    if os.environ.get("JPY_PARENT_PID"):  # read when ipykernel was imported, before this environment
        sys.argv.append(f"--IPKernelApp.parent_handle={os.environ['JPY_PARENT_PID']}")
    sys.path.insert(0, request["cwd"])
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


class _Child:
    """A ``subprocess.Popen`` look-alike for a forked child process."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
            except ChildProcessError:
                self.returncode = 0
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class WarmProvisioner(LocalProvisioner):
    """Launch nbgrader's kernel with an allow-listed environment, in a jail when ``A12_CONFINE`` is
    set (its working folder a scratch copy of the student's folder, without notebooks).

    In a warm worker the first IPython kernel is the one forked at the worker's start, handed the
    command line; any other (a restart, another kernel, other warning options, which Python applies
    at its start, or a jail this user cannot enter from a fork) starts as usual, under ``bwrap``."""

    _jail: confine.Holder | None = None
    _scratch: str | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs):
        global _kernel_to_be
        given = dict(kwargs.get("env") or os.environ)
        if "MNIST_ROOT" not in given and os.path.isdir("data/MNIST"):  # the course's (nbgrader runs in it)
            given["MNIST_ROOT"] = os.path.abspath("data")
        confined = given.get(CONFINE_ENV) == "1"
        cwd = str(kwargs.get("cwd") or os.getcwd())
        jail = self._make_jail(cmd, cwd, given) if confined else None
        env = environment.for_kernel(given, home="/tmp" if confined else self._scratch_home())
        if jail:  # ipykernel would take the jail's init for a dead parent; the jail ends with nbgrader anyway
            env.pop("JPY_PARENT_PID", None)
        ipython = len(cmd) > 3 and cmd[1:3] == ["-m", "ipykernel_launcher"] and cmd[0] == sys.executable
        options = [option for option in env.get("PYTHONWARNINGS", "").split(",") if option]
        warm = _kernel_to_be and ipython and options == sys.warnoptions  # the server's, from its PYTHONWARNINGS
        if not warm or (jail and not confine.can_enter()):
            if jail:  # (jupyter_client sets JPY_PARENT_PID again)
                cmd = jail.command(cmd + ["--IPKernelApp.parent_handle=0"] if ipython else cmd)
            kwargs.update(env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return await super().launch_kernel(cmd, **kwargs)
        (pid, sender), _kernel_to_be = _kernel_to_be, None
        if not kwargs.get("independent") and not jail:
            env["JPY_PARENT_PID"] = str(os.getpid())
        self._jail = jail.start() if jail else None
        with os.fdopen(sender, "wb") as pipe:
            pipe.write(pickle.dumps({"cmd": cmd, "env": env, "cwd": cwd, "jail": self._jail and self._jail.pid}))
        self.process = _Child(pid)
        self.pid = self.pgid = pid
        self.cwd = cwd
        return self.connection_info

    def _scratch_home(self) -> str:
        self._scratch = self._scratch or tempfile.mkdtemp(prefix="a12-kernel-")
        return self._scratch

    def _make_jail(self, cmd: list[str], cwd: str, env: dict[str, str]) -> confine.Jail:
        """The kernel's jail: a scratch copy of its folder in its place, its connection folder, MNIST."""
        scratch = self._scratch_home()
        shutil.copytree(cwd, scratch, dirs_exist_ok=True, symlinks=True, ignore=shutil.ignore_patterns("*.ipynb"))
        connection = os.path.dirname(os.path.abspath(cmd[cmd.index("-f") + 1]))
        for folder in (scratch, connection):
            confine.owned_by_jail(folder)
        mnist = [env["MNIST_ROOT"]] if os.path.isdir(env.get("MNIST_ROOT", "")) else []
        return confine.Jail(
            readable=mnist, writable=[(scratch, cwd), (connection, connection)], package=confine.KERNEL_FILES
        )

    async def kill(self, restart: bool = False) -> None:
        await super().kill(restart)
        self._close_jail()

    async def terminate(self, restart: bool = False) -> None:
        await super().terminate(restart)
        self._close_jail()

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart)
        self._close_jail()
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _close_jail(self) -> None:
        if self._jail:
            self._jail.close()  # and every process of the submission with it
            self._jail = None


if __name__ == "__main__":
    from autograder.course import warm  # the module itself, whose globals the provisioner shares

    warm.serve(int(sys.argv[1]))
