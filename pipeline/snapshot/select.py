"""Which groups an export reads, in which order, and how one group is read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pipeline.sinch import Group, GroupsClient, NotFoundError
from pipeline.snapshot.layout import SnapshotError
from pipeline.snapshot.result import GroupMembers

__all__ = ["fetch_group", "oldest_first", "select_groups"]


async def select_groups(
    client: GroupsClient, *, group_ids: Sequence[str] = (), group_names: Sequence[str] = ()
) -> list[Group]:
    """The groups to export, oldest first: all of them, or those named by id or by name.

    A name selects every group that carries it (export only reads, so an ambiguous name is no
    hazard). Every id and name must exist: a snapshot silently missing a group the user asked
    for would be mistaken for a complete one.
    """
    listed: list[Group] = []
    if group_names or not group_ids:
        listed = [group async for group in client.iter_groups(page_size=100)]
    if not group_ids and not group_names:
        return sorted(listed, key=oldest_first)
    wanted = set(group_names)
    chosen = {g.id: g for g in listed if g.name in wanted}
    found = {g.name for g in chosen.values()}
    missing = [repr(name) for name in group_names if name not in found]
    for group_id in group_ids:
        try:
            chosen[group_id] = await client.get_group(group_id)
        except NotFoundError:
            missing.append(f"id {group_id}")
    if missing:
        raise SnapshotError(
            f"no such group on this service plan: {', '.join(missing)}; "
            "`sinch-groups groups` lists the ones that exist"
        )
    return sorted(chosen.values(), key=oldest_first)


def oldest_first(group: Group) -> tuple[datetime, str]:
    """Sort key: creation time, then id (the API lists newest first; snapshots go oldest first)."""
    return group.created_at, group.id


async def fetch_group(client: GroupsClient, group: Group) -> GroupMembers:
    """Re-read a group and list its members (the group may have changed since it was listed)."""
    members = await client.list_members(group.id)
    return GroupMembers(await client.get_group(group.id), members)
