"""Property test over every emulator endpoint (in place of schemathesis, which is not installed):
random sequences of requests with random methods, paths, ids, query strings, headers and bodies,
hostile ones included. No request may make the emulator answer 500 or leave the wire contract
(`/work/shared/reference/sinch-groups-api.md`): errors are `{"code", "text"}` with the documented
codes, successes parse with the project's own client models, a wrong token is always 401, and
after every sequence each group's `size` equals its listed members.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from pipeline.sinch import Group, GroupPage
from sinch_emulator import (
    DEFAULT_PLAN_ID,
    DEFAULT_PROJECT,
    DEFAULT_TOKEN,
    EmulatorConfig,
    Plan,
    create_app,
)

ORIGIN = "http://emulator.test"
OTHER_PLAN, OTHER_TOKEN = "secondplan", "second-token"
NAMESPACES = [DEFAULT_PLAN_ID, OTHER_PLAN, DEFAULT_PROJECT.project_id, "nosuchplan", "a b", ".."]
ERROR_CODES = {
    400: {"syntax_invalid_json", "syntax_invalid_parameter_format", "syntax_constraint_violation"},
    401: {"unauthorized"},
    403: {"unknown_group"},
    404: {"not_found"},
    405: {"method_not_allowed"},
    415: {"unsupported_media_type"},
}
GROUP: TypeAdapter[Group] = TypeAdapter(Group)
PAGE: TypeAdapter[GroupPage] = TypeAdapter(GroupPage)
ID_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
TIMESTAMP_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
MSISDN_RE = re.compile(r"[1-9][0-9]{6,14}")

# --- strategies -------------------------------------------------------------------------------

url_text = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
    st.sampled_from(["", " ", "\x00", "[/]", "../..", "%2F", "🎉" * 21, "x" * 21]),
)
"""Text that can travel in a URL (a lone surrogate cannot even be encoded by the client)."""
hostile_text = st.one_of(st.text(max_size=30), url_text, st.just("\ud800"))
"""Text for JSON bodies, lone surrogates included (JSON can escape them: `"\\ud800"`)."""
msisdns = st.one_of(
    st.sampled_from(["+447900000001", "447900000002", "0044 7900 000003", "+1 (201) 555-0123"]),
    st.from_regex(r"\+?[0-9 ()\-.]{0,20}", fullmatch=True),
    hostile_text,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children),
    max_leaves=10,
)


@st.composite
def group_ids(draw: st.DrawFn, known: list[str]) -> str:
    """Mostly an id that exists (from earlier in the sequence), sometimes anything at all."""
    if known and draw(st.booleans()):
        return draw(st.sampled_from(known))
    return draw(st.one_of(st.just("01J0000000000000000000000A"), url_text))


def segment(text: str) -> str:
    """A path segment as a client puts it on the wire (percent-encoded)."""
    return quote(text, safe="")


@st.composite
def keywords(draw: st.DrawFn) -> Any:
    return draw(
        st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {"first_word": st.one_of(st.sampled_from(["JOIN", "x" * 16]), hostile_text)},
                optional={"second_word": hostile_text | st.none()},
            ),
            json_values,
        )
    )


@st.composite
def bodies(draw: st.DrawFn, known: list[str]) -> Any:
    """A group-like JSON object (any field may be of the wrong type), or any JSON at all."""
    fields = {
        "name": st.one_of(st.none(), hostile_text, json_values),
        "members": st.one_of(st.lists(msisdns, max_size=5), json_values),
        "add": st.one_of(st.lists(msisdns, max_size=5), json_values),
        "remove": st.one_of(st.lists(msisdns, max_size=5), json_values),
        "child_groups": st.one_of(st.lists(group_ids(known), max_size=3), json_values),
        "add_from_group": st.one_of(group_ids(known), json_values),
        "remove_from_group": st.one_of(group_ids(known), json_values),
        "auto_update": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {"to": st.one_of(msisdns, json_values)},
                optional={"add": keywords(), "remove": keywords()},
            ),
            json_values,
        ),
    }
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=4))
    return {key: draw(fields[key]) for key in chosen}


OPERATIONS = [("GET", ""), ("POST", ""), ("GET", "/{id}"), ("POST", "/{id}"), ("PUT", "/{id}")]
OPERATIONS += [("DELETE", "/{id}"), ("GET", "/{id}/members")]
"""The seven documented operations, as (method, path under /groups)."""


@st.composite
def requests(draw: st.DrawFn, known: list[str]) -> httpx.Request:
    """Mostly a well-formed, authorized call of a documented operation with a hostile body or
    query (so the fuzz reaches the handlers); otherwise anything in every dimension."""
    body = draw(st.one_of(st.none(), bodies(known), st.binary(max_size=40)))
    group = segment(draw(group_ids(known)))
    if draw(st.integers(0, 9)) < 7:
        method, suffix = draw(st.sampled_from(OPERATIONS))
        path = f"/xms/v1/{DEFAULT_PLAN_ID}/groups" + suffix.replace("{id}", group)
        headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}", "Content-Type": "application/json"}
        if isinstance(body, bytes):
            body = None
    else:
        method, path, headers = draw(anything(group))
    content = (
        body
        if isinstance(body, bytes)
        else None
        if body is None
        else json.dumps(body, ensure_ascii=True, allow_nan=True).encode()
    )
    query = draw(
        st.dictionaries(
            st.sampled_from(["page", "page_size", "x"]),
            st.one_of(st.integers(-3, 2**70).map(str), url_text),
            max_size=2,
        )
    )
    return httpx.Request(
        method, ORIGIN + path, params=query, headers=headers, content=content or None
    )


@st.composite
def anything(draw: st.DrawFn, group: str) -> tuple[str, str, dict[str, str]]:
    """Any method on any path, with any (or no) credentials and content type."""
    namespace = segment(draw(st.sampled_from(NAMESPACES)))
    root = f"/xms/v1/{namespace}/groups"
    path = draw(
        st.sampled_from(
            [
                root,
                f"{root}/{group}",
                f"{root}/{group}/members",
                f"{root}/{group}/members/x",
                f"/xms/v1/{namespace}",
                "/oauth2/token",
                "/nowhere",
            ]
        )
    )
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]))
    headers: dict[str, str] = {}
    authorization = draw(
        st.sampled_from(
            [
                f"Bearer {DEFAULT_TOKEN}",
                f"bearer {DEFAULT_TOKEN}",
                f"Bearer {OTHER_TOKEN}",
                "Bearer wrong-token",
                f"Bearer {DEFAULT_TOKEN}x",
                f"Basic {base64.b64encode(b'demo-key:demo-secret').decode()}",
                "Bearer ",
                None,
            ]
        )
    )
    if authorization is not None:
        headers["Authorization"] = authorization
    content_type = draw(
        st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", None])
    )
    if content_type is not None:
        headers["Content-Type"] = content_type
    return method, path, headers


# --- checks -----------------------------------------------------------------------------------


def authorized(request: httpx.Request) -> bool:
    """Whether the request's token opens the plan named in its path (projects need OAuth)."""
    namespace = request.url.path.split("/")[3]
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    tokens = {DEFAULT_PLAN_ID: DEFAULT_TOKEN, OTHER_PLAN: OTHER_TOKEN}
    return scheme.lower() == "bearer" and tokens.get(namespace) == token.strip()


