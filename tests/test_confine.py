"""The jails that student code runs in (autograder.course.confine), cold (``bwrap`` runs the command) and warm
(a forked process enters a held jail). CI installs bubblewrap, and there these tests must run."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from autograder.course import confine, environment

from .conftest import ROOT

if confine.unavailable() is not None:
    if os.environ.get("CI"):
        raise RuntimeError(f"CI must test confinement: {confine.unavailable()}")  # never skipped there
    pytest.skip(f"no confinement here: {confine.unavailable()}", allow_module_level=True)

PROBE = r"""
import json, os, socket, sys
seen = {"uid": os.getuid(), "pid": os.getpid(), "cwd": os.getcwd(), "environment": sorted(os.environ)}
for name, path in json.loads(sys.argv[1]).items():
    seen[name] = sorted(os.listdir(path)) if os.path.isdir(path) else os.path.exists(path)
for name, path in [("scratch", "written"), ("tmp", "/tmp/written"), ("package", sys.argv[2] + "/notebook.py"),
                   ("python", sys.prefix + "/written")]:
    try:
        with open(path, "a") as f:
            f.write("x")
        seen["writes " + name] = True
    except OSError:
        seen["writes " + name] = False
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[3])), timeout=2)
    seen["network"] = True
except OSError:
    seen["network"] = False
print(json.dumps(seen))
"""


@pytest.fixture
def places(tmp_path):
    """A scratch folder, a course-like folder with a secret, and a listening port on this machine's loopback."""
    scratch, secret = tmp_path / "scratch", tmp_path / "course" / "gradebook.db"
    scratch.mkdir()
    secret.parent.mkdir()
    secret.write_text("grades")
    confine.owned_by_jail(scratch)
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    yield scratch, secret, listener.getsockname()[1]
    listener.close()


