"""Confinement of student code at the operating-system level, with bubblewrap (``bwrap``).

Every process that runs student code while grading, the notebook's kernel and the independent
grader, runs in a *jail*: new mount, PID, network, IPC and UTS namespaces made by ``bwrap``, where

- the system and the Python installation are visible read-only, and nothing else of the machine:
  not the course folder, not the instructor's home folder, not other students' files;
- of the course it sees only what it is given (``Jail.binds``): the kernel its own scratch copy of
  the student's folder (writable), its connection folder and the MNIST files; the grader its
  package;
- it writes only to its working folder, a private ``/tmp`` and ``/var/tmp``: tmpfs of ``Jail.size``
  bytes each (the files budget; their pages count in the writer's memory cgroup), its working folder
  showing the scratch copy's files read-only; and to its other scratch folders;
- it has no network (the kernel talks to nbgrader over Unix sockets, ZeroMQ's IPC transport);
- it is PID 2 or more of its own PID namespace: when the jail's first process (``bwrap``'s init)
  ends, the kernel ends, which kills every process that the student's code started;
- it runs as ``nobody`` when the grader is root, and without any capability otherwise.

A cold process enters its jail with ``Jail.command`` (bwrap runs it). A warm process, forked from
a server that has imported PyTorch already (``autograder.course.warm``), enters one that ``Jail.start``
holds open, with ``enter`` (``setns`` into its namespaces, then a fork into its PID namespace).
"""

import ctypes
import functools
import json
import os
import shutil
import signal
import site
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder import PACKAGE, PACKAGE_DIR
from autograder.limits import FILES_BYTES

NOBODY = 65534
SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]
# The files of the package that the kernel may import: what the hidden tests call (``score``).
KERNEL_FILES = ["__init__.py", "limits.py", "notebook.py", "report.py"]
# The modules those files hold.
KERNEL_MODULES = [
    PACKAGE if name == "__init__.py" else f"{PACKAGE}.{name.removesuffix('.py')}" for name in KERNEL_FILES
]
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install "
    "bubblewrap`), or pass --unconfined to grade without it (not safe against hostile notebooks)"
)
FILES_ENV = "A12_FILES_BYTES"  # the size of each tmpfs of a jail (``a12 autograde`` sets each submission's)
_NAMESPACES = ["user", "ipc", "uts", "net", "pid", "mnt"]  # the user namespace first, the mount one last


class ConfinementError(RuntimeError):
    """The jail cannot be made; the message says what to do."""


@functools.cache
def unavailable() -> str | None:
    """Why jails cannot be made on this machine (``None``: they can); tries one, once per process."""
    if not sys.platform.startswith("linux"):
        return f"confinement needs Linux namespaces, and this is {sys.platform}: " + INSTALL_HINT
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed: " + INSTALL_HINT
    done = subprocess.run(["bwrap", *Jail().options(), "--", "/bin/true"], capture_output=True, text=True)
    if done.returncode != 0:
        return (
            f"bubblewrap cannot make a jail here ({done.stderr.strip() or done.returncode}); unprivileged user "
            "namespaces may be switched off (sysctl kernel.unprivileged_userns_clone=1), or " + INSTALL_HINT
        )
    return None


def files_budget() -> int:
    """The size of each writable tmpfs of a jail: ``A12_FILES_BYTES``, or the default files budget."""
    return int(os.environ.get(FILES_ENV) or FILES_BYTES)


def python_folders() -> list[str]:
    """The folders of this Python installation and its packages, as real paths (not ``PYTHONPATH``'s)."""
    folders = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages())}
    folders.add(os.path.dirname(os.path.realpath(sys.executable)))
    return sorted(f for f in folders if not any(f != o and f.startswith(o + os.sep) for o in folders))


