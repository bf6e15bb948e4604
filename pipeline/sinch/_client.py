"""`GroupsClient`: the seven Groups endpoints, each saying what to send and what a lost
response means for it.

Sending, retrying and the request limits live in `_transport.py`, request bodies and response
parsing in `_wire.py` and `_members.py`, and the reconciliation that keeps a retried create
from making a second group in `_create.py`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypedDict, Unpack

import httpx
import polars as pl
from pydantic import SecretStr

from ._auth import as_secret, authenticate
from ._config import (
    DEFAULT_ENV_PREFIX,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_REGION,
    DEFAULT_TIMEOUT,
    MAX_PAGE_SIZE,
)
from ._create import GroupCreator
from ._exceptions import NotFoundError
from ._members import member_batch, member_series
from ._models import UNSET, AutoUpdate, Group, GroupPage, UnsetType
from ._retry import RetryPolicy
from ._stats import ClientStats
from ._transport import TrackedSend, Transport
from ._wire import GROUP, PAGE, group_ids, group_path, json_body, optional_group_id, parse

if TYPE_CHECKING:
    from ._target import Target

__all__ = ["ClientOptions", "GroupsClient"]

logger = logging.getLogger("pipeline.sinch")


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
        token, key_secret = as_secret(token), as_secret(key_secret)
        self._auth, self._api_root = authenticate(
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
        self.stats = ClientStats()
        self._transport = Transport(
            api_root=self._api_root,
            auth=self._auth,
            transport=transport,
            max_concurrency=max_concurrency,
            requests_per_second=requests_per_second,
            retry=retry,
            timeout=timeout,
            stats=self.stats,
        )
        self._creator = GroupCreator(self._transport)

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
        await self._transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._transport.__aexit__(exc_type, exc, tb)

    async def aclose(self) -> None:
        """Close the connections, for use without `async with`."""
        await self._transport.aclose()

    # -- the seven endpoints ------------------------------------------------------------------

    async def list_groups(self, *, page: int = 0, page_size: int = 30) -> GroupPage:
        """One page of groups, newest first (`page` is 0-based, `page_size` at most 100)."""
        response = await self._transport.call(
            "GET", "groups", params={"page": page, "page_size": page_size}
        )
        return parse(PAGE, response)

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
        body = json_body(
            name=name,
            members=member_batch(members, "members"),
            child_groups=group_ids(child_groups),
            auto_update=auto_update,
        )
        return await self._creator.create(body, name=name, groups=self.iter_groups)

    async def get_group(self, group_id: str) -> Group:
        """One group by id."""
        return parse(GROUP, await self._transport.call("GET", group_path(group_id)))

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
        body = json_body(
            add=member_batch(add, "add"),
            remove=member_batch(remove, "remove"),
            add_from_group=optional_group_id(add_from_group),
            remove_from_group=optional_group_id(remove_from_group),
            auto_update=auto_update,
        )
        if name is not UNSET:
            body["name"] = name
        return parse(GROUP, await self._transport.call("POST", group_path(group_id), json=body))

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
        body = json_body(
            members=member_batch(members, "members"),
            name=name,
            child_groups=group_ids(child_groups),
            auto_update=auto_update,
        )
        return parse(GROUP, await self._transport.call("PUT", group_path(group_id), json=body))

    async def delete_group(self, group_id: str) -> None:
        """Delete a group. A 404 after an attempt whose response was lost counts as done."""
        path = group_path(group_id)
        tracked = TrackedSend(self._transport.send)

        async def attempt() -> None:
            try:
                await tracked(self._transport.build("DELETE", path))
            except NotFoundError:
                if not tracked.uncertain:
                    raise
                logger.info("group %s was already deleted by an earlier attempt", group_id)

        await self._transport.retrying(attempt)

    async def list_members(self, group_id: str) -> pl.Series:
        """The group's members as E.164 strings with one leading '+' (the API sends digits), as
        a `phone_e164` series: a membership can hold millions of numbers, and polars reads them
        without making a Python object of each."""
        response = await self._transport.call("GET", f"{group_path(group_id)}/members")
        return member_series(response)
