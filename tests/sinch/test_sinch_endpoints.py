"""Every endpoint of the client against the in-process emulator."""

from __future__ import annotations

from datetime import UTC

import httpx
import polars as pl
import pytest
from sinch_helpers import ASGI_ORIGIN, Recorder, asgi_client

from pipeline.sinch import (
    UNSET,
    AutoUpdate,
    BadRequestError,
    Group,
    GroupsClient,
    InvalidGroupIdError,
    InvalidNumberError,
    Keyword,
    NotFoundError,
    Target,
    UnexpectedResponseError,
    UnknownGroupError,
)
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN

GROUPS = f"/xms/v1/{DEFAULT_PLAN_ID}/groups"
ALICE, BOB, CAROL = "+447911123456", "+15551231234", "+15551239876"


async def test_create_and_get_round_trip_every_field(client: GroupsClient) -> None:
    child = await client.create_group(name="child")
    auto = AutoUpdate(
        to="+15550001111",
        add=Keyword(first_word="JOIN"),
        remove=Keyword(first_word="LEAVE", second_word="NOW"),
    )
    created = await client.create_group(
        name="VIP", members=[ALICE, BOB], child_groups=[child.id], auto_update=auto
    )
    fetched = await client.get_group(created.id)

    assert fetched == created
    assert (fetched.name, fetched.size, fetched.child_groups) == ("VIP", 2, [child.id])
    assert fetched.auto_update == auto
    assert fetched.created_at.tzinfo is UTC
    assert fetched.modified_at >= fetched.created_at


async def test_create_without_arguments_makes_an_unnamed_empty_group(
    client: GroupsClient, recorder: Recorder
) -> None:
    group = await client.create_group()

    assert (group.name, group.size, group.child_groups, group.auto_update) == (None, 0, [], None)
    assert recorder.posted("/groups") == [{}]


async def test_list_members_returns_e164_with_plus(client: GroupsClient) -> None:
    group = await client.create_group(members=["0044 7911 123456", "1 (555) 123-1234"])

    assert sorted(await client.list_members(group.id)) == sorted([ALICE, BOB])


async def test_list_groups_pages_newest_first(client: GroupsClient) -> None:
    created = [await client.create_group(name=f"g{index}") for index in range(3)]

    first = await client.list_groups(page=0, page_size=2)
    past_end = await client.list_groups(page=5, page_size=2)

    assert (first.page, first.page_size, first.count) == (0, 2, 3)
    assert [group.id for group in first.groups] == [created[2].id, created[1].id]
    assert (past_end.page_size, past_end.count, past_end.groups) == (0, 3, [])


@pytest.mark.parametrize(
    ("total", "page_size", "pages_requested"),
    [(7, 3, 3), (6, 3, 2), (0, 3, 1)],
    ids=["short-last-page", "count-reached", "empty"],
)
async def test_iter_groups_walks_every_page_and_stops_without_an_extra_request(
    client: GroupsClient, recorder: Recorder, total: int, page_size: int, pages_requested: int
) -> None:
    created = {(await client.create_group(name=f"g{index}")).id for index in range(total)}
    before = recorder.paths[GROUPS]

    seen = [group.id async for group in client.iter_groups(page_size=page_size)]

    assert sorted(seen) == sorted(created)
    assert recorder.paths[GROUPS] - before == pages_requested


@pytest.mark.parametrize("page_size", [0, 101])
async def test_iter_groups_rejects_page_sizes_that_cannot_terminate(
    client: GroupsClient, page_size: int
) -> None:
    with pytest.raises(ValueError, match="page_size"):
        await anext(client.iter_groups(page_size=page_size))


async def test_update_sends_only_given_keys_and_unset_name_keeps_the_name(
    client: GroupsClient, recorder: Recorder
) -> None:
    group = await client.create_group(name="keep me", members=[ALICE])

    updated = await client.update_group(group.id, add=[BOB, CAROL], remove=[ALICE])

    assert recorder.posted(group.id) == [{"add": [BOB, CAROL], "remove": [ALICE]}]
    assert updated.name == "keep me"
    assert sorted(await client.list_members(group.id)) == sorted([BOB, CAROL])


