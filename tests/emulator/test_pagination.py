"""List groups: 0-based pages, page_size 0..100 (default 30), newest first, count = total."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from sinch_emulator import DEFAULT_TOKEN

from .helpers import GROUPS, ClientFactory, assert_error, create_group


async def _create_many(client: httpx.AsyncClient, count: int) -> list[str]:
    """Create `count` groups named g0.. and return their ids, oldest first."""
    return [(await create_group(client, name=f"g{index}"))["id"] for index in range(count)]


async def _page(client: httpx.AsyncClient, **params: int) -> dict[str, Any]:
    response = await client.get(GROUPS, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_empty_list(emulator_http: httpx.AsyncClient) -> None:
    assert await _page(emulator_http) == {"page": 0, "page_size": 0, "count": 0, "groups": []}


async def test_default_page_size_is_30(emulator_http: httpx.AsyncClient) -> None:
    await _create_many(emulator_http, 31)

    first, second = await _page(emulator_http), await _page(emulator_http, page=1)

    assert (first["page"], first["page_size"], first["count"]) == (0, 30, 31)
    assert (second["page"], second["page_size"], second["count"]) == (1, 1, 31)


async def test_newest_first_and_pages_cover_every_group_once(
    emulator_http: httpx.AsyncClient,
) -> None:
    ids = await _create_many(emulator_http, 6)

    pages = [await _page(emulator_http, page=page, page_size=3) for page in range(3)]

    listed = [group["id"] for page in pages[:2] for group in page["groups"]]
    assert listed == list(reversed(ids))
    assert [page["page_size"] for page in pages] == [3, 3, 0]
    assert pages[2]["groups"] == []
    assert all(page["count"] == 6 for page in pages)


async def test_ties_in_created_at_keep_creation_order(
    clocked_app: Starlette, client_for: ClientFactory
) -> None:
    """A frozen clock gives every group the same timestamp; the order must still be stable."""
    async with client_for(clocked_app, DEFAULT_TOKEN) as client:
        ids = await _create_many(client, 5)
        first = await _page(client)
        again = await _page(client)

    assert [group["id"] for group in first["groups"]] == list(reversed(ids))
    assert first == again


async def test_page_past_the_end_is_empty(emulator_http: httpx.AsyncClient) -> None:
    await _create_many(emulator_http, 3)

    assert await _page(emulator_http, page=2) == {
        "count": 3,
        "page": 2,
        "page_size": 0,
        "groups": [],
    }
    assert (await _page(emulator_http, page=10**12))["groups"] == []


async def test_page_size_zero_returns_only_the_count(emulator_http: httpx.AsyncClient) -> None:
    await _create_many(emulator_http, 2)

    assert await _page(emulator_http, page_size=0) == {
        "page": 0,
        "page_size": 0,
        "count": 2,
        "groups": [],
    }


async def test_page_size_100_is_the_maximum(emulator_http: httpx.AsyncClient) -> None:
    await _create_many(emulator_http, 101)

    body = await _page(emulator_http, page_size=100)

    assert (body["page_size"], body["count"]) == (100, 101)


@pytest.mark.parametrize("params", [{"page_size": 101}, {"page_size": -1}, {"page": -1}])
async def test_out_of_range_paging_is_a_constraint_violation(
    emulator_http: httpx.AsyncClient, params: dict[str, int]
) -> None:
    assert_error(await emulator_http.get(GROUPS, params=params), 400, "syntax_constraint_violation")


@pytest.mark.parametrize(
    "params", [{"page_size": "ten"}, {"page_size": "1.5"}, {"page": ""}, {"page": "0x1"}]
)
async def test_non_integer_paging_is_a_format_error(
    emulator_http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    assert_error(
        await emulator_http.get(GROUPS, params=params), 400, "syntax_invalid_parameter_format"
    )