def check(request: httpx.Request, response: httpx.Response) -> None:
    """The response obeys the wire contract; raises AssertionError with the exchange if not."""
    exchange = f"{request.method} {request.url} {request.content[:200]!r} -> {response.status_code} {response.text[:300]}"
    assert response.status_code in {200, 201, 204, *ERROR_CODES}, exchange
    path = request.url.path
    if not path.startswith("/xms/v1/"):
        return
    if response.status_code >= 400 and request.method != "HEAD":  # HEAD: headers, no body
        body = response.json()
        assert set(body) == {"code", "text"}, exchange
        assert isinstance(body["text"], str), exchange
        assert body["code"] in ERROR_CODES[response.status_code], exchange
    if response.status_code == 401:
        assert not authorized(request), exchange
        return
    assert authorized(request), f"a wrong or missing token was let in: {exchange}"
    if response.status_code >= 400 or request.method == "HEAD":
        return
    if request.method == "DELETE":
        assert response.content == b"", exchange
    elif path.endswith("/groups") and request.method == "GET":
        page = PAGE.validate_json(response.content)
        assert page.page_size == len(page.groups) <= 100, exchange
        for group in response.json()["groups"]:
            check_group(group, exchange)
    elif path.endswith("/members"):
        members = response.json()
        assert isinstance(members, list), exchange
        assert all(isinstance(m, str) and MSISDN_RE.fullmatch(m) for m in members), exchange
    else:
        assert response.status_code == (
            201 if request.method == "POST" and path.endswith("/groups") else 200
        )
        check_group(response.json(), exchange)