async def test_update_name_none_removes_the_name_and_a_string_renames(
    client: GroupsClient, recorder: Recorder
) -> None:
    group = await client.create_group(name="old")

    renamed = await client.update_group(group.id, name="new")
    cleared = await client.update_group(group.id, name=None)
    untouched = await client.update_group(group.id, name=UNSET)

    assert recorder.posted(group.id) == [{"name": "new"}, {"name": None}, {}]
    assert (renamed.name, cleared.name, untouched.name) == ("new", None, None)


async def test_update_from_groups_and_auto_update(client: GroupsClient) -> None:
    source = await client.create_group(members=[ALICE, BOB])
    unwanted = await client.create_group(members=[BOB])
    target = await client.create_group(members=[CAROL])
    auto = AutoUpdate(to="+15550001111", add=Keyword(first_word="JOIN"))

    updated = await client.update_group(
        target.id, add_from_group=source.id, remove_from_group=unwanted.id, auto_update=auto
    )

    assert sorted(await client.list_members(target.id)) == sorted([ALICE, CAROL])
    assert (updated.size, updated.auto_update) == (2, auto)


async def test_replace_sets_everything_and_drops_what_is_not_given(
    client: GroupsClient, recorder: Recorder
) -> None:
    group = await client.create_group(
        name="old", members=[ALICE, BOB], auto_update=AutoUpdate(to="+15550001111")
    )

    replaced = await client.replace_group(group.id, members=[CAROL])

    assert (replaced.name, replaced.size, replaced.auto_update) == (None, 1, None)
    assert (await client.list_members(group.id)).to_list() == [CAROL]
    assert recorder.bodies[-1][2] == {"members": [CAROL]}


async def test_delete_then_get_is_not_found(client: GroupsClient) -> None:
    group = await client.create_group(name="doomed")

    await client.delete_group(group.id)

    with pytest.raises(NotFoundError) as caught:
        await client.get_group(group.id)
    assert caught.value.status_code == 404
    assert caught.value.code == "not_found"


async def test_deleting_a_missing_group_is_not_found_without_retries(
    client: GroupsClient,
) -> None:
    with pytest.raises(NotFoundError):
        await client.delete_group("01FC66621VHDBN119Z8PMV1QPQ")
    assert client.stats.retries == 0


async def test_referencing_a_missing_group_is_unknown_group(client: GroupsClient) -> None:
    group = await client.create_group()

    with pytest.raises(UnknownGroupError) as caught:
        await client.update_group(group.id, add_from_group="01FC66621VHDBN119Z8PMV1QPQ")
    assert (caught.value.status_code, caught.value.code) == (403, "unknown_group")


async def test_bad_request_carries_status_code_and_text(client: GroupsClient) -> None:
    with pytest.raises(BadRequestError) as caught:
        await client.create_group(name="x" * 21)

    error = caught.value
    assert (error.status_code, error.code) == (400, "syntax_constraint_violation")
    assert error.text
    assert error.request.method == "POST"
    assert error.response.status_code == 400


async def test_implausible_number_is_invalid_number_with_the_value(client: GroupsClient) -> None:
    group = await client.create_group()

    with pytest.raises(InvalidNumberError) as caught:
        await client.update_group(group.id, add=[ALICE, "+12"])
    assert caught.value.value == "+12"
    assert caught.value.code == "syntax_invalid_parameter_format"


@pytest.mark.parametrize(
    "group_id",
    [
        "../x",
        "a/b",
        "",
        "01FC66621VHDBN119Z8PMV1QP",  # 25 characters
        "01FC66621VHDBN119Z8PMV1QPQQ",  # 27 characters
        "01FC66621VHDBN119Z8PMV1QPU",  # U is not Crockford base32
        "01FC66621VHDBN119Z8PMV1QP/",
        "01fc66621vhdbn119z8pmv1qpq",  # the API issues upper case
    ],
)
async def test_malformed_group_ids_never_reach_the_network(
    client: GroupsClient, group_id: str
) -> None:
    for call in (
        client.get_group(group_id),
        client.delete_group(group_id),
        client.list_members(group_id),
        client.update_group(group_id, add=[ALICE]),
        client.replace_group(group_id, members=[]),
        client.create_group(child_groups=[group_id]),
    ):
        with pytest.raises(InvalidGroupIdError) as caught:
            await call
        assert isinstance(caught.value, ValueError)
        assert caught.value.group_id == group_id
    assert client.stats.requests == 0


