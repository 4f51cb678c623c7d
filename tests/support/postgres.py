"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` in a temporary folder,
listening on a Unix socket there only, with trust authentication, stopped and deleted afterwards.

PostgreSQL refuses to run as root (CI runs as root): then the server runs as the unprivileged user
``postgres`` (Debian's package creates it) or ``nobody``, through ``runuser``.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from glob import glob
from pathlib import Path

USER = "a12"  # the database superuser that initdb creates


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    folders = sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(folders[-1]).parent if folders else None


class Server:
    """A PostgreSQL server in a new temporary folder; ``database()`` makes an empty database."""

    def __init__(self, bin_dir: Path):
        self.folder = Path(tempfile.mkdtemp(prefix="a12-pg-"))
        self.prefix = []
        if os.geteuid() == 0:
            owner = "postgres" if _exists("postgres") else "nobody"
            entry = pwd.getpwnam(owner)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
            self.prefix = ["runuser", "-u", owner, "--"]
        data, log = self.folder / "data", self.folder / "server.log"
        self._run(bin_dir / "initdb", "-D", data, "-U", USER, "--auth=trust", "-E", "UTF8")
        self.pg_ctl = [*self.prefix, str(bin_dir / "pg_ctl"), "-D", str(data)]
        self._run(
            *self.pg_ctl[len(self.prefix) :],
            "-l",
            log,
            "-w",
            "start",
            "-o",
            f"-k {self.folder} -c listen_addresses='' -c fsync=off",
        )

    def _run(self, *argv) -> None:
        done = subprocess.run([*self.prefix, *map(str, argv)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed:\n{done.stdout}{done.stderr}")

    def database(self) -> str:
        """A new empty database; its URL as a course's nbgrader_config.py would give it."""
        import psycopg

        name = f"gradebook_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host=str(self.folder), user=USER, dbname="postgres", autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return f"postgresql://{USER}@/{name}?host={self.folder}"

    def stop(self) -> None:
        subprocess.run([*self.pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False
