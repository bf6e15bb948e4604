"""Where requests go and the defaults that shape them.

Kept apart from the client so that the rules for turning (region, ids, base URL) into URLs, and
the rule that a credential never crosses plain HTTP, can be read and tested on their own.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import httpx

from ._exceptions import ConfigurationError

REGIONS = ("us", "eu", "au", "br", "ca")
OAUTH_REGIONS = ("us", "eu")
DEFAULT_REGION = "us"
DEFAULT_AUTH_URL = "https://auth.sinch.com/oauth2/token"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_CONCURRENCY = 8
DEFAULT_ENV_PREFIX = "SINCH_"
# Server-side limits from the wire contract, checked before sending so a batching bug fails fast
# with a clear message instead of a 400 after the request.
MAX_MEMBERS_PER_REQUEST = 10_000
MAX_PAGE_SIZE = 100
# How far the server's clock may run behind ours when a named create is reconciled: a group
# created up to this long before the first attempt was sent still counts as that attempt's.
CREATE_CLOCK_SKEW_SECONDS = 30.0

# Plan and project ids are path segments: keep them to characters that cannot change the path.
_PATH_ID = re.compile(r"[A-Za-z0-9_-]+")
_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True, slots=True)
class Endpoints:
    """The API root (ends with '/', so relative paths join under it) and the token URL."""

    api_root: str
    auth_url: str


def resolve_endpoints(
    *, account_id: str, oauth: bool, region: str, base_url: str | None, auth_url: str | None
) -> Endpoints:
    """Compute the URLs for a service plan (token auth) or a project (OAuth2, `oauth=True`).

    `base_url` (an origin such as the emulator's "http://127.0.0.1:8000") replaces the regional
    host; the token URL then defaults to the same origin so one emulator serves both.
    """
    if not _PATH_ID.fullmatch(account_id):
        kind = "project id" if oauth else "service plan id"
        raise ConfigurationError(
            f"invalid {kind} {account_id!r}: only letters, digits, '-' and '_' are allowed"
        )
    if base_url is None:
        if region not in REGIONS:
            raise ConfigurationError(
                f"unknown region {region!r}: expected one of {', '.join(REGIONS)}"
            )
        if oauth and region not in OAUTH_REGIONS:
            raise ConfigurationError(
                f"OAuth2 project keys only work in regions {' and '.join(OAUTH_REGIONS)}, not "
                f"{region!r}: use a service plan id and API token for this region"
            )
        origin = f"https://{'zt.' if oauth else ''}{region}.sms.api.sinch.com"
    else:
        origin = base_url.rstrip("/")
    token_url = auth_url or (DEFAULT_AUTH_URL if base_url is None else f"{origin}/oauth2/token")
    endpoints = Endpoints(api_root=f"{origin}/xms/v1/{account_id}/", auth_url=token_url)
    require_secure(endpoints.api_root)
    if oauth:
        require_secure(endpoints.auth_url)
    return endpoints


def require_secure(url: str) -> None:
    """Refuse to let a credential travel over plain HTTP anywhere but to this machine."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(
            f"{url!r} is not an absolute URL: write it as https://host[:port] "
            "(or http://127.0.0.1:port for a local emulator)"
        )
    if parsed.scheme == "http" and not _is_loopback(parsed.host):
        raise ConfigurationError(
            f"refusing to send credentials to http://{parsed.host} over plain HTTP: use an "
            "https:// URL (plain http is only allowed for loopback hosts such as 127.0.0.1, "
            "::1 or localhost)"
        )


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


AuthMode = Literal["service_plan", "oauth2"]
# Each credential field and the suffix of the environment variable that sets it.
_ENV_SUFFIXES = {
    "service_plan_id": "SERVICE_PLAN_ID",
    "api_token": "API_TOKEN",
    "project_id": "PROJECT_ID",
    "key_id": "KEY_ID",
    "key_secret": "KEY_SECRET",
}
_PLAN_FIELDS = ("service_plan_id", "api_token")
_PROJECT_FIELDS = ("project_id", "key_id", "key_secret")


def credential_mode(given: Mapping[str, bool], *, env_prefix: str) -> AuthMode | None:
    """Which kind of access the given credential fields select; None when none is given.

    `given` maps each of service_plan_id, api_token, project_id, key_id and key_secret to
    whether it has a value. Incomplete or mixed sets raise a ConfigurationError that names the
    environment variables to set, because that is where users keep these values. Shared by
    the client and `Target` (`_target.py`) so both reject the same things in the same words.
    """

    def names(fields: Iterable[str]) -> str:
        return " and ".join(f"{env_prefix}{_ENV_SUFFIXES[field]}" for field in fields)

    def require_all(fields: tuple[str, ...]) -> None:
        present = [field for field in fields if given[field]]
        missing = [field for field in fields if not given[field]]
        if missing:
            raise ConfigurationError(
                f"{names(present)} {'is' if len(present) == 1 else 'are'} set but "
                f"{names(missing)} {'is' if len(missing) == 1 else 'are'} not: "
                f"set {names(missing)}"
            )

    plan = [field for field in _PLAN_FIELDS if given[field]]
    project = [field for field in _PROJECT_FIELDS if given[field]]
    if plan and project:
        raise ConfigurationError(
            f"both service plan credentials ({names(plan)}) and project keys ({names(project)}) "
            "are set: keep one of the two"
        )
    if plan:
        require_all(_PLAN_FIELDS)
        return "service_plan"
    if project:
        require_all(_PROJECT_FIELDS)
        return "oauth2"
    return None


def credentials_hint(env_prefix: str) -> str:
    """The two complete sets of credential variables, as advice on what to set."""
    return (
        f"set {env_prefix}SERVICE_PLAN_ID and {env_prefix}API_TOKEN, or "
        f"{env_prefix}PROJECT_ID, {env_prefix}KEY_ID and {env_prefix}KEY_SECRET"
    )


def no_credentials_message(env_prefix: str) -> str:
    return f"no credentials: {credentials_hint(env_prefix)}"