@dataclass
class Jail:
    """What a jail shows of this machine besides the system and Python: folders to read, folders to
    write (``writable``: (folder, where the jail sees it); the first is the working folder, a tmpfs of
    ``size`` bytes showing that folder's files read-only), and the package's files (``package``: all of
    them, or a list of names)."""

    readable: list[str] = field(default_factory=list)
    writable: list[tuple[str, str]] = field(default_factory=list)
    package: list[str] | None = None
    size: int = field(default_factory=files_budget)

    def options(self) -> list[str]:
        """bwrap's options for this jail."""
        # As root, no user namespace: the jail's processes become nobody, whom a user namespace would not map.
        unshare = (
            ["--unshare-all"]
            if os.geteuid()
            else ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        )
        options = [
            *unshare,
            "--die-with-parent",
            "--new-session",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            *["--perms", "1777", "--size", str(self.size), "--tmpfs", "/tmp"],
            *["--perms", "1777", "--size", str(self.size), "--tmpfs", "/var/tmp"],
        ]
        made, bound = {"/", "/var", "/tmp", "/var/tmp"}, ["/proc", "/dev"]

        def mount(kind: str, source: str, target: str, before: tuple[str, ...] = ()) -> None:
            for parent in map(str, reversed(Path(target).parents)):  # bwrap would make them readable by root only
                if parent not in made and not any(parent == b or parent.startswith(b + os.sep) for b in bound):
                    options.extend(["--perms", "0755", "--dir", parent])
                    made.add(parent)
            options.extend([*before, kind, source, target] if source else [*before, kind, target])
            (made.add(target) if kind == "--tmpfs" else bound.append(target))

        for path in SYSTEM:
            if os.path.islink(path):
                mount("--symlink", os.readlink(path), path)
            elif os.path.isdir(path):
                mount("--ro-bind", path, path)
        for path in python_folders():
            mount("--ro-bind", path, path)
        if self.package is None:
            mount("--ro-bind", str(PACKAGE_DIR), str(PACKAGE_DIR))
        else:  # hidden, but for the files the jail may read
            mount("--tmpfs", "", str(PACKAGE_DIR))
            for name in self.package:
                options.extend(["--ro-bind", str(PACKAGE_DIR / name), str(PACKAGE_DIR / name)])
        for path in self.readable:
            mount("--ro-bind", path, path)
        for number, (source, target) in enumerate(self.writable):
            if number:
                mount("--bind", source, target)
                continue
            mount("--tmpfs", "", target, ("--perms", "1777", "--size", str(self.size)))
            for name in sorted(os.listdir(source)):
                options.extend(["--ro-bind", os.path.join(source, name), os.path.join(target, name)])
        return options + ["--chdir", self.writable[0][1] if self.writable else "/tmp"]

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run in this jail, as ``nobody`` when this is root."""
        # (bwrap itself drops every capability of an unprivileged user's process)
        drop = (
            [
                "setpriv",
                f"--reuid={NOBODY}",
                f"--regid={NOBODY}",
                "--clear-groups",
                "--inh-caps=-all",
                "--no-new-privs",
                "--",
            ]
            if os.geteuid() == 0
            else []
        )
        return ["bwrap", *self.options(), "--", *drop, "setsid", "--wait", *argv]  # a session of its own

    def start(self) -> "Holder":
        """Make the jail, held open by a waiting process, for a warm process to ``enter``."""
        info_reader, info_writer = os.pipe()
        process = subprocess.Popen(
            ["bwrap", *self.options(), "--info-fd", str(info_writer), "--", "/bin/sh", "-c", "echo ready; exec cat"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            pass_fds=[info_writer],
        )
        os.close(info_writer)
        with os.fdopen(info_reader, "rb") as info:
            text = info.read()  # bwrap closes it once the jail is made
        ready = process.stdout.readline()
        try:
            init = json.loads(text)["child-pid"]  # bwrap's init, PID 1 of the jail; the shell is its child
            with open(f"/proc/{init}/task/{init}/children") as children:
                held = int(children.read().split()[0])
        except (ValueError, KeyError, IndexError, OSError):
            held = None
        if ready != b"ready\n" or held is None:
            process.kill()
            process.wait()
            raise ConfinementError(f"bubblewrap did not start a jail (exit status {process.poll()})")
        return Holder(process, held)


@dataclass
class Holder:
    """A jail held open: its bwrap process, and the pid (outside) of the first process inside."""

    process: subprocess.Popen
    pid: int

    def close(self) -> None:
        """End the jail, and with it every process inside."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def can_enter() -> bool:
    """Whether a forked process can enter a jail here (``enter``); a root user can, others where the
    system lets them join user namespaces. Tried once per process."""
    global _can_enter
    if _can_enter is None:
        holder = Jail().start()
        pid = os.fork()
        if pid == 0:
            try:
                enter(holder.pid)
                os._exit(0)
            except BaseException:
                os._exit(1)
        _can_enter = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        holder.close()
    return _can_enter


