"""The exceptions raised by `pipeline.sinch`.

Callers catch the bases, the library raises the leaves::

    SinchError                        anything this package raises
    ├── ConfigurationError            bad or missing settings; raised before any request is sent
    ├── InvalidGroupIdError           (also a ValueError) not a 26-character Crockford base32 id
    ├── SinchTransportError           timeout or dropped connection, retries exhausted
    ├── CreateOutcomeUnknownError     an unnamed create failed after it may have reached the server
    ├── UnexpectedResponseError       a 2xx response whose body breaks the wire contract
    └── APIError                      the server answered with an error status
        ├── BadRequestError           400
        │   └── InvalidNumberError    400 syntax_invalid_parameter_format (`.value`)
        ├── AuthenticationError       401
        ├── ForbiddenError            403
        │   └── UnknownGroupError     403 unknown_group
        ├── NotFoundError             404
        ├── RateLimitedError          429 (`.retry_after`)
        └── ServerError               5xx

`APIError` itself is raised for statuses the contract gives no meaning (405, 415, ...).
Every error carries its context as attributes (`request`, and `response`/`status_code`/`code`/
`text` for API errors) so a caller can act on it without parsing the message. No message ever
includes a credential: the request's headers are never rendered, only its method and URL.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime

import httpx

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "CreateOutcomeUnknownError",
    "ForbiddenError",
    "InvalidGroupIdError",
    "InvalidNumberError",
    "NotFoundError",
    "RateLimitedError",
    "ServerError",
    "SinchError",
    "SinchTransportError",
    "UnexpectedResponseError",
    "UnknownGroupError",
]

# httpx errors raised before any byte of the request left this process: resending is always safe.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# 5xx statuses that describe a passing condition rather than a bug in the server.
_TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
_QUOTED = re.compile(r"""['"]([^'"]+)['"]""")


def _describe(request: httpx.Request) -> str:
    return f"{request.method} {request.url}"


class SinchError(Exception):
    """Base class of every error this package raises."""


class ConfigurationError(SinchError):
    """The client or the target is configured in a way that cannot work.

    Not a `ValueError` on purpose: pydantic turns `ValueError`s raised while it builds a
    `Target` into a generic ValidationError, and this message (which names the environment
    variable to fix) has to reach the user as written.
    """


class InvalidGroupIdError(SinchError, ValueError):
    """A group id is not a 26-character Crockford base32 string, so it never goes into a URL."""

    def __init__(self, group_id: object) -> None:
        self.group_id = group_id
        super().__init__(
            f"invalid group id {group_id!r}: expected 26 characters of Crockford base32 "
            "(0-9 and A-Z without I, L, O, U), e.g. '01FC66621VHDBN119Z8PMV1QPQ'"
        )


class SinchTransportError(SinchError):
    """The request timed out or the connection failed, and retrying did not help.

    `maybe_processed` tells whether the server may have acted on `request`: False only when
    the failure happened before the request left (connect errors, pool timeouts). `request` is
    the request that failed, which may be an OAuth2 token fetch made on behalf of another.
    """

    def __init__(self, message: str, *, request: httpx.Request, maybe_processed: bool) -> None:
        self.request = request
        self.maybe_processed = maybe_processed
        super().__init__(message)

    @classmethod
    def wrap(cls, exc: httpx.TransportError) -> SinchTransportError:
        """Translate an httpx error, keeping the request it happened on."""
        return cls(
            f"{type(exc).__name__} during {_describe(exc.request)}: {exc or 'no detail'}",
            request=exc.request,
            maybe_processed=not isinstance(exc, _NOT_SENT),
        )


class CreateOutcomeUnknownError(SinchError):
    """An unnamed create failed in a way that leaves its outcome unknown.

    A group without a name cannot be told apart from other unnamed groups, so the client can
    neither look for it nor safely send the create again; the caller has to decide.
    """

    def __init__(self, cause: SinchError, *, request: httpx.Request) -> None:
        self.request = request
        super().__init__(
            f"creating an unnamed group failed after the request may have reached the server "
            f"({cause}); the group may or may not exist. List the groups (newest first) before "
            "creating it again, or give the group a name so the client can reconcile it."
        )


class UnexpectedResponseError(SinchError):
    """A successful status with a body that does not match the wire contract."""

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        self.request = response.request
        self.response = response
        super().__init__(f"{message} ({_describe(response.request)} -> {response.status_code})")


class APIError(SinchError):
    """The server answered with an error status; `code` and `text` come from its JSON body."""

    def __init__(self, response: httpx.Response, *, hint: str = "") -> None:
        self.request = response.request
        self.response = response
        self.status_code = response.status_code
        self.code, self.text = _error_body(response)
        message = f"{self.status_code} {self.code or response.reason_phrase}"
        if self.text:
            message += f": {self.text}"
        message += f" ({_describe(self.request)})"
        if hint:
            message += f". {hint}"
        super().__init__(message)

    @property
    def retryable(self) -> bool:
        """Whether sending the same request again may succeed."""
        return False

    @property
    def maybe_processed(self) -> bool:
        """Whether the server may have acted on the request despite the error status."""
        return False

    @classmethod
    def from_response(cls, response: httpx.Response, *, auth_hint: str = "") -> APIError:
        """The most specific error for an error response.

        `auth_hint` tells the user which settings to check; it only goes into a 401's message.
        """
        status = response.status_code
        code = _error_body(response)[0]
        if status == 400:
            if code == "syntax_invalid_parameter_format":
                return InvalidNumberError(response)
            return BadRequestError(response)
        if status == 401:
            return AuthenticationError(response, hint=auth_hint)
        if status == 403:
            if code == "unknown_group":
                return UnknownGroupError(response)
            return ForbiddenError(response)
        if status == 404:
            return NotFoundError(response)
        if status == 429:
            return RateLimitedError(response)
        if status >= 500:
            return ServerError(response)
        return APIError(response)


class BadRequestError(APIError):
    """400: the request broke the contract (bad JSON, missing field, limit exceeded)."""


class InvalidNumberError(BadRequestError):
    """400 `syntax_invalid_parameter_format`: a value, usually an MSISDN, was refused.

    `value` is the refused value when the server's text quotes it, so a batch can be split
    around the one bad number instead of failing whole.
    """

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response)
        match = _QUOTED.search(self.text)
        self.value: str | None = match.group(1) if match else None


class AuthenticationError(APIError):
    """401: the credentials were rejected; the message names the settings to check."""


class ForbiddenError(APIError):
    """403 without a more specific code."""


class UnknownGroupError(ForbiddenError):
    """403 `unknown_group`: a referenced group (child or from-group) does not exist."""


class NotFoundError(APIError):
    """404: no such group (or no such path, e.g. a wrong service plan id)."""


class RateLimitedError(APIError):
    """429: too many requests; `retry_after` is the server's requested wait in seconds."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response)
        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))

    @property
    def retryable(self) -> bool:
        return True


class ServerError(APIError):
    """5xx: the server failed; it may have acted on the request before failing."""

    @property
    def retryable(self) -> bool:
        return self.status_code in _TRANSIENT_STATUSES

    @property
    def maybe_processed(self) -> bool:
        return True


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date; else None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_body(response: httpx.Response) -> tuple[str, str]:
    """The machine code and human text of an error body.

    Sinch answers `{"code", "text"}`; an OAuth2 token endpoint `{"error", "error_description"}`
    (RFC 6749). Anything else gives an empty code and at most the start of the raw body.
    """
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    if not isinstance(body, dict):
        return "", ""
    code = body.get("code") or body.get("error") or ""
    text = body.get("text") or body.get("error_description") or ""
    return str(code), str(text)
