"""Where a migration reads groups from: a live service plan or a snapshot, behind one protocol.

Planning and migrating a group see only `SourceGroup` and `GroupSource`, so restoring a snapshot
and copying a live plan are the same migration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

from pipeline.sinch import AutoUpdate, Group, GroupsClient, Keyword
from pipeline.snapshot import Snapshot, oldest_first

__all__ = ["GroupSource", "LiveSource", "SnapshotSource", "SourceGroup"]


@dataclass(frozen=True, slots=True)
class SourceGroup:
    """What migrating a group needs to know about it, whether read live or from a snapshot."""

    id: str
    name: str | None
    child_groups: tuple[str, ...] = ()
    auto_update: AutoUpdate | None = None

    @classmethod
    def from_group(cls, group: Group) -> SourceGroup:
        return cls(group.id, group.name, tuple(group.child_groups), group.auto_update)


class GroupSource(Protocol):
    """Where a migration reads groups from: a live service plan or a snapshot."""

    @property
    def description(self) -> dict[str, str]:
        """`Target.describe()` of the account the groups (and their ids) belong to."""
        ...

    async def groups(self) -> list[SourceGroup]: ...

    async def members(self, group_id: str) -> list[str]:
        """One group's members, E.164 with `+`; called one group at a time."""
        ...


class LiveSource:
    """Groups read from a service plan through the API, members fetched as each group migrates."""

    def __init__(self, client: GroupsClient, description: Mapping[str, str]) -> None:
        self._client = client
        self._description = dict(description)

    @property
    def description(self) -> dict[str, str]:
        return self._description

    async def groups(self) -> list[SourceGroup]:
        listed = [group async for group in self._client.iter_groups()]
        return [SourceGroup.from_group(group) for group in sorted(listed, key=oldest_first)]

    async def members(self, group_id: str) -> list[str]:
        return (await self._client.list_members(group_id)).to_list()


def _keyword(first_word: str | None, second_word: str | None) -> Keyword | None:
    return Keyword(first_word=first_word, second_word=second_word) if first_word else None


def _auto_update(row: Mapping[str, Any]) -> AutoUpdate | None:
    """Rebuild the auto-update object from the flattened `auto_update_*` snapshot columns."""
    if row["auto_update_to"] is None:
        return None
    return AutoUpdate(
        to=row["auto_update_to"],
        add=_keyword(row["auto_update_add_first_word"], row["auto_update_add_second_word"]),
        remove=_keyword(
            row["auto_update_remove_first_word"], row["auto_update_remove_second_word"]
        ),
    )


class SnapshotSource:
    """Groups read from a snapshot; each group's members are one filtered read of its row group."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    @property
    def description(self) -> dict[str, str]:
        return self._snapshot.target

    async def groups(self) -> list[SourceGroup]:
        rows = self._snapshot.groups().sort("created_at", "id").iter_rows(named=True)
        return [
            SourceGroup(row["id"], row["name"], tuple(row["child_groups"]), _auto_update(row))
            for row in rows
        ]

    async def members(self, group_id: str) -> list[str]:
        selected = self._snapshot.members().filter(pl.col("group_id") == group_id)
        return selected.select("phone_e164").collect()["phone_e164"].to_list()
