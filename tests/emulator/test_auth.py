"""Bearer tokens per service plan, and OAuth2 client credentials for projects."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from sinch_emulator import (
    DEFAULT_PLAN_ID,
    DEFAULT_PROJECT,
    DEFAULT_TOKEN,
    EmulatorConfig,
    Faults,
    create_app,
)

from .helpers import GROUPS, ClientFactory, FakeClock, assert_error

PROJECT_GROUPS = f"/xms/v1/{DEFAULT_PROJECT.project_id}/groups"
BASIC = (DEFAULT_PROJECT.key_id, DEFAULT_PROJECT.key_secret)
GRANT = {"grant_type": "client_credentials"}


async def _token(client: httpx.AsyncClient) -> str:
    response = await client.post("/oauth2/token", data=GRANT, auth=BASIC)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer second-token"},
        {"Authorization": DEFAULT_TOKEN},
        {"Authorization": f"Basic {DEFAULT_TOKEN}"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer d\xebmo-token".encode("latin-1")},
    ],
)
async def test_requests_without_the_plan_token_are_401(
    emulator_app: Starlette, client_for: ClientFactory, headers: dict[str, str | bytes]
) -> None:
    async with client_for(emulator_app) as client:
        response = await client.get(GROUPS, headers=headers)

    assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_scheme_is_case_insensitive(
    emulator_app: Starlette, client_for: ClientFactory
) -> None:
    async with client_for(emulator_app) as client:
        response = await client.get(GROUPS, headers={"Authorization": f"bearer {DEFAULT_TOKEN}"})

    assert response.status_code == 200


async def test_each_plan_has_its_own_token(
    emulator_app: Starlette, client_for: ClientFactory
) -> None:
    async with client_for(emulator_app, "second-token") as client:
        assert (await client.get("/xms/v1/secondplan/groups")).status_code == 200
        assert_error(await client.get(GROUPS), 401, "unauthorized")


async def test_unknown_plan_is_401(emulator_http: httpx.AsyncClient) -> None:
    assert_error(await emulator_http.get("/xms/v1/noplan/groups"), 401, "unauthorized")


async def test_control_routes_need_no_token(
    emulator_app: Starlette, client_for: ClientFactory
) -> None:
    async with client_for(emulator_app) as client:
        assert (await client.post("/_emulator/reset")).status_code == 204


async def test_oauth2_flow_unlocks_the_project(
    emulator_app: Starlette, client_for: ClientFactory
) -> None:
    async with client_for(emulator_app) as client:
        response = await client.post("/oauth2/token", data=GRANT, auth=BASIC)
        token = response.json()["access_token"]
        created = await client.post(
            PROJECT_GROUPS, json={"name": "via oauth"}, headers={"Authorization": f"Bearer {token}"}
        )
        on_plan = await client.get(GROUPS, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    assert response.json()["expires_in"] == 3600
    assert set(response.json()) == {"access_token", "expires_in", "scope", "token_type"}
    assert created.status_code == 201
    assert_error(on_plan, 401, "unauthorized")


async def test_plan_token_does_not_open_the_project(emulator_http: httpx.AsyncClient) -> None:
    assert_error(await emulator_http.get(PROJECT_GROUPS), 401, "unauthorized")


@pytest.mark.parametrize(
    "auth",
    [
        ("demo-key", "wrong-secret"),
        ("unknown-key", DEFAULT_PROJECT.key_secret),
        None,
    ],
)
async def test_bad_client_credentials_are_401(
    emulator_app: Starlette, client_for: ClientFactory, auth: tuple[str, str] | None
) -> None:
    async with client_for(emulator_app) as client:
        response = await client.post("/oauth2/token", data=GRANT, auth=auth)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_malformed_basic_header_is_401(
    emulator_app: Starlette, client_for: ClientFactory
) -> None:
    async with client_for(emulator_app) as client:
        response = await client.post(
            "/oauth2/token", data=GRANT, headers={"Authorization": "Basic not*base64"}
        )

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
    ],
)
async def test_wrong_grant_type_is_400(
    emulator_app: Starlette, client_for: ClientFactory, data: dict[str, str], error: str
) -> None:
    async with client_for(emulator_app) as client:
        response = await client.post("/oauth2/token", data=data, auth=BASIC)

    assert response.status_code == 400
    assert response.json()["error"] == error


async def test_access_token_expires_after_token_ttl(
    emulator_config: EmulatorConfig, client_for: ClientFactory, clock: FakeClock
) -> None:
    app = create_app(EmulatorConfig(plans=emulator_config.plans, token_ttl=60), clock=clock)
    async with client_for(app) as client:
        token = await _token(client)
        bearer = {"Authorization": f"Bearer {token}"}
        clock.advance(59.9)
        assert (await client.get(PROJECT_GROUPS, headers=bearer)).status_code == 200
        clock.advance(0.1)
        expired = await client.get(PROJECT_GROUPS, headers=bearer)
        fresh = await client.get(
            PROJECT_GROUPS, headers={"Authorization": f"Bearer {await _token(client)}"}
        )

    assert_error(expired, 401, "unauthorized")
    assert "expired" in expired.headers["www-authenticate"]
    assert fresh.status_code == 200


async def test_faults_do_not_touch_the_token_endpoint(client_for: ClientFactory) -> None:
    app = create_app(EmulatorConfig(faults=Faults(error_rate=1.0, rate_limit=0.001)))
    async with client_for(app) as client:
        responses = [await client.post("/oauth2/token", data=GRANT, auth=BASIC) for _ in range(3)]

    assert [response.status_code for response in responses] == [200, 200, 200]


def test_default_credentials_are_the_documented_demo_pair() -> None:
    config = EmulatorConfig()

    assert (DEFAULT_PLAN_ID, DEFAULT_TOKEN) == ("sinchgroupsdemo", "demo-token")
    assert [(plan.id, plan.token) for plan in config.plans] == [(DEFAULT_PLAN_ID, DEFAULT_TOKEN)]
    assert list(config.projects) == [DEFAULT_PROJECT]
