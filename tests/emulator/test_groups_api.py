"""The seven Groups endpoints and the shapes of what they return."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from sinch_emulator import DEFAULT_TOKEN

from .helpers import (
    GROUPS,
    TIMESTAMP_RE,
    ULID_RE,
    ClientFactory,
    FakeClock,
    assert_error,
    create_group,
    get_group,
    group_count,
    members_of,
)

AUTO_UPDATE = {
    "to": "+15551231234",
    "add": {"first_word": "JOIN"},
    "remove": {"first_word": "LEAVE", "second_word": "NOW"},
}


async def test_create_without_body_makes_an_empty_group(emulator_http: httpx.AsyncClient) -> None:
    response = await emulator_http.post(GROUPS, headers={"Content-Type": "application/json"})

    assert response.status_code == 201
    group = response.json()
    assert set(group) == {"id", "size", "created_at", "modified_at", "child_groups"}
    assert ULID_RE.fullmatch(group["id"])
    assert group["size"] == 0
    assert group["child_groups"] == []
    assert TIMESTAMP_RE.fullmatch(group["created_at"])
    assert group["modified_at"] == group["created_at"]


async def test_create_with_every_field_round_trips(emulator_http: httpx.AsyncClient) -> None:
    child = await create_group(emulator_http, name="child")
    created = await create_group(
        emulator_http,
        name="My new customers",
        members=["+12018881111", "+12018882222"],
        child_groups=[child["id"]],
        auto_update=AUTO_UPDATE,
    )

    assert created["name"] == "My new customers"
    assert created["size"] == 2
    assert created["child_groups"] == [child["id"]]
    assert created["auto_update"] == AUTO_UPDATE
    assert await get_group(emulator_http, created["id"]) == created


async def test_explicit_nulls_in_create_mean_absent(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(
        emulator_http, name=None, members=None, child_groups=None, auto_update=None
    )

    assert "name" not in group
    assert "auto_update" not in group
    assert group["size"] == 0


async def test_timestamps_are_utc_milliseconds_with_z(
    clocked_app: Starlette, client_for: ClientFactory, clock: FakeClock
) -> None:
    async with client_for(clocked_app, DEFAULT_TOKEN) as client:
        group = await create_group(client, name="clocked")
        clock.advance(1.5)
        response = await client.post(f"{GROUPS}/{group['id']}", json={"add": ["+12018881111"]})

    assert group["created_at"] == "2024-06-06T08:59:22.156Z"
    assert response.json()["created_at"] == "2024-06-06T08:59:22.156Z"
    assert response.json()["modified_at"] == "2024-06-06T08:59:23.656Z"


async def test_members_are_digits_without_plus(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http, members=["+12018882222", "0012018881111"])

    assert await members_of(emulator_http, group["id"]) == ["12018881111", "12018882222"]


async def test_members_of_an_empty_group_is_an_empty_array(
    emulator_http: httpx.AsyncClient,
) -> None:
    group = await create_group(emulator_http)

    assert await members_of(emulator_http, group["id"]) == []


async def test_replace_replaces_everything(emulator_http: httpx.AsyncClient) -> None:
    child = await create_group(emulator_http)
    group = await create_group(
        emulator_http,
        name="before",
        members=["+12018881111"],
        child_groups=[child["id"]],
        auto_update=AUTO_UPDATE,
    )

    response = await emulator_http.put(
        f"{GROUPS}/{group['id']}", json={"members": ["+447911123456"]}
    )

    assert response.status_code == 200
    replaced = response.json()
    assert "name" not in replaced
    assert "auto_update" not in replaced
    assert replaced["child_groups"] == []
    assert replaced["size"] == 1
    assert replaced["id"] == group["id"]
    assert replaced["created_at"] == group["created_at"]
    assert await members_of(emulator_http, group["id"]) == ["447911123456"]


async def test_replace_sets_the_given_fields(emulator_http: httpx.AsyncClient) -> None:
    child = await create_group(emulator_http)
    group = await create_group(emulator_http, name="before")

    response = await emulator_http.put(
        f"{GROUPS}/{group['id']}",
        json={
            "members": [],
            "name": "after",
            "child_groups": [child["id"]],
            "auto_update": AUTO_UPDATE,
        },
    )

    assert response.json()["name"] == "after"
    assert response.json()["child_groups"] == [child["id"]]
    assert response.json()["auto_update"] == AUTO_UPDATE
    assert response.json()["size"] == 0


async def test_delete_answers_200_with_an_empty_body(emulator_http: httpx.AsyncClient) -> None:
    kept = await create_group(emulator_http, name="kept")
    gone = await create_group(emulator_http, name="gone", members=["+12018881111"])

    response = await emulator_http.delete(f"{GROUPS}/{gone['id']}")

    assert response.status_code == 200
    assert response.content == b""
    assert_error(await emulator_http.get(f"{GROUPS}/{gone['id']}"), 404, "not_found")
    assert_error(await emulator_http.get(f"{GROUPS}/{gone['id']}/members"), 404, "not_found")
    assert_error(await emulator_http.delete(f"{GROUPS}/{gone['id']}"), 404, "not_found")
    listed = (await emulator_http.get(GROUPS)).json()
    assert [group["id"] for group in listed["groups"]] == [kept["id"]]


async def test_delete_drops_the_group_from_parents_child_groups(
    emulator_http: httpx.AsyncClient,
) -> None:
    child = await create_group(emulator_http)
    other = await create_group(emulator_http)
    parent = await create_group(emulator_http, child_groups=[child["id"], other["id"]])

    await emulator_http.delete(f"{GROUPS}/{child['id']}")

    remaining = (await get_group(emulator_http, parent["id"]))["child_groups"]
    assert remaining == [other["id"]]
    response = await emulator_http.put(
        f"{GROUPS}/{parent['id']}", json={"members": [], "child_groups": remaining}
    )
    assert response.status_code == 200


async def test_groups_of_one_plan_are_invisible_to_another(
    emulator_app: Starlette, client_for: ClientFactory
) -> None:
    async with client_for(emulator_app, DEFAULT_TOKEN) as demo:
        group = await create_group(demo, name="demo only")
    async with client_for(emulator_app, "second-token") as second:
        base = "/xms/v1/secondplan/groups"
        assert (await second.get(base)).json()["count"] == 0
        assert_error(await second.get(f"{base}/{group['id']}"), 404, "not_found")
        response = await second.post(base, json={"child_groups": [group["id"]]})
        assert_error(response, 403, "unknown_group")


async def test_unknown_group_is_404_on_every_group_route(
    emulator_http: httpx.AsyncClient,
) -> None:
    missing = f"{GROUPS}/01HZZZZZZZZZZZZZZZZZZZZZZZ"

    for response in (
        await emulator_http.get(missing),
        await emulator_http.post(missing, json={"add": ["+12018881111"]}),
        await emulator_http.put(missing, json={"members": []}),
        await emulator_http.delete(missing),
        await emulator_http.get(f"{missing}/members"),
    ):
        assert_error(response, 404, "not_found")
    assert await group_count(emulator_http) == 0


async def test_unknown_path_is_404_and_wrong_method_405(
    emulator_http: httpx.AsyncClient,
) -> None:
    assert_error(await emulator_http.get("/xms/v1/sinchgroupsdemo/batches"), 404, "not_found")
    assert_error(await emulator_http.get("/nowhere"), 404, "not_found")

    response = await emulator_http.patch(GROUPS, json={})
    assert_error(response, 405, "method_not_allowed")
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["allow"].split(",")}
    group = await create_group(emulator_http)
    assert_error(
        await emulator_http.post(f"{GROUPS}/{group['id']}/members"), 405, "method_not_allowed"
    )


async def test_reset_route_wipes_every_group(emulator_http: httpx.AsyncClient) -> None:
    await create_group(emulator_http, members=["+12018881111"])

    response = await emulator_http.post("/_emulator/reset")

    assert response.status_code == 204
    assert await group_count(emulator_http) == 0
