"""Task-level retries fire only for failures that can heal."""

from __future__ import annotations

import httpx
from prefect.states import Failed

from flows._tasks import is_transient
from flows.sync_groups import sync_groups
from pipeline.errors import PipelineError
from pipeline.sinch import (
    AuthenticationError,
    BadRequestError,
    ForbiddenError,
    InvalidNumberError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    SinchTransportError,
)
from pipeline.sync.plan import RemovalGuardError
from sinch_emulator.exceptions import ServiceUnavailableError
from sinch_emulator.faults import FaultInjector, Reset
from tests.live import members_by_name
from tests.test_sync_flow import number, write_csv

REQUEST = httpx.Request("POST", "https://us.sms.api.sinch.com/xms/v1/plan/groups")


def failed(exc: Exception) -> Failed:
    return Failed(data=exc)


def test_server_faults_and_dropped_connections_are_retried():
    assert is_transient(None, None, failed(ServerError(httpx.Response(503, request=REQUEST))))
    dropped = SinchTransportError("connection dropped", request=REQUEST, maybe_processed=True)
    assert is_transient(None, None, failed(dropped))
    assert is_transient(None, None, failed(RateLimitedError(httpx.Response(429, request=REQUEST))))


def test_errors_that_will_not_heal_are_not_retried():
    assert not is_transient(
        None, None, failed(AuthenticationError(httpx.Response(401, request=REQUEST)))
    )
    bad_number = httpx.Response(
        400,
        request=REQUEST,
        json={"code": "syntax_invalid_parameter_format", "text": "Invalid MSISDN '+1'"},
    )
    assert not is_transient(None, None, failed(InvalidNumberError(bad_number)))
    assert not is_transient(None, None, failed(PipelineError("bad input")))


def test_client_errors_and_guard_trips_are_never_retried():
    for status, error in ((400, BadRequestError), (403, ForbiddenError), (404, NotFoundError)):
        response = httpx.Response(status, request=REQUEST, json={"code": "x", "text": "no"})
        assert not is_transient(None, None, failed(error(response)))
    assert not is_transient(None, None, failed(RemovalGuardError([], max_remove_fraction=0.1)))


async def test_a_task_level_retry_counts_as_a_retry_in_the_report(
    sinch_env, tmp_path, prefect_harness, monkeypatch
):
    """The client gives up after six 503s on its first request; Prefect runs the task again and
    it succeeds: six failures, six retries (five by the client, one by the task)."""
    failures = {"left": 6}
    draw = FaultInjector.draw

    def failing_first(self: FaultInjector) -> Reset | None:
        if failures["left"]:
            failures["left"] -= 1
            raise ServiceUnavailableError("injected")
        return draw(self)

    monkeypatch.setattr(FaultInjector, "draw", failing_first)
    source = write_csv(tmp_path / "one.csv", [{"phone": number(i)} for i in range(5)])

    report = await sync_groups(source=str(source), group="retried", default_region="GB")

    assert failures["left"] == 0
    assert report.retries == 6
    assert (await members_by_name(sinch_env))["retried"] == {number(i) for i in range(5)}
