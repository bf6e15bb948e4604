"""Every emulator fault switched on: operations still complete and the final state is exact."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sinch_helpers import Recorder, asgi_client, live_client, set_faults

from pipeline.sinch import (
    CreateOutcomeUnknownError,
    InvalidNumberError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    SinchTransportError,
)
from sinch_emulator import EmulatorServer

ALICE, BOB = "+447911123456", "+15551231234"


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+1555{index:07d}" for index in range(start, start + count)]


async def test_latency_with_bounded_concurrency(recorder: Recorder) -> None:
    await set_faults(recorder, latency_ms=50)
    async with asgi_client(recorder, max_concurrency=3) as sinch:
        started = time.monotonic()
        await asyncio.gather(*(sinch.list_groups() for _ in range(12)))
        elapsed = time.monotonic() - started

    assert recorder.max_in_flight == 3
    assert elapsed >= 4 * 0.05


async def test_requests_per_second_cap(recorder: Recorder) -> None:
    async with asgi_client(recorder, requests_per_second=10) as sinch:
        started = time.monotonic()
        await asyncio.gather(*(sinch.list_groups() for _ in range(15)))
        elapsed = time.monotonic() - started

    assert elapsed >= 0.4  # a burst of 10, then 5 more at 10 per second


async def test_rate_limit_honours_retry_after(recorder: Recorder) -> None:
    await set_faults(recorder, rate_limit=20)
    async with asgi_client(recorder) as sinch:
        started = time.monotonic()
        pages = await asyncio.gather(*(sinch.list_groups() for _ in range(30)))
        elapsed = time.monotonic() - started

    assert len(pages) == 30
    assert sinch.stats.responses[429] >= 5  # the bucket refills a little while it drains
    assert sinch.stats.responses[200] == 30
    assert sinch.stats.retries == sinch.stats.responses[429]
    assert elapsed >= 1.0  # the backoff alone would be milliseconds: Retry-After was obeyed


async def test_retry_after_beyond_the_time_budget_gives_up_at_once(recorder: Recorder) -> None:
    await set_faults(recorder, rate_limit=0.01)  # one request, then the next in 100 s
    async with asgi_client(recorder) as sinch:
        await sinch.list_groups()
        started = time.monotonic()
        with pytest.raises(RateLimitedError) as caught:
            await sinch.list_groups()

    assert time.monotonic() - started < 5.0  # obeying Retry-After would take 100 s
    assert caught.value.retry_after == 100
    assert caught.value.__notes__[0].startswith("gave up after 1 attempt in")


async def test_server_errors_are_retried_and_state_is_exact(recorder: Recorder) -> None:
    await set_faults(recorder, error_rate=0.5, seed=3)
    async with asgi_client(recorder) as sinch:
        groups = await asyncio.gather(
            *(sinch.create_group(name=f"group {index}") for index in range(10))
        )
        await asyncio.gather(
            *(
                sinch.update_group(group.id, add=numbers(20, index * 20))
                for index, group in enumerate(groups)
            )
        )
        await set_faults(recorder)
        listed = [group async for group in sinch.iter_groups()]
        members = [await sinch.list_members(group.id) for group in groups]

    assert sorted(group.name or "" for group in listed) == sorted(f"group {i}" for i in range(10))
    assert [sorted(found) for found in members] == [numbers(20, i * 20) for i in range(10)]
    assert {500, 503} <= set(sinch.stats.responses)
    assert sinch.stats.retries == sinch.stats.responses[500] + sinch.stats.responses[503]


async def test_a_permanently_failing_server_is_tried_max_attempts_times(
    recorder: Recorder,
) -> None:
    await set_faults(recorder, error_rate=1.0)
    policy = RetryPolicy(max_attempts=4, initial=0.001, maximum=0.001)
    async with asgi_client(recorder, retry=policy) as sinch:
        with pytest.raises(ServerError) as caught:
            await sinch.list_groups()

    assert caught.value.status_code in (500, 503)
    assert (sinch.stats.requests, sinch.stats.retries) == (4, 3)
    assert caught.value.__notes__[0].startswith("gave up after 4 attempts")


async def test_retrying_stops_at_the_total_time_budget(recorder: Recorder) -> None:
    await set_faults(recorder, error_rate=1.0)
    policy = RetryPolicy(max_attempts=1000, initial=0.05, maximum=0.05, total_timeout=0.3)
    async with asgi_client(recorder, retry=policy) as sinch:
        started = time.monotonic()
        with pytest.raises(ServerError):
            await sinch.list_groups()

    assert time.monotonic() - started < 5.0  # 1000 attempts would take 50 s
    assert sinch.stats.requests < 50


async def test_refused_number_is_invalid_number_and_not_retried(recorder: Recorder) -> None:
    await set_faults(recorder, refuse_numbers=[BOB])
    async with asgi_client(recorder) as sinch:
        group = await sinch.create_group(members=[ALICE])
        with pytest.raises(InvalidNumberError) as caught:
            await sinch.update_group(group.id, add=["+15550000001", BOB, "+15550000002"])
        await sinch.update_group(group.id, add=["+15550000001", "+15550000002"])
        members = await sinch.list_members(group.id)

    assert caught.value.value == BOB
    assert sinch.stats.retries == 0
    assert sorted(members) == sorted([ALICE, "+15550000001", "+15550000002"])


async def test_bulk_add_under_errors_and_dropped_connections_is_exact(
    live_emulator: EmulatorServer,
) -> None:
    url = live_emulator.base_url
    wanted = numbers(5000)
    batches = [wanted[start : start + 500] for start in range(0, 5000, 500)]
    async with live_client(url) as sinch:
        group = await sinch.create_group(name="bulk")
        await set_faults(url, error_rate=0.3, reset_rate=0.2, seed=11)
        await asyncio.gather(*(sinch.update_group(group.id, add=batch) for batch in batches))
        await sinch.update_group(group.id, remove=wanted[:100])
        members = await sinch.list_members(group.id)

    assert len(members) == 4900
    assert set(members) == set(wanted[100:])
    assert sinch.stats.transport_errors > 0
    assert {500, 503} <= set(sinch.stats.responses)


async def test_named_creates_under_dropped_connections_never_duplicate(
    live_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = live_emulator.base_url
    names = [f"team {index}" for index in range(30)]
    async with live_client(url) as sinch:
        await set_faults(url, reset_rate=0.5, seed=5)
        with caplog.at_level(logging.WARNING, logger="pipeline.sinch"):
            created = await asyncio.gather(*(sinch.create_group(name=name) for name in names))
        await set_faults(url)
        listed = [group async for group in sinch.iter_groups()]

    assert sorted(group.name or "" for group in listed) == sorted(names)
    assert sorted(group.id for group in created) == sorted(group.id for group in listed)
    assert any("adopted group" in record.getMessage() for record in caplog.records)


async def test_unnamed_create_with_a_lost_response_says_the_outcome_is_unknown(
    live_emulator: EmulatorServer,
) -> None:
    url = live_emulator.base_url
    async with live_client(url) as sinch:
        await set_faults(url, reset_rate=1.0)
        with pytest.raises(CreateOutcomeUnknownError, match="may or may not exist"):
            await sinch.create_group(members=[ALICE])

    assert sinch.stats.requests == 1  # never sent twice


async def test_deletes_whose_response_was_lost_still_succeed(
    live_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = live_emulator.base_url
    async with live_client(url) as sinch:
        groups = [await sinch.create_group() for _ in range(20)]
        await set_faults(url, reset_rate=0.5, seed=2)
        with caplog.at_level(logging.INFO, logger="pipeline.sinch"):
            await asyncio.gather(*(sinch.delete_group(group.id) for group in groups))
        await set_faults(url)
        page = await sinch.list_groups()

    assert page.count == 0
    assert any("already deleted" in record.getMessage() for record in caplog.records)


async def test_dropped_connections_exhaust_the_attempts(live_emulator: EmulatorServer) -> None:
    url = live_emulator.base_url
    policy = RetryPolicy(max_attempts=3, initial=0.001, maximum=0.001)
    async with live_client(url, retry=policy) as sinch:
        await set_faults(url, reset_rate=1.0)
        with pytest.raises(SinchTransportError) as caught:
            await sinch.list_groups()

    assert caught.value.maybe_processed
    assert caught.value.request.method == "GET"
    assert sinch.stats.transport_errors == 3
