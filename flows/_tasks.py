"""The task decorator every flow uses for I/O against Sinch: bounded retries, only for what can heal."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import task_run
from prefect.tasks import exponential_backoff

from pipeline.sinch import RateLimitedError, ServerError, SinchTransportError

TRANSIENT = (SinchTransportError, ServerError, RateLimitedError)
"""Failures worth a task-level retry; the client has already retried them for a while."""


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry condition: Prefect hands over a Failed state whose data is the raised exception."""
    return isinstance(state.data, TRANSIENT)


def io_task(name: str, task_run_name: str | None = None) -> Callable[[Any], Any]:
    """A task that talks to Sinch: retried twice on transient failures only (`is_transient`: no
    retry for 4xx answers or a guard trip), never cached (it takes a client) and its result never
    persisted (results hold member lists).

    A task-level retry re-sends what failed once the client gave up on it, so it is counted with
    the client's own retries (`client.stats`), and the report's retries stay every retry made."""

    def decorate(function: Callable[..., Awaitable[Any]]) -> Any:
        signature = inspect.signature(function)

        @functools.wraps(function)
        async def run(*args: Any, **kwargs: Any) -> Any:
            if task_run.get_run_count() > 1:
                signature.bind(*args, **kwargs).arguments["client"].stats.record_retry()
            return await function(*args, **kwargs)

        return task(
            name=name,
            task_run_name=task_run_name,
            cache_policy=NO_CACHE,
            persist_result=False,
            **io_task_options(),
        )(run)

    return decorate


def io_task_options() -> dict[str, Any]:
    """The retry options of every task that talks to Sinch: twice, backing off, transient only."""
    return {
        "retries": 2,
        "retry_delay_seconds": exponential_backoff(backoff_factor=5),
        "retry_condition_fn": is_transient,
    }
