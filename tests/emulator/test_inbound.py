"""POST /_emulator/inbound: subscribers join and leave groups by texting auto_update keywords.

Groups are set up through the real API, then a simulated inbound SMS is checked against what
the API shows afterwards (members, size, modified_at).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

import sinch_emulator
from sinch_emulator import DEFAULT_TOKEN, EmulatorConfig, EmulatorServer, Faults, create_app
from sinch_emulator.entities import AutoUpdate, Keyword
from sinch_emulator.keywords import Action, keyword_action, split_words
from sinch_emulator.msisdn import address_key
from tests.live import inbound

from .helpers import (
    GROUPS,
    ClientFactory,
    FakeClock,
    assert_error,
    create_group,
    get_group,
    members_of,
)

SHORTCODE = "+15551231234"
OTHER_NUMBER = "+15559990000"
A, B = "+12018881111", "+12018882222"
A_DIGITS, B_DIGITS = A[1:], B[1:]
INBOUND = "/_emulator/inbound"
SECOND_GROUPS = "/xms/v1/secondplan/groups"


def _auto_update(
    to: str = SHORTCODE,
    add: dict[str, str] | None = None,
    remove: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An auto_update object: JOIN / LEAVE unless told otherwise."""
    return {
        "to": to,
        "add": add or {"first_word": "JOIN"},
        "remove": remove or {"first_word": "LEAVE"},
    }


async def _inbound(
    client: httpx.AsyncClient, body: str, *, sender: str = A, to: str = SHORTCODE, **extra: str
) -> dict[str, list[str]]:
    response = await client.post(INBOUND, json={"from": sender, "to": to, "body": body, **extra})
    assert response.status_code == 200, response.text
    result: dict[str, list[str]] = response.json()
    return result


async def test_add_keyword_joins_and_the_member_listing_shows_it(
    emulator_http: httpx.AsyncClient,
) -> None:
    group = await create_group(emulator_http, members=[B], auto_update=_auto_update())

    assert await _inbound(emulator_http, "JOIN") == {"joined": [group["id"]], "left": []}

    assert await members_of(emulator_http, group["id"]) == [A_DIGITS, B_DIGITS]
    assert (await get_group(emulator_http, group["id"]))["size"] == 2


