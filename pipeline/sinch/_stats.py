"""Counters describing what a client did, for run reports and for tests of the retry logic."""

from __future__ import annotations

import threading
from collections import Counter

__all__ = ["ClientStats"]


class ClientStats:
    """Requests sent, retries, transport errors and responses by status code.

    Every request on the wire counts, OAuth2 token fetches included. Updates take a lock, so
    one instance can be shared by tasks on several event loops or threads; reads return copies.
    """

    __slots__ = ("_lock", "_requests", "_responses", "_retries", "_transport_errors")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = 0
        self._retries = 0
        self._transport_errors = 0
        self._responses: Counter[int] = Counter()

    def record_request(self) -> None:
        with self._lock:
            self._requests += 1

    def record_response(self, status_code: int) -> None:
        with self._lock:
            self._responses[status_code] += 1

    def record_retry(self) -> None:
        with self._lock:
            self._retries += 1

    def record_transport_error(self) -> None:
        with self._lock:
            self._transport_errors += 1

    @property
    def requests(self) -> int:
        return self._requests

    @property
    def retries(self) -> int:
        return self._retries

    @property
    def transport_errors(self) -> int:
        return self._transport_errors

    @property
    def responses(self) -> dict[int, int]:
        """Responses received, by HTTP status code (a copy, sorted by status)."""
        with self._lock:
            return dict(sorted(self._responses.items()))

    def as_dict(self) -> dict[str, object]:
        """A consistent snapshot of all counters, ready for a JSON report."""
        with self._lock:
            return {
                "requests": self._requests,
                "retries": self._retries,
                "transport_errors": self._transport_errors,
                "responses": dict(sorted(self._responses.items())),
            }

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self.as_dict().items())
        return f"ClientStats({fields})"
