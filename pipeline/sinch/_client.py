"""`GroupsClient`: the seven Groups endpoints over one `httpx.AsyncClient`.

Every request goes through `_send` (one attempt: concurrency slot, optional rate cap, error
mapping) and almost always through `_retrying` (tenacity, per `RetryPolicy`). Operations that
are not idempotent get an attempt function that knows what a lost response means for them.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypedDict, TypeVar, Unpack

import httpx
import polars as pl
from aiolimiter import AsyncLimiter
from pydantic import SecretStr, TypeAdapter, ValidationError
from tenacity import RetryCallState

from ._auth import OAuth2ClientCredentials, ServicePlanToken, SinchAuth
from ._config import (
    CREATE_CLOCK_SKEW_SECONDS,
    DEFAULT_ENV_PREFIX,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_REGION,
    DEFAULT_TIMEOUT,
    MAX_MEMBERS_PER_REQUEST,
    MAX_PAGE_SIZE,
    credential_mode,
    no_credentials_message,
    resolve_endpoints,
)
from ._exceptions import (
    APIError,
    ConfigurationError,
    CreateOutcomeUnknownError,
    NotFoundError,
    SinchError,
    SinchTransportError,
    UnexpectedResponseError,
)
from ._models import UNSET, AutoUpdate, Group, GroupPage, UnsetType, validate_group_id
from ._retry import RetryPolicy
from ._stats import ClientStats

if TYPE_CHECKING:
    from ._target import Target

__all__ = ["ClientOptions", "GroupsClient"]

logger = logging.getLogger("pipeline.sinch")

T = TypeVar("T")
_GROUP: TypeAdapter[Group] = TypeAdapter(Group)
_PAGE: TypeAdapter[GroupPage] = TypeAdapter(GroupPage)


class ClientOptions(TypedDict, total=False):
    """The `GroupsClient` options that are not about the target, for `from_target`."""

    auth_url: str | None
    transport: httpx.AsyncBaseTransport | None
    max_concurrency: int
    requests_per_second: float | None
    retry: RetryPolicy | None
    timeout: float | httpx.Timeout


class GroupsClient:
    """Async client for the Sinch SMS Groups API; use it as an async context manager.

    Authenticate with a service plan id and its API token, or with OAuth2 project keys
    (project_id, key_id, key_secret). `base_url` (an origin such as "http://127.0.0.1:8000")
    replaces the regional Sinch host, e.g. to talk to the emulator; `transport` replaces the
    network, e.g. `httpx.ASGITransport(app=...)` in tests. At most `max_concurrency` requests
    are in flight at once and, if given, at most `requests_per_second` start per second.
    `env_prefix` only changes the environment variable names that error messages tell users
    to check. Credentials are refused over plain HTTP unless the host is loopback.
    """

    def __init__(
        self,
        *,
        service_plan_id: str | None = None,
        token: str | SecretStr | None = None,
        project_id: str | None = None,
        key_id: str | None = None,
        key_secret: str | SecretStr | None = None,
        region: str = DEFAULT_REGION,
        base_url: str | None = None,
        auth_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        requests_per_second: float | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        env_prefix: str = DEFAULT_ENV_PREFIX,
    ) -> None:
        # Rebind the secrets first: a traceback rendered with locals shows only the masks.
        token, key_secret = _secret(token), _secret(key_secret)
        self._auth, self._api_root = _authenticate(
            service_plan_id=service_plan_id,
            token=token,
            project_id=project_id,
            key_id=key_id,
            key_secret=key_secret,
            region=region,
            base_url=base_url,
            auth_url=auth_url,
            env_prefix=env_prefix,
        )
        if max_concurrency < 1:
            raise ConfigurationError(f"max_concurrency must be at least 1, not {max_concurrency}")
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._limiter = _rate_limiter(requests_per_second)
        self._retry = retry or RetryPolicy()
        self._claimed: set[str] = set()  # ids this client created or adopted (see create_group)
        self.stats = ClientStats()
        self._http = httpx.AsyncClient(
            base_url=self._api_root,
            auth=self._auth,
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json"},
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )

    @classmethod
    def from_target(cls, target: Target, **options: Unpack[ClientOptions]) -> GroupsClient:
        """A client for a `Target` (from the environment or the CLI)."""
        return cls(
            service_plan_id=target.service_plan_id,
            token=target.api_token,
            project_id=target.project_id,
            key_id=target.key_id,
            key_secret=target.key_secret,
            region=target.region,
            base_url=target.base_url,
            env_prefix=target.env_prefix,
            **options,
        )

    def __repr__(self) -> str:
        # Also rendered for a client whose __init__ failed (tracebacks that show locals).
        if not hasattr(self, "_auth"):
            return "<GroupsClient (not configured)>"
        return f"<GroupsClient {self._api_root.rstrip('/')} auth={self._auth!r}>"

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
        """Close the connections, for use without `async with`."""
        await self._http.aclose()

    # -- the seven endpoints ------------------------------------------------------------------

    async def list_groups(self, *, page: int = 0, page_size: int = 30) -> GroupPage:
        """One page of groups, newest first (`page` is 0-based, `page_size` at most 100)."""
        response = await self._call("GET", "groups", params={"page": page, "page_size": page_size})
        return _parse(_PAGE, response)

    async def iter_groups(self, *, page_size: int = MAX_PAGE_SIZE) -> AsyncGenerator[Group, None]:
        """Every group, walking pages until one comes back short or `count` groups were seen."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
        page, seen = 0, 0
        while True:
            result = await self.list_groups(page=page, page_size=page_size)
            for group in result.groups:
                yield group
            seen += len(result.groups)
            if len(result.groups) < page_size or seen >= result.count:
                return
            page += 1

    async def create_group(
        self,
        *,
        name: str | None = None,
        members: Iterable[str] | None = None,
        child_groups: Iterable[str] | None = None,
        auto_update: AutoUpdate | None = None,
    ) -> Group:
        """Create a group; arguments left as None are not sent.

        A create is not idempotent, so a failure after the request may have reached the server
        (dropped connection, timeout, 5xx) is not simply retried. For a named group the client
        first looks for a group of that name created since the first attempt left (allowing
        for clock skew) that it has not already created or adopted, and adopts it; only if
        there is none does it send the create again. An unnamed group cannot be recognised, so
        that case raises CreateOutcomeUnknownError instead. Failures that certainly did not
        reach the server (429, connect errors) are retried as usual.

        Limit: two concurrent creates of the same name in one client may, after a lost
        response, both return the same group; create distinct names or one at a time.
        """
        body = _body(
            name=name,
            members=_members(members, "members"),
            child_groups=_group_ids(child_groups),
            auto_update=auto_update,
        )
        tracked = _TrackedSend(self._send)

        async def attempt() -> Group:
            if tracked.uncertain and name is not None:
                adopted = await self._adopt_created(name, since=tracked.since())
                if adopted is not None:
                    return adopted
            request = self._build("POST", "groups", json=body)
            try:
                response = await tracked(request)
            except SinchError as exc:
                if tracked.uncertain and name is None:
                    raise CreateOutcomeUnknownError(exc, request=request) from exc
                raise
            group = _parse(_GROUP, response)
            self._claimed.add(group.id)
            return group

        return await self._retrying(attempt)

    async def get_group(self, group_id: str) -> Group:
        """One group by id."""
        return _parse(_GROUP, await self._call("GET", _group_path(group_id)))

    async def update_group(
        self,
        group_id: str,
        *,
        add: Iterable[str] | None = None,
        remove: Iterable[str] | None = None,
        name: str | UnsetType | None = UNSET,
        add_from_group: str | None = None,
        remove_from_group: str | None = None,
        auto_update: AutoUpdate | None = None,
    ) -> Group:
        """Change a group incrementally; only the arguments given are sent.

        `name=None` removes the name, leaving `name` out keeps it (the official SDK sends null
        for every unset field and so clears names by accident). The server applies add, then
        add_from_group, then remove, then remove_from_group; all are set operations, so the
        request is safe to retry.
        """
        body = _body(
            add=_members(add, "add"),
            remove=_members(remove, "remove"),
            add_from_group=_group_id(add_from_group),
            remove_from_group=_group_id(remove_from_group),
            auto_update=auto_update,
        )
        if name is not UNSET:
            body["name"] = name
        return _parse(_GROUP, await self._call("POST", _group_path(group_id), json=body))

    async def replace_group(
        self,
        group_id: str,
        *,
        members: Iterable[str],
        name: str | None = None,
        child_groups: Iterable[str] | None = None,
        auto_update: AutoUpdate | None = None,
    ) -> Group:
        """Replace everything about a group: what is not given (a name, too) is removed."""
        body = _body(
            members=_members(members, "members"),
            name=name,
            child_groups=_group_ids(child_groups),
            auto_update=auto_update,
        )
        return _parse(_GROUP, await self._call("PUT", _group_path(group_id), json=body))

    async def delete_group(self, group_id: str) -> None:
        """Delete a group. A 404 after an attempt whose response was lost counts as done."""
        path = _group_path(group_id)
        tracked = _TrackedSend(self._send)

        async def attempt() -> None:
            try:
                await tracked(self._build("DELETE", path))
            except NotFoundError:
                if not tracked.uncertain:
                    raise
                logger.info("group %s was already deleted by an earlier attempt", group_id)

        await self._retrying(attempt)

    async def list_members(self, group_id: str) -> pl.Series:
        """The group's members as E.164 strings with one leading '+' (the API sends digits), as
        a `phone_e164` series: a membership can hold millions of numbers, and polars reads them
        without making a Python object of each."""
        response = await self._call("GET", f"{_group_path(group_id)}/members")
        return _member_series(response)

    # -- plumbing -----------------------------------------------------------------------------

    def _build(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, object] | None = None,
        params: dict[str, int] | None = None,
    ) -> httpx.Request:
        return self._http.build_request(method, path, json=json, params=params)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, object] | None = None,
        params: dict[str, int] | None = None,
    ) -> httpx.Response:
        """Send an idempotent request, retrying per the policy (a fresh request per attempt)."""

        async def attempt() -> httpx.Response:
            return await self._send(self._build(method, path, json=json, params=params))

        return await self._retrying(attempt)

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt` (a coroutine function: tenacity awaits only those) under the policy."""
        return await self._retry.retrying(before_sleep=self._before_sleep)(attempt)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """One attempt: wait for a slot, send, turn failures into this package's errors."""
        async with self._slot():
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                self.stats.record_transport_error()
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

    async def _adopt_created(self, name: str, *, since: datetime) -> Group | None:
        """The group an earlier, seemingly failed create attempt made, if it made one.

        Groups are listed newest first, so the walk stops at the first group older than
        `since`. The oldest match is the first attempt's; it is claimed before any await so
        that a concurrent reconciliation in this client cannot adopt it too.
        """
        candidates: list[Group] = []
        async with aclosing(self.iter_groups()) as groups:
            async for group in groups:
                if group.created_at < since:
                    break
                if group.name == name and group.id not in self._claimed:
                    candidates.append(group)
        if not candidates:
            return None
        adopted = min(candidates, key=lambda group: group.created_at)
        self._claimed.add(adopted.id)
        logger.warning(
            "adopted group %s named %r: an earlier create attempt reached the server although "
            "its response was lost",
            adopted.id,
            name,
        )
        return adopted

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        self.stats.record_retry()
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
        self.stats.record_request()

    async def _on_response(self, response: httpx.Response) -> None:
        self.stats.record_response(response.status_code)


@dataclass
class _TrackedSend:
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

    def since(self) -> datetime:
        """The earliest creation time that can belong to one of these attempts."""
        assert self.first_sent_at is not None  # only asked after an attempt was sent
        return self.first_sent_at - timedelta(seconds=CREATE_CLOCK_SKEW_SECONDS)


def _authenticate(
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


def _secret(value: str | SecretStr | None) -> SecretStr | None:
    return SecretStr(value) if isinstance(value, str) else value


def _rate_limiter(requests_per_second: float | None) -> AsyncLimiter | None:
    """A limiter admitting `requests_per_second` on average; rates below 1 space requests out
    (aiolimiter cannot hold less than one request's worth of capacity)."""
    if requests_per_second is None:
        return None
    if requests_per_second <= 0:
        raise ConfigurationError(f"requests_per_second must be positive, not {requests_per_second}")
    capacity = max(1.0, requests_per_second)
    return AsyncLimiter(capacity, time_period=capacity / requests_per_second)


def _group_path(group_id: str) -> str:
    return f"groups/{validate_group_id(group_id)}"


def _group_id(group_id: str | None) -> str | None:
    return None if group_id is None else validate_group_id(group_id)


def _group_ids(group_ids: Iterable[str] | None) -> list[str] | None:
    return None if group_ids is None else [validate_group_id(item) for item in group_ids]


def _members(numbers: Iterable[str] | None, field: str) -> list[str] | None:
    """The numbers as a list, refusing the two batching mistakes the server would reject late."""
    if numbers is None:
        return None
    if isinstance(numbers, str):
        raise TypeError(f"{field} must be a collection of phone numbers, not one string")
    batch = list(numbers)
    if len(batch) > MAX_MEMBERS_PER_REQUEST:
        raise ValueError(
            f"{field} holds {len(batch)} numbers; the API takes at most "
            f"{MAX_MEMBERS_PER_REQUEST} per request, so split it into batches"
        )
    return batch


def _body(**fields: Any) -> dict[str, object]:
    """A JSON body of the fields that were given: None means "not given" and is left out."""
    return {
        key: value.to_wire() if isinstance(value, AutoUpdate) else value
        for key, value in fields.items()
        if value is not None
    }


def _member_series(response: httpx.Response) -> pl.Series:
    """The members array as strings with one leading `+`; anything but an array of values is an
    `UnexpectedResponseError`."""
    body = response.content
    if body.lstrip()[:1] != b"[":
        raise UnexpectedResponseError("the members body is not a JSON array", response=response)
    try:  # polars reads a JSON object, so the bare array becomes its one field
        wrapped = pl.read_json(io.BytesIO(b'{"m":' + body + b"}"), schema={"m": pl.List(pl.String)})
    except pl.exceptions.PolarsError as exc:
        raise UnexpectedResponseError(
            "the members body is not an array of numbers", response=response
        ) from exc
    members = wrapped.get_column("m")[0]
    if members.null_count():
        raise UnexpectedResponseError("the members array holds null", response=response)
    return ("+" + members.str.strip_prefix("+")).rename("phone_e164")


def _parse(adapter: TypeAdapter[T], response: httpx.Response) -> T:
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        raise UnexpectedResponseError(
            f"the response body does not match the API contract ({exc.error_count()} problems)",
            response=response,
        ) from exc
