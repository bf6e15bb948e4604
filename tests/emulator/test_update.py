"""POST /groups/{id}: incremental updates, in the documented order and with null semantics."""

from __future__ import annotations

from typing import Any

import httpx

from .helpers import GROUPS, assert_error, create_group, get_group, members_of

A, B, C = "+12018881111", "+12018882222", "+12018883333"
A_DIGITS, B_DIGITS, C_DIGITS = A[1:], B[1:], C[1:]
SDK_NULLS = {
    "add": None,
    "remove": None,
    "name": None,
    "add_from_group": None,
    "remove_from_group": None,
    "auto_update": None,
}
"""What the official SDK sends for `groups.update(group_id)` with nothing set."""


async def _update(client: httpx.AsyncClient, group_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{GROUPS}/{group_id}", json=body)
    assert response.status_code == 200, response.text
    group: dict[str, Any] = response.json()
    return group


async def test_add_and_remove(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http, members=[A])

    updated = await _update(emulator_http, group["id"], add=[B, C], remove=[A])

    assert updated["size"] == 2
    assert await members_of(emulator_http, group["id"]) == [B_DIGITS, C_DIGITS]


async def test_number_in_add_and_remove_ends_up_absent(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http)

    updated = await _update(emulator_http, group["id"], add=[A, B], remove=[A])

    assert updated["size"] == 1
    assert await members_of(emulator_http, group["id"]) == [B_DIGITS]


async def test_duplicate_adds_and_unknown_removes_are_ignored(
    emulator_http: httpx.AsyncClient,
) -> None:
    group = await create_group(emulator_http, members=[A])

    updated = await _update(emulator_http, group["id"], add=[A, B, "+1 201 888 2222"], remove=[C])

    assert updated["size"] == 2
    assert await members_of(emulator_http, group["id"]) == [A_DIGITS, B_DIGITS]


async def test_name_absent_keeps_it(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http, name="keep me")

    assert (await _update(emulator_http, group["id"], add=[A]))["name"] == "keep me"


async def test_name_null_removes_it(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http, name="drop me")

    updated = await _update(emulator_http, group["id"], name=None)

    assert "name" not in updated
    assert "name" not in await get_group(emulator_http, group["id"])


async def test_name_string_renames(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http, name="old")

    assert (await _update(emulator_http, group["id"], name="new"))["name"] == "new"


async def test_sdk_style_all_null_update_changes_only_the_name(
    emulator_http: httpx.AsyncClient,
) -> None:
    group = await create_group(
        emulator_http, name="named", members=[A], auto_update={"to": "+15551231234"}
    )

    updated = await _update(emulator_http, group["id"], **SDK_NULLS)

    assert "name" not in updated
    assert updated["size"] == 1
    assert updated["auto_update"] == {"to": "+15551231234"}


async def test_auto_update_is_replaced_when_given(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http, auto_update={"to": "+15551231234"})
    new = {"to": "+15559999999", "add": {"first_word": "JOIN", "second_word": None}, "remove": None}

    updated = await _update(emulator_http, group["id"], auto_update=new)

    assert updated["auto_update"] == {"to": "+15559999999", "add": {"first_word": "JOIN"}}


async def test_add_from_group_copies_members(emulator_http: httpx.AsyncClient) -> None:
    source = await create_group(emulator_http, members=[A, B])
    target = await create_group(emulator_http, members=[B, C])

    updated = await _update(emulator_http, target["id"], add_from_group=source["id"])

    assert updated["size"] == 3
    assert await members_of(emulator_http, target["id"]) == [A_DIGITS, B_DIGITS, C_DIGITS]
    assert await members_of(emulator_http, source["id"]) == [A_DIGITS, B_DIGITS]


async def test_remove_from_group_takes_members_out(emulator_http: httpx.AsyncClient) -> None:
    source = await create_group(emulator_http, members=[A, B])
    target = await create_group(emulator_http, members=[B, C])

    updated = await _update(emulator_http, target["id"], remove_from_group=source["id"])

    assert updated["size"] == 1
    assert await members_of(emulator_http, target["id"]) == [C_DIGITS]


async def test_removes_run_after_add_from_group(emulator_http: httpx.AsyncClient) -> None:
    """Order: add, add_from_group, remove, remove_from_group."""
    source = await create_group(emulator_http, members=[A])
    target = await create_group(emulator_http)

    await _update(emulator_http, target["id"], add_from_group=source["id"], remove=[A], add=[B])

    assert await members_of(emulator_http, target["id"]) == [B_DIGITS]


async def test_remove_from_group_runs_after_add(emulator_http: httpx.AsyncClient) -> None:
    source = await create_group(emulator_http, members=[A])
    target = await create_group(emulator_http)

    await _update(emulator_http, target["id"], add=[A, B], remove_from_group=source["id"])

    assert await members_of(emulator_http, target["id"]) == [B_DIGITS]


async def test_unknown_from_group_is_403_and_nothing_is_applied(
    emulator_http: httpx.AsyncClient,
) -> None:
    group = await create_group(emulator_http, name="same", members=[A])
    missing = "01HZZZZZZZZZZZZZZZZZZZZZZZ"

    for field in ("add_from_group", "remove_from_group"):
        response = await emulator_http.post(
            f"{GROUPS}/{group['id']}", json={"add": [B], "name": "changed", field: missing}
        )
        body = assert_error(response, 403, "unknown_group")
        assert missing in body["text"]

    assert await get_group(emulator_http, group["id"]) == group
    assert await members_of(emulator_http, group["id"]) == [A_DIGITS]


async def test_empty_update_body_changes_nothing_but_modified_at(
    emulator_http: httpx.AsyncClient,
) -> None:
    group = await create_group(emulator_http, name="same", members=[A])

    response = await emulator_http.post(f"{GROUPS}/{group['id']}")

    assert response.status_code == 200
    assert {**response.json(), "modified_at": None} == {**group, "modified_at": None}
