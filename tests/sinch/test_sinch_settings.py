"""`pipeline.sinch.Target`: environment variables under any prefix, checked as it is built."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sinch_helpers import ASGI_ORIGIN, Recorder, set_faults

from pipeline.sinch import AuthenticationError, ConfigurationError, GroupsClient, Target
from sinch_emulator import DEFAULT_PLAN_ID, DEFAULT_TOKEN

VARIABLES = (
    "SERVICE_PLAN_ID",
    "API_TOKEN",
    "REGION",
    "BASE_URL",
    "PROJECT_ID",
    "KEY_ID",
    "KEY_SECRET",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for prefix in ("SINCH_", "OLD_SINCH_"):
        for name in VARIABLES:
            monkeypatch.delenv(prefix + name, raising=False)


def test_from_env_reads_the_default_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINCH_SERVICE_PLAN_ID", "plan1")
    monkeypatch.setenv("SINCH_API_TOKEN", "token1")
    monkeypatch.setenv("SINCH_REGION", "EU")

    target = Target.from_env()

    assert (target.service_plan_id, target.region, target.env_prefix) == ("plan1", "eu", "SINCH_")
    assert target.api_token is not None
    assert target.api_token.get_secret_value() == "token1"
    assert target.has_credentials


def test_from_env_with_another_prefix_reads_only_that_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SINCH_SERVICE_PLAN_ID", "new-plan")
    monkeypatch.setenv("SINCH_API_TOKEN", "new-token")
    monkeypatch.setenv("OLD_SINCH_PROJECT_ID", "old-project")
    monkeypatch.setenv("OLD_SINCH_KEY_ID", "old-key")
    monkeypatch.setenv("OLD_SINCH_KEY_SECRET", "old-secret")

    old = Target.from_env("OLD_SINCH_")

    assert (old.service_plan_id, old.project_id, old.key_id) == (None, "old-project", "old-key")
    assert old.describe() == {
        "region": "us",
        "auth": "oauth2 project key",
        "project_id": "old-project",
    }
    assert old.env_prefix == "OLD_SINCH_"


def test_no_credentials_is_a_valid_target_without_credentials() -> None:
    target = Target.from_env()

    assert not target.has_credentials
    assert target.describe() == {"region": "us", "auth": "none"}
    with pytest.raises(ConfigurationError, match="no credentials: set SINCH_SERVICE_PLAN_ID"):
        GroupsClient.from_target(target)


def test_empty_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINCH_API_TOKEN", "")
    assert not Target.from_env().has_credentials


@pytest.mark.parametrize(
    ("prefix", "variables", "message"),
    [
        ("SINCH_", {"API_TOKEN": "t"}, "SINCH_API_TOKEN is set but SINCH_SERVICE_PLAN_ID is not"),
        ("SINCH_", {"SERVICE_PLAN_ID": "p"}, "set SINCH_API_TOKEN"),
        ("OLD_SINCH_", {"PROJECT_ID": "p", "KEY_ID": "k"}, "set OLD_SINCH_KEY_SECRET"),
        ("OLD_SINCH_", {"KEY_ID": "k", "KEY_SECRET": "s"}, "set OLD_SINCH_PROJECT_ID"),
        ("SINCH_", {"SERVICE_PLAN_ID": "p", "API_TOKEN": "t", "KEY_ID": "k"}, "keep one"),
        ("SINCH_", {"REGION": "mars"}, "SINCH_REGION='mars' is not a Sinch region"),
        ("SINCH_", {"BASE_URL": "http://127.0.0.1:9"}, "SINCH_BASE_URL is set but no credentials"),
        ("OLD_SINCH_", {"BASE_URL": "https://x.test"}, "set OLD_SINCH_SERVICE_PLAN_ID and OLD_"),
    ],
)
def test_incomplete_settings_name_the_variable_to_set(
    monkeypatch: pytest.MonkeyPatch, prefix: str, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(prefix + name, value)

    with pytest.raises(ConfigurationError, match=message):
        Target.from_env(prefix)


def test_describe_and_repr_never_show_secrets() -> None:
    plan = Target(service_plan_id="plan1", api_token="tok-SECRET", base_url="http://127.0.0.1:9")
    keys = Target(project_id="proj", key_id="kid", key_secret="key-SECRET", region="eu")

    assert plan.describe() == {
        "base_url": "http://127.0.0.1:9",
        "auth": "service plan token",
        "service_plan_id": "plan1",
    }
    for text in (str(plan.describe()), repr(plan), str(keys.describe()), repr(keys)):
        assert "SECRET" not in text


def test_keyword_arguments_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SINCH_REGION", "au")
    assert Target(region="br").region == "br"


async def test_from_target_reports_the_targets_prefix(recorder: Recorder) -> None:
    target = Target(
        _env_prefix="OLD_SINCH_",
        service_plan_id=DEFAULT_PLAN_ID,
        api_token="wrong",
        base_url=ASGI_ORIGIN,
    )

    async with GroupsClient.from_target(
        target, transport=httpx.ASGITransport(app=recorder)
    ) as sinch:
        with pytest.raises(AuthenticationError, match="OLD_SINCH_API_TOKEN"):
            await sinch.list_groups()


async def test_from_target_passes_client_options(recorder: Recorder) -> None:
    target = Target(service_plan_id=DEFAULT_PLAN_ID, api_token=DEFAULT_TOKEN, base_url=ASGI_ORIGIN)
    await set_faults(recorder, latency_ms=20)

    async with GroupsClient.from_target(
        target, transport=httpx.ASGITransport(app=recorder), max_concurrency=1
    ) as sinch:
        await asyncio.gather(*(sinch.list_groups() for _ in range(3)))

    assert recorder.max_in_flight == 1