_can_enter: bool | None = None


def unreadable_by_jail(folder: str | Path) -> list[Path]:
    """What under ``folder`` the jail's ``nobody`` could not read (as root; others read their own files)."""
    if os.geteuid() != 0:
        return []
    folder = Path(folder)
    return [p for p in [folder, *folder.rglob("*")] if not p.stat().st_mode & (0o005 if p.is_dir() else 0o004)]


def owned_by_jail(path: str | Path) -> None:
    """Make a folder tree (and its files) the jail's user's, so that ``nobody`` can write there."""
    if os.geteuid() != 0:
        return
    os.chmod(path, 0o711)  # bwrap, still root but without capabilities, changes into it
    for folder, _, files in os.walk(path):
        os.chown(folder, NOBODY, NOBODY)
        for name in files:
            os.chown(os.path.join(folder, name), NOBODY, NOBODY, follow_symlinks=False)


def seal(folder: str | Path) -> None:
    """Take back a folder from the jail's user: it may use what is there, and make nothing new (as root)."""
    if os.geteuid() != 0:
        return
    os.chown(folder, 0, 0)
    os.chmod(folder, 0o755)


# --- entering a jail from a forked process -------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 38, 24, 47, 4


def _check(result: int, what: str) -> None:
    if result != 0:
        raise ConfinementError(f"{what} failed: {os.strerror(ctypes.get_errno())}")


def _drop_privileges(root: bool) -> None:
    """Become ``nobody`` (``root``: this was root outside the jail), or drop every capability (in the
    jail's user namespace); then never gain any again."""
    for capability in range(64):
        _libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)  # past the last one it fails; that is fine
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if root:
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    else:
        header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
        data = (ctypes.c_uint32 * 6)()  # effective, permitted and inheritable sets of 64 capabilities: none
        _check(_libc.capset(header, data), "dropping capabilities")
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def enter(pid: int, keep_fds: tuple[int, ...] = ()) -> None:
    """Move this single-threaded process into the jail whose first process is ``pid``.

    Closes every file but 0-2 and ``keep_fds``, joins the jail's namespaces, drops privileges and
    forks: the child returns, inside the jail's PID namespace; this process waits for it, passes
    on the signals it gets, and exits with its status.
    """
    for fd in [int(name) for name in os.listdir("/proc/self/fd")]:
        if fd > 2 and fd not in keep_fds:
            try:
                os.close(fd)
            except OSError:
                pass  # the folder listing's own
    root = os.geteuid() == 0
    own = {name: os.readlink(f"/proc/self/ns/{name}") for name in _NAMESPACES}
    files = {}
    for name in _NAMESPACES:
        if os.readlink(f"/proc/{pid}/ns/{name}") != own[name]:
            files[name] = os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY)
    if "mnt" not in files or "pid" not in files:
        raise ConfinementError(f"process {pid} is not in a jail")
    jail_root = os.open(f"/proc/{pid}/root", os.O_RDONLY)  # the jail's root folder, as its processes see it
    for name, fd in files.items():
        _check(_libc.setns(fd, 0), f"joining the jail's {name} namespace")
        os.close(fd)
    os.fchdir(jail_root)
    os.chroot(".")
    os.close(jail_root)
    _drop_privileges(root)
    child = os.fork()
    if child == 0:
        return
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, lambda number, frame: os.kill(child, number))
    while True:
        try:
            status = os.waitpid(child, 0)[1]
            break
        except InterruptedError:
            continue
    os._exit(os.waitstatus_to_exitcode(status) % 256)
