"""Who may call which namespace: service-plan bearer tokens and OAuth2 client credentials.

A path namespace (`/xms/v1/{namespace}`) is either a service plan id, unlocked by that plan's
fixed token, or a project id, unlocked by an access token `POST /oauth2/token` issued to one
of that project's keys and not yet expired. Issued tokens live in memory: after a restart a
client simply asks for a new one. An expired token is answered with a `WWW-Authenticate`
header containing "expired", which is how the official SDK knows to renew it.

`/oauth2/token` answers errors the OAuth2 way (RFC 6749 5.2: `error`, `error_description`),
as an OAuth2 server does and as the SDK reads them (inferred: the contract shows no error body).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from .config import Plan, ProjectKey
from .entities import Clock
from .exceptions import OAuthError, TokenExpiredError, UnauthorizedError


@dataclass(frozen=True, slots=True)
class _Issued:
    project_id: str
    expires_at: float


class Authenticator:
    """Checks bearer tokens per namespace and issues OAuth2 access tokens."""

    def __init__(
        self,
        plans: Iterable[Plan],
        projects: Iterable[ProjectKey],
        *,
        token_ttl: int,
        clock: Clock = time.time,
    ) -> None:
        self._plan_tokens = {plan.id: plan.token.encode() for plan in plans}
        self._keys = {key.key_id: key for key in projects}
        self._token_ttl = token_ttl
        self._clock = clock
        self._issued: dict[bytes, _Issued] = {}
        """Issued access tokens by their SHA-256: a lookup by digest tells a timing attacker
        nothing about the token (a plain dict lookup compares the token itself), and the
        tokens themselves are not kept."""

    def authorize(self, namespace: str, authorization: str | None) -> None:
        """Raise `UnauthorizedError` unless the header's bearer token unlocks `namespace`."""
        token = _credentials(authorization, "bearer")
        expected = self._plan_tokens.get(namespace)
        if expected is not None:
            if not secrets.compare_digest(token.encode(), expected):
                raise UnauthorizedError()
            return
        issued = self._issued.get(_digest(token))
        if issued is None or issued.project_id != namespace:
            raise UnauthorizedError()
        if issued.expires_at <= self._clock():
            raise TokenExpiredError()

    def issue_token(self, authorization: str | None, grant_type: str | None) -> dict[str, object]:
        """The client-credentials grant: HTTP Basic key_id:key_secret -> an access token."""
        key = self._client(authorization)
        if grant_type is None:
            raise OAuthError(400, "invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            raise OAuthError(
                400,
                "unsupported_grant_type",
                f"grant_type must be client_credentials, got '{grant_type}'",
            )
        now = self._clock()
        self._issued = {
            digest: issued for digest, issued in self._issued.items() if issued.expires_at > now
        }
        token = secrets.token_urlsafe(32)
        self._issued[_digest(token)] = _Issued(key.project_id, now + self._token_ttl)
        return {
            "access_token": token,
            "expires_in": self._token_ttl,
            "scope": "",
            "token_type": "bearer",
        }

    def _client(self, authorization: str | None) -> ProjectKey:
        invalid = OAuthError(401, "invalid_client", "Client authentication failed")
        try:
            decoded = base64.b64decode(_credentials(authorization, "basic"), validate=True)
            key_id, _, key_secret = decoded.decode("utf-8").partition(":")
        except (UnauthorizedError, binascii.Error, UnicodeDecodeError):
            raise invalid from None
        key = self._keys.get(key_id)
        if key is None or not secrets.compare_digest(key_secret.encode(), key.key_secret.encode()):
            raise invalid
        return key


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _credentials(authorization: str | None, scheme: str) -> str:
    """The credentials of an `Authorization: <scheme> <credentials>` header (scheme any case)."""
    given, _, credentials = (authorization or "").strip().partition(" ")
    if given.lower() != scheme or not credentials.strip():
        raise UnauthorizedError()
    return credentials.strip()
