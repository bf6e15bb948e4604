"""Credentials: which httpx.Auth flow the given ones select, and the flows applying them.

Secrets live only inside pydantic `SecretStr` objects held by these flows: nothing here keeps a
credential in a plain attribute or a local variable, so it cannot show up in a repr, a log line
or a traceback that renders locals. httpx masks the Authorization header in its own reprs.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncGenerator, Generator

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from ._config import credential_mode, no_credentials_message, resolve_endpoints
from ._exceptions import APIError, ConfigurationError, UnexpectedResponseError

__all__ = [
    "OAuth2ClientCredentials",
    "ServicePlanToken",
    "SinchAuth",
    "as_secret",
    "authenticate",
]

# A token is renewed when this share of its lifetime is left (at most _MAX_REFRESH_MARGIN
# seconds), so a request never leaves with a token that expires on the way.
_REFRESH_SHARE = 0.1
_MAX_REFRESH_MARGIN = 60.0


class SinchAuth(httpx.Auth):
    """An auth flow that also knows which settings a user should check after a 401."""

    def __init__(self, *, hint: str) -> None:
        self.hint = hint

    def __repr__(self) -> str:
        return f"<{type(self).__name__} credentials=**********>"


class ServicePlanToken(SinchAuth):
    """`Authorization: Bearer <API token>` for service-plan access."""

    def __init__(self, token: SecretStr, *, hint: str) -> None:
        super().__init__(hint=hint)
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request


class _TokenResponse(BaseModel):
    access_token: SecretStr
    expires_in: float


class OAuth2ClientCredentials(SinchAuth):
    """Project access keys: a bearer token from the client-credentials grant, cached.

    The token is fetched on first use through the same httpx client (so the same transport,
    timeouts and event hooks apply), renewed shortly before it expires, and renewed once more
    if the API still answers 401 (e.g. the token was revoked). One lock makes concurrent
    requests share a single fetch instead of stampeding the token endpoint.
    """

    def __init__(self, *, key_id: str, key_secret: SecretStr, token_url: str, hint: str) -> None:
        super().__init__(hint=hint)
        self._key_id = key_id
        self._key_secret = key_secret
        self._token_url = token_url
        self._token: SecretStr | None = None
        self._refresh_at = 0.0
        self._generation = 0  # bumps on every new token, to tell "stale" from "just renewed"
        self._lock = asyncio.Lock()

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        rejected_generation: int | None = None
        while True:
            async with self._lock:
                if self._generation == rejected_generation or time.monotonic() >= self._refresh_at:
                    token_response = yield self._token_request(request)
                    await token_response.aread()
                    self._store(token_response)
                used_generation = self._generation
                request.headers["Authorization"] = f"Bearer {self._current().get_secret_value()}"
            response = yield request
            if response.status_code != 401 or rejected_generation is not None:
                return
            rejected_generation = used_generation

    def _current(self) -> SecretStr:
        assert self._token is not None  # _store ran before the first use
        return self._token

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._token_url,
            data={"grant_type": "client_credentials"},
            headers={"Authorization": _basic_authorization(self._key_id, self._key_secret)},
            # A request built here skips the client's build_request: carry its timeouts over.
            extensions={"timeout": request.extensions.get("timeout", {})},
        )

    def _store(self, response: httpx.Response) -> None:
        if not response.is_success:
            raise APIError.from_response(response, auth_hint=self.hint)
        try:
            token = _TokenResponse.model_validate_json(response.content)
        except ValidationError:
            raise UnexpectedResponseError(
                "the token endpoint did not return an access_token and expires_in",
                response=response,
            ) from None
        margin = min(_MAX_REFRESH_MARGIN, token.expires_in * _REFRESH_SHARE)
        self._token = token.access_token
        self._refresh_at = time.monotonic() + token.expires_in - margin
        self._generation += 1


def _basic_authorization(key_id: str, key_secret: SecretStr) -> str:
    """HTTP Basic credentials, computed at the last moment and never bound to a name."""
    return "Basic " + base64.b64encode(f"{key_id}:{key_secret.get_secret_value()}".encode()).decode(
        "ascii"
    )


def as_secret(value: str | SecretStr | None) -> SecretStr | None:
    return SecretStr(value) if isinstance(value, str) else value


def authenticate(
    *,
    service_plan_id: str | None,
    token: SecretStr | None,
    project_id: str | None,
    key_id: str | None,
    key_secret: SecretStr | None,
    region: str,
    base_url: str | None,
    auth_url: str | None,
    env_prefix: str,
) -> tuple[SinchAuth, str]:
    """The auth flow and API root URL for the given credentials, or a ConfigurationError."""
    mode = credential_mode(
        {
            "service_plan_id": bool(service_plan_id),
            "api_token": bool(token and token.get_secret_value()),
            "project_id": bool(project_id),
            "key_id": bool(key_id),
            "key_secret": bool(key_secret and key_secret.get_secret_value()),
        },
        env_prefix=env_prefix,
    )
    if mode is None:
        raise ConfigurationError(no_credentials_message(env_prefix))
    oauth = mode == "oauth2"
    account_id = project_id if oauth else service_plan_id
    assert account_id is not None  # credential_mode checked that every piece is present
    endpoints = resolve_endpoints(
        account_id=account_id, oauth=oauth, region=region, base_url=base_url, auth_url=auth_url
    )
    auth: SinchAuth
    if oauth:
        assert key_id is not None
        assert key_secret is not None
        auth = OAuth2ClientCredentials(
            key_id=key_id,
            key_secret=key_secret,
            token_url=endpoints.auth_url,
            hint=f"Check {env_prefix}KEY_ID and {env_prefix}KEY_SECRET: they must be an access "
            f"key of project {account_id} ({env_prefix}PROJECT_ID)",
        )
    else:
        assert token is not None
        auth = ServicePlanToken(
            token,
            hint=f"Check {env_prefix}API_TOKEN and {env_prefix}SERVICE_PLAN_ID: the token must "
            f"belong to service plan {account_id}",
        )
    return auth, endpoints.api_root
