"""Shared test helpers for the emulator tests (fixtures live in conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from sinch_emulator import DEFAULT_PLAN_ID

GROUPS = f"/xms/v1/{DEFAULT_PLAN_ID}/groups"
"""The demo plan's groups collection."""

TEST_EPOCH = 1_717_664_362.156
"""2024-06-06T08:59:22.156Z, the contract's example timestamp."""

ULID_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
TIMESTAMP_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

BANNER_URL = re.compile(r"Sinch Groups emulator at (http://\S+)")
"""Where `sinch-groups emulator` says it listens, in its start-up banner."""


def read_banner(stdout: Iterable[str]) -> str:
    """The `sinch-groups emulator` start-up banner: its lines up to the `storage:` one (the last)."""
    banner = []
    for line in stdout:
        banner.append(line)
        if "storage:" in line:
            break
    return "".join(banner)


ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
"""The `client_for` fixture: `async with client_for(app, token) as client`."""


class FakeClock:
    """`time.time` stand-in that only moves when told to."""

    def __init__(self, now: float = TEST_EPOCH) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def create_group(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    """Create a group through the API and return its JSON (asserting 201)."""
    response = await client.post(GROUPS, json=body)
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()
    return group


async def get_group(client: httpx.AsyncClient, group_id: str) -> dict[str, Any]:
    """Retrieve a group (asserting 200)."""
    response = await client.get(f"{GROUPS}/{group_id}")
    assert response.status_code == 200, response.text
    group: dict[str, Any] = response.json()
    return group


async def members_of(client: httpx.AsyncClient, group_id: str) -> list[str]:
    """The members endpoint's list (asserting 200)."""
    response = await client.get(f"{GROUPS}/{group_id}/members")
    assert response.status_code == 200, response.text
    members: list[str] = response.json()
    return members


async def group_count(client: httpx.AsyncClient) -> int:
    """Total number of groups of the demo plan."""
    response = await client.get(GROUPS)
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    """The response is a Sinch error with this status and code; return its body."""
    assert response.status_code == status, response.text
    body: dict[str, str] = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "text"}
    return body