def look(jail_argv, scratch: Path, secret: Path, port: int) -> dict:
    paths = {
        "course": str(secret),
        "reference": str(confine.PACKAGE_DIR / "reference.py"),
        "home": str(Path.home()),
        "repository": str(ROOT / "source"),
    }
    done = subprocess.run(
        jail_argv([sys.executable, "-c", PROBE, json.dumps(paths), str(confine.PACKAGE_DIR), str(port)]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def check_confined(seen: dict, cwd: str) -> None:
    assert seen["cwd"] == cwd
    assert not seen["course"] and not seen["reference"] and not seen["repository"]
    python = [Path(folder) for folder in confine.python_folders()]  # the jail makes the folders above these
    assert all(any(Path.home() / name in [p, *p.parents] for p in python) for name in seen["home"] or [])
    assert seen["writes scratch"] and seen["writes tmp"]
    assert not seen["writes package"] and not seen["writes python"]
    assert not seen["network"]
    assert seen["pid"] < 10  # a PID namespace of its own
    if os.geteuid() == 0:
        assert seen["uid"] == confine.NOBODY


def test_a_cold_jail(places):
    scratch, secret, port = places
    jail = confine.Jail(writable=[(str(scratch), "/work/student")], package=confine.KERNEL_FILES)
    check_confined(look(jail.command, scratch, secret, port), "/work/student")
    assert not (scratch / "written").exists()  # the working folder is a tmpfs showing the scratch's files


def test_each_folder_a_jail_writes_holds_its_files_budget_only(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "given.txt").write_text("given")
    confine.owned_by_jail(scratch)
    write = (
        "import os, sys\n"
        "for folder in ('.', '/tmp', '/var/tmp'):\n"
        "    try:\n"
        "        with open(os.path.join(folder, 'big'), 'wb') as f:\n"
        "            f.write(b'x' * 3_000_000)\n"
        "        print(folder, 'wrote 3 MB')\n"
        "    except OSError as error:\n"
        "        print(folder, error.strerror)\n"
        "print(open('given.txt').read())\n"
        "try:\n"
        "    open('given.txt', 'a').write('more')\n"
        "except OSError as error:\n"
        "    print('given.txt', error.strerror)\n"
    )
    jail = confine.Jail(writable=[(str(scratch), "/work/student")], size=2_000_000)
    done = subprocess.run(jail.command([sys.executable, "-c", write]), capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == [
        ". No space left on device",
        "/tmp No space left on device",
        "/var/tmp No space left on device",
        "given",
        "given.txt Read-only file system",
    ], done.stderr
    assert sorted(p.name for p in scratch.iterdir()) == ["given.txt"]


def test_the_kernel_sees_only_the_files_of_the_package_it_may_import():
    jail = confine.Jail(package=confine.KERNEL_FILES)
    done = subprocess.run(
        jail.command(
            [sys.executable, "-c", "import os, sys; print(sorted(os.listdir(sys.argv[1])))", str(confine.PACKAGE_DIR)]
        ),
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == str(sorted(confine.KERNEL_FILES))


warm_only = pytest.mark.skipif(
    not confine.can_enter(),
    reason="this user cannot join a jail's namespaces from a fork; kernels and graders start cold in their jails",
)


@warm_only
def test_a_warm_process_enters_a_held_jail(places, tmp_path):
    scratch, secret, port = places
    holder = confine.Jail(writable=[(str(scratch), str(scratch))], package=confine.KERNEL_FILES).start()
    out = tmp_path / "out.json"
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        try:
            confine.enter(holder.pid, keep_fds=(writer,))
            os.chdir(str(scratch))
            sys.stdout = os.fdopen(writer, "w")
            paths = {
                "course": str(secret),
                "reference": str(confine.PACKAGE_DIR / "reference.py"),
                "home": str(Path.home()),
                "repository": str(ROOT / "source"),
            }
            sys.argv = ["probe", json.dumps(paths), str(confine.PACKAGE_DIR), str(port)]
            os.environ.clear()
            exec(PROBE, {})
            sys.stdout.flush()
        except BaseException as error:
            os.write(writer, repr(error).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        out.write_text(pipe.read())
    os.waitpid(pid, 0)
    holder.close()
    check_confined(json.loads(out.read_text()), str(scratch))


@warm_only
def test_closing_a_jail_ends_every_process_in_it():
    holder = confine.Jail().start()
    started = time.time()
    pid = os.fork()
    if pid == 0:
        try:
            confine.enter(holder.pid)
            subprocess.Popen(["sleep", "300"], start_new_session=True)  # detached inside the jail
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    holder.close()
    time.sleep(0.5)
    sleepers = [
        p
        for p in psutil.process_iter(["cmdline", "create_time"])
        if p.info["cmdline"] == ["sleep", "300"] and p.info["create_time"] >= started - 1
    ]
    assert sleepers == []


def test_student_code_gets_an_allow_listed_environment():
    shell = {
        "PATH": "/evil",
        "HOME": "/root",
        "DDPM_QUICK": "0",
        "DDPM_EPOCHS": "50",
        "PYTHONPATH": "/evil",
        "PYTHONSTARTUP": "/evil.py",
        "GITHUB_TOKEN": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "DB_PASSWORD": "x",
        "OMP_NUM_THREADS": "1",
        "LC_ALL": "C.UTF-8",
        "MNIST_ROOT": "/data",
        "NBGRADER_EXECUTION": "autograde",
        "JPY_PARENT_PID": "1",
        "A12_REPORT": "{}",
        "A12_GRADER": "/sock",
    }
    kernel = environment.for_kernel(shell, home="/tmp")
    assert set(kernel) == {
        "PATH",
        "HOME",
        "TMPDIR",
        "PYTHONWARNINGS",
        "PYTHONDONTWRITEBYTECODE",
        "OMP_NUM_THREADS",
        "LC_ALL",
        "MNIST_ROOT",
        "NBGRADER_EXECUTION",
        "JPY_PARENT_PID",
        "A12_REPORT",
        "IPYTHONDIR",
        "MPLCONFIGDIR",
    }
    assert kernel["HOME"] == "/tmp" and "/evil" not in kernel["PATH"]
    instructor = environment.for_instructor(shell)
    assert instructor["HOME"] == "/root" and not {"DDPM_QUICK", "PYTHONPATH", "GITHUB_TOKEN", "A12_GRADER"} & set(
        instructor
    )
