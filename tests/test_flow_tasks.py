"""Task-level retries fire only for failures that can heal."""

from __future__ import annotations

import httpx
from prefect.states import Failed

from flows._tasks import is_transient
from pipeline.errors import PipelineError
from pipeline.sinch import AuthenticationError, InvalidNumberError, ServerError, SinchTransportError

REQUEST = httpx.Request("POST", "https://us.sms.api.sinch.com/xms/v1/plan/groups")


def failed(exc: Exception) -> Failed:
    return Failed(data=exc)


def test_server_faults_and_dropped_connections_are_retried():
    assert is_transient(None, None, failed(ServerError(httpx.Response(503, request=REQUEST))))
    dropped = SinchTransportError("connection dropped", request=REQUEST, maybe_processed=True)
    assert is_transient(None, None, failed(dropped))


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
