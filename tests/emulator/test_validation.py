"""Request validation: the three 400 codes, 403, 415, the documented limits, all-or-nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .helpers import GROUPS, assert_error, create_group, group_count, members_of


def numbers(count: int, start: int = 0) -> list[str]:
    """`count` distinct valid US numbers."""
    return [f"+1201{index:07d}" for index in range(start, start + count)]


@pytest.mark.parametrize("content", [b"{not json", b'{"name": "x",}', b"\xff\xfe"])
async def test_body_that_is_not_json(emulator_http: httpx.AsyncClient, content: bytes) -> None:
    response = await emulator_http.post(
        GROUPS, content=content, headers={"Content-Type": "application/json"}
    )

    assert_error(response, 400, "syntax_invalid_json")


@pytest.mark.parametrize(
    "body",
    [
        [],
        "members",
        {"members": "+12018881111"},
        {"members": [12018881111]},
        {"name": 5},
        {"child_groups": "01HZZZZZZZZZZZZZZZZZZZZZZZ"},
        {"auto_update": "+15551231234"},
        {"auto_update": {"to": 15551231234}},
        {"auto_update": {"to": "+15551231234", "add": "JOIN"}},
        {"auto_update": {"to": "+15551231234", "add": {"first_word": ["JOIN"]}}},
    ],
)
async def test_json_of_the_wrong_shape(emulator_http: httpx.AsyncClient, body: Any) -> None:
    assert_error(await emulator_http.post(GROUPS, json=body), 400, "syntax_invalid_json")
    assert await group_count(emulator_http) == 0


@pytest.mark.parametrize(
    "body", [{"add": "+12018881111"}, {"remove": [None]}, {"add_from_group": 1}, {"name": ["x"]}]
)
async def test_update_of_the_wrong_shape(
    emulator_http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    group = await create_group(emulator_http)

    response = await emulator_http.post(f"{GROUPS}/{group['id']}", json=body)

    assert_error(response, 400, "syntax_invalid_json")


async def test_unknown_fields_are_ignored(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http, name="x", colour="blue", members=["+12018881111"])

    assert "colour" not in group
    assert group["size"] == 1


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_body_without_json_content_type_is_415(
    emulator_http: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}

    response = await emulator_http.post(GROUPS, content=b'{"name": "x"}', headers=headers)

    assert_error(response, 415, "unsupported_media_type")


async def test_json_content_type_may_carry_a_charset(emulator_http: httpx.AsyncClient) -> None:
    response = await emulator_http.post(
        GROUPS,
        content=b'{"name": "x"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 201


async def test_10000_members_is_the_limit(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http, members=numbers(10_000))
    assert group["size"] == 10_000

    response = await emulator_http.post(GROUPS, json={"members": numbers(10_001)})

    body = assert_error(response, 400, "syntax_constraint_violation")
    assert "10000" in body["text"]
    assert await group_count(emulator_http) == 1


@pytest.mark.parametrize("field", ["add", "remove"])
async def test_update_arrays_are_limited_to_10000(
    emulator_http: httpx.AsyncClient, field: str
) -> None:
    group = await create_group(emulator_http)
    path = f"{GROUPS}/{group['id']}"

    assert (await emulator_http.post(path, json={field: numbers(10_000)})).status_code == 200
    response = await emulator_http.post(path, json={field: numbers(10_001)})

    assert_error(response, 400, "syntax_constraint_violation")


async def test_replace_members_are_limited_to_10000(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http, members=numbers(3))

    response = await emulator_http.put(f"{GROUPS}/{group['id']}", json={"members": numbers(10_001)})

    assert_error(response, 400, "syntax_constraint_violation")
    assert len(await members_of(emulator_http, group["id"])) == 3


async def test_name_is_1_to_20_characters(emulator_http: httpx.AsyncClient) -> None:
    assert (await create_group(emulator_http, name="x" * 20))["name"] == "x" * 20
    for name in ("x" * 21, ""):
        response = await emulator_http.post(GROUPS, json={"name": name})
        assert_error(response, 400, "syntax_constraint_violation")


async def test_rename_to_21_characters_keeps_the_old_name(
    emulator_http: httpx.AsyncClient,
) -> None:
    group = await create_group(emulator_http, name="old", members=["+12018881111"])

    response = await emulator_http.post(
        f"{GROUPS}/{group['id']}", json={"name": "y" * 21, "add": ["+12018882222"]}
    )

    assert_error(response, 400, "syntax_constraint_violation")
    assert await members_of(emulator_http, group["id"]) == ["12018881111"]


async def test_child_groups_up_to_10_existing_and_unique(
    emulator_http: httpx.AsyncClient,
) -> None:
    ids = [(await create_group(emulator_http))["id"] for _ in range(11)]

    assert (await create_group(emulator_http, child_groups=ids[:10]))["child_groups"] == ids[:10]
    assert_error(
        await emulator_http.post(GROUPS, json={"child_groups": ids}),
        400,
        "syntax_constraint_violation",
    )
    assert_error(
        await emulator_http.post(GROUPS, json={"child_groups": [ids[0], ids[0]]}),
        400,
        "syntax_constraint_violation",
    )
    missing = "01HZZZZZZZZZZZZZZZZZZZZZZZ"
    body = assert_error(
        await emulator_http.post(GROUPS, json={"child_groups": [ids[0], missing]}),
        403,
        "unknown_group",
    )
    assert missing in body["text"]
    assert await group_count(emulator_http) == 12


async def test_replace_with_unknown_child_group_is_403(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http, name="kept", members=["+12018881111"])

    response = await emulator_http.put(
        f"{GROUPS}/{group['id']}",
        json={"members": [], "child_groups": ["01HZZZZZZZZZZZZZZZZZZZZZZZ"]},
    )

    assert_error(response, 403, "unknown_group")
    assert await members_of(emulator_http, group["id"]) == ["12018881111"]


async def test_replace_requires_members(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http)

    for body in ({"name": "x"}, {"members": None}):
        response = await emulator_http.put(f"{GROUPS}/{group['id']}", json=body)
        assert_error(response, 400, "syntax_constraint_violation")


@pytest.mark.parametrize(
    ("auto_update", "code"),
    [
        ({}, "syntax_constraint_violation"),
        ({"to": ""}, "syntax_constraint_violation"),
        ({"to": "+15551231234", "add": {}}, "syntax_constraint_violation"),
        ({"to": "+15551231234", "add": {"first_word": "A" * 16}}, "syntax_constraint_violation"),
        (
            {"to": "+15551231234", "remove": {"first_word": "STOP", "second_word": ""}},
            "syntax_constraint_violation",
        ),
        (
            {"to": "+15551231234", "add": {"first_word": "JOIN NOW"}},
            "syntax_invalid_parameter_format",
        ),
    ],
)
async def test_bad_auto_update(
    emulator_http: httpx.AsyncClient, auto_update: dict[str, Any], code: str
) -> None:
    assert_error(await emulator_http.post(GROUPS, json={"auto_update": auto_update}), 400, code)


async def test_keywords_of_15_characters_are_accepted(emulator_http: httpx.AsyncClient) -> None:
    auto_update = {"to": "+15551231234", "add": {"first_word": "A" * 15, "second_word": "B" * 15}}

    group = await create_group(emulator_http, auto_update=auto_update)

    assert group["auto_update"] == auto_update


async def test_one_bad_number_rejects_the_whole_create(emulator_http: httpx.AsyncClient) -> None:
    response = await emulator_http.post(GROUPS, json={"members": [*numbers(50), "+12ab"]})

    body = assert_error(response, 400, "syntax_invalid_parameter_format")
    assert body["text"] == "Invalid MSISDN '+12ab'"
    assert await group_count(emulator_http) == 0


async def test_bad_remove_number_rejects_the_adds_too(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http, name="same")

    response = await emulator_http.post(
        f"{GROUPS}/{group['id']}", json={"add": numbers(5), "remove": ["12"], "name": None}
    )

    assert_error(response, 400, "syntax_invalid_parameter_format")
    assert await members_of(emulator_http, group["id"]) == []
    assert (await emulator_http.get(f"{GROUPS}/{group['id']}")).json()["name"] == "same"
