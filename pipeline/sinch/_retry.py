"""When and how long to wait before sending a failed request again.

The loop itself is tenacity's; this module only states the policy: which failures heal on their
own (429, 500/502/503/504, timeouts, dropped connections), how long to wait (the server's
`Retry-After` when it gives one, otherwise exponential backoff with full jitter so that many
clients failing together do not retry in lockstep), and when to give up (attempts or total time,
whichever comes first). Whether a retry is *safe* is the caller's business: the client only
hands idempotent operations to this loop as they are, and wraps creates in a reconciling attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)
from tenacity.wait import wait_base

from ._exceptions import APIError, RateLimitedError, SinchTransportError

__all__ = ["RetryPolicy", "is_retryable"]


def is_retryable(exc: BaseException) -> bool:
    """Failures that may heal if the same request is sent again later."""
    if isinstance(exc, SinchTransportError):
        return True
    return isinstance(exc, APIError) and exc.retryable


class _RetryAfterOr(wait_base):
    """Wait what a 429's `Retry-After` asks for; otherwise defer to `fallback`."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            return exc.retry_after
        return self.fallback(retry_state)


def _give_up(retry_state: RetryCallState) -> NoReturn:
    """Re-raise the last error with a note saying how hard the client tried."""
    outcome = retry_state.outcome
    assert outcome is not None  # tenacity only gives up after an attempt has finished
    exc = outcome.exception()
    assert exc is not None  # only failures are retried, so the last outcome is one
    attempts = retry_state.attempt_number
    exc.add_note(
        f"gave up after {attempts} attempt{'' if attempts == 1 else 's'} "
        f"in {retry_state.seconds_since_start:.1f}s"
    )
    raise exc


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """How persistently to retry a request that failed for a reason that may pass.

    max_attempts: attempts in total, the first included (1 = never retry).
    initial: the backoff ceiling before the first retry, in seconds; it doubles per attempt.
    maximum: the largest backoff ceiling; each wait is uniform in [0, ceiling] (full jitter).
    total_timeout: no retry starts if its wait would end later than this many seconds after
        the first attempt; a `Retry-After` longer than what is left therefore ends the loop.
    """

    max_attempts: int = 6
    initial: float = 0.2
    maximum: float = 10.0
    total_timeout: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if min(self.initial, self.maximum, self.total_timeout) < 0:
            raise ValueError("initial, maximum and total_timeout must not be negative")

    def retrying(self, *, before_sleep: Callable[[RetryCallState], None]) -> AsyncRetrying:
        """A fresh tenacity controller for one logical operation."""
        return AsyncRetrying(
            stop=stop_after_attempt(self.max_attempts) | stop_before_delay(self.total_timeout),
            wait=_RetryAfterOr(wait_random_exponential(multiplier=self.initial, max=self.maximum)),
            retry=retry_if_exception(is_retryable),
            before_sleep=before_sleep,
            retry_error_callback=_give_up,
        )
