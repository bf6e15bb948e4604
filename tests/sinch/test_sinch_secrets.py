"""Credentials never show up in reprs, error messages, tracebacks or log records."""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Iterator

import pytest
from sinch_helpers import Recorder, asgi_client, live_client, set_faults

from pipeline.sinch import (
    AuthenticationError,
    ConfigurationError,
    GroupsClient,
    RetryPolicy,
    ServerError,
    SinchError,
)
from sinch_emulator import EmulatorConfig, EmulatorServer, Plan, ProjectKey, create_app

PLAN_TOKEN = "plan-token-SECRET-4f1c9a"
WRONG_TOKEN = "wrong-token-SECRET-77ab0e"
KEY_SECRET = "key-secret-SECRET-d00d1e"
PLAN_ID = "secretsplan"


@pytest.fixture
def secret_config() -> EmulatorConfig:
    return EmulatorConfig(
        plans=[Plan(id=PLAN_ID, token=PLAN_TOKEN)],
        projects=[ProjectKey(project_id="secretsproject", key_id="kid", key_secret=KEY_SECRET)],
    )


@pytest.fixture
def secret_app(secret_config: EmulatorConfig) -> Recorder:
    return Recorder(create_app(secret_config))


@pytest.fixture
def secret_server(secret_config: EmulatorConfig) -> Iterator[EmulatorServer]:
    with EmulatorServer(secret_config, host="127.0.0.1", port=0) as server:
        yield server


def secrets_seen(app: Recorder) -> set[str]:
    """Every credential that is in play: configured ones and tokens the emulator issued."""
    return {PLAN_TOKEN, WRONG_TOKEN, KEY_SECRET} | app.authorizations


def renderings(exc: BaseException) -> list[str]:
    """Everything a user or a log handler might print for an exception."""
    plain = "".join(traceback.format_exception(exc))
    with_locals = "".join(
        traceback.TracebackException.from_exception(exc, capture_locals=True).format()
    )
    return [str(exc), repr(exc), plain, with_locals]


def assert_hidden(texts: list[str], secrets: set[str]) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text


def plan_client(app: Recorder, token: str = PLAN_TOKEN, **options: object) -> GroupsClient:
    return asgi_client(app, service_plan_id=PLAN_ID, token=token, **options)


def oauth_client(app: Recorder, **options: object) -> GroupsClient:
    return asgi_client(
        app,
        service_plan_id=None,
        token=None,
        project_id="secretsproject",
        key_id="kid",
        key_secret=KEY_SECRET,
        **options,
    )


async def test_reprs_hide_credentials(secret_app: Recorder) -> None:
    for sinch in (plan_client(secret_app), oauth_client(secret_app)):
        async with sinch:
            await sinch.list_groups()
            assert_hidden([repr(sinch), str(sinch), repr(sinch.stats)], secrets_seen(secret_app))


async def test_authentication_error_and_its_traceback_hide_the_token(
    secret_app: Recorder,
) -> None:
    async with plan_client(secret_app, token=WRONG_TOKEN) as sinch:
        with pytest.raises(AuthenticationError) as caught:
            await sinch.list_groups()

    assert_hidden(renderings(caught.value), secrets_seen(secret_app))
    assert "[secure]" in repr(caught.value.request.headers)


async def test_format_exc_inside_the_handler_hides_the_token(secret_app: Recorder) -> None:
    await set_faults(secret_app, error_rate=1.0)
    policy = RetryPolicy(max_attempts=2, initial=0.001, maximum=0.001)
    async with oauth_client(secret_app, retry=policy) as sinch:
        try:
            await sinch.list_groups()
        except ServerError:
            formatted = traceback.format_exc()
        else:
            pytest.fail("expected a ServerError")

    assert "ServerError" in formatted
    assert_hidden([formatted], secrets_seen(secret_app))


async def faulty_session(plan: GroupsClient, oauth: GroupsClient, wrong: GroupsClient) -> None:
    """Creates, updates and reads with both kinds of credentials, then fails to authenticate."""
    for client in (plan, oauth):
        async with client as sinch:
            group = await sinch.create_group(name="logged", members=["+15551231234"])
            await sinch.update_group(group.id, add=["+15551231235"])
            await sinch.list_members(group.id)
    async with wrong as sinch:
        with pytest.raises(AuthenticationError):
            await sinch.list_groups()


async def test_debug_logs_of_a_faulty_session_hide_every_credential(
    secret_app: Recorder, secret_server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = secret_server.base_url
    oauth_live = {"project_id": "secretsproject", "key_id": "kid", "key_secret": KEY_SECRET}
    basic = base64.b64encode(f"kid:{KEY_SECRET}".encode()).decode()
    await set_faults(secret_app, error_rate=0.4, seed=1)
    await set_faults(url, error_rate=0.3, reset_rate=0.2, seed=1)
    with caplog.at_level(logging.DEBUG):
        # In process: the recorder sees the OAuth2 access tokens the emulator issues.
        await faulty_session(
            plan_client(secret_app),
            oauth_client(secret_app),
            plan_client(secret_app, token=WRONG_TOKEN),
        )
        # Over real HTTP: httpcore's DEBUG records of every connection step are included.
        await faulty_session(
            live_client(url, service_plan_id=PLAN_ID, token=PLAN_TOKEN),
            live_client(url, service_plan_id=None, token=None, **oauth_live),
            live_client(url, service_plan_id=PLAN_ID, token=WRONG_TOKEN),
        )

    messages = [record.getMessage() for record in caplog.records]
    assert any(record.levelno == logging.DEBUG for record in caplog.records)
    assert any("retrying" in message for message in messages)
    assert any("RemoteProtocolError" in message for message in messages)
    assert_hidden([caplog.text, *messages], secrets_seen(secret_app) | {basic})


async def test_transport_errors_hide_the_token(secret_server: EmulatorServer) -> None:
    url = secret_server.base_url
    await set_faults(url, reset_rate=1.0)
    policy = RetryPolicy(max_attempts=2, initial=0.001, maximum=0.001)
    async with live_client(url, service_plan_id=PLAN_ID, token=PLAN_TOKEN, retry=policy) as sinch:
        with pytest.raises(SinchError) as caught:
            await sinch.list_groups()

    texts = renderings(caught.value)
    assert "RemoteProtocolError" in texts[2]
    assert_hidden(texts, {PLAN_TOKEN})


def test_configuration_errors_hide_the_token_even_with_locals() -> None:
    with pytest.raises(ConfigurationError) as caught:
        GroupsClient(service_plan_id=PLAN_ID, token=PLAN_TOKEN, base_url="http://example.com")

    assert_hidden(renderings(caught.value), {PLAN_TOKEN})