async def test_remove_keyword_leaves(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(emulator_http, members=[A, B], auto_update=_auto_update())

    assert await _inbound(emulator_http, "LEAVE") == {"joined": [], "left": [group["id"]]}

    assert await members_of(emulator_http, group["id"]) == [B_DIGITS]
    assert (await get_group(emulator_http, group["id"]))["size"] == 1


@pytest.mark.parametrize("body", ["join", "JoIn", "  join  ", "JOIN please", "join\tnow\n"])
async def test_first_word_matches_ignoring_case_and_further_words(
    emulator_http: httpx.AsyncClient, body: str
) -> None:
    group = await create_group(emulator_http, auto_update=_auto_update())

    assert (await _inbound(emulator_http, body))["joined"] == [group["id"]]


async def test_case_is_compared_by_unicode_casefold(emulator_http: httpx.AsyncClient) -> None:
    group = await create_group(
        emulator_http, auto_update=_auto_update(add={"first_word": "straße"})
    )

    assert (await _inbound(emulator_http, "STRASSE"))["joined"] == [group["id"]]


@pytest.mark.parametrize("body", ["JOIN!", "JOIN.", "#JOIN", "JOINNOW", "", "   ", "hello JOIN"])
async def test_other_bodies_match_nothing(emulator_http: httpx.AsyncClient, body: str) -> None:
    group = await create_group(emulator_http, members=[B], auto_update=_auto_update())

    assert await _inbound(emulator_http, body) == {"joined": [], "left": []}
    assert await members_of(emulator_http, group["id"]) == [B_DIGITS]


async def test_second_word_is_required_when_configured(emulator_http: httpx.AsyncClient) -> None:
    remove = {"first_word": "LEAVE", "second_word": "NOW"}
    group = await create_group(emulator_http, members=[A], auto_update=_auto_update(remove=remove))

    for body in ("LEAVE", "LEAVE LATER", "NOW LEAVE", "LEAVE NOW!"):
        assert await _inbound(emulator_http, body) == {"joined": [], "left": []}, body
    assert await members_of(emulator_http, group["id"]) == [A_DIGITS]

    assert await _inbound(emulator_http, "leave now please") == {
        "joined": [],
        "left": [group["id"]],
    }
    assert await members_of(emulator_http, group["id"]) == []


async def test_only_groups_of_the_number_texted_change(emulator_http: httpx.AsyncClient) -> None:
    texted = await create_group(emulator_http, auto_update=_auto_update())
    other = await create_group(emulator_http, auto_update=_auto_update(to=OTHER_NUMBER))
    plain = await create_group(emulator_http, members=[B])

    assert await _inbound(emulator_http, "JOIN") == {"joined": [texted["id"]], "left": []}

    assert await members_of(emulator_http, other["id"]) == []
    assert await members_of(emulator_http, plain["id"]) == [B_DIGITS]


@pytest.mark.parametrize("to", ["+1 (555) 123-1234", "0015551231234", "15551231234"])
async def test_to_and_from_follow_the_msisdn_input_rules(
    emulator_http: httpx.AsyncClient, to: str
) -> None:
    group = await create_group(emulator_http, auto_update=_auto_update(to="+1 555 123 1234"))

    result = await _inbound(emulator_http, "JOIN", sender="00 1 (201) 888-1111", to=to)

    assert result["joined"] == [group["id"]]
    assert await members_of(emulator_http, group["id"]) == [A_DIGITS]


async def test_a_short_code_to_matches_without_being_an_msisdn(
    emulator_http: httpx.AsyncClient,
) -> None:
    group = await create_group(emulator_http, auto_update=_auto_update(to="12345"))

    assert (await _inbound(emulator_http, "JOIN", to="12345"))["joined"] == [group["id"]]
    assert (await _inbound(emulator_http, "JOIN", to="123456")) == {"joined": [], "left": []}


async def test_one_text_can_join_one_group_and_leave_another(
    emulator_http: httpx.AsyncClient,
) -> None:
    news = await create_group(emulator_http, auto_update=_auto_update(add={"first_word": "NEWS"}))
    deals = await create_group(
        emulator_http, members=[A], auto_update=_auto_update(remove={"first_word": "NEWS"})
    )

    assert await _inbound(emulator_http, "news") == {"joined": [news["id"]], "left": [deals["id"]]}


async def test_groups_of_every_plan_unless_one_is_named(
    emulator_app: Starlette, client_for: ClientFactory
) -> None:
    async with (
        client_for(emulator_app, DEFAULT_TOKEN) as demo,
        client_for(emulator_app, "second-token") as second,
    ):
        demo_group = await create_group(demo, auto_update=_auto_update())
        response = await second.post(SECOND_GROUPS, json={"auto_update": _auto_update()})
        second_group = response.json()

        assert await _inbound(demo, "JOIN") == {
            "joined": [demo_group["id"], second_group["id"]],
            "left": [],
        }
        only_second = await _inbound(demo, "LEAVE", service_plan_id="secondplan")
        assert only_second == {"joined": [], "left": [second_group["id"]]}

        assert await members_of(demo, demo_group["id"]) == [A_DIGITS]
        members = await second.get(f"{SECOND_GROUPS}/{second_group['id']}/members")
        assert members.json() == []


async def test_groups_without_auto_update_or_that_keyword_are_untouched(
    emulator_http: httpx.AsyncClient,
) -> None:
    plain = await create_group(emulator_http, members=[A])
    join_only = await create_group(emulator_http, members=[A], auto_update={"to": SHORTCODE})

    assert await _inbound(emulator_http, "LEAVE") == {"joined": [], "left": []}
    assert await _inbound(emulator_http, "JOIN") == {"joined": [], "left": []}

    assert await members_of(emulator_http, plain["id"]) == [A_DIGITS]
    assert await members_of(emulator_http, join_only["id"]) == [A_DIGITS]


async def test_same_words_for_both_keywords_remove_wins(emulator_http: httpx.AsyncClient) -> None:
    stop = {"first_word": "STOP"}
    group = await create_group(
        emulator_http, members=[A], auto_update=_auto_update(add=stop, remove=stop)
    )

    assert await _inbound(emulator_http, "stop") == {"joined": [], "left": [group["id"]]}
    # A non-member texting it is not subscribed: the leave is a no-op.
    assert await _inbound(emulator_http, "stop", sender=B) == {"joined": [], "left": []}
    assert await members_of(emulator_http, group["id"]) == []


async def test_size_and_modified_at_change_like_an_update_and_no_ops_change_nothing(
    clocked_app: Starlette, client_for: ClientFactory, clock: FakeClock
) -> None:
    async with client_for(clocked_app, DEFAULT_TOKEN) as client:
        group = await create_group(client, members=[B], auto_update=_auto_update())
        clock.advance(1.5)
        await _inbound(client, "JOIN")
        joined = await get_group(client, group["id"])
        clock.advance(1.0)
        assert await _inbound(client, "JOIN") == {"joined": [], "left": []}
        assert await _inbound(client, "LEAVE", sender="+12018883333") == {"joined": [], "left": []}
        unchanged = await get_group(client, group["id"])
        clock.advance(1.0)
        await _inbound(client, "LEAVE")
        left = await get_group(client, group["id"])

    assert group["modified_at"] == "2024-06-06T08:59:22.156Z"
    assert (joined["size"], joined["modified_at"]) == (2, "2024-06-06T08:59:23.656Z")
    assert unchanged == joined
    assert (left["size"], left["modified_at"]) == (1, "2024-06-06T08:59:25.656Z")


@pytest.mark.parametrize("sender", ["abc", "+123", "", "+0201888111"])
async def test_an_invalid_from_is_a_400_like_the_api(
    emulator_http: httpx.AsyncClient, sender: str
) -> None:
    await create_group(emulator_http, auto_update=_auto_update())

    response = await emulator_http.post(
        INBOUND, json={"from": sender, "to": SHORTCODE, "body": "JOIN"}
    )

    body = assert_error(response, 400, "syntax_invalid_parameter_format")
    assert body["text"] == f"Invalid MSISDN '{sender}'"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"to": SHORTCODE, "body": "JOIN"}, "syntax_constraint_violation"),
        ({"from": A, "body": "JOIN"}, "syntax_constraint_violation"),
        ({"from": A, "to": SHORTCODE}, "syntax_constraint_violation"),
        ({"from": A, "to": " - ", "body": "JOIN"}, "syntax_constraint_violation"),
        ({"from": A, "to": SHORTCODE, "body": 1}, "syntax_invalid_json"),
        ({"from": A, "to": SHORTCODE, "body": "x", "service_plan_id": 1}, "syntax_invalid_json"),
    ],
)
async def test_a_malformed_request_is_a_400(
    emulator_http: httpx.AsyncClient, payload: dict[str, Any], code: str
) -> None:
    assert_error(await emulator_http.post(INBOUND, json=payload), 400, code)