async def test_batching_mistakes_fail_before_sending(client: GroupsClient) -> None:
    group_id = "01FC66621VHDBN119Z8PMV1QPQ"
    with pytest.raises(TypeError, match="not one string"):
        await client.update_group(group_id, add=ALICE)
    with pytest.raises(ValueError, match="at most 10000"):
        await client.update_group(group_id, add=[ALICE] * 10_001)
    assert client.stats.requests == 0


async def test_stats_count_requests_and_responses(client: GroupsClient) -> None:
    group = await client.create_group()
    await client.get_group(group.id)
    with pytest.raises(NotFoundError):
        await client.get_group("01FC66621VHDBN119Z8PMV1QPQ")

    assert client.stats.as_dict() == {
        "requests": 3,
        "retries": 0,
        "transport_errors": 0,
        "responses": {200: 1, 201: 1, 404: 1},
    }
    assert repr(client.stats).startswith("ClientStats(requests=3, retries=0")


async def test_from_target_builds_a_working_client(recorder: Recorder) -> None:
    target = Target(service_plan_id=DEFAULT_PLAN_ID, api_token=DEFAULT_TOKEN, base_url=ASGI_ORIGIN)
    transport = httpx.ASGITransport(app=recorder)

    async with GroupsClient.from_target(target, transport=transport) as sinch:
        group = await sinch.create_group(name="from target")

    assert isinstance(group, Group)
    assert group.name == "from target"


async def test_client_works_without_async_with_until_aclose(recorder: Recorder) -> None:
    sinch = asgi_client(recorder)
    await sinch.list_groups()
    await sinch.aclose()
    assert sinch.stats.requests == 1


def answering(body: bytes):  # type: ignore[no-untyped-def]
    """An ASGI server that answers every request with 200 and `body`."""

    async def server(scope, receive, send):  # type: ignore[no-untyped-def]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return server


@pytest.mark.parametrize(
    "body",
    [b'["447911123456","15551231234"]', b'["+447911123456","15551231234"]'],
    ids=["digits", "mixed"],
)
async def test_list_members_adds_one_plus_whatever_the_server_sends(body: bytes) -> None:
    """The documented answer is digits; a server that sends some numbers with `+` gets no `++`."""
    async with asgi_client(answering(body)) as sinch:
        members = await sinch.list_members("01FC66621VHDBN119Z8PMV1QPQ")
    assert members.to_list() == [ALICE, BOB]
    assert members.name == "phone_e164"


async def test_list_members_of_an_empty_group_is_an_empty_string_series() -> None:
    async with asgi_client(answering(b"[]")) as sinch:
        members = await sinch.list_members("01FC66621VHDBN119Z8PMV1QPQ")
    assert members.is_empty()
    assert members.dtype == pl.String


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b'{"members": []}',
        b'"447911123456"',
        b'["447911123456",null]',
        b"[[1]]",
        b'["447911123456"] trailing',
        b"<html>maintenance</html>",
    ],
)
async def test_list_members_refuses_a_body_that_is_not_an_array_of_numbers(body: bytes) -> None:
    async with asgi_client(answering(body)) as sinch:
        with pytest.raises(UnexpectedResponseError, match="members"):
            await sinch.list_members("01FC66621VHDBN119Z8PMV1QPQ")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b' ["447911123456", "15551231234"]\n', ["+447911123456", "+15551231234"]),
        (b'["447911123456","","15551231234"]', ["+447911123456", "+", "+15551231234"]),
        (b'["44,79"]', ["+44,79"]),
        (b'["\\u002b447911123456"]', ["+447911123456"]),
        (b'["++447911123456"]', ["++447911123456"]),
        (b'["4479+11"]', ["+4479+11"]),
    ],
    ids=["whitespace", "empty-value", "comma", "escaped-plus", "two-plus", "inner-plus"],
)
async def test_list_members_reads_any_array_of_strings_as_json_does(
    body: bytes, expected: list[str]
) -> None:
    """Only a body of plain quoted digits takes the line reader; every other array of strings
    (spaces, escapes, commas, odd values) is read by the JSON rules, value for value."""
    async with asgi_client(answering(body)) as sinch:
        members = await sinch.list_members("01FC66621VHDBN119Z8PMV1QPQ")
    assert members.to_list() == expected
    assert members.name == "phone_e164"
    assert members.dtype == pl.String
