"""A JupyterLab server for browser tests: started on a free localhost port, isolated, always stopped.

``JupyterLab`` runs ``python -m jupyter lab`` in a folder (the server's root directory and working
directory, which is where nbgrader's Validate and formgrader look for ``nbgrader_config.py``), with
a random token, and with its own Jupyter config, data, runtime and JupyterLab settings/workspace
folders, so that nothing from the user's ``~/.jupyter`` (a saved layout, a kernel spec) changes what
the test sees. The server's environment is inherited by its kernels.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


class JupyterLabError(Exception):
    """The server did not start; the message holds the end of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """``with JupyterLab(root, env, home) as lab:`` a running server; ``lab.url(path)`` opens a page.

    ``home`` is a scratch folder for the server's private Jupyter folders and its log
    (``home / "jupyterlab.log"``); ``nbgrader_config`` is written there as a user-level
    ``nbgrader_config.py`` (for settings that are the test's, not the course's).
    """

    def __init__(
        self, root: Path, env: dict[str, str], home: Path, nbgrader_config: str = "", startup_timeout: float = 120
    ):
        self.root, self.home, self.startup_timeout = Path(root), Path(home), startup_timeout
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.log_path = self.home / "jupyterlab.log"
        folders = {name: self.home / name for name in ("config", "data", "runtime", "settings", "workspaces")}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        self.env = dict(
            env,
            JUPYTER_CONFIG_DIR=str(folders["config"]),
            JUPYTER_DATA_DIR=str(folders["data"]),
            JUPYTER_RUNTIME_DIR=str(folders["runtime"]),
            JUPYTERLAB_SETTINGS_DIR=str(folders["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(folders["workspaces"]),
        )
        self.process: subprocess.Popen | None = None
        # JupyterLab asks whether to fetch Jupyter news (a pop-up over the page): answer no.
        notification = folders["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text('{"fetchNews": "false"}')
        # nbgrader reads nbgrader_config.py from the Jupyter config folders and the working folder.
        if nbgrader_config:
            (folders["config"] / "nbgrader_config.py").write_text(nbgrader_config)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "lab") -> str:
        """The address of ``path`` on this server, with the token that logs the browser in."""
        separator = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{separator}token={self.token}"

    def log(self, tail: int = 4000) -> str:
        """The end of the server's log (stdout and stderr), for failure messages."""
        return self.log_path.read_text(errors="replace")[-tail:] if self.log_path.exists() else ""

    def start(self, attempts: int = 3) -> "JupyterLab":
        """Start the server and wait until it answers; on a port taken meanwhile, try another."""
        for attempt in range(attempts):
            if attempt:
                self.port = free_port()
            self._launch()
            try:
                self._wait_until_ready()
                return self
            except JupyterLabError as error:
                self.stop()
                if f"port {self.port} is" not in str(error) or attempt == attempts - 1:
                    raise
            except BaseException:
                self.stop()
                raise
        return self

    def _launch(self) -> None:
        command = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            # No calls to the internet: no news or update checks from JupyterLab.
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if os.geteuid() == 0:  # CI machines run as root
            command.append("--ServerApp.allow_root=True")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _wait_until_ready(self) -> None:
        """Poll ``/api/status`` until the server answers; fail early if the process ends."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise JupyterLabError(f"JupyterLab exited with code {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        raise JupyterLabError(
            f"JupyterLab did not answer on {self.base} within {self.startup_timeout:.0f} s:\n{self.log()}"
        )

    def stop(self) -> None:
        """Stop the server and every kernel it started.

        Kernels run in sessions of their own, so they are shut down through the API first; then the
        server gets SIGTERM (SIGKILL after 20 s), and any process still holding one of this server's
        kernel connection files (they are in its private runtime folder) is killed by its id.
        """
        if self.process is None:
            return
        if self.process.poll() is None:
            self._shut_down_kernels()
            group = os.getpgid(self.process.pid)
            os.killpg(group, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
        for pid in processes_mentioning(self.env["JUPYTER_RUNTIME_DIR"]):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _shut_down_kernels(self) -> None:
        """Ask the server to shut down its kernels (best effort: the server may be stuck)."""
        try:
            with urllib.request.urlopen(self.url("api/kernels"), timeout=10) as response:
                kernels = json.load(response)
            for kernel in kernels:
                request = urllib.request.Request(self.url(f"api/kernels/{kernel['id']}"), method="DELETE")
                urllib.request.urlopen(request, timeout=20).close()
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            pass

    def __enter__(self) -> "JupyterLab":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def processes_mentioning(text: str) -> list[int]:
    """The ids of this user's processes whose command line contains ``text`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found
