"""Injected faults: latency, rate limit, server errors, dropped connections, refused numbers."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from sinch_emulator import DEFAULT_TOKEN, EmulatorConfig, EmulatorServer, Faults, create_app
from sinch_emulator.faults import FaultInjector, Reset

from .helpers import GROUPS, ClientFactory, FakeClock, assert_error, create_group, group_count

REFUSED = "+447700900123"


def _app(clock: FakeClock | None = None, **faults: Any) -> Starlette:
    """The default emulator with these faults (and a fake clock, if given)."""
    config = EmulatorConfig(faults=Faults(**faults))
    return create_app(config, clock=clock) if clock else create_app(config)


async def _statuses(client: httpx.AsyncClient, count: int) -> list[int]:
    return [(await client.get(GROUPS)).status_code for _ in range(count)]


async def test_latency_delays_sinch_routes_only(client_for: ClientFactory) -> None:
    async with client_for(_app(latency_ms=200), DEFAULT_TOKEN) as client:
        started = time.perf_counter()
        assert (await client.get(GROUPS)).status_code == 200
        delayed = time.perf_counter() - started
        started = time.perf_counter()
        await client.post("/_emulator/reset")
        control = time.perf_counter() - started

    assert delayed >= 0.2
    assert control < 0.2  # less than the injected latency: /_emulator routes are never delayed


async def test_rate_limit_answers_429_with_retry_after(
    client_for: ClientFactory, clock: FakeClock
) -> None:
    async with client_for(_app(clock, rate_limit=2), DEFAULT_TOKEN) as client:
        assert await _statuses(client, 2) == [200, 200]
        limited = await client.get(GROUPS)
        clock.advance(0.5)
        assert await _statuses(client, 2) == [200, 429]

    assert_error(limited, 429, "too_many_requests")
    assert limited.headers["retry-after"] == "1"


async def test_retry_after_is_whole_seconds_until_a_slot(
    client_for: ClientFactory, clock: FakeClock
) -> None:
    async with client_for(_app(clock, rate_limit=0.25), DEFAULT_TOKEN) as client:
        assert (await client.get(GROUPS)).status_code == 200
        first = await client.get(GROUPS)
        clock.advance(1.5)
        second = await client.get(GROUPS)

    assert first.headers["retry-after"] == "4"
    assert second.headers["retry-after"] == "3"


async def test_rate_limit_is_per_plan(
    emulator_config: EmulatorConfig, client_for: ClientFactory, clock: FakeClock
) -> None:
    app = create_app(replace(emulator_config, faults=Faults(rate_limit=1)), clock=clock)
    async with client_for(app, DEFAULT_TOKEN) as demo, client_for(app, "second-token") as other:
        assert await _statuses(demo, 2) == [200, 429]
        assert (await other.get("/xms/v1/secondplan/groups")).status_code == 200


async def test_error_rate_fails_before_applying(client_for: ClientFactory) -> None:
    app = _app(error_rate=1.0)
    async with client_for(app, DEFAULT_TOKEN) as client:
        responses = [await client.post(GROUPS, json={"name": f"g{index}"}) for index in range(6)]
        await client.put("/_emulator/faults", json={})
        count = await group_count(client)

    assert {response.status_code for response in responses} == {500, 503}
    for response in responses:
        assert response.json()["code"] in {"internal_server_error", "service_unavailable"}
    assert count == 0


async def test_same_seed_same_faults(client_for: ClientFactory) -> None:
    runs = []
    for seed in (7, 7, 8):
        async with client_for(_app(error_rate=0.5, seed=seed), DEFAULT_TOKEN) as client:
            runs.append(await _statuses(client, 24))

    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert {200, 500, 503} <= set(runs[0])


async def test_putting_faults_reseeds(client_for: ClientFactory) -> None:
    async with client_for(_app(), DEFAULT_TOKEN) as client:
        runs = []
        for _ in range(2):
            response = await client.put("/_emulator/faults", json={"error_rate": 0.5, "seed": 3})
            runs.append(await _statuses(client, 16))

    assert response.json() == {
        "latency_ms": 0,
        "rate_limit": None,
        "error_rate": 0.5,
        "reset_rate": 0.0,
        "refuse_numbers": [],
        "seed": 3,
    }
    assert runs[0] == runs[1]
    assert len(set(runs[0])) > 1


async def test_control_routes_ignore_faults(client_for: ClientFactory) -> None:
    async with client_for(_app(error_rate=1.0, rate_limit=0.001), DEFAULT_TOKEN) as client:
        assert (await client.post("/_emulator/reset")).status_code == 204
        assert (await client.post("/_emulator/reset")).status_code == 204
        assert (await client.put("/_emulator/faults", json={})).status_code == 200
        assert (await client.get(GROUPS)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"error_rate": 2},
        {"latency": 5},
        {"seed": "x"},
        {"refuse_numbers": ["+12ab"]},
        {"rate_limit": 0},
    ],
)
async def test_invalid_faults_are_rejected(
    emulator_http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await emulator_http.put("/_emulator/faults", json=body)

    assert_error(response, 400, "syntax_constraint_violation")


async def test_refused_numbers_are_invalid_in_create_add_and_replace(
    client_for: ClientFactory,
) -> None:
    app = _app(refuse_numbers=frozenset({"0044 7700 900123"}))
    async with client_for(app, DEFAULT_TOKEN) as client:
        group = await create_group(client, members=["+12018881111"])
        path = f"{GROUPS}/{group['id']}"
        created = await client.post(GROUPS, json={"members": ["+12018882222", REFUSED]})
        added = await client.post(path, json={"add": ["+44 7700 900123"]})
        replaced = await client.put(path, json={"members": [REFUSED]})
        removed = await client.post(path, json={"remove": [REFUSED]})

    assert (
        assert_error(created, 400, "syntax_invalid_parameter_format")["text"]
        == f"Invalid MSISDN '{REFUSED}'"
    )
    assert (
        "'+44 7700 900123'" in assert_error(added, 400, "syntax_invalid_parameter_format")["text"]
    )
    assert_error(replaced, 400, "syntax_invalid_parameter_format")
    assert removed.status_code == 200
    assert removed.json()["size"] == 1


async def test_refused_numbers_can_be_switched_at_run_time(
    emulator_http: httpx.AsyncClient,
) -> None:
    await emulator_http.put("/_emulator/faults", json={"refuse_numbers": [REFUSED]})
    refused = await emulator_http.post(GROUPS, json={"members": [REFUSED]})
    await emulator_http.put("/_emulator/faults", json={})
    accepted = await emulator_http.post(GROUPS, json={"members": [REFUSED]})

    assert_error(refused, 400, "syntax_invalid_parameter_format")
    assert accepted.status_code == 201


def test_reset_drops_the_connection_before_or_after_applying(
    live_emulator: EmulatorServer,
) -> None:
    """Over real HTTP a reset is a transport error; AFTER resets did create their group."""
    seed, attempts = 5, 10
    expected = _predicted_resets(seed, attempts)
    assert set(expected) == {Reset.BEFORE, Reset.AFTER}  # the seed exercises both halves
    with httpx.Client(
        base_url=live_emulator.base_url, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    ) as client:
        client.put("/_emulator/faults", json={"reset_rate": 1.0, "seed": seed})
        for index in range(attempts):
            with pytest.raises(httpx.TransportError):
                client.post(GROUPS, json={"name": f"g{index}"})
        client.put("/_emulator/faults", json={})
        listed = client.get(GROUPS, params={"page_size": 100}).json()

    assert listed["count"] == expected.count(Reset.AFTER)


def _predicted_resets(seed: int, count: int) -> list[Reset | None]:
    injector = FaultInjector(Faults(reset_rate=1.0, seed=seed))
    return [injector.draw() for _ in range(count)]


def test_reset_sends_headers_then_closes_before_the_body(
    live_emulator: EmulatorServer,
) -> None:
    with httpx.Client(
        base_url=live_emulator.base_url, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    ) as client:
        client.put("/_emulator/faults", json={"reset_rate": 1.0})
        with client.stream("GET", GROUPS) as response:
            assert response.headers["content-length"] == "2"
            with pytest.raises(httpx.RemoteProtocolError):
                response.read()
