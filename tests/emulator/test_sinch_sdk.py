"""Fidelity: the official Sinch Python SDK runs every Groups call against the live emulator."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC

import pytest
from sinch import SinchClient
from sinch.domains.sms.api.v1.exceptions import SmsException

from sinch_emulator import (
    DEFAULT_PLAN_ID,
    DEFAULT_PROJECT,
    DEFAULT_TOKEN,
    EmulatorConfig,
    EmulatorServer,
)


@pytest.fixture
def sdk(live_emulator: EmulatorServer) -> SinchClient:
    """The SDK in service-plan mode, pointed at the live emulator."""
    client = SinchClient(service_plan_id=DEFAULT_PLAN_ID, sms_api_token=DEFAULT_TOKEN)
    client.configuration.sms_origin_with_service_plan_id = live_emulator.base_url
    return client


def _project_sdk(server: EmulatorServer) -> SinchClient:
    """The SDK in project mode (OAuth2), with both its auth and SMS origins on the emulator."""
    client = SinchClient(
        project_id=DEFAULT_PROJECT.project_id,
        key_id=DEFAULT_PROJECT.key_id,
        key_secret=DEFAULT_PROJECT.key_secret,
        sms_region="us",
    )
    client.configuration.auth_origin = server.base_url
    client.configuration.sms_origin = server.base_url
    return client


def test_sdk_create_get_update_members_list_replace_delete(sdk: SinchClient) -> None:
    groups = sdk.sms.groups
    child = groups.create(name="child")
    group = groups.create(
        name="VIP",
        members=["+12018881111", "+12018882222"],
        child_groups=[child.id],
        auto_update={"to": "+15551231234", "add": {"first_word": "JOIN"}},
    )

    assert (group.name, group.size, group.child_groups) == ("VIP", 2, [child.id])
    assert group.created_at is not None
    assert group.created_at.tzinfo is not None
    assert group.created_at.utcoffset() == UTC.utcoffset(None)
    assert group.auto_update is not None
    assert group.auto_update.to == "+15551231234"
    assert groups.get(group.id) == group

    updated = groups.update(group.id, add=["+12018883333"], remove=["+12018881111"])
    assert updated.size == 2
    assert updated.name is None  # the SDK sends "name": null, which removes the name
    assert list(groups.list_members(group.id).iterator()) == ["12018882222", "12018883333"]
    assert [item.id for item in groups.list(page_size=1).iterator()] == [group.id, child.id]

    replaced = groups.replace(group.id, name="Renamed", members=["+447911123456"])
    assert (replaced.name, replaced.size, replaced.child_groups) == ("Renamed", 1, [])
    assert replaced.auto_update is None

    assert groups.delete(group.id) is None
    with pytest.raises(SmsException) as caught:
        groups.get(group.id)
    assert caught.value.response_status_code == 404
    assert [item.id for item in groups.list().iterator()] == [child.id]


def test_sdk_sees_sinch_errors(sdk: SinchClient) -> None:
    with pytest.raises(SmsException) as caught:
        sdk.sms.groups.create(members=["+12ab"])

    assert caught.value.response_status_code == 400
    assert caught.value.http_response.body == {
        "code": "syntax_invalid_parameter_format",
        "text": "Invalid MSISDN '+12ab'",
    }


def test_sdk_with_project_credentials_renews_an_expired_token(
    emulator_config: EmulatorConfig,
) -> None:
    with EmulatorServer(replace(emulator_config, token_ttl=1)) as server:
        client = _project_sdk(server)
        group = client.sms.groups.create(name="via oauth")
        first_token = client.configuration.token_manager.token.access_token
        time.sleep(1.05)

        assert client.sms.groups.get(group.id).name == "via oauth"
        assert client.configuration.token_manager.token.access_token != first_token
