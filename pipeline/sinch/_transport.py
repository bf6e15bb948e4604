"""Getting one request to the server and its answer back, for `GroupsClient`.

Every request goes through `Transport.send` (one attempt: concurrency slot, optional rate cap,
error mapping) and almost always through `Transport.retrying` (tenacity, per `RetryPolicy`).
Kept apart from the endpoints so that each endpoint only says what to send and what a lost
response means for it; operations that are not idempotent wrap `send` in a `TrackedSend`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Self, TypeVar

import httpx
from aiolimiter import AsyncLimiter
from tenacity import RetryCallState

from ._auth import SinchAuth
from ._exceptions import APIError, ConfigurationError, SinchTransportError
from ._retry import RetryPolicy
from ._stats import ClientStats

__all__ = ["TrackedSend", "Transport"]

logger = logging.getLogger("pipeline.sinch")

T = TypeVar("T")


class Transport:
    """One `httpx.AsyncClient` with the client's limits, retry policy and counters applied.

    At most `max_concurrency` requests are in flight at once and, if given, at most
    `requests_per_second` start per second; every request and response is counted in `stats`.
    """

    def __init__(
        self,
        *,
        api_root: str,
        auth: SinchAuth,
        transport: httpx.AsyncBaseTransport | None,
        max_concurrency: int,
        requests_per_second: float | None,
        retry: RetryPolicy | None,
        timeout: float | httpx.Timeout,
        stats: ClientStats,
    ) -> None:
        if max_concurrency < 1:
            raise ConfigurationError(f"max_concurrency must be at least 1, not {max_concurrency}")
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._limiter = _rate_limiter(requests_per_second)
        self._retry = retry or RetryPolicy()
        self._auth = auth
        self._stats = stats
        self._http = httpx.AsyncClient(
            base_url=api_root,
            auth=auth,
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json"},
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )

    async def __aenter__(self) -> Self:
        await self._http.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        await self._http.aclose()

    def build(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, object] | None = None,
        params: dict[str, int] | None = None,
    ) -> httpx.Request:
        return self._http.build_request(method, path, json=json, params=params)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, object] | None = None,
        params: dict[str, int] | None = None,
    ) -> httpx.Response:
        """Send an idempotent request, retrying per the policy (a fresh request per attempt)."""

        async def attempt() -> httpx.Response:
            return await self.send(self.build(method, path, json=json, params=params))

        return await self.retrying(attempt)

    async def retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt` (a coroutine function: tenacity awaits only those) under the policy."""
        return await self._retry.retrying(before_sleep=self._before_sleep)(attempt)

    async def send(self, request: httpx.Request) -> httpx.Response:
        """One attempt: wait for a slot, send, turn failures into this package's errors."""
        async with self._slot():
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                self._stats.record_transport_error()
                raise SinchTransportError.wrap(exc) from exc
        if response.is_success:
            return response
        raise APIError.from_response(response, auth_hint=self._auth.hint)

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        async with self._semaphore:
            if self._limiter is not None:
                await self._limiter.acquire()
            yield

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        self._stats.record_retry()
        outcome = retry_state.outcome
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        logger.warning(
            "attempt %d of %d failed, retrying in %.2fs: %s",
            retry_state.attempt_number,
            self._retry.max_attempts,
            wait,
            outcome.exception() if outcome is not None else "no outcome",
        )

    async def _on_request(self, request: httpx.Request) -> None:
        self._stats.record_request()

    async def _on_response(self, response: httpx.Response) -> None:
        self._stats.record_response(response.status_code)


@dataclass
class TrackedSend:
    """Sends the attempts of one operation and remembers whether any failed attempt may still
    have been acted on by the server (the response was lost, or a 5xx), and when the first
    attempt left. Non-idempotent operations decide from this what a retry must do first."""

    send: Callable[[httpx.Request], Awaitable[httpx.Response]]
    uncertain: bool = False
    first_sent_at: datetime | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.first_sent_at is None:
            self.first_sent_at = datetime.now(UTC)
        try:
            return await self.send(request)
        except (SinchTransportError, APIError) as exc:
            # `exc.request` is another request when the OAuth2 token fetch failed: that
            # failure says nothing about this one, which never left.
            self.uncertain |= exc.maybe_processed and exc.request is request
            raise


def _rate_limiter(requests_per_second: float | None) -> AsyncLimiter | None:
    """A limiter admitting `requests_per_second` on average; rates below 1 space requests out
    (aiolimiter cannot hold less than one request's worth of capacity)."""
    if requests_per_second is None:
        return None
    if requests_per_second <= 0:
        raise ConfigurationError(f"requests_per_second must be positive, not {requests_per_second}")
    capacity = max(1.0, requests_per_second)
    return AsyncLimiter(capacity, time_period=capacity / requests_per_second)
