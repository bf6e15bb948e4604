"""The task decorator every flow uses for I/O against Sinch: bounded retries, only for what can heal."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from pipeline.sinch import RateLimitedError, ServerError, SinchTransportError

TRANSIENT = (SinchTransportError, ServerError, RateLimitedError)
"""Failures worth a task-level retry; the client has already retried them for a while."""


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry condition: Prefect hands over a Failed state whose data is the raised exception."""
    return isinstance(state.data, TRANSIENT)


io_task = task(
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
    retry_condition_fn=is_transient,
    cache_policy=NO_CACHE,
)
"""Tasks that talk to Sinch: retried twice on transient failures, never cached (they take clients)."""
