"""Resolve the groups a run targets (by name or id) before anything is written.

Names are checked up front: a name Sinch would refuse, or one that matches two existing groups,
stops the run with a clear error instead of failing half-way through.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.errors import PipelineError
from pipeline.sinch import Group, GroupsClient, NotFoundError

__all__ = [
    "MAX_NAME_LENGTH",
    "AmbiguousGroupError",
    "GroupNotFoundError",
    "InvalidGroupNameError",
    "ResolvedGroup",
    "resolve_groups",
    "validate_group_names",
]

MAX_NAME_LENGTH = 20
"""Sinch refuses group names longer than this."""
_GROUP_ID = re.compile(r"[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}")


class InvalidGroupNameError(PipelineError):
    """A group name Sinch would refuse (empty or longer than 20 characters)."""


class AmbiguousGroupError(PipelineError):
    """A name matches more than one existing group, so it cannot say which one is meant."""


class GroupNotFoundError(PipelineError):
    """A --group-id that does not exist on the target plan."""


@dataclass(frozen=True)
class ResolvedGroup:
    """A target group: an existing one (with id and size) or one to create (id None)."""

    key: str
    group_id: str | None
    name: str | None
    size: int = 0


def validate_group_names(names: Sequence[str]) -> None:
    """Refuse every unusable name at once, so the user fixes the file in one go."""
    bad = [name for name in names if not 1 <= len(name) <= MAX_NAME_LENGTH or not name.strip()]
    if bad:
        shown = ", ".join(repr(name[:40]) for name in bad[:10])
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        # A group id is 26 characters: one given as a name was meant for --group-id.
        hint = (
            "; to target a group by id use --group-id" if any(map(_GROUP_ID.fullmatch, bad)) else ""
        )
        raise InvalidGroupNameError(
            f"group names must be 1 to {MAX_NAME_LENGTH} characters, not blank; these are not: "
            f"{shown}{more}{hint}"
        )


async def _by_name(client: GroupsClient, names: Sequence[str]) -> list[ResolvedGroup]:
    existing: dict[str, list[Group]] = defaultdict(list)
    async for group in client.iter_groups(page_size=100):
        if group.name is not None:
            existing[group.name].append(group)
    resolved = []
    for name in names:
        matches = existing.get(name, [])
        if len(matches) > 1:
            ids = ", ".join(g.id for g in matches)
            raise AmbiguousGroupError(
                f"the name {name!r} matches {len(matches)} groups ({ids}); use --group-id to pick one"
            )
        group = matches[0] if matches else None
        resolved.append(
            ResolvedGroup(name, group.id if group else None, name, group.size if group else 0)
        )
    return resolved


async def _by_id(client: GroupsClient, group_ids: Sequence[str]) -> list[ResolvedGroup]:
    async def one(group_id: str) -> ResolvedGroup:
        try:
            group = await client.get_group(group_id)
        except NotFoundError:
            raise GroupNotFoundError(
                f"no group with id {group_id!r} on this service plan; "
                f"`sinch-groups groups` lists the ones that exist"
            ) from None
        return ResolvedGroup(group_id, group.id, group.name, group.size)

    return list(await asyncio.gather(*(one(group_id) for group_id in group_ids)))


async def resolve_groups(
    client: GroupsClient, *, names: Sequence[str] = (), group_ids: Sequence[str] = ()
) -> list[ResolvedGroup]:
    """Look up every target group; names that do not exist yet come back with `group_id=None`."""
    validate_group_names(names)
    return [*(await _by_name(client, names) if names else []), *(await _by_id(client, group_ids))]