async def test_needs_no_credentials_and_skips_faults(client_for: ClientFactory) -> None:
    app = create_app(EmulatorConfig(faults=Faults(error_rate=1.0)))
    async with client_for(app) as anonymous:
        result = await _inbound(anonymous, "JOIN")
        assert (await anonymous.get(GROUPS)).status_code == 401

    assert result == {"joined": [], "left": []}


async def test_refused_numbers_can_still_join(client_for: ClientFactory) -> None:
    app = create_app(EmulatorConfig(faults=Faults(refuse_numbers=frozenset({A}))))
    async with client_for(app, DEFAULT_TOKEN) as client:
        group = await create_group(client, auto_update=_auto_update())

        assert (await _inbound(client, "JOIN"))["joined"] == [group["id"]]


def test_send_inbound_and_the_live_helper_over_real_http(live_emulator: EmulatorServer) -> None:
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    created = httpx.post(
        f"{live_emulator.base_url}{GROUPS}", json={"auto_update": _auto_update()}, headers=headers
    )
    group_id = created.json()["id"]

    joined = sinch_emulator.send_inbound(
        live_emulator.base_url + "/", sender=A, to=SHORTCODE, body="join"
    )
    assert joined == {"joined": [group_id], "left": []}
    assert inbound(live_emulator, A, SHORTCODE, "leave") == {"joined": [], "left": [group_id]}
    elsewhere = sinch_emulator.send_inbound(
        live_emulator.base_url, sender=A, to=SHORTCODE, body="join", service_plan_id="other"
    )
    assert elsewhere == {"joined": [], "left": []}

    with pytest.raises(httpx.HTTPStatusError, match="Invalid MSISDN 'nope'"):
        sinch_emulator.send_inbound(live_emulator.base_url, sender="nope", to=SHORTCODE, body="x")


@pytest.mark.parametrize(
    ("body", "action"),
    [
        ("JOIN", Action.JOIN),
        ("stop", Action.LEAVE),
        ("stop all", Action.LEAVE),
        ("stop now", Action.LEAVE),
        ("join now", Action.JOIN),
        ("start", None),
    ],
)
def test_keyword_action_rules(body: str, action: Action | None) -> None:
    settings = AutoUpdate(to=SHORTCODE, add=Keyword("JOIN", None), remove=Keyword("STOP", None))

    assert keyword_action(settings, split_words(body)) is action


def test_address_key() -> None:
    assert address_key("+1 (555) 123-1234") == address_key("0015551231234") == "15551231234"
    assert address_key("+12345") == address_key("12 345") == "12345"
