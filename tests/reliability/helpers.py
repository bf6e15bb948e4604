"""Helpers shared by the reliability tests (fixtures live in conftest.py).

Nothing here imitates either side: clients talk HTTP to the real emulator, the fault log only
counts what the emulator's own fault injector decided, and `Traffic` only watches requests (or
drops a create's response with the emulator's own dropped-connection helpers).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorServer
from sinch_emulator.faults import discard, drop_connection

REPO = Path(__file__).resolve().parents[2]

SOAK_FAULTS = {"latency_ms": 10, "rate_limit": 100, "error_rate": 0.05, "reset_rate": 0.02}
"""The soak's faults: 10 ms latency, 429s from a 100 requests/s limit, 5 % 500/503 and 2 %
dropped connections."""


def uk_mobile(i: int) -> str:
    """A valid UK mobile number (+44 7900 xxxxxx); distinct for each 0 <= i < 1,000,000."""
    return f"+447900{i:06d}"


def groups_raw(server: EmulatorServer | str) -> list[dict[str, object]]:
    """The raw JSON of every group (up to 100), as the wire shows it: `modified_at` included."""
    base_url = server if isinstance(server, str) else server.base_url
    response = httpx.get(
        f"{base_url}/xms/v1/{DEFAULT_PLAN_ID}/groups",
        params={"page_size": 100},
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
        timeout=10,
    )
    response.raise_for_status()
    return list(response.json()["groups"])


@dataclass
class FaultLog:
    """What the emulator's fault injector did to the Sinch routes, counted on the server side."""

    requests: int = 0
    """Authorized requests that reached the rate limiter (every request a client retries)."""
    statuses: dict[int, int] = field(default_factory=dict)
    """Injected error responses by status: 429, 500, 503."""
    resets: dict[str, int] = field(default_factory=dict)
    """Dropped connections by when they struck: "before" or "after" applying."""

    @property
    def injected(self) -> int:
        """Every failed attempt a client sees: error responses plus dropped connections."""
        return sum(self.statuses.values()) + sum(self.resets.values())

    def clear(self) -> None:
        self.requests = 0
        self.statuses.clear()
        self.resets.clear()

    def summary(self) -> str:
        return f"requests={self.requests} statuses={self.statuses} resets={self.resets}"


GROUPS_PATH = f"/xms/v1/{DEFAULT_PLAN_ID}/groups"
_GROUP_PATH = re.compile(re.escape(GROUPS_PATH) + r"/[^/]+$")


class Traffic:
    """ASGI middleware around the emulator: logs each request as it arrives, and can lose create
    responses in two ways. `lose_creates`: the next so many creates are applied and their
    response dropped (the emulator's own "reset after" fault, aimed at creates instead of drawn
    at random). `hold_creates`: seconds a create's response waits after the emulator applied it
    (latency on the way back), a window in which a killed client never hears of its group."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.lose_creates = 0
        self.hold_creates = 0.0
        self.created = 0
        """Creates the emulator has applied (answered 201), heard by the client or not."""
        self.requests: list[tuple[str, str]] = []

    @property
    def creates(self) -> int:
        """Create requests (`POST /groups`) received so far."""
        return sum(1 for method, path in self.requests if method == "POST" and path == GROUPS_PATH)

    @property
    def updates(self) -> int:
        """Incremental updates (`POST /groups/{id}`) received so far."""
        return sum(
            1 for method, path in self.requests if method == "POST" and _GROUP_PATH.match(path)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests.append((scope["method"], scope["path"]))
        if scope["method"] != "POST" or scope["path"] != GROUPS_PATH:
            await self.app(scope, receive, send)
            return
        if self.lose_creates:
            self.lose_creates -= 1
            await self.app(scope, receive, self._counting(discard))
            await drop_connection(send)
            return
        await self.app(scope, receive, self._counting(send))

    def _counting(self, send: Send) -> Send:
        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 201:
                self.created += 1
                if self.hold_creates:
                    await asyncio.sleep(self.hold_creates)
            await send(message)

        return counting


def cli_env(
    base_url: str, prefect_api_url: str, *, token: str = DEFAULT_TOKEN, **extra: str
) -> dict[str, str]:
    """The environment of a `sinch-groups` subprocess aimed at a live emulator's demo plan."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SINCH_")}
    env.update(
        {
            "SINCH_SERVICE_PLAN_ID": DEFAULT_PLAN_ID,
            "SINCH_API_TOKEN": token,
            "SINCH_BASE_URL": base_url,
            "PREFECT_API_URL": prefect_api_url,
            "COLUMNS": "250",
            **extra,
        }
    )
    return env


def cli(*args: str) -> list[str]:
    """The `sinch-groups` command line, run with this interpreter."""
    return [sys.executable, "-m", "flows.cli", *args]


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no cleanup, no `finally`, no atexit (a power cut, an OOM kill)."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s+File \"", re.MULTILINE)


def assert_one_line_error(output: str) -> str:
    """The output ends in exactly one `Error: ...` line and shows no traceback; returns it."""
    assert not TRACEBACK.search(output), output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    return errors[0]
