"""A throwaway MariaDB server for the MySQL database-source tests, from the system's
`mariadb-server` package (`/usr/sbin/mariadbd`; `.ci/run` installs it when it is missing).

`mariadb-install-db` writes a data folder into a temporary folder, and `mariadbd` serves it on
127.0.0.1 on a free port, reading no `my.cnf` (`--no-defaults`). A first-start `--init-file`
creates the database and a user with a password, so a wrong password is refused as in
production; clients connect over TCP only (the server's own socket stays in the temporary
folder). MariaDB refuses to run as root unless told to, so under root (CI) it is given
`--user=root`: the data folder is the process's own, under /tmp. It stops when the session ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pymysql

from tests.postgres_server import free_port

__all__ = ["MysqlServer", "running_mysql"]

_INSTALL = "apt-get install -y --no-install-recommends mariadb-server"


@dataclass(frozen=True)
class MysqlServer:
    host: str
    port: int
    user: str
    password: str
    database: str

    def uri(self, *, password: str | None = None, scheme: str = "mysql") -> str:
        secret = self.password if password is None else password
        return f"{scheme}://{self.user}:{secret}@{self.host}:{self.port}/{self.database}"

    def connect(self) -> pymysql.Connection:
        """A plain connection over TCP, for a test's own set-up."""
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=self.database,
            charset="utf8mb4",
            connect_timeout=5,
        )


def _binary(name: str, usual: str) -> str:
    found = shutil.which(name) or (usual if os.access(usual, os.X_OK) else None)
    if found is None:
        raise RuntimeError(
            f"no {name} on this machine: the MySQL tests need a MariaDB server; install "
            f"mariadb-server (`{_INSTALL}`, as .ci/run does)"
        )
    return found


def _quoted(text: str) -> str:
    """`text` as a single-quoted SQL string."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@contextmanager
def running_mysql(user: str, password: str, database: str = "crm") -> Iterator[MysqlServer]:
    """install-db into a temporary folder, start, yield, stop and remove (about a second)."""
    mariadbd = _binary("mariadbd", "/usr/sbin/mariadbd")
    install_db = _binary("mariadb-install-db", "/usr/bin/mariadb-install-db")
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="sinch-groups-mysql-"))
    data, log = folder / "data", folder / "mariadbd.err"
    (folder / "init.sql").write_text(
        f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4;\n"
        f"CREATE USER {_quoted(user)}@'%' IDENTIFIED BY {_quoted(password)};\n"
        f"GRANT ALL ON `{database}`.* TO {_quoted(user)}@'%';\n"
    )
    try:
        subprocess.run(
            [install_db, "--no-defaults", f"--datadir={data}", "--skip-test-db", *as_root],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        port = free_port()
        server = subprocess.Popen(
            [mariadbd, "--no-defaults", f"--datadir={data}", *as_root, f"--port={port}",
             "--bind-address=127.0.0.1", f"--socket={folder / 'sock'}", "--skip-name-resolve",
             f"--pid-file={folder / 'pid'}", f"--log-error={log}",
             f"--init-file={folder / 'init.sql'}", "--innodb-buffer-pool-size=32M",
             "--innodb-flush-log-at-trx-commit=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        running = MysqlServer("127.0.0.1", port, user, password, database)
        try:
            _wait_until_ready(running, server, log)
            yield running
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_ready(running: MysqlServer, server: subprocess.Popen[bytes], log: Path) -> None:
    """Until the test user can log in over TCP (the init file has run by then)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"mariadbd exited: {_tail(log)}")
        try:
            running.connect().close()
        except pymysql.err.OperationalError:
            time.sleep(0.1)
        else:
            return
    raise RuntimeError(f"mariadbd did not start in 60 s: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text()[-2000:] if log.exists() else "(no log)"
