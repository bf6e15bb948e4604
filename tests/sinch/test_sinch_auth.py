"""Credentials: service-plan tokens, OAuth2 client credentials, and where they may be sent."""

from __future__ import annotations

import asyncio

import pytest
from sinch_helpers import PROJECT, FakeClock, Recorder, asgi_client

from pipeline.sinch import AuthenticationError, ConfigurationError, GroupsClient
from pipeline.sinch._config import resolve_endpoints
from sinch_emulator import DEFAULT_PROJECT, EmulatorConfig, create_app

TOKEN_PATH = "/oauth2/token"


def oauth_client(app: Recorder, **options: object) -> GroupsClient:
    return asgi_client(app, service_plan_id=None, token=None, **{**PROJECT, **options})


async def test_oauth_token_is_fetched_once_and_shared_by_concurrent_requests(
    recorder: Recorder,
) -> None:
    async with oauth_client(recorder) as sinch:
        group = await sinch.create_group(name="oauth")
        await asyncio.gather(*(sinch.get_group(group.id) for _ in range(10)))

    assert recorder.paths[TOKEN_PATH] == 1
    assert recorder.paths[f"/xms/v1/{DEFAULT_PROJECT.project_id}/groups/{group.id}"] == 10


async def test_oauth_token_is_renewed_before_it_expires() -> None:
    recorder = Recorder(create_app(EmulatorConfig(token_ttl=1)))
    async with oauth_client(recorder) as sinch:
        await sinch.list_groups()
        await sinch.list_groups()
        assert recorder.paths[TOKEN_PATH] == 1
        await asyncio.sleep(1.0)  # the client renews at 90 % of the lifetime
        await sinch.list_groups()

    assert recorder.paths[TOKEN_PATH] == 2
    assert 401 not in sinch.stats.responses


async def test_a_401_renews_the_token_once_and_resends() -> None:
    clock = FakeClock()
    recorder = Recorder(create_app(EmulatorConfig(token_ttl=3600), clock=clock))
    async with oauth_client(recorder) as sinch:
        await sinch.list_groups()
        clock.advance(7200)  # the server now considers the token expired; the client cannot know
        page = await sinch.list_groups()

    assert page.count == 0
    assert recorder.paths[TOKEN_PATH] == 2
    assert sinch.stats.responses == {200: 4, 401: 1}
    assert sinch.stats.retries == 0


async def test_rejected_project_key_names_the_settings_to_check(recorder: Recorder) -> None:
    async with oauth_client(recorder, key_secret="not-the-secret") as sinch:
        with pytest.raises(AuthenticationError) as caught:
            await sinch.list_groups()

    message = str(caught.value)
    assert "SINCH_KEY_ID" in message
    assert "SINCH_KEY_SECRET" in message
    assert caught.value.code == "invalid_client"
    assert recorder.paths[TOKEN_PATH] == 1  # a rejected key is not retried


async def test_rejected_plan_token_names_the_settings_to_check(recorder: Recorder) -> None:
    async with asgi_client(recorder, token="wrong-token", env_prefix="OLD_SINCH_") as sinch:
        with pytest.raises(AuthenticationError) as caught:
            await sinch.list_groups()

    assert "OLD_SINCH_API_TOKEN" in str(caught.value)
    assert "OLD_SINCH_SERVICE_PLAN_ID" in str(caught.value)
    assert caught.value.status_code == 401
    assert sinch.stats.requests == 1


@pytest.mark.parametrize(
    "base_url", ["http://example.com", "http://10.0.0.7:8000", "http://sms.api.sinch.com"]
)
def test_credentials_are_never_sent_over_plain_http_to_another_host(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="use an https:// URL"):
        GroupsClient(service_plan_id="plan", token="secret", base_url=base_url)


def test_oauth_token_url_must_be_https_too() -> None:
    with pytest.raises(ConfigurationError, match="https"):
        GroupsClient(
            project_id="p", key_id="k", key_secret="s", auth_url="http://auth.example.com/token"
        )


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8000", "http://127.1.2.3", "http://[::1]:8000", "http://localhost:9"],
)
def test_plain_http_is_allowed_for_loopback(base_url: str) -> None:
    GroupsClient(service_plan_id="plan", token="secret", base_url=base_url)


@pytest.mark.parametrize(
    ("oauth", "region", "base_url", "auth_url", "api_root", "token_url"),
    [
        (
            False,
            "us",
            None,
            None,
            "https://us.sms.api.sinch.com/xms/v1/acct/",
            "https://auth.sinch.com/oauth2/token",
        ),
        (
            False,
            "ca",
            None,
            None,
            "https://ca.sms.api.sinch.com/xms/v1/acct/",
            "https://auth.sinch.com/oauth2/token",
        ),
        (
            True,
            "eu",
            None,
            None,
            "https://zt.eu.sms.api.sinch.com/xms/v1/acct/",
            "https://auth.sinch.com/oauth2/token",
        ),
        (
            True,
            "us",
            "http://127.0.0.1:8000/",
            None,
            "http://127.0.0.1:8000/xms/v1/acct/",
            "http://127.0.0.1:8000/oauth2/token",
        ),
        (
            True,
            "us",
            "http://127.0.0.1:8000",
            "https://auth.example/t",
            "http://127.0.0.1:8000/xms/v1/acct/",
            "https://auth.example/t",
        ),
    ],
)
def test_endpoints_per_region_and_base_url(
    oauth: bool,
    region: str,
    base_url: str | None,
    auth_url: str | None,
    api_root: str,
    token_url: str,
) -> None:
    endpoints = resolve_endpoints(
        account_id="acct", oauth=oauth, region=region, base_url=base_url, auth_url=auth_url
    )
    assert (endpoints.api_root, endpoints.auth_url) == (api_root, token_url)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({**PROJECT, "region": "au"}, "only work in regions us and eu"),
        ({"service_plan_id": "plan", "token": "t", "region": "mars"}, "unknown region 'mars'"),
        ({"service_plan_id": "../plan", "token": "t"}, "invalid service plan id"),
        ({"service_plan_id": "plan", "token": "t", "base_url": "127.0.0.1:8000"}, "absolute URL"),
        ({"token": "t"}, "SINCH_API_TOKEN is set but SINCH_SERVICE_PLAN_ID is not"),
        ({"project_id": "p", "key_id": "k"}, "set SINCH_KEY_SECRET"),
        ({"service_plan_id": "plan", "token": "t", **PROJECT}, "keep one of the two"),
        ({}, "no credentials"),
        ({"service_plan_id": "plan", "token": "t", "max_concurrency": 0}, "max_concurrency"),
        ({"service_plan_id": "plan", "token": "t", "requests_per_second": 0}, "positive"),
    ],
)
def test_unusable_configuration_is_refused_up_front(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        GroupsClient(**options)  # type: ignore[arg-type]
