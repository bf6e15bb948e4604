"""Creating a group at most once although a create request is not idempotent.

When an attempt fails after it may have reached the server, resending could make a second
group. A named group can be recognised in the listing, so the creator first looks for one made
since the first attempt left and adopts it; an unnamed one cannot, so its outcome is reported
as unknown instead of guessed. `GroupsClient.create_group` documents the resulting behaviour.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from datetime import datetime, timedelta

from ._config import CREATE_CLOCK_SKEW_SECONDS
from ._exceptions import CreateOutcomeUnknownError, SinchError
from ._models import Group
from ._transport import TrackedSend, Transport
from ._wire import GROUP, parse

__all__ = ["GroupCreator"]

logger = logging.getLogger("pipeline.sinch")


class GroupCreator:
    """Sends creates and remembers the ids it created or adopted, so that no later
    reconciliation in the same client adopts one of them a second time."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport
        self._claimed: set[str] = set()

    async def create(
        self,
        body: dict[str, object],
        *,
        name: str | None,
        groups: Callable[[], AsyncGenerator[Group, None]],
    ) -> Group:
        """Create the group `body` describes; `groups` walks every group, newest first.

        `groups` is passed per call rather than held, so the creator keeps no reference
        back to the client that owns it.
        """
        tracked = TrackedSend(self._transport.send)

        async def attempt() -> Group:
            if tracked.uncertain and name is not None:
                adopted = await self._adopt(name, groups, since=_earliest_creation(tracked))
                if adopted is not None:
                    return adopted
            request = self._transport.build("POST", "groups", json=body)
            try:
                response = await tracked(request)
            except SinchError as exc:
                if tracked.uncertain and name is None:
                    raise CreateOutcomeUnknownError(exc, request=request) from exc
                raise
            group = parse(GROUP, response)
            self._claimed.add(group.id)
            return group

        return await self._transport.retrying(attempt)

    async def _adopt(
        self,
        name: str,
        groups: Callable[[], AsyncGenerator[Group, None]],
        *,
        since: datetime,
    ) -> Group | None:
        """The group an earlier, seemingly failed create attempt made, if it made one.

        Groups are listed newest first, so the walk stops at the first group older than
        `since`. The oldest match is the first attempt's; it is claimed before any await so
        that a concurrent reconciliation in this client cannot adopt it too.
        """
        candidates: list[Group] = []
        async with aclosing(groups()) as listing:
            async for group in listing:
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


def _earliest_creation(tracked: TrackedSend) -> datetime:
    """The earliest creation time that can belong to one of the tracked attempts."""
    assert tracked.first_sent_at is not None  # only asked after an attempt was sent
    return tracked.first_sent_at - timedelta(seconds=CREATE_CLOCK_SKEW_SECONDS)
