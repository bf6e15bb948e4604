"""Sinch error codes as exceptions, so the rules raise what the real service would answer.

```
EmulatorError (status, code, text, headers)
 ├── BadRequestError            400
 │    ├── InvalidJSONError           syntax_invalid_json
 │    ├── InvalidParameterError      syntax_invalid_parameter_format
 │    │    └── InvalidMsisdnError        (carries .value, the number as sent)
 │    └── ConstraintViolationError   syntax_constraint_violation
 ├── UnauthorizedError          401  unauthorized
 │    └── TokenExpiredError          (WWW-Authenticate says "expired": SDKs renew the token)
 ├── UnknownGroupError          403  unknown_group
 ├── NotFoundError              404  not_found
 ├── MethodNotAllowedError      405  method_not_allowed
 ├── UnsupportedMediaTypeError  415  unsupported_media_type
 ├── TooManyRequestsError       429  too_many_requests (Retry-After)
 ├── InternalServerError        500  internal_server_error
 ├── ServiceUnavailableError    503  service_unavailable
 └── OAuthError                 400/401 from /oauth2/token, body {"error", "error_description"}
```
The model raises the leaves; the HTTP layer turns any `EmulatorError` into
`{"code": ..., "text": ...}` with `status` and `headers`. The 401/404/405/415/429/5xx codes are
not documented by Sinch (inferred): they keep the documented body shape.
"""

from __future__ import annotations


class EmulatorError(Exception):
    """An API error: HTTP status, Sinch machine code, human text and extra response headers."""

    status: int = 500
    code: str = "internal_server_error"

    def __init__(self, text: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, str]:
        """The JSON error body every Sinch error uses."""
        return {"code": self.code, "text": self.text}


class BadRequestError(EmulatorError):
    """400: the request is malformed or breaks a documented limit."""

    status = 400


class InvalidJSONError(BadRequestError):
    """The body is not JSON, or JSON of the wrong shape (types that do not match the spec)."""

    code = "syntax_invalid_json"


class InvalidParameterError(BadRequestError):
    """A value is badly formatted (a query parameter, a keyword)."""

    code = "syntax_invalid_parameter_format"


class InvalidMsisdnError(InvalidParameterError):
    """An MSISDN is implausible or refused; the text names it verbatim so a client can drop it."""

    def __init__(self, value: str) -> None:
        super().__init__(f"Invalid MSISDN '{value}'")
        self.value = value


class ConstraintViolationError(BadRequestError):
    """A required field is missing or a limit (array size, name length, page size) is exceeded."""

    code = "syntax_constraint_violation"


class UnauthorizedError(EmulatorError):
    """401: the bearer token is missing or not valid for this service plan / project."""

    status = 401
    code = "unauthorized"

    def __init__(self, text: str = "Unauthorized") -> None:
        super().__init__(text, headers={"WWW-Authenticate": "Bearer"})


class TokenExpiredError(UnauthorizedError):
    """401 for an OAuth2 access token past its lifetime; the header lets clients renew it."""

    def __init__(self) -> None:
        super().__init__("Access token expired")
        self.headers["WWW-Authenticate"] = (
            'Bearer error="invalid_token", error_description="The access token expired"'
        )


class UnknownGroupError(EmulatorError):
    """403: a group referenced from the body (child or _from_group) does not exist."""

    status = 403
    code = "unknown_group"

    def __init__(self, group_id: str) -> None:
        super().__init__(f"Unknown group '{group_id}'")
        self.group_id = group_id


class NotFoundError(EmulatorError):
    """404: no such path, or the group in the path does not exist (for this plan)."""

    status = 404
    code = "not_found"


class MethodNotAllowedError(EmulatorError):
    """405: the path exists but not with this method."""

    status = 405
    code = "method_not_allowed"


class UnsupportedMediaTypeError(EmulatorError):
    """415: a body was sent without `Content-Type: application/json`."""

    status = 415
    code = "unsupported_media_type"


class TooManyRequestsError(EmulatorError):
    """429: the plan's request budget is spent; `Retry-After` says when to come back."""

    status = 429
    code = "too_many_requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many requests, retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class InternalServerError(EmulatorError):
    """500: an injected server fault."""

    status = 500
    code = "internal_server_error"


class ServiceUnavailableError(EmulatorError):
    """503: an injected server fault."""

    status = 503
    code = "service_unavailable"


class OAuthError(EmulatorError):
    """An RFC 6749 token-endpoint error: 400 for a bad request, 401 for bad client credentials."""

    def __init__(self, status: int, error: str, description: str) -> None:
        headers = {"WWW-Authenticate": 'Basic realm="sinch"'} if status == 401 else None
        super().__init__(description, headers=headers)
        self.status = status
        self.code = error

    def body(self) -> dict[str, str]:
        """The OAuth2 error body instead of Sinch's `code`/`text`."""
        return {"error": self.code, "error_description": self.text}