def check_group(group: dict[str, Any], exchange: str) -> None:
    GROUP.validate_python(group)
    assert ID_RE.fullmatch(group["id"]), exchange
    assert TIMESTAMP_RE.fullmatch(group["created_at"]), exchange
    assert TIMESTAMP_RE.fullmatch(group["modified_at"]), exchange
    assert None not in group.values(), f"null fields are left out: {exchange}"
    if "name" in group:
        assert 1 <= len(group["name"]) <= 20, exchange
    assert group["size"] >= 0, exchange
    assert len(group.get("child_groups", [])) <= 10, exchange


async def consistent(client: httpx.AsyncClient) -> None:
    """Every group's size equals its members, and its children exist."""
    root = f"/xms/v1/{DEFAULT_PLAN_ID}/groups"
    listed = (await client.get(root, params={"page_size": 100})).json()["groups"]
    ids = {group["id"] for group in listed}
    for group in listed:
        members = (await client.get(f"{root}/{group['id']}/members")).json()
        assert group["size"] == len(members) == len(set(members)), group
        assert set(group.get("child_groups", [])) <= ids, group


async def play(draw: st.DrawFn) -> None:
    app = create_app(
        EmulatorConfig(
            plans=[
                Plan(id=DEFAULT_PLAN_ID, token=DEFAULT_TOKEN),
                Plan(id=OTHER_PLAN, token=OTHER_TOKEN),
            ],
            projects=[DEFAULT_PROJECT],
        )
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=ORIGIN,
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
    ) as client:
        known: list[str] = []
        seeded = await client.post(f"/xms/v1/{DEFAULT_PLAN_ID}/groups", json={"name": "seed"})
        known.append(seeded.json()["id"])
        for _ in range(draw(st.integers(1, 8))):
            request = draw(requests(known))
            response = await client.send(request)
            check(request, response)
            if response.status_code == 201:
                known.append(response.json()["id"])
        await consistent(client)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_request_makes_the_emulator_answer_500_or_break_the_contract(
    data: st.DataObject,
) -> None:
    asyncio.run(play(data.draw))


GROUPS_PATH = f"/xms/v1/{DEFAULT_PLAN_ID}/groups"
DEEP = b"[" * 100_000 + b"]" * 100_000
SURROGATE_BODIES = [
    b'{"name": "\\ud800"}',
    b'{"members": ["+44\\udfff7900000001"]}',
    b'{"child_groups": ["\\udc80"]}',
    b'{"auto_update": {"to": "+447900000001", "add": {"first_word": "\\ud83d"}}}',
]
"""JSON that escapes a lone UTF-16 surrogate: it parses, but is no text that can be stored."""


async def exchange(method: str, path: str, content: bytes | None = None) -> httpx.Response:
    app = create_app(EmulatorConfig())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=ORIGIN,
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}", "Content-Type": "application/json"},
    ) as client:
        if path.endswith("{id}"):
            created = await client.post(GROUPS_PATH, json={"name": "x"})
            path = path.replace("{id}", created.json()["id"])
        request = client.build_request(method, path, content=content)
        response = await client.send(request)
        check(request, response)
        return response


@pytest.mark.parametrize(
    ("method", "path", "content", "status"),
    [
        ("POST", GROUPS_PATH, DEEP, 400),
        ("PUT", "/_emulator/faults", DEEP, 400),
        *(("POST", GROUPS_PATH, body, 400) for body in SURROGATE_BODIES),
        ("POST", GROUPS_PATH + "/{id}", b'{"name": "\\ud800"}', 400),
        ("PUT", GROUPS_PATH + "/{id}", b'{"members": [], "name": "\\ud800"}', 400),
        ("PUT", "/_emulator/faults", b'{"refuse_numbers": ["\\ud800"]}', 400),
        ("POST", GROUPS_PATH + "/", b"{}", 404),
        ("GET", GROUPS_PATH + "/", None, 404),
        ("GET", GROUPS_PATH + "/{id}/", None, 404),
    ],
    ids=[
        "deep-nesting",
        "deep-nesting-faults",
        "surrogate-name",
        "surrogate-member",
        "surrogate-child",
        "surrogate-keyword",
        "surrogate-rename",
        "surrogate-replace",
        "surrogate-faults",
        "trailing-slash-post",
        "trailing-slash-get",
        "trailing-slash-group",
    ],
)
def test_requests_that_once_broke_the_emulator_get_contract_errors(
    method: str, path: str, content: bytes | None, status: int
) -> None:
    """Found by the property test above: a 500 (deep nesting, lone surrogates) or a 307
    redirect (a trailing slash; following it turns an update into a create)."""
    response = asyncio.run(exchange(method, path, content))

    assert response.status_code == status, response.text
