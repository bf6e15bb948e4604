"""The servers a sync benchmark runs against: the emulator's request counter, a Prefect server,
and the measured child process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import psutil

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class RequestCounter:
    """ASGI middleware around the emulator: requests answered, by kind."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def counted(scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                with self._lock:
                    self.counts[_kind(scope["method"], scope["path"])] += 1
            await app(scope, receive, send)

        return counted

    def take(self) -> dict[str, int]:
        """The counts since the last call."""
        with self._lock:
            counts, self.counts = dict(self.counts), Counter()
        return counts


def _kind(method: str, path: str) -> str:
    parts = path.rstrip("/").split("/")
    if "groups" not in parts:
        return f"{method} other"
    after = parts[parts.index("groups") + 1 :]
    if not after:
        return {"GET": "list groups", "POST": "create"}.get(method, f"{method} groups")
    if after[1:] == ["members"]:
        return "list members"
    return {"POST": "update", "PUT": "replace", "GET": "get group"}.get(method, f"{method} group")


class PrefectServer:
    """`prefect server start` in a temporary home, for the syncs to report to."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PrefectServer:
        env = {
            **os.environ,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
        }
        command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/health", timeout=2).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.5)
        self.__exit__()
        raise SystemExit("the Prefect server did not start")

    def rss_mib(self) -> float:
        assert self.process is not None
        tree = psutil.Process(self.process.pid)
        return sum(p.memory_info().rss for p in [tree, *tree.children(recursive=True)]) / 2**20

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_process(command: list[str], env: dict[str, str], log: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit status) of one child process."""
    started = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, process.returncode
