"""Injected misbehaviour: latency, a per-plan rate limit, server errors and dropped connections.

Everything random comes from one `random.Random(faults.seed)`, drawn in request order, so the
same seed and the same sequence of requests give the same faults. `configure()` (also reached
through `PUT /_emulator/faults`) reseeds the generator and empties the rate-limit buckets.

A dropped connection is a response that promises a body (`Content-Length`) and never sends
it: uvicorn then closes the socket and the client sees a protocol/read error, as when a
proxy resets a connection. It needs a real server; `httpx.ASGITransport` asserts instead.
"""

from __future__ import annotations

import enum
import math
import random
import time
from dataclasses import dataclass

from starlette.types import Message, Send

from .config import Faults
from .entities import Clock
from .exceptions import InternalServerError, ServiceUnavailableError, TooManyRequestsError


class Reset(enum.Enum):
    """When a dropped connection happens, relative to applying the request."""

    BEFORE = "before"
    """Nothing was applied: a retry is harmless."""
    AFTER = "after"
    """The operation was applied and only the response was lost: a retry repeats it."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class FaultInjector:
    """Decides, request by request, which configured fault (if any) strikes."""

    def __init__(self, faults: Faults, *, clock: Clock = time.time) -> None:
        self._clock = clock
        self.configure(faults)

    def configure(self, faults: Faults) -> None:
        """Switch to new faults, restarting the random sequence from their seed."""
        self.faults = faults
        self._random = random.Random(faults.seed)
        self._buckets: dict[str, _Bucket] = {}

    @property
    def latency(self) -> float:
        """Seconds to wait before handling each request."""
        return self.faults.latency_ms / 1000

    def throttle(self, namespace: str) -> None:
        """Spend one request from the namespace's token bucket, or raise 429.

        The bucket holds `rate_limit` requests (at least one) and refills at `rate_limit`
        per second; Retry-After is the whole seconds until one request is available again.
        """
        rate = self.faults.rate_limit
        if rate is None:
            return
        now = self._clock()
        capacity = max(rate, 1.0)
        bucket = self._buckets.setdefault(namespace, _Bucket(tokens=capacity, updated=now))
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return
        raise TooManyRequestsError(max(1, math.ceil((1 - bucket.tokens) / rate)))

    def draw(self) -> Reset | None:
        """Raise an injected 500/503, or say whether to drop the connection, or None."""
        if self._random.random() < self.faults.error_rate:
            error = self._random.choice((InternalServerError, ServiceUnavailableError))
            raise error("Injected server fault")
        if self._random.random() < self.faults.reset_rate:
            return self._random.choice((Reset.BEFORE, Reset.AFTER))
        return None


async def drop_connection(send: Send) -> None:
    """Start a response that promises a body, then stop: the server closes the connection."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
        }
    )


async def discard(message: Message) -> None:
    """An ASGI `send` that loses the response (the lost-response half of a reset)."""
