"""Helpers for the client tests: an ASGI recorder, fault switching, a movable clock.

Nothing here imitates either side: the client talks to the real emulator, and the recorder
only watches the traffic in between.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.sinch import GroupsClient, RetryPolicy
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN

# Retries without real waiting (Retry-After still counts), generous enough that injected
# fault rates of 30-50 % never exhaust the attempts.
FAST_RETRY = RetryPolicy(max_attempts=12, initial=0.001, maximum=0.01, total_timeout=30.0)
# ASGI clients need some origin; a loopback one passes the client's plain-HTTP check.
ASGI_ORIGIN = "http://127.0.0.1"
PROJECT = {"project_id": "demo-project", "key_id": "demo-key", "key_secret": "demo-secret"}


class Recorder:
    """ASGI middleware around the emulator that counts paths, keeps request bodies and
    authorization headers, and tracks how many requests were being served at once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: Counter[str] = Counter()
        self.bodies: list[tuple[str, str, Any]] = []
        self.authorizations: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.paths[scope["path"]] += 1
        for name, value in scope["headers"]:
            if name == b"authorization":
                self.authorizations.add(value.decode().partition(" ")[2])
        chunks: list[bytes] = []

        async def recording_receive() -> Message:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                raw = b"".join(chunks)
                parsed = json.loads(raw) if raw and scope["path"].startswith("/xms") else raw
                self.bodies.append((scope["method"], scope["path"], parsed))
            return message

        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.app(scope, recording_receive, send)
        finally:
            self.in_flight -= 1

    def posted(self, path_suffix: str) -> list[Any]:
        """JSON bodies of the POSTs to paths ending with `path_suffix`, in order."""
        return [
            body
            for method, path, body in self.bodies
            if method == "POST" and path.endswith(path_suffix)
        ]


class FakeClock:
    """A `time.time` for the emulator that moves only when told to (token expiry tests)."""

    def __init__(self, now: float = 1_717_664_362.156) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def asgi_client(app: ASGIApp, **options: Any) -> GroupsClient:
    """A client for the demo plan over ASGI; `options` override any constructor argument."""
    settings: dict[str, Any] = {
        "service_plan_id": DEFAULT_PLAN_ID,
        "token": DEFAULT_TOKEN,
        "base_url": ASGI_ORIGIN,
        "transport": httpx.ASGITransport(app=app),
        "retry": FAST_RETRY,
        **options,
    }
    return GroupsClient(**settings)


def live_client(base_url: str, **options: Any) -> GroupsClient:
    """A client for the demo plan over real HTTP to a running emulator."""
    settings: dict[str, Any] = {
        "service_plan_id": DEFAULT_PLAN_ID,
        "token": DEFAULT_TOKEN,
        "base_url": base_url,
        "retry": FAST_RETRY,
        **options,
    }
    return GroupsClient(**settings)


async def set_faults(target: ASGIApp | str, **faults: Any) -> None:
    """Switch the emulator's faults at run time through `PUT /_emulator/faults`."""
    if isinstance(target, str):
        options: dict[str, Any] = {"base_url": target}
    else:
        options = {"base_url": ASGI_ORIGIN, "transport": httpx.ASGITransport(app=target)}
    async with httpx.AsyncClient(**options) as http:
        response = await http.put("/_emulator/faults", json=faults)
        response.raise_for_status()
