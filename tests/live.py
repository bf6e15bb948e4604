"""Helpers for tests that talk HTTP to a live emulator: a client, every group's state, seeding,
switching faults, simulating subscribers' keyword texts.

One copy for the flow, export, Prefect and reliability tests; they check the emulator's state
through the project's own client, as a user's script would.
"""

from __future__ import annotations

import httpx

from pipeline.sinch import MAX_MEMBERS_PER_REQUEST, GroupsClient, RetryPolicy
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN, EmulatorServer, send_inbound

FAST_RETRY = RetryPolicy(max_attempts=12, initial=0.001, maximum=0.02, total_timeout=60.0)
"""For the test's own set-up and checks: persistent, without real waiting."""


def client_for(
    server: EmulatorServer | str,
    plan: str = DEFAULT_PLAN_ID,
    token: str = DEFAULT_TOKEN,
    *,
    retry: RetryPolicy = FAST_RETRY,
) -> GroupsClient:
    """The project's client for a live emulator (a server or its base URL)."""
    base_url = server if isinstance(server, str) else server.base_url
    return GroupsClient(service_plan_id=plan, token=token, base_url=base_url, retry=retry)


async def memberships(server: EmulatorServer | str) -> list[tuple[str | None, str, set[str]]]:
    """Every group of the demo plan as (name, id, members), oldest first."""
    async with client_for(server) as client:
        groups = [group async for group in client.iter_groups()]
        return [
            (group.name, group.id, set(await client.list_members(group.id)))
            for group in reversed(groups)
        ]


async def members_by_name(server: EmulatorServer | str) -> dict[str | None, set[str]]:
    """Every group's members by name; fails if two groups share a name (that is a duplicate)."""
    state = await memberships(server)
    names = [name for name, _, _ in state]
    assert len(names) == len(set(names)), f"duplicate groups: {sorted(map(str, names))}"
    return {name: members for name, _, members in state}


async def seed_group(server: EmulatorServer | str, name: str, members: list[str]) -> str:
    """Create a group and fill it in the largest batches the API takes (no faults should be on)."""
    async with client_for(server) as client:
        group = await client.create_group(name=name)
        for start in range(0, len(members), MAX_MEMBERS_PER_REQUEST):
            batch = members[start : start + MAX_MEMBERS_PER_REQUEST]
            await client.update_group(group.id, add=batch)
        return group.id


def set_faults(server: EmulatorServer | str, **faults: object) -> None:
    """Switch the emulator's faults through `PUT /_emulator/faults` ({} turns them off)."""
    base_url = server if isinstance(server, str) else server.base_url
    httpx.put(f"{base_url}/_emulator/faults", json=faults, timeout=10).raise_for_status()


def inbound(server: EmulatorServer | str, sender: str, to: str, body: str) -> dict[str, list[str]]:
    """Simulate an SMS from `sender` to `to` (`POST /_emulator/inbound`), every plan's groups.

    Returns `{"joined": [...], "left": [...]}`: the ids of the groups whose membership changed.
    """
    base_url = server if isinstance(server, str) else server.base_url
    return send_inbound(base_url, sender=sender, to=to, body=body)
